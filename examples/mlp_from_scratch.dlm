// seed 002 §1.4 "Neural Net from Scratch" (~L382): a NumPy MLP on MNIST with W1 (10, 784),
// b1 (10, 1), W2 (10, 10), b2 (10, 1) drawn from U(−1, 1), ReLU, softmax, batch gradient
// descent with α = 0.1 for 500 iterations (~77% accuracy).

/// The from-scratch 784-10-10 MLP, written with explicit parameter tensors as in the NumPy
/// code (batch-first here: the notes keep examples in columns). 7,850 + 110 = 7,960
/// parameters.
model ScratchMLP(hidden: int = 10, classes: int = 10) {
  input x: f32[B, 784]                                   // images flattened and scaled by 1/255
  param W1: f32[hidden, 784] = uniform(bound: 1.0)
  param b1: f32[hidden] = uniform(bound: 1.0)
  param W2: f32[classes, hidden] = uniform(bound: 1.0)
  param b2: f32[classes] = uniform(bound: 1.0)
  Z1 = x @ W1.T + b1
  A1 = relu(Z1)
  output Z2 = A1 @ W2.T + b2
  output A2 = softmax(Z2, axis: -1)
}

train ScratchMLP {
  input Y: i64[B]
  loss = cross_entropy(Z2, Y)          // backProp's error2 = A2 − oneHot(Y) is this loss's gradient
  optimizer = sgd(lr: 0.1)             // update_params with alpha = 0.1
  batch = 60000                        // full-batch gradient descent over the training set
  epochs = 500                         // gradient_descent(X_train, Y_train, 0.1, 500)
  metrics = ["accuracy"]
}
