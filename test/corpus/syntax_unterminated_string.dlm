// expect: DLM1002 8:14
model M {
  input x: f32[B, 4]
  output y = relu(x)
}
train M {
  loss = mean(y)
  metrics = ["accuracy]
}
