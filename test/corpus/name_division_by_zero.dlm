// expect: DLM2029 4:28
model M(n: int = 8, groups: int = 0) {
  input x: f32[B, 4]
  output y = linear(x, n / groups)
}
