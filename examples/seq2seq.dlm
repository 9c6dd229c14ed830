// seed 002 §6 "Encoder-Decoder Models" and §6.1 "Sequence to Sequence" (~L1465–1525:
// h_t = f(x_t, h_{t−1}), context C = h_T, decoder s_{t'+1} = g(s_{t'}, ŷ_{t'}, C), trained
// end to end with teacher forcing); seed 004 "Seq2seq models" (~L304–315: LSTM encoder and
// decoder); seed 001 §5.4.3 encoder-decoder models (~L1706) and teacher forcing (~L1791).

import "std/recurrent"

/// LSTM encoder-decoder written with scan cells (Cho et al. 2014). The encoder reads the
/// source and its final hidden state is the context C = h_S (the "thought vector"); the
/// decoder is a second LSTM with its own parameters whose input at step t' is the embedding
/// of the previous target token together with C (s_{t'+1} = g(s_{t'}, y_{t'}, C)). Teacher
/// forcing: during training the decoder reads the gold previous tokens `tgt_in`
/// (<bos> y₁ … y_{T−1}) rather than its own predictions, so the whole target sequence is
/// processed in one scan.
model Seq2SeqContext(src_vocab: int = 8000, tgt_vocab: int = 8000, emb: int = 256, hidden: int = 512, S: dim = 30,
                     T: dim = 30) {
  input src: i64[B, S], tgt_in: i64[B, T]
  src_e = embedding(src, src_vocab, emb) as src_embed
  enc_states, h_S, c_S = scan(src_e, LSTMCell(hidden), axis: 1, return_state: true) as encoder
  context: f32[B, hidden] = h_S                                       // C = h_S
  tgt_e = embedding(tgt_in, tgt_vocab, emb) as tgt_embed
  ctx_seq: f32[B, T, hidden] = expand(unsqueeze(context, 1), [B, T, hidden])
  dec_states = scan(concat(tgt_e, ctx_seq, axis: -1), LSTMCell(hidden), axis: 1) as decoder
  output logits = linear(dec_states, tgt_vocab) as generator        // [B, T, tgt_vocab]
}

/// The 2-layer LSTM encoder-decoder of seed 002 (~L1520) and seed 004 (~L313), with the
/// built-in `lstm` op: the decoder's recurrent states (h, c of both layers) are initialised
/// with the encoder's final states (Sutskever et al. 2014), so everything the decoder knows
/// about the source passes through them. Teacher forcing as above.
/// 2,048,000 + 2,048,000 (embeddings) + 2 · 3,678,208 (LSTMs) + 4,104,000 (generator)
/// = 15,556,416 parameters.
model Seq2Seq(src_vocab: int = 8000, tgt_vocab: int = 8000, emb: int = 256, hidden: int = 512, depth: int = 2,
              S: dim = 30, T: dim = 30) {
  input src: i64[B, S], tgt_in: i64[B, T]
  src_e = embedding(src, src_vocab, emb) as src_embed
  enc_out, h_n, c_n = lstm(src_e, hidden, layers: depth) as encoder         // h_n, c_n: [depth, B, hidden]
  tgt_e = embedding(tgt_in, tgt_vocab, emb) as tgt_embed
  dec_out, dec_h, dec_c = lstm(tgt_e, h_n, c_n, hidden, layers: depth) as decoder
  output logits = linear(dec_out, tgt_vocab) as generator
}

train Seq2Seq {
  input tgt_out: i64[B, T]                   // y₁ … y_T (tgt_in shifted by one), 0 = padding
  loss = cross_entropy(logits, tgt_out, ignore_index: 0)
  optimizer = adam(lr: 1e-3)
  clip_norm = 1.0
  batch = 64
  epochs = 10
}

train Seq2SeqContext {
  input tgt_out: i64[B, T]
  loss = cross_entropy(logits, tgt_out, ignore_index: 0)
  optimizer = adam(lr: 1e-3)
  clip_norm = 1.0
  batch = 64
  epochs = 10
}
