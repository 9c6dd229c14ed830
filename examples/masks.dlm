// seed 001 §5.9.1 "Masked Attention" (~L2109–2138: a mask selects the elements each position
// attends over; scores (3, 5, −1, 4, 3) with mask (1, 1, 1, 0, 0) give weights
// (0.119, 0.879, 0.002, 0, 0); decoders attend only over positions 1:k); seed 000 (~L67
// "decoder often made causal by masking").

import "std/attention"

/// The worked example: masked positions get −∞ (here −1e9) before the softmax.
/// ORACLES: (0.1189, 0.8789, 0.0022, 0, 0).
model MaskedScores {
  scores = constant([[3.0, 5.0, -1.0, 4.0, 3.0]])
  keep = constant([[1, 1, 1, 0, 0]], dtype: bool)
  output weights = softmax(where(keep, scores, -1e9), axis: -1)
}

/// Causal self-attention: position t attends to positions ≤ t (a [T, T] lower-triangular
/// mask, `causal: true`).
model CausalSelfAttention(d: int = 256, heads: int = 4, T: dim = 64) {
  input x: f32[B, T, d]
  output y = MultiHeadAttention(x, x, heads, causal: true) as attn
}

/// Padding mask: a batch of sequences of different lengths padded to T; `keep` is true for
/// real tokens. Keys at padded positions are masked out for every query ([B, 1, 1, T]).
model PaddedSelfAttention(d: int = 256, heads: int = 4, T: dim = 64) {
  input x: f32[B, T, d], keep: bool[B, T]
  output y = MultiHeadAttention(x, x, heads, mask: PaddingMask(keep)) as attn
}

/// Both at once, as in a decoder over padded batches: an explicit [B, 1, T, T] mask that is
/// the AND of the causal mask and the padding mask.
model CausalPaddedSelfAttention(d: int = 256, heads: int = 4, T: dim = 64) {
  input x: f32[B, T, d], keep: bool[B, T]
  mask: bool[B, 1, T, T] = CausalPaddingMask(keep)
  output y = MultiHeadAttention(x, x, heads, mask: mask) as attn
}
