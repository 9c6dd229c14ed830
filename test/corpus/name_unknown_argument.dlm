// expect: DLM2003 4:30
model M {
  input x: f32[B, 3, 32, 32]
  output y = conv2d(x, 6, 5, strid: 2)
}
