// seed 001 §5.4.4 "Decoder-Only Models" (~L1718: GPT-1/2/3/4 for language modelling),
// §5.4.6 "Training DAR Models" (~L1772: next-element probabilities, teacher forcing),
// §5.7.1 learned position encodings (~L2047, GPT-2); seed 004 (~L398: ≈ 6 · tokens · params
// training FLOPs); seed 003 (~L172: pre-norm).

import "std/transformer"

/// GPT-2 small: token embeddings `wte` plus learned positions `wpe`, 12 pre-norm causal
/// transformer blocks h.0 … h.11 (d = 768, 12 heads, MLP 3072 with GELU (tanh
/// approximation), dropout 0.1), a final LayerNorm, and the LM head tied to `wte`
/// (logits = h · wteᵀ: no extra parameters). Sequence length 128.
/// 38,597,376 + 786,432 + 12 · 7,087,872 + 1,536 = 124,439,808 parameters.
model GPT2Small(vocab: int = 50257, n_ctx: int = 1024, d: int = 768, depth: int = 12, heads: int = 12,
                drop: float = 0.1, T: dim = 128) {
  input input_ids: i64[B, T]
  layer wte = embedding(vocab, d)
  tok = wte(input_ids)                                             // [B, T, d]
  pos = embedding(arange(T), n_ctx, d) as wpe                      // [T, d]
  h = dropout(tok + pos, p: drop)
  for i in 0..depth {
    h = EncoderLayer(h, heads, 4 * d, norm: "pre", act: "gelu_tanh", drop: drop, causal: true) as h[i]
  }
  ln_f = layernorm(h)
  output logits: f32[B, T, vocab] = ln_f @ transpose(wte.weight)   // tied embeddings
}

train GPT2Small {
  input labels: i64[B, T]                                          // input_ids shifted left by one
  loss = cross_entropy(logits, labels)
  optimizer = adamw(lr: 6e-4, beta1: 0.9, beta2: 0.95, weight_decay: 0.1)
  schedule = cosine(steps: 600_000, min_lr: 6e-5, warmup: 2000)
  clip_norm = 1.0
  batch = 512
  accumulate = 8
  steps = 600_000
}
