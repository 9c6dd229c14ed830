// seed 002 §5.3 "Long Short Term Memory" (~L1384) and §5.3.1 "Multilayer LSTMs" (~L1435);
// seed 001 §5.2 LSTMs (~L1529) and §5.4 deep autoregressive models (~L1614: next-element
// prediction, teacher forcing during training ~L1791); seed 004 "LSTMs" (~L263; h0, c0 zero).

import "std/recurrent"

/// A two-layer LSTM word-level language model (Zaremba et al.'s "medium" PTB setup):
/// embedding → dropout → LSTM → dropout → LSTM → dropout → linear to the vocabulary,
/// predicting token t + 1 from tokens ≤ t. Each layer is a scan of LSTMCell over the time
/// axis with truncated BPTT over the 35-step window.
/// Parameters: 6,500,000 (embedding) + 2 · 3,385,200 (LSTMs) + 6,510,000 (decoder) = 19,780,400.
model LSTMLanguageModel(vocab: int = 10000, emb: int = 650, hidden: int = 650, drop: float = 0.5, T: dim = 35) {
  input tokens: i64[B, T]
  e = embedding(tokens, vocab, emb) as encoder
  h1 = scan(dropout(e, p: drop), LSTMCell(hidden), axis: 1, bptt: 35) as lstm[0]
  h2: f32[B, T, hidden] = scan(dropout(h1, p: drop), LSTMCell(hidden), axis: 1, bptt: 35) as lstm[1]
  output logits = linear(dropout(h2, p: drop), vocab) as decoder
}

train LSTMLanguageModel {
  input targets: i64[B, T]                    // tokens shifted by one
  loss = cross_entropy(logits, targets)
  optimizer = sgd(lr: 1.0)
  schedule = step_lr(every: 1327, gamma: 0.83)     // ÷1.2 every epoch (steps: 929,589 PTB tokens / 20 / 35 = 1,327 a epoch; the paper starts after epoch 6)
  clip_norm = 5.0
  batch = 20
  epochs = 39
}
