// std/attention — attention blocks written in .dlm from linears, reshapes and the
// scaled_dot_product_attention op.
//
// Sources: seed 001 §5.5 "Attention" (~L1793), §5.6.2–5.6.3 single- and multi-head
// attention (~L1944–1987), §5.9.1 masked attention (~L2109), §5.9.2 cross attention
// (~L2140); seed 002 §7.1 "Seq2Seq with Attention" (~L1607, score functions); seed 000
// (~L60–70 multi-query, ~L93 scaled scores, ~L172 relative bias and RoPE).
//
// Parameter names follow the built-in multihead_attention op: q_proj, k_proj, v_proj,
// out_proj (each with .weight [out, in] and .bias [out]), so the two are interchangeable.

/// Multi-head attention (seed 001 §5.6.3, ~L1965) with a query input `x` and a key/value
/// input `kv`: self-attention passes the same tensor twice, cross-attention passes the
/// decoder states and the encoder memory.
///
/// - `kv_heads < heads` is grouped-query attention; `kv_heads: 1` is multi-query attention
///   (seed 000 ~L69: one key/value table shared by all query heads, fewer parameters).
/// - `mask` (optional): a bool tensor (true = may attend) or a float tensor added to the
///   scores (a relative-position bias), broadcastable to [B, heads, T, S].
/// - `causal`: each query position attends only to itself and earlier positions.
/// - `rope`: rotary position embeddings applied to queries and keys (seed 000 ~L179).
///
/// With d = 512 and 8 heads this is 4 · (512 · 512 + 512) = 1,050,624 parameters.
block MultiHeadAttention(heads: int, kv_heads: int = heads, causal: bool = false, bias: bool = true, mask = none,
                         rope: bool = false, drop: float = 0.0) {
  input x: f32[B, T, D], kv: f32[B, S, E]
  dh = D / heads

  q = linear(x, D, bias: bias) as q_proj
  k = linear(kv, kv_heads * dh, bias: bias) as k_proj
  v = linear(kv, kv_heads * dh, bias: bias) as v_proj

  // split the heads: [B, T, heads * dh] -> [B, heads, T, dh]
  q_split: f32[B, heads, T, dh] = q |> reshape([B, T, heads, dh]) |> transpose(1, 2)
  k_split: f32[B, kv_heads, S, dh] = k |> reshape([B, S, kv_heads, dh]) |> transpose(1, 2)
  v_split: f32[B, kv_heads, S, dh] = v |> reshape([B, S, kv_heads, dh]) |> transpose(1, 2)

  q_pos = if rope { apply_rope(q_split) } else { q_split }
  k_pos = if rope { apply_rope(k_split) } else { k_split }

  // grouped / multi-query attention: each key/value head serves heads / kv_heads query heads
  k_all = if kv_heads == heads { k_pos } else { repeat_interleave(k_pos, heads / kv_heads, axis: 1) }
  v_all = if kv_heads == heads { v_split } else { repeat_interleave(v_split, heads / kv_heads, axis: 1) }

  a: f32[B, heads, T, dh] = scaled_dot_product_attention(q_pos, k_all, v_all, mask: mask, causal: causal, dropout: drop)

  // concatenate the heads and project
  merged: f32[B, T, D] = a |> transpose(1, 2) |> reshape([B, T, D])
  output linear(merged, D, bias: bias) as out_proj
}

/// Self-attention: multi-head attention whose queries, keys and values all come from `x`
/// (seed 001 §5.6.1, ~L1920).
block SelfAttention(heads: int, kv_heads: int = heads, causal: bool = false, bias: bool = true, mask = none,
                    rope: bool = false, drop: float = 0.0) {
  input x: f32[B, T, D]
  output MultiHeadAttention(x, x, heads, kv_heads: kv_heads, causal: causal, bias: bias, mask: mask, rope: rope,
                            drop: drop) as attn
}

/// Single-head scaled dot-product attention with learned projections (seed 001 §5.6.2,
/// ~L1944): Q = H W_Q, K = H W_K, V = H W_V, C = softmax(Q Kᵀ / sqrt(d_k)) V.
/// `d_k` and `d_v` are the key and value sizes (typically both d).
block SingleHeadAttention(d_k: int, d_v: int = d_k, causal: bool = false, mask = none) {
  input x: f32[B, T, D]
  q = linear(x, d_k) as W_Q
  k = linear(x, d_k) as W_K
  v = linear(x, d_v) as W_V
  output scaled_dot_product_attention(q, k, v, mask: mask, causal: causal)
}

/// Attention scores written out by hand (seed 001 §5.5.3, ~L1882; seed 000 ~L93):
/// e = q kᵀ / sqrt(d), α = softmax(e), c = α v. Equivalent to scaled_dot_product_attention
/// without a mask; shown for teaching, and as the place to add a custom score bias.
block DotProductAttention(scaled: bool = true) {
  input q: f32[B, T, K], k: f32[B, S, K], v: f32[B, S, V]
  scores: f32[B, T, S] = q @ transpose(k, 1, 2)
  e = if scaled { scores / float(K) ** 0.5 } else { scores }
  weights = softmax(e, axis: -1)
  output weights @ v
}

/// Bahdanau-style attention for a recurrent decoder (seed 002 §7.1, ~L1607–1655): the
/// decoder state `s` [B, Q] is the query, the encoder states `h` [B, S, M] are keys and
/// values. `score` picks the score function:
///
/// - "dot":      e_t = sᵀ h_t                       (needs Q == M, no parameters)
/// - "general":  e_t = sᵀ W_a h_t                   (W_a: Q × M)
/// - "additive": e_t = v_aᵀ tanh(W_a h_t + V_a s)   (W_a: r × M, V_a: r × Q, v_a: r; r = attn_dim)
///
/// Any other string is treated as "additive". Outputs the context vector Σ_t α_t h_t
/// [B, M] and the attention weights α [B, S].
block BahdanauAttention(score: str = "additive", attn_dim: int = 128) {
  input s: f32[B, Q], h: f32[B, S, M]
  e: f32[B, S] = if score == "dot" {
    einsum("bsm,bm->bs", h, s)
  } else if score == "general" {
    wh = linear(h, Q, bias: false) as W_a
    einsum("bsq,bq->bs", wh, s)
  } else {
    wh = linear(h, attn_dim, bias: false) as W_a
    vs = linear(s, attn_dim, bias: false) as V_a
    linear(tanh(wh + unsqueeze(vs, 1)), 1, bias: false) as v_a |> squeeze(-1)
  }
  alpha = softmax(e, axis: -1)
  output context = einsum("bs,bsm->bm", alpha, h)
  output weights = alpha
}

/// Padding mask from a bool tensor of real (true) and padding (false) tokens: [B, S] →
/// [B, 1, 1, S], broadcastable over heads and query positions (seed 001 §5.9.1, ~L2109).
block PaddingMask() {
  input keep: bool[B, S]
  output reshape(keep, [B, 1, 1, S])
}

/// Causal mask combined with a padding mask: position t may attend to position s when
/// s <= t and s is a real token. [B, S] → [B, 1, S, S].
block CausalPaddingMask() {
  input keep: bool[B, S]
  output logical_and(causal_mask(S), reshape(keep, [B, 1, 1, S]))
}
