// seed 001 §8.5.4 "Contrastive Learning" (~L2973–2983: siamese networks / bi-encoders use the
// same network on each input, followed by a simple comparison such as cosine similarity;
// one-shot learning); seed 004 "Margin Ranking / Contrastive Losses" (~L363–388: used for
// metric learning and siamese networks; triplet and cosine-embedding losses).

/// The shared tower: a small CNN embedding a 1×28×28 image into a unit-norm 64-d vector.
block Tower(dim: int = 64) {
  input x: f32[B, 1, 28, 28]
  features = x |> conv2d(32, 3, padding: 1) |> relu |> maxpool2d(2)
               |> conv2d(64, 3, padding: 1) |> relu |> maxpool2d(2)
  embedding_out = flatten(features) |> linear(256) as fc1 |> relu |> linear(dim) as fc2
  output l2_normalize(embedding_out, axis: -1)
}

/// Siamese network: ONE tower instance (`layer`) embeds both images, so both branches share
/// every parameter (the tower's 320 + 18,496 + 803,072 + 16,448 = 838,336); the pair is compared
/// by Euclidean distance and cosine similarity. Trained with the contrastive loss (similar
/// pairs pulled together, dissimilar pairs pushed beyond the margin).
model Siamese(dim: int = 64) {
  input x1: f32[B, 1, 28, 28], x2: f32[B, 1, 28, 28]
  layer tower = Tower(dim)
  z1 = tower(x1)
  z2 = tower(x2)
  output distance = norm(z1 - z2, axis: -1)            // ‖f(x₁) − f(x₂)‖
  output similarity = cosine_similarity(z1, z2)
}

train Siamese {
  input same: f32[B]                                   // 1 for a matching pair, 0 otherwise
  loss = contrastive_loss(z1, z2, same, margin: 1.0)
  optimizer = adam(lr: 1e-3)
  batch = 128
  epochs = 20
}
