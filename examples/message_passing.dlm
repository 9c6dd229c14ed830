// seed 001 §7.7 "Graph Recurrent Neural Networks" (~L2763: h_v^(t) = Σ_{u∈N(v)}
// f(x_v, x_(v,u), x_u, h_v^(t−1)), local and non-positional updates), §7.8.5 "Message
// Passing" (~L2837: aggregate the neighbourhood into a fixed-size vertex representation);
// seed 000 (~L519–525: weight sharing must not depend on the neighbour count or order;
// aggregation Σ / max / min / mean; f(m_e, Σ g(...))).

/// One message-passing layer over an edge list (src[e] → dst[e]): a message
/// m_e = ReLU(W_m [h_dst, h_src] + b) per edge (gathered with h[src], h[dst]), aggregated at
/// the destination by `aggr` ("sum", "mean" or "max": segment reductions over dst, which are
/// permutation invariant), then an update h' = ReLU(W_u [h, agg] + b).
block MessagePassing(hidden: int, aggr: str = "sum") {
  input h: f32[N, F], src: i64[E], dst: i64[E]
  m = relu(linear(concat(h[dst], h[src], axis: -1), hidden) as message)          // [E, hidden]
  agg: f32[N, hidden] = if aggr == "mean" {
    segment_mean(m, dst, num_segments: N)
  } else if aggr == "max" {
    segment_max(m, dst, num_segments: N)
  } else {
    segment_sum(m, dst, num_segments: N)
  }
  output relu(linear(concat(h, agg, axis: -1), hidden) as update)
}

/// A three-layer message-passing network for node classification; the aggregation is a
/// hyperparameter (`--param aggr=max`). N nodes and E directed edges default to Cora's
/// (2,708 and 10,556); `--dim N=... --dim E=...` sets others.
model MPNN(features: int = 64, hidden: int = 128, classes: int = 10, depth: int = 3, aggr: str = "sum", N: dim = 2708,
           E: dim = 10556) {
  input x: f32[N, features], src: i64[E], dst: i64[E]
  h = x
  for i in 0..depth {
    h = MessagePassing(h, src, dst, hidden, aggr: aggr) as layers[i]
  }
  output logits = linear(h, classes) as classifier
}

train MPNN {
  input labels: i64[N]
  loss = cross_entropy(logits, labels, ignore_index: -100)
  optimizer = adam(lr: 1e-3, weight_decay: 5e-4)
  batch = 1
  epochs = 200
  metrics = ["accuracy"]
}
