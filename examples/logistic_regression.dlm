// seed 001 §2.4.5 "FNN with single Logistic Neuron" (~L410: trained with log loss this is
// logistic regression) and §3.3.7 "Example: Logistic Regression (2D), N=2" (~L802); seed 002
// §1.1 "Generalized Linear Models" (~L74: the sigmoid is the inverse canonical link).

/// Logistic regression: one logistic neuron, p(y = 1 | x) = σ(wᵀx + b), trained with the
/// binary cross-entropy (log loss). D + 1 parameters.
model LogisticRegression(features: int = 2) {
  input x: f32[B, features]
  output logit = linear(x, 1) as neuron
  output p = sigmoid(logit)
}

train LogisticRegression {
  input y: f32[B, 1]                // 0/1 labels
  loss = bce_with_logits(logit, y)
  optimizer = sgd(lr: 0.1)
  batch = 32
  epochs = 20
  metrics = ["accuracy"]
}
