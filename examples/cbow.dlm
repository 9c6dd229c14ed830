// seed 001 §4.4 "Word Vectors" (~L1314–1341: continuous bag-of-words; the input layer maps
// each of the 2W context words to a word vector with an embedding matrix E ∈ R^{V×Z} that
// is shared across context words (parameter sharing); a sum layer composes them; a softmax
// output layer with C = V classes predicts the missing word), §4.1 embedding layers (~L1246).

/// CBOW (word2vec): one embedding table E, applied to each of the 2W context positions
/// (a `layer`, so every application shares it), summed into a Z-dimensional context vector,
/// and a softmax layer over the vocabulary predicting the centre word. Only E is kept for
/// downstream use. V = 10,000, Z = 100: 1,000,000 (E) + 1,010,000 (output layer).
model CBOW(vocab: int = 10000, Z: int = 100, W: int = 2) {
  input context: i64[B, 2 * W]                         // W words left and W words right
  layer E = embedding(vocab, Z)
  h = E(context[:, 0])
  for i in 1..2 * W {
    h = h + E(context[:, i])                           // Σ_i emb(w_i)
  }
  output logits = linear(h, vocab) as output_layer
}

train CBOW {
  input centre: i64[B]
  loss = cross_entropy(logits, centre)
  optimizer = adam(lr: 1e-3)
  batch = 512
  epochs = 5
}
