// seed 001 §5.9.2 "Cross Attention" (~L2140: keys and values from the encoder's final
// representations, queries from the decoder); seed 000 (~L65 "Cross-attn: (k, v) from enc.,
// q from decoder"; ~L123 cost O((Md + Md + MN) d h)).

import "std/attention"

/// Cross-attention: T decoder positions of width d attend over S encoder positions of a
/// different width e (the key/value projections map e → d). Source padding is masked.
/// Parameters: q_proj and out_proj d·d + d, k_proj and v_proj d·e + d.
model CrossAttention(d: int = 512, e: int = 768, heads: int = 8, T: dim = 32, S: dim = 100) {
  input x: f32[B, T, d], memory: f32[B, S, e], memory_keep: bool[B, S]
  output y: f32[B, T, d] = MultiHeadAttention(x, memory, heads, mask: PaddingMask(memory_keep)) as cross_attn
}

/// The built-in op's optional key/value input does the same (when e = d).
model BuiltinCrossAttention(d: int = 512, heads: int = 8, T: dim = 32, S: dim = 100) {
  input x: f32[B, T, d], memory: f32[B, S, d]
  output y = multihead_attention(x, memory, heads: heads) as cross_attn
}
