// seed 001 §2.3.4 "Autoencoders" (~L278) and §2.3.5 "Linear Autoencoders" (~L295: only
// linear layers, a bottleneck of Z < D hidden neurons, dimensionality reduction); seed 000
// (~L74–86: L = ‖X − W_e W_d X‖²_F; it projects onto the k largest singular directions, like
// PCA; the regulariser λ(‖W_e‖² + ‖W_d‖²)); seed 002 §6.2 "Autoencoders" (~L1559).

/// Linear autoencoder: z = W_e x, x̂ = W_d z with no biases and no non-linearity; trained
/// with squared error and weight decay λ it learns the top-Z principal subspace.
/// D = 784, Z = 32: 2 · 784 · 32 = 50,176 parameters.
model LinearAutoencoder(D: int = 784, Z: int = 32) {
  input x: f32[B, D]
  output z = linear(x, Z, bias: false) as encoder
  output x_hat = linear(z, D, bias: false) as decoder
}

train LinearAutoencoder {
  loss = mse_loss(x_hat, x, reduction: "sum")        // ‖X − W_d W_e X‖²_F over the batch
  optimizer = sgd(lr: 1e-3, momentum: 0.9)
  weight_decay = 1e-3                                 // λ (‖W_e‖²_F + ‖W_d‖²_F)
  batch = 256
  epochs = 50
}
