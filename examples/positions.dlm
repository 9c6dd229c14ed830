// seed 001 §5.7 "Encoding Position (set → sequence)" (~L2017–2063: transformers are
// permutation-equivariant; f(x_i, i) = x_i + posemb(i); fixed sinusoids
// posemb(i)[2k] = sin(i / 10000^{2k/d}), [2k+1] = cos(...); learned position encodings as in
// BERT and GPT-2); seed 000 (~L179–187: RoPE, q = Θ_t W_q x, no learnable parameters,
// depends only on relative positions); seed 004 (~L353–357).

import "std/transformer"

/// Token embeddings plus fixed sinusoidal position encodings (the original transformer),
/// then one encoder layer. No position parameters.
model SinusoidalPositions(vocab: int = 10000, d: int = 256, heads: int = 4, T: dim = 64) {
  input tokens: i64[B, T]
  x = embedding(tokens, vocab, d) as embed
  h = x + sinusoidal_positions(T, d)                       // [B, T, d] + [T, d]
  output y = EncoderLayer(h, heads, 4 * d) as layer0
}

/// Learned absolute position embeddings (BERT, GPT-2): a [max_len, d] table added to the
/// token embeddings: max_len · d = 131,072 extra parameters here.
model LearnedPositions(vocab: int = 10000, d: int = 256, heads: int = 4, max_len: int = 512, T: dim = 64) {
  input tokens: i64[B, T]
  x = embedding(tokens, vocab, d) as embed
  h = positional_embedding(x, max_len) as pos_embed
  output y = EncoderLayer(h, heads, 4 * d) as layer0
}

/// Rotary position embeddings: no additive encoding; queries and keys of every head are
/// rotated by position-dependent angles inside the attention, so scores depend only on the
/// relative offset. No position parameters.
model RotaryPositions(vocab: int = 10000, d: int = 256, heads: int = 4, T: dim = 64) {
  input tokens: i64[B, T]
  x = embedding(tokens, vocab, d) as embed
  output y = EncoderLayer(x, heads, 4 * d, norm: "pre", rope: true) as layer0
}
