// seed 000 "Finetuning: 1] Prompt Tuning" (~L249–253: essentially make the first layer's
// keys learnable; vectors are freer than (English) tokens; works best on large models);
// seed 001 §8.5 "Pretraining" (~L2923–2997: train only new parameters, without fine-tuning);
// seed 004 "Finetuning" (~L406–410).

import "std/attention"
import "std/transformer"

/// Prompt tuning on a frozen BERT-style encoder: P learned prompt vectors (a `param`) are
/// prepended to the frozen token embeddings of every sequence; the frozen encoder reads the
/// concatenation and a small trainable head classifies from the first prompt position.
/// Trainable: 20 · 768 (prompt) + 768 · 2 + 2 (head) = 16,898 parameters; the backbone
/// (embeddings and 12 layers) is frozen.
model PromptTuning(vocab: int = 30522, d: int = 768, depth: int = 12, heads: int = 12, prompt_len: int = 20,
                   classes: int = 2, T: dim = 128) {
  input tokens: i64[B, T], keep: bool[B, T]
  param prompt: f32[prompt_len, d] = normal(std: 0.02)
  @frozen tok = embedding(tokens, vocab, d) as word_embeddings
  prompts = expand(unsqueeze(prompt, 0), [B, prompt_len, d])
  x = concat(prompts, tok, axis: 1)                                  // [B, P + T, d]
  @frozen h0 = positional_embedding(x, 512) as position_embeddings
  @frozen h0n = layernorm(h0, eps: 1e-12) as embeddings_norm
  keep_all = concat(ones([B, prompt_len], dtype: bool), keep, axis: 1)
  @frozen h = Encoder(h0n, depth, heads, 4 * d, act: "gelu", eps: 1e-12, mask: PaddingMask(keep_all)) as encoder
  output logits = linear(h[:, 0], classes) as head
}

train PromptTuning {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = adamw(lr: 0.3, weight_decay: 1e-5)       // prompt tuning uses large learning rates
  batch = 32
  epochs = 10
  metrics = ["accuracy"]
}
