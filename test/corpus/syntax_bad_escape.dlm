// expect: DLM1010 8:18
model M {
  input x: f32[B, 4]
  output y = relu(x)
}
train M {
  loss = mean(y)
  metrics = ["acc\q"]
}
