// seed 001 §2.4.6–2.4.7 "Softmax Function" / "Softmax Layer" (~L438–465: ŷ = S((wᵀx + b)/T),
// a single softmax layer trained with log loss); seed 002 §1.3 (~L290, softmax link and the
// cross-entropy error).

/// Softmax (multinomial logistic) regression on flattened 28×28 images (784 features): one affine layer
/// and a softmax with temperature T (T = 1 is the usual softmax; ORACLES: softmax of
/// (3, 0, 1) at T = 0.5 is (0.9796, 0.0024, 0.0179)). 784 · 10 + 10 = 7,850 parameters.
model SoftmaxRegression(features: int = 784, classes: int = 10, temperature: float = 1.0) {
  input x: f32[B, features]
  logits = linear(x, classes) as layer
  output logits_t = logits / temperature
  output probs = softmax(logits, temperature: temperature)
}

train SoftmaxRegression {
  input labels: i64[B]
  loss = cross_entropy(logits_t, labels)
  optimizer = sgd(lr: 0.1)
  batch = 64
  epochs = 5
  metrics = ["accuracy"]
}
