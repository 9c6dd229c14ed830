// expect: DLM2020 2:7
model M {
  input x: f32[B, 4]
  h = relu(x)
}
