// seed 004 "VAE" (~L66–120: ELBO = E_q[log p_θ(x|z)] − KL[q_φ(z|x) ‖ p(z)];
// q_φ(z|x) = N(z; μ_φ(x), diag σ²_φ(x)); the analytic Gaussian KL; the reparametrisation
// z = μ + σ ⊙ ε, ε ~ N(0, I)); seed 000 (~L112, ~L255–274: ELBO, blurry samples when q is far
// from p(z)).

/// Variational autoencoder on MNIST (Kingma & Welling): an MLP encoder 784 → 400 giving the
/// mean μ and log-variance log σ² of a 20-d Gaussian posterior, a reparameterised sample
/// z = μ + exp(½ log σ²) ⊙ ε, and an MLP decoder 20 → 400 → 784 with Bernoulli (sigmoid)
/// outputs. The train section minimises the negative ELBO: reconstruction cross-entropy
/// summed over pixels plus KL[q(z|x) ‖ N(0, I)], averaged over the batch.
/// 314,000 + 2 · 8,020 + 8,400 + 314,384 = 652,824 parameters.
model VAE(D: int = 784, hidden: int = 400, latent: int = 20) {
  input x: f32[B, D]
  h = relu(linear(x, hidden) as fc1)
  mu = linear(h, latent) as fc_mu
  logvar = linear(h, latent) as fc_logvar
  z = reparameterize(mu, logvar)                       // z = μ + σ ⊙ ε
  decoder = z |> linear(hidden) |> relu |> linear(D)
  output x_hat = sigmoid(decoder)
  output mu
  output logvar
}

train VAE {
  recon = bce_with_logits(decoder, x, reduction: "none") |> sum(axis: -1) |> mean   // −E_q[log p(x|z)]
  kl = kl_normal(mu, logvar)                           // KL[N(μ, σ²) ‖ N(0, I)], summed over z, mean over the batch
  loss = recon + kl
  optimizer = adam(lr: 1e-3)
  batch = 128
  epochs = 20
}
