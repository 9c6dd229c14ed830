// seed 004 "GRUs" (~L290–302: z_t, r_t, h̃_t from [h_{t−1}, x_t]; h_t = (1 − z_t) ⊙ h_{t−1}
// + z_t ⊙ h̃_t); seed 001 §5.3 (~L1594: GRUs combine cell and hidden state); ORACLES "known
// errors": PyTorch's GRU mixes with the mirror image, h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}.

import "std/recurrent"

/// GRU sequence classifier with the gate convention chosen by a string: "notes" (seed 004's
/// equations, one bias per gate: 3·(h·(h + x) + h) recurrent parameters) or "pytorch"
/// (nn.GRUCell: 3·h·(x + h) + 6·h). With x = 32, h = 64: 18,624 vs 18,816, plus the
/// classifier 64·4 + 4 = 260.
model GRUClassifier(features: int = 32, hidden: int = 64, classes: int = 4, convention: str = "notes", T: dim = 100) {
  input x: f32[B, T, features]
  hs = scan(x, GRUCell(hidden, convention: convention), axis: 1) as gru
  last: f32[B, hidden] = hs[:, -1]
  output logits = linear(last, classes) as classifier
}

train GRUClassifier {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = adam(lr: 1e-3)
  clip_norm = 1.0
  batch = 64
  epochs = 20
  metrics = ["accuracy", "f1"]
}

/// The same classifier on the built-in `gru` op (PyTorch semantics and parameter names:
/// weight_ih_l0 [192, 32], weight_hh_l0 [192, 64], bias_ih_l0, bias_hh_l0): 18,816 + 260.
model TorchGRUClassifier(features: int = 32, hidden: int = 64, classes: int = 4, T: dim = 100) {
  input x: f32[B, T, features]
  hs, h_n = gru(x, hidden) as gru
  output logits = linear(hs[:, -1], classes) as classifier
}
