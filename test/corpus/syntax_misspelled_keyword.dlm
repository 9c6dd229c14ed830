// expect: DLM1004 2:1
modle M {
  input x: f32[B, 4]
  output y = relu(x)
}
