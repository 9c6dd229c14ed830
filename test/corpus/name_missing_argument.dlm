// expect: DLM2005 4:14
model M {
  input x: f32[B, 4]
  output y = linear(x)
}
