// seed 000 (~L172–177: "Relative: each head has a learnable bias term ⟨q_i, k_j⟩ + b_{j−i};
// makes nearby ones bigger, doesn't increase dimensionality"); seed 001 §5.7.2 "Modifying
// the Attention Mechanism" (~L2064: a distance-dependent bias added to the scores, each head
// with its own relative position encoding).

import "std/attention"

/// Self-attention with a learned relative-position bias (T5 style): relative distances
/// j − i are bucketed (exactly for small distances, logarithmically up to 128) and each head
/// learns one scalar per bucket; the [heads, T, T] bias is added to the attention scores.
/// Extra parameters: 32 buckets × 8 heads = 256, independent of the sequence length.
model RelativeBiasAttention(d: int = 512, heads: int = 8, T: dim = 128) {
  input x: f32[B, T, d]
  bias: f32[heads, T, T] = relative_position_bias(q_len: T, k_len: T, heads: heads) as rel_bias
  output y = MultiHeadAttention(x, x, heads, mask: bias) as attn
}
