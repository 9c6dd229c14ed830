// A deep, narrow causal language model: twelve pre-norm transformer layers at d = 16. Its
// activations grow with depth while each layer stays small, so it is the gradient-
// checkpointing benchmark's transformer (the optimal chain schedule against √n).

import "std/transformer"

/// Twelve pre-norm causal encoder layers between a token embedding and a vocabulary head.
model TinyGPT12(vocab: int = 32, d: int = 16, heads: int = 2, ff: int = 32, T: dim = 8) {
  input tokens: i64[B, T]
  h = embedding(tokens, vocab, d) as embed
  output logits = Encoder(h, 12, heads, ff, norm: "pre", causal: true) as encoder |> linear(vocab) as head
}

train TinyGPT12 {
  input targets: i64[B, T]
  loss = cross_entropy(logits, targets)
  optimizer = sgd(lr: 0.1)
  batch = 2
}
