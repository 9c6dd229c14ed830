// expect: DLM2033 4:16
model M {
  input x: f32[B, 4]
  output y = x.weight
}
