// expect: DLM2023 3:12
model M {
  input x: f33[B, 4]
  output y = relu(x)
}
