// seed 001 §2.4.2 "Perceptron" (~L330) and §2.4.3 "Perceptron's with multiple output units"
// (~L337); seed 002 §1.2 "Architecture" (~L124: a single neuron with the step function is
// the perceptron algorithm).

/// Single-layer perceptron: binary threshold units on an affine map,
/// ŷ = 𝟙(wᵀx + b ≥ 0) for each of `outputs` units. The step has no useful gradient, so
/// training minimises the perceptron criterion max(0, −y·s) on the scores s = wᵀx + b
/// (a hinge loss with margin 0), which gives the classic perceptron update under SGD.
model Perceptron(features: int = 2, outputs: int = 1) {
  input x: f32[B, features]
  output scores = linear(x, outputs) as neuron
  output y_hat = step(scores)
}

train Perceptron {
  input targets: f32[B, 1]          // ±1 labels
  loss = hinge_loss(scores, targets, margin: 0.0)
  optimizer = sgd(lr: 1.0)
  batch = 1
  epochs = 10
  metrics = ["accuracy"]
}
