// seed 002 §5.1.3 "Stacked Unidirectional RNNs" (~L1334: h_t^[l] = σ(W^[l] h_{t−1}^[l] +
// U^[l] h_t^[l−1] + b^[l])) and §5.2 "Bidirectional RNNs" (~L1346); seed 001 §5.1.2
// "Bidirectional RNNs" (~L1497: every output depends on every input).

import "std/recurrent"

/// A two-layer bidirectional tanh RNN for sequence labelling, written with scans: in each
/// layer one cell reads the sequence forwards, another backwards, and their states are
/// concatenated ([B, T, 2·hidden]); layer 2 reads layer 1's states. Parameters (PyTorch's
/// two-bias cells): layer 1 2·(20·10 + 20·20 + 40) = 1,280, layer 2 2·(20·40 + 20·20 + 40)
/// = 2,480, tagger 40·9 + 9 = 369: 4,129 in all.
model StackedBiRNN(features: int = 10, hidden: int = 20, depth: int = 2, tags: int = 9, T: dim = 50) {
  input x: f32[B, T, features]
  states: f32[B, T, 2 * hidden] = StackedRecurrent(x, hidden, depth: depth, cell: "rnn", bidirectional: true) as rnn
  output tag_logits = linear(states, tags) as tagger
}

train StackedBiRNN {
  input tags_gold: i64[B, T]
  loss = cross_entropy(tag_logits, tags_gold)
  optimizer = adam(lr: 1e-3)
  clip_norm = 5.0
  batch = 32
  epochs = 20
  metrics = ["accuracy"]
}

/// The same network with PyTorch's fused layer, nn.RNN(10, 20, num_layers=2,
/// bidirectional=True): parameters weight_ih_l0, weight_ih_l0_reverse, ... — the same 3,760
/// recurrent parameters as the scan version.
model TorchBiRNN(features: int = 10, hidden: int = 20, tags: int = 9, T: dim = 50) {
  input x: f32[B, T, features]
  states, h_n = rnn(x, hidden, layers: 2, bidirectional: true) as rnn
  output tag_logits = linear(states, tags) as tagger
}
