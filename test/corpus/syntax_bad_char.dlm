// expect: DLM1001 4:22
model M {
  input x: f32[B, 4]
  output y = relu(x) #
}
