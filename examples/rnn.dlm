// seed 002 §5.1 "Unidirectional RNNs" (~L1275: h_t = σ_h(W h_{t−1} + U x_t + b_h),
// y_t = σ_y(V h_t + b_y)), §5.1.2 "Backpropagation Through Time" (~L1311), §5.2.1 "PyTorch
// Implementation" (~L1348: two bias vectors; nn.RNN(10, 20, 2) has the 8 tensors listed);
// seed 000 (~L238: the linear RNN h_t = W(u_t + h_{t−1}) used to work through BPTT);
// seed 004 "RNNs" (~L239–261: truncated BPTT).

import "std/recurrent"

/// Vanilla (Elman) RNN written as a `scan` of a tanh cell, with the notes' single bias
/// b_h, a linear read-out V at every step, and gradients truncated to 20 steps (truncated
/// BPTT, seed 004 ~L253). 10 → 20 → 5: 20·10 + 20·20 + 20 + 20·5 + 5 = 725 parameters.
model ElmanRNN(features: int = 10, hidden: int = 20, outputs: int = 5, T: dim = 35) {
  input x: f32[B, T, features]
  hs: f32[B, T, hidden] = scan(x, RNNCell(hidden, two_bias: false), axis: 1, bptt: 20)
  output y = linear(hs, outputs) as V
}

train ElmanRNN {
  input targets: f32[B, T, outputs]
  loss = mse_loss(y, targets)                 // L = (1/|T|) Σ_t L_t (seed 002 §5.1.1)
  optimizer = sgd(lr: 0.01)
  clip_norm = 1.0                             // gradient clipping against exploding gradients
  batch = 32
  epochs = 10
}

/// The seed's PyTorch example, nn.RNN(input_features=10, hidden_features=20, num_layers=2):
/// the built-in `rnn` op with PyTorch's parameters weight_ih_l0 [20, 10], weight_hh_l0
/// [20, 20], bias_ih_l0 [20], bias_hh_l0 [20], and the same for layer 1 with input 20:
/// 640 + 840 = 1,480 parameters. Outputs [B, T, 20] and h_n [2, B, 20].
model TorchRNN(T: dim = 5) {
  input x: f32[B, T, 10]
  out, h_n = rnn(x, 20, layers: 2) as rnn
  output out
  output h_n
}

/// The same two-layer tanh RNN from scan cells with two biases each: also 1,480 parameters.
model ScanRNN(T: dim = 5) {
  input x: f32[B, T, 10]
  output out = StackedRecurrent(x, 20, depth: 2, cell: "rnn") as rnn
}

/// One step of a linear RNN: h_t = W (u_t + h_{t−1}) with a scalar weight.
block LinearCell() {
  input u: f32[B, 1]
  state h: f32[B, 1] = zeros
  param W: f32[1, 1] = ones
  h_t = (u + h) @ W
  next h = h_t
  output h_t
}

/// The linear RNN of seed 000 (~L238) whose BPTT gradient the notes derive:
/// y = h_T = W u_T + W² u_{T−1} + W³ u_{T−2}; with T = 3, W = 2, u = 1: y = 14, dy/dW = 17.
model LinearRNN(T: dim = 3) {
  input u: f32[B, T, 1]
  hs = scan(u, LinearCell(), axis: 1)
  output y: f32[B, 1] = hs[:, -1]
}
