// expect: DLM4002 6:7
model M {
  input x: f32[B, 4]
  output y = linear(x, 3)
}
train M {
  optimizer = sgd(lr: 0.1)
}
