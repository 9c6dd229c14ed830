// std/transformer — transformer layers and stacks built from std/attention.
//
// Sources: seed 001 §5.6.4 "Transformer Encoder Layer" (~L1988), §5.9 "Transformer
// Encoder-Decoder" (~L2097), §5.9.1 masked attention (~L2109), §5.9.2 cross attention
// (~L2140); seed 004 "Transformers" (~L344 Add&Norm = LayerNorm(x + Sublayer(x)), ~L359
// position-wise feed-forward); seed 003 "Residual / Skip" (~L164–174: pre-norm is the
// modern default, associated with more stable training).
//
// Normalisation placement, `norm`:
//   "post"  x = LayerNorm(x + Sublayer(x))   original transformer, BERT (seed 004 ~L344)
//   "pre"   x = x + Sublayer(LayerNorm(x))   GPT-2, ViT, most modern models (seed 003 ~L172)
//
// Activations by name, `act`: "relu" (default), "gelu" (exact), "gelu_tanh" (GPT-2's
// approximation), "silu"; any other string means relu.

import "std/attention"

/// Position-wise feed-forward network (seed 004 ~L359): linear → activation → dropout →
/// linear, applied to every position independently. Parameters fc1 [hidden, D], fc2 [D, hidden].
block FeedForward(hidden: int, act: str = "relu", drop: float = 0.0) {
  input x: f32[B, T, D]
  h = linear(x, hidden) as fc1
  a = if act == "gelu" {
    gelu(h)
  } else if act == "gelu_tanh" {
    gelu(h, approximate: "tanh")
  } else if act == "silu" {
    silu(h)
  } else {
    relu(h)
  }
  output linear(dropout(a, p: drop), D) as fc2
}

/// Transformer encoder layer (seed 001 §5.6.4, ~L1988): multi-head self-attention and a
/// feed-forward network, each with a residual connection and a LayerNorm, placed after
/// (`norm: "post"`) or before (`norm: "pre"`) the sublayer. `causal: true` turns it into a
/// decoder-only (GPT) block; `mask` is an optional attention mask (see MultiHeadAttention).
/// Parameters: attn (4 D² + 4 D), mlp (2 D·ff + ff + D), norm1, norm2 (2 D each).
block EncoderLayer(heads: int, ff: int, norm: str = "post", act: str = "relu", drop: float = 0.0, eps: float = 1e-5,
                   causal: bool = false, mask = none, rope: bool = false) {
  input x: f32[B, T, D]
  output if norm == "pre" {
    n1 = layernorm(x, eps: eps) as norm1
    a = x + dropout(MultiHeadAttention(n1, n1, heads, causal: causal, mask: mask, rope: rope, drop: drop) as attn,
                    p: drop)
    n2 = layernorm(a, eps: eps) as norm2
    a + dropout(FeedForward(n2, ff, act: act, drop: drop) as mlp, p: drop)
  } else {
    a = layernorm(x + dropout(MultiHeadAttention(x, x, heads, causal: causal, mask: mask, rope: rope,
                                                 drop: drop) as attn, p: drop), eps: eps) as norm1
    layernorm(a + dropout(FeedForward(a, ff, act: act, drop: drop) as mlp, p: drop), eps: eps) as norm2
  }
}

/// Transformer decoder layer (seed 001 §5.9, ~L2097): masked (causal) self-attention over
/// the outputs so far, cross-attention whose queries come from the decoder and whose keys
/// and values come from the encoder memory (seed 001 §5.9.2, ~L2140; seed 000 ~L65), and a
/// feed-forward network; residuals and LayerNorms as in EncoderLayer.
/// `self_mask` (e.g. target padding) is combined with the causal mask; `memory_mask`
/// (source padding, [B, 1, 1, S]) applies to cross-attention.
block DecoderLayer(heads: int, ff: int, norm: str = "post", act: str = "relu", drop: float = 0.0, eps: float = 1e-5,
                   self_mask = none, memory_mask = none) {
  input x: f32[B, T, D], memory: f32[B, S, D]
  output if norm == "pre" {
    n1 = layernorm(x, eps: eps) as norm1
    a = x + dropout(MultiHeadAttention(n1, n1, heads, causal: true, mask: self_mask, drop: drop) as self_attn, p: drop)
    n2 = layernorm(a, eps: eps) as norm2
    c = a + dropout(MultiHeadAttention(n2, memory, heads, mask: memory_mask, drop: drop) as cross_attn, p: drop)
    n3 = layernorm(c, eps: eps) as norm3
    c + dropout(FeedForward(n3, ff, act: act, drop: drop) as mlp, p: drop)
  } else {
    a = layernorm(x + dropout(MultiHeadAttention(x, x, heads, causal: true, mask: self_mask, drop: drop) as self_attn,
                              p: drop), eps: eps) as norm1
    c = layernorm(a
                  + dropout(MultiHeadAttention(a, memory, heads, mask: memory_mask, drop: drop) as cross_attn, p: drop),
                  eps: eps) as norm2
    layernorm(c + dropout(FeedForward(c, ff, act: act, drop: drop) as mlp, p: drop), eps: eps) as norm3
  }
}

/// A stack of `depth` encoder layers (layers.0 … layers.{depth-1}); pre-norm stacks end
/// with a final LayerNorm (`final_norm`), as GPT-2 and ViT do.
block Encoder(depth: int, heads: int, ff: int, norm: str = "post", act: str = "relu", drop: float = 0.0,
              eps: float = 1e-5, causal: bool = false, mask = none, rope: bool = false,
              final_norm: bool = norm == "pre") {
  input x: f32[B, T, D]
  h = x
  for i in 0..depth {
    h = EncoderLayer(h, heads, ff, norm: norm, act: act, drop: drop, eps: eps, causal: causal, mask: mask,
                     rope: rope) as layers[i]
  }
  output if final_norm { layernorm(h, eps: eps) as norm } else { h }
}

/// A stack of `depth` decoder layers over an encoder memory.
block Decoder(depth: int, heads: int, ff: int, norm: str = "post", act: str = "relu", drop: float = 0.0,
              eps: float = 1e-5, self_mask = none, memory_mask = none, final_norm: bool = norm == "pre") {
  input x: f32[B, T, D], memory: f32[B, S, D]
  h = x
  for i in 0..depth {
    h = DecoderLayer(h, memory, heads, ff, norm: norm, act: act, drop: drop, eps: eps, self_mask: self_mask,
                     memory_mask: memory_mask) as layers[i]
  }
  output if final_norm { layernorm(h, eps: eps) as norm } else { h }
}
