// expect: DLM2022 2:18
model M(n: int = 2.5) {
  input x: f32[B, 4]
  output y = linear(x, n)
}
