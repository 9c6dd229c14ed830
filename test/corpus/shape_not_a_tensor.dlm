// expect: DLM3109 4:19
model M(n: int = 3) {
  input x: f32[B, 4]
  output y = relu(n)
}
