// expect: DLM3108 3:19
model M {
  input x: f32[B, 0]
  output y = relu(x)
}
