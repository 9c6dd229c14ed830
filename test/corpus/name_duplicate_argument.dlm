// expect: DLM2007 4:28
model M {
  input x: f32[B, 4]
  output y = linear(x, 10, out: 5)
}
