// seed 002 §1.3 "Forward and Back Propagation", Example 1.3 (ECE 685 Fall 2021 Midterm 1,
// ~L196): three inputs, two hidden neurons (σ and tanh), one linear output without bias;
// x₂ is NOT connected to the second hidden neuron.

/// The partially connected network of Example 1.3:
///   z₁ = w₁₁x₁ + w₂₁x₂ + w₃₁x₃ + b₁,  a₁ = σ(z₁)
///   z₂ = w₁₂x₁ + w₃₂x₃ + b₂,          a₂ = tanh(z₂)     (no w₂₂: x₂ is not an input of h₂)
///   y  = w₁⁽²⁾a₁ + w₂⁽²⁾a₂
/// The missing edge is expressed by selecting the inputs h₂ sees, x[:, [0, 2]], so the
/// parameter vector is exactly w = (b₁, b₂, w₁₁, w₁₂, w₂₁, w₃₁, w₃₂, w₁⁽²⁾, w₂⁽²⁾): 9 numbers.
model Example13 {
  input x: f32[B, 3]
  z1 = linear(x, 1) as h1                    // w₁₁, w₂₁, w₃₁, b₁
  z2 = linear(x[:, [0, 2]], 1) as h2         // w₁₂, w₃₂, b₂
  a = concat(sigmoid(z1), tanh(z2), axis: -1)
  output y = linear(a, 1, bias: false) as out   // w₁⁽²⁾, w₂⁽²⁾
}

train Example13 {
  input target: f32[B, 1]
  loss = 0.5 * mse_loss(y, target, reduction: "sum")   // L(w) = ½ Σₙ (f(xₙ; w) − yₙ)²
  optimizer = sgd(lr: 0.01)                            // one SGD step: w ← w − η ∇L
  batch = 1
  epochs = 1
}
