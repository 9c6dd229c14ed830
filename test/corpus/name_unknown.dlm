// expect: DLM2001 4:19
model M {
  input x: f32[B, 4]
  output y = relu(z)
}
