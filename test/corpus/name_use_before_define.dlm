// expect: DLM2025 4:12
model M {
  input x: f32[B, 4]
  h = relu(g)
  g = linear(x, 4)
  output y = h
}
