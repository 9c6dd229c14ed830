// expect: DLM1006 4:24
model M {
  input x: f32[B, 4]
  output y = linear(x, 12abc)
}
