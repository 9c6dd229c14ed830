// seed 001 §5.6.4 "Transformer Encoder Layer" (~L1988–2015: multi-head attention across
// elements, then a local MLP per element, residuals and layer norm; element-level heads or
// pooling / a CLS token for sequence-level tasks); seed 004 "Transformers" (~L344–359).

import "std/attention"
import "std/transformer"

/// A transformer encoder for sequence classification, original-transformer style:
/// token embeddings scaled by √d plus sinusoidal positions, 6 post-norm encoder layers
/// (d = 512, 8 heads, feed-forward 2048, ReLU, dropout 0.1), mean pooling over the real
/// (unpadded) tokens and a linear classifier. 6 · 3,152,384 = 18,914,304 encoder parameters.
model TransformerEncoderClassifier(vocab: int = 32000, d: int = 512, depth: int = 6, heads: int = 8, ff: int = 2048,
                                   classes: int = 5, drop: float = 0.1, T: dim = 256) {
  input tokens: i64[B, T], keep: bool[B, T]
  x = embedding(tokens, vocab, d) as embed
  h0 = dropout(x * float(d) ** 0.5 + sinusoidal_positions(T, d), p: drop)
  h = Encoder(h0, depth, heads, ff, norm: "post", drop: drop, mask: PaddingMask(keep)) as encoder
  weights: f32[B, T, 1] = unsqueeze(cast(keep, f32), -1)
  pooled = sum(h * weights, axis: 1) / sum(weights, axis: 1)        // mean over real tokens
  output logits = linear(pooled, classes) as classifier
}

train TransformerEncoderClassifier {
  input labels: i64[B]
  loss = cross_entropy(logits, labels, label_smoothing: 0.1)
  optimizer = adam(lr: 1e-4, beta1: 0.9, beta2: 0.98, eps: 1e-9)
  schedule = warmup(steps: 4000)
  batch = 32
  epochs = 10
  metrics = ["accuracy", "f1"]
}
