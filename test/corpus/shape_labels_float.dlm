// expect: DLM3102 8:32
model M {
  input x: f32[B, 4]
  output logits = linear(x, 3)
}
train M {
  input labels: f32[B]
  loss = cross_entropy(logits, labels)
  optimizer = sgd(lr: 0.1)
}
