// seed 004 "GAN" (~L130–170: a discriminator D_φ fit by maximising
// E_data[log D(x)] + E_{p_θ}[log(1 − D(x))]; the generator fools it; x = G_θ(z), z ~ p(z);
// the "non-saturating" generator objective max E[log D(G(z))]); seed 001 §8.4 (~L2890).

/// Generator: z → 256 → 512 → 1024 → 784, LeakyReLU, tanh output (images in [−1, 1]).
block Generator(out: int = 784) {
  input z: f32[B, Z]
  net = z |> linear(256) |> leaky_relu(0.2) |> linear(512) |> leaky_relu(0.2)
          |> linear(1024) |> leaky_relu(0.2) |> linear(out)
  output tanh(net)
}

/// Discriminator: 784 → 512 → 256 → 1 logit, LeakyReLU.
block Discriminator() {
  input x: f32[B, D]
  output x |> linear(512) as fc1 |> leaky_relu(0.2) |> linear(256) as fc2 |> leaky_relu(0.2) |> linear(1) as fc3
}

/// GAN on flattened 28×28 images with two parameter sets, `gen` and `disc`, each a shared
/// `layer` instance. The discriminator scores real images and generated ones; for its own
/// update the generated images pass through stop_gradient so no gradient reaches the
/// generator. The train section alternates two phases with their own optimisers.
/// Generator 1,486,352 and discriminator 533,505 parameters.
model GAN(D: int = 784, latent: int = 100) {
  input real: f32[B, D]
  layer gen = Generator(D)
  layer disc = Discriminator()
  z = randn([B, latent])                               // z ~ N(0, I)
  fake = gen(z)
  output d_real = disc(real)
  output d_fake_detached = disc(stop_gradient(fake))   // discriminator step: G is a constant
  output d_fake = disc(fake)                           // generator step: gradients flow into G
  output samples = fake
}

train GAN {
  batch = 64
  epochs = 100
  phase discriminator {                                // max log D(x) + log(1 − D(G(z)))
    loss = bce_with_logits(d_real, ones_like(d_real)) + bce_with_logits(d_fake_detached, zeros_like(d_fake_detached))
    optimizer = adam(lr: 2e-4, beta1: 0.5)
    params = ["disc"]
    steps = 1
  }
  phase generator {                                    // non-saturating: max log D(G(z))
    loss = bce_with_logits(d_fake, ones_like(d_fake))
    optimizer = adam(lr: 2e-4, beta1: 0.5)
    params = ["gen"]
    steps = 1
  }
}
