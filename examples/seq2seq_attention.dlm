// seed 002 §7.1 "Seq2Seq with Attention" (~L1607–1655: the bottleneck problem; scores
// dot sᵀh, general sᵀW_a h, additive v_aᵀ tanh(W_a h + V_a s); α = softmax(e), context
// a = Σ α_t h_t); seed 001 §5.5.4 "Attention for Encoder-Decoder RNNs" (~L1896: Bahdanau's
// bidirectional encoder, the previous decoder state s_{t−1} is the query, encoder states
// are keys and values); seed 000 (~L29–35, ~L64).

import "std/attention"
import "std/recurrent"

/// One decoder step: attend over the encoder states `memory` with the previous decoder
/// state as the query, then update the GRU state from the previous target embedding and
/// the context. `memory` is not scanned over: it is the same tensor at every step.
block AttnDecoderCell(hidden: int, score: str = "additive", attn_dim: int = 256) {
  input y: f32[B, E], memory: f32[B, S, M]
  state s: f32[B, hidden] = zeros
  ctx, alpha = BahdanauAttention(s, memory, score: score, attn_dim: attn_dim) as attention
  s_t = gru_cell(concat(y, ctx, axis: -1), s, hidden) as rnn
  next s = s_t
  output s_t
  output ctx
  output alpha
}

/// GRU encoder-decoder with Bahdanau attention. A bidirectional GRU encodes the source into
/// states h₁ … h_S (2·enc_hidden each); at every target step the decoder scores all of them
/// against its previous state with `score` ("dot", "general" or "additive"), reads the
/// context vector, and updates its state; the output layer sees the decoder state and the
/// context. Teacher forcing as in Seq2Seq. The attention maps come out as [B, T, S].
/// ("dot" needs the decoder size to equal the encoder state size, 2·enc_hidden, as here.)
model AttentionSeq2Seq(src_vocab: int = 8000, tgt_vocab: int = 8000, emb: int = 256, enc_hidden: int = 256,
                       score: str = "additive", attn_dim: int = 256, S: dim = 30, T: dim = 30) {
  input src: i64[B, S], tgt_in: i64[B, T]
  src_e = embedding(src, src_vocab, emb) as src_embed
  memory: f32[B, S, 2 * enc_hidden] = Recurrent(src_e, enc_hidden, cell: "gru", bidirectional: true) as encoder
  tgt_e = embedding(tgt_in, tgt_vocab, emb) as tgt_embed
  dec_states, contexts, attn = scan(tgt_e,
                                    AttnDecoderCell(2 * enc_hidden, score: score, attn_dim: attn_dim, memory: memory),
                                    axis: 1) as decoder
  output logits = linear(concat(dec_states, contexts, axis: -1), tgt_vocab) as generator
  output attention: f32[B, T, S] = attn
}

train AttentionSeq2Seq {
  input tgt_out: i64[B, T]
  loss = cross_entropy(logits, tgt_out, ignore_index: 0)
  optimizer = adam(lr: 5e-4)
  clip_norm = 1.0
  batch = 64
  epochs = 15
}
