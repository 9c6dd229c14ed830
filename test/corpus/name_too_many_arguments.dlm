// expect: DLM2004 4:48
model M {
  input x: f32[B, 4]
  output y = layernorm(x, 1, 1e-5, true, true, 7)
}
