// seed 000 (~L66–70: "Multi-head: lookup l items over l tables; Multi-query: lookup l items
// over 1 table, (k, v) shared across queries; less params, faster at eval"; ~L116 "MQA only
// computes X W_k once").

import "std/attention"

/// Multi-query attention (Shazeer 2019): 8 query heads share one key head and one value head
/// of size d/H. d = 512: q_proj and out_proj 262,656 each, k_proj and v_proj 512·64 + 64 =
/// 32,832 each: 590,976 parameters instead of multi-head's 1,050,624; the key/value cache
/// per token shrinks 8×. Causal, as in a decoder.
model MultiQueryAttention(d: int = 512, heads: int = 8, T: dim = 128) {
  input x: f32[B, T, d]
  output y = MultiHeadAttention(x, x, heads, kv_heads: 1, causal: true) as attn
}

/// Grouped-query attention between the two: 8 query heads, 2 key/value heads (each serving
/// 4 query heads): 656,640 parameters.
model GroupedQueryAttention(d: int = 512, heads: int = 8, kv_heads: int = 2, T: dim = 128) {
  input x: f32[B, T, d]
  output y = MultiHeadAttention(x, x, heads, kv_heads: kv_heads, causal: true) as attn
}

/// Multi-query attention with the built-in op (kv_heads: 1): the same 590,976 parameters.
model BuiltinMultiQuery(d: int = 512, heads: int = 8, T: dim = 128) {
  input x: f32[B, T, d]
  output y = multihead_attention(x, heads: heads, kv_heads: 1, causal: true) as attn
}
