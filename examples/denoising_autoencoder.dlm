// seed 001 §2.3.4 "Autoencoders" (~L292: "Denoising: use x̂ (noisy input) instead of x but
// still try to predict x"); seed 000 "Regularization" (~L107–110: adding noise x + η with
// η ~ N(0, σ²) makes the network de-noise, which requires understanding the structure of
// x); seed 002 §6.2 (~L1559).

/// Denoising autoencoder: corrupt the input with Gaussian noise (training only), encode it
/// through a 784-256-64 MLP bottleneck, decode back to 784 sigmoid outputs, and reconstruct
/// the clean input. 784·256 + 256 + 256·64 + 64 + 64·256 + 256 + 256·784 + 784 = 435,536.
model DenoisingAutoencoder(D: int = 784, hidden: int = 256, Z: int = 64, noise: float = 0.3) {
  input x: f32[B, D]
  noisy = gaussian_noise(x, std: noise)                // x̃ = x + η, η ~ N(0, σ²)
  encoder = noisy |> linear(hidden) |> relu |> linear(Z) |> relu
  decoder = encoder |> linear(hidden) |> relu |> linear(D)
  output code = encoder
  output x_hat = sigmoid(decoder)
}

train DenoisingAutoencoder {
  loss = bce_with_logits(decoder, x)                   // reconstruct the CLEAN x
  optimizer = adam(lr: 1e-3)
  batch = 128
  epochs = 30
}
