// seed 001 §7.9 "Pooling and Readout" (~L2842: a graph-level representation that must be
// order invariant: average / sum / maximum of vertex embeddings), §7.6 graph classification
// (~L2736–2744); seed 000 (~L515 graph-level predictions).

import "./message_passing.dlm"

/// Graph classification on a batch of G graphs packed into one disjoint union: node
/// features, an edge list, and the graph id of every node. Three message-passing layers,
/// then a readout per graph (`readout`: "mean", "sum" or "max", as segment reductions over
/// the graph ids) and an MLP classifier. By default G = 32 graphs of 24 nodes and 52 directed
/// edges each (N = 768, E = 1,664 in all, about a molecule's size).
model GraphClassifier(features: int = 32, hidden: int = 128, classes: int = 2, readout: str = "mean", G: dim = 32,
                      N: dim = 768, E: dim = 1664) {
  input x: f32[N, features], src: i64[E], dst: i64[E], graph_ids: i64[N]
  h1 = MessagePassing(x, src, dst, hidden, aggr: "sum") as layer1
  h2 = MessagePassing(h1, src, dst, hidden, aggr: "sum") as layer2
  h3 = MessagePassing(h2, src, dst, hidden, aggr: "sum") as layer3
  pooled: f32[G, hidden] = if readout == "sum" {
    segment_sum(h3, graph_ids, num_segments: G)
  } else if readout == "max" {
    segment_max(h3, graph_ids, num_segments: G)
  } else {
    segment_mean(h3, graph_ids, num_segments: G)
  }
  head = pooled |> linear(hidden) |> relu |> dropout(p: 0.5) |> linear(classes)
  output logits = head
}

train GraphClassifier {
  input labels: i64[G]
  loss = cross_entropy(logits, labels)
  optimizer = adam(lr: 1e-3)
  batch = 1
  epochs = 100
  metrics = ["accuracy"]
}
