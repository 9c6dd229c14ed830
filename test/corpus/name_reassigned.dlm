// expect: DLM2030 5:3
model M {
  input x: f32[B, 4]
  h = relu(x)
  h = tanh(x)
  output y = h
}
