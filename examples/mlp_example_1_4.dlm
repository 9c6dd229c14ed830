// seed 002 §1.3, Example 1.4 (~L245): a 2-2-2 fully connected network with ReLU on the
// hidden and the output layer, trained with the mean squared error and gradient descent
// (η = 0.01). ORACLES: for x = (1, 2) with the given weights the hidden layer is (0, 2), the
// output (0, 2), the loss 4, and after one step w₃₁ stays 0.5 (dead unit), w₄₂ → 0.54,
// w₂₂ → 1.02.

/// Example 1.4's network: h = ReLU(W₁x + b₁), y = ReLU(W₂h + b₂); 12 parameters
/// (hidden: w₁₁ w₁₂ w₂₁ w₂₂ b₁ b₂, output: w₃₁ w₃₂ w₄₁ w₄₂ b₃ b₄).
model Example14 {
  input x: f32[B, 2]
  h = relu(linear(x, 2) as hidden)
  output y = relu(linear(h, 2) as out)
}

train Example14 {
  input t: f32[B, 2]
  loss = mse_loss(y, t)        // mean over the two outputs: ((0 − 2)² + (2 − 4)²) / 2 = 4
  optimizer = sgd(lr: 0.01)
  batch = 1
  epochs = 1
}
