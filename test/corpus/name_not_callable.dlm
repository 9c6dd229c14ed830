// expect: DLM2014 4:14
model M(n: int = 3) {
  input x: f32[B, 4]
  output y = n(x)
}
