// std/recurrent — recurrent cells for `scan`, and layers built from them.
//
// Sources: seed 002 §5.1 unidirectional RNNs (~L1275), §5.1.3 stacked RNNs (~L1334),
// §5.2 bidirectional RNNs and PyTorch's two-bias convention (~L1346), §5.3 LSTMs
// (~L1384); seed 004 RNNs / LSTMs / GRUs (~L239–302); seed 001 §5.1–5.2 (~L1459–1598).
//
// A cell is a block with `state` declarations: `scan(xs, Cell(...), axis: 1)` runs it
// over the time axis, carrying each state through its `next` value. Note that `next h =`
// does not rebind `h` inside the step: the new values get their own names and are what
// the cell outputs.
//
// Parameters follow PyTorch's cells: `ih` (input → hidden, weight [G·hidden, X] and
// bias_ih) and `hh` (hidden → hidden, weight [G·hidden, hidden] and bias_hh), G = 1 for
// the RNN, 4 for the LSTM, 3 for the GRU; so a cell has the parameter count of torch's
// nn.RNNCell / nn.LSTMCell / nn.GRUCell.

/// Elman RNN cell (seed 002 §5.1, ~L1283): h_t = tanh(W h_{t-1} + U x_t + b).
/// `two_bias: true` is PyTorch's cuDNN convention with two bias vectors b_hW and b_hU
/// (seed 002 §5.2.1, ~L1350); `two_bias: false` is the notes' single b_h.
/// `nonlinearity`: "tanh" (default) or "relu".
block RNNCell(hidden: int, nonlinearity: str = "tanh", two_bias: bool = true) {
  input x: f32[B, X]
  state h: f32[B, hidden] = zeros
  pre = linear(x, hidden) as ih + linear(h, hidden, bias: two_bias) as hh
  h_t = if nonlinearity == "relu" { relu(pre) } else { tanh(pre) }
  next h = h_t
  output h_t
}

/// LSTM cell (seed 002 §5.3, ~L1384; seed 004 ~L263): gates i, f, g (= c̃), o from
/// W h_{t-1} + U x_t + b in PyTorch's order; c_t = f ⊙ c_{t-1} + i ⊙ c̃_t,
/// h_t = o ⊙ tanh(c_t). The output gate reads h_{t-1} (seed 002 misprints h_t).
/// Outputs h_t; `scan(..., return_state: true)` also returns the final h and c.
block LSTMCell(hidden: int) {
  input x: f32[B, X]
  state h: f32[B, hidden] = zeros, c: f32[B, hidden] = zeros
  gates = linear(x, 4 * hidden) as ih + linear(h, 4 * hidden) as hh
  i, f, g, o = split(gates, 4, axis: -1)
  c_t = sigmoid(f) * c + sigmoid(i) * tanh(g)
  h_t = sigmoid(o) * tanh(c_t)
  next c = c_t
  next h = h_t
  output h_t
}

/// GRU cell in either convention (seed 004 ~L290–302; ORACLES "known errors": the notes
/// and PyTorch mix the update gate the opposite way round):
///
/// - `convention: "notes"` (seed 004): z = σ(W_z [h, x] + b_z), r = σ(W_r [h, x] + b_r),
///   h̃ = tanh(W_h [r ⊙ h, x] + b_h), h_t = (1 − z) ⊙ h_{t-1} + z ⊙ h̃.
///   Parameters W_z, W_r, W_h: [hidden, hidden + X] each, one bias each.
/// - `convention: "pytorch"` (nn.GRU / nn.GRUCell): r, z, n from x and h with two biases,
///   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}.
///   Parameters ih [3·hidden, X], hh [3·hidden, hidden] with two biases (torch's count).
///
/// The two agree once z is replaced by 1 − z (and the biases are merged).
block GRUCell(hidden: int, convention: str = "pytorch") {
  input x: f32[B, X]
  state h: f32[B, hidden] = zeros
  h_t = if convention == "notes" {
    hx = concat(h, x, axis: -1)
    z = sigmoid(linear(hx, hidden) as W_z)
    r = sigmoid(linear(hx, hidden) as W_r)
    h_tilde = tanh(linear(concat(r * h, x, axis: -1), hidden) as W_h)
    z * h_tilde + (1 - z) * h            // h_t = (1 − z) ⊙ h_{t-1} + z ⊙ h̃
  } else {
    gi = linear(x, 3 * hidden) as ih
    gh = linear(h, 3 * hidden) as hh
    i_r, i_z, i_n = split(gi, 3, axis: -1)
    h_r, h_z, h_n = split(gh, 3, axis: -1)
    r = sigmoid(i_r + h_r)
    z = sigmoid(i_z + h_z)
    n = tanh(i_n + r * h_n)
    z * h + (1 - z) * n                  // h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}
  }
  next h = h_t
  output h_t
}

/// One recurrent layer over a whole sequence [B, T, X] → [B, T, dirs · hidden], running a
/// cell with `scan`. `cell`: "rnn", "lstm" or "gru" (`convention` for the GRU).
/// Bidirectional layers (seed 002 §5.2, seed 001 §5.1.2 ~L1497) run a second cell over the
/// reversed sequence (its outputs come back in the original time order) and concatenate.
block Recurrent(hidden: int, cell: str = "lstm", bidirectional: bool = false, convention: str = "pytorch") {
  input x: f32[B, T, X]
  fwd = if cell == "lstm" {
    scan(x, LSTMCell(hidden), axis: 1)
  } else if cell == "gru" {
    scan(x, GRUCell(hidden, convention: convention), axis: 1)
  } else {
    scan(x, RNNCell(hidden), axis: 1)
  }
  output if bidirectional {
    bwd = if cell == "lstm" {
      scan(x, LSTMCell(hidden), axis: 1, reverse: true)
    } else if cell == "gru" {
      scan(x, GRUCell(hidden, convention: convention), axis: 1, reverse: true)
    } else {
      scan(x, RNNCell(hidden), axis: 1, reverse: true)
    }
    concat(fwd, bwd, axis: -1)
  } else {
    fwd
  }
}

/// A stack of `depth` recurrent layers (seed 002 §5.1.3 ~L1334, §5.3.1 ~L1435): layer l
/// reads the hidden states of layer l − 1 (layer 0 reads x). Dropout `drop` between layers,
/// as PyTorch's `dropout` argument. Instances layers.0 … layers.{depth-1}.
block StackedRecurrent(hidden: int, depth: int = 2, cell: str = "lstm", bidirectional: bool = false,
                       convention: str = "pytorch", drop: float = 0.0) {
  input x: f32[B, T, X]
  h = x
  for l in 0..depth {
    h_in = if l == 0 { h } else { dropout(h, p: drop) }
    h = Recurrent(h_in, hidden, cell: cell, bidirectional: bidirectional, convention: convention) as layers[l]
  }
  output h
}
