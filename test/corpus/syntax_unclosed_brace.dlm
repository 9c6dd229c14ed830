// expect: DLM1011 2:9
model M {
  input x: f32[B, 4]
  output y = relu(x)

