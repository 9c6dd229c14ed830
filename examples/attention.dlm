// seed 001 §5.5.2 "Attention Model & Context Vector" (~L1833, the dot-product example with
// keys The/dog/ate/the/cake ~L1853), §5.5.3 "Dot-Product Attention as a Layer" (~L1882:
// scale by sqrt(d_K)), §5.6.2 "Single-Head Attention" (~L1944), §5.6.3 "Multi-Head
// Attention" (~L1965: each head has its own W_Q, W_K, W_V); seed 000 (~L93–131: why
// 1/sqrt(d)); seed 004 "Attention" (~L319–346).

import "std/attention"

/// Scaled dot-product attention on given queries, keys and values: softmax(Q Kᵀ/√d) V.
/// No parameters.
model ScaledDotProduct(d: int = 64, T: dim = 10, S: dim = 12) {
  input q: f32[B, T, d], k: f32[B, S, d], v: f32[B, S, d]
  output c: f32[B, T, d] = scaled_dot_product_attention(q, k, v)
}

/// The associative-memory example of seed 001 (~L1853): one query against five 3-d keys,
/// unscaled dot-product scores and a softmax. With keys The (0.1, 0, 2), dog (5, 4, 3),
/// ate (−4, 0, −3), the (−0.2, 0, 1), cake (5, −3, −4), the query (5, 0, 0) puts weight
/// (0, .5, 0, 0, .5) on the values.
model DotProductLookup(dv: int = 4) {
  input q: f32[B, 1, 3], k: f32[B, 5, 3], v: f32[B, 5, dv]
  output c = DotProductAttention(q, k, v, scaled: false)
}

/// Single-head attention with learned projections W_Q, W_K, W_V (d_K = d_V = d).
model SingleHead(d: int = 512, T: dim = 128) {
  input x: f32[B, T, d]
  output y = SingleHeadAttention(x, d) as attn
}

/// One multi-head attention block, d = 512, H = 8, with biases, from the standard library
/// (linears + reshape into heads + scaled_dot_product_attention + output projection):
/// 4 · (512 · 512 + 512) = 1,050,624 parameters.
model MultiHead(d: int = 512, heads: int = 8, T: dim = 128) {
  input x: f32[B, T, d]
  output y = MultiHeadAttention(x, x, heads) as attn
}

/// The same block as the built-in `multihead_attention` op: the same parameter names
/// (q_proj, k_proj, v_proj, out_proj) and the same 1,050,624 parameters.
model BuiltinMultiHead(d: int = 512, heads: int = 8, T: dim = 128) {
  input x: f32[B, T, d]
  output y = multihead_attention(x, heads: heads) as attn
}
