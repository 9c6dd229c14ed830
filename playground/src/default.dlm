// The playground's starting model: edit it and the checks, the summary and the graph follow.

/// A small classifier: 16 features, two hidden layers of 32 units, 4 classes.
model PlaygroundMLP(classes: int = 4) {
  input x: f32[B, 16]
  h1 = relu(linear(x, 32) as hidden1)
  h2 = relu(linear(h1, 32) as hidden2)
  output logits = linear(h2, classes) as classifier
}

train PlaygroundMLP {
  input labels: i32[B]
  loss = cross_entropy(logits, labels)
  optimizer = adam(lr: 0.01)
  batch = 32
  epochs = 10
  metrics = ["accuracy"]
}
