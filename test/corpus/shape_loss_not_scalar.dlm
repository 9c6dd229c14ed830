// expect: DLM3110 8:10
model M {
  input x: f32[B, 4]
  output logits = linear(x, 3)
}
train M {
  input labels: i64[B]
  loss = cross_entropy(logits, labels, reduction: "none")
  optimizer = sgd(lr: 0.1)
}
