// expect: DLM3104 5:13
model M {
  input x: f32[B, D]
  input w: f32[D, 3]
  h: f32[B, D] = linear(x, 7)
  output y = h @ w
}
