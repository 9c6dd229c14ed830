// seed 001 §5.8 "BERT (Encoder-Only Model, 2018)" (~L2077–2096: a transformer encoder
// producing a representation of every token; input encodings with segment embeddings;
// pre-training then fine-tuning), §5.4.4 (~L1441), §5.6.4 CLS token (~L2010).

import "std/attention"
import "std/transformer"

/// BERT-base (uncased): word, position and token-type (segment) embeddings summed and
/// layer-normalised, 12 post-norm encoder layers (d = 768, 12 heads, feed-forward 3072,
/// GELU, LayerNorm eps 1e-12, dropout 0.1) with a padding mask, and the pooler (a dense
/// tanh layer on the [CLS] token). Sequence length 128.
/// 23,837,184 (embeddings) + 85,054,464 (encoder) + 590,592 (pooler) = 109,482,240 parameters.
model BERTBase(vocab: int = 30522, d: int = 768, depth: int = 12, heads: int = 12, ff: int = 3072,
               max_positions: int = 512, type_vocab: int = 2, drop: float = 0.1, T: dim = 128) {
  input input_ids: i64[B, T], token_type_ids: i64[B, T], attention_mask: bool[B, T]
  words = embedding(input_ids, vocab, d) as word_embeddings
  positions = embedding(arange(T), max_positions, d) as position_embeddings      // [T, d]
  segments = embedding(token_type_ids, type_vocab, d) as token_type_embeddings
  emb = layernorm(words + positions + segments, eps: 1e-12) as embeddings_norm |> dropout(p: drop)
  sequence_output: f32[B, T, d] = Encoder(emb, depth, heads, ff, norm: "post", act: "gelu", drop: drop, eps: 1e-12,
                                          mask: PaddingMask(attention_mask)) as encoder
  output sequence_output
  output pooled_output: f32[B, d] = tanh(linear(sequence_output[:, 0], d) as pooler)
}
