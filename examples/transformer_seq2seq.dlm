// seed 001 §5.9 "Transformer Encoder-Decoder" (~L2097), §5.9.1 masked attention (~L2109),
// §5.9.2 cross attention (~L2140); seed 000 (~L118–124: encoder self-attention, cross
// attention and decoder self-attention costs); "Attention Is All You Need" (base model).

import "std/attention"
import "std/transformer"

/// The base Transformer for translation: a shared source/target vocabulary whose embedding
/// (scaled by √d) is also the pre-softmax projection, sinusoidal positions, 6 post-norm
/// encoder layers over the source, 6 post-norm decoder layers (causal self-attention over
/// the target prefix, cross-attention into the encoder output), d = 512, 8 heads,
/// feed-forward 2048, dropout 0.1, label smoothing 0.1. Teacher forcing: the decoder reads
/// the gold target shifted right. Parameters: 18,944,000 (shared embedding)
/// + 18,914,304 (encoder) + 25,224,192 (decoder) = 63,082,496.
model Transformer(vocab: int = 37000, d: int = 512, depth: int = 6, heads: int = 8, ff: int = 2048, drop: float = 0.1,
                  S: dim = 64, T: dim = 64) {
  input src: i64[B, S], src_keep: bool[B, S], tgt_in: i64[B, T], tgt_keep: bool[B, T]
  layer embed = embedding(vocab, d)
  scale = float(d) ** 0.5
  src_x = dropout(embed(src) * scale + sinusoidal_positions(S, d), p: drop)
  tgt_x = dropout(embed(tgt_in) * scale + sinusoidal_positions(T, d), p: drop)
  memory = Encoder(src_x, depth, heads, ff, drop: drop, mask: PaddingMask(src_keep)) as encoder
  h = Decoder(tgt_x, memory, depth, heads, ff, drop: drop, self_mask: PaddingMask(tgt_keep),
              memory_mask: PaddingMask(src_keep)) as decoder
  output logits: f32[B, T, vocab] = h @ transpose(embed.weight)
}

train Transformer {
  input tgt_out: i64[B, T]
  loss = cross_entropy(logits, tgt_out, label_smoothing: 0.1, ignore_index: 0)
  optimizer = adam(lr: 1e-3, beta1: 0.9, beta2: 0.98, eps: 1e-9)
  schedule = warmup(steps: 4000)
  batch = 64
  steps = 100_000
}
