// expect: DLM3105 4:14
model M {
  input x: f32[B, 6, 16, 16]
  output y = conv2d(x, 8, 3, groups: 4)
}
