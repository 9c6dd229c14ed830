// expect: DLM4006 9:14
model M {
  input x: f32[B, 4]
  output y = linear(x, 3)
}
train M {
  loss = mean(y)
  optimizer = sgd(lr: 0.1)
  schedule = cosine_restarts(period: 10)
}
