// seed 001 §7.10 "Graph Transformers" (~L2857), §7.3–7.5 eigenvectors of the graph
// Laplacian as vertex embeddings (~L2530–2716); seed 000 (~L545–549: global communication,
// messages to all nodes, a larger receptive field).

import "std/transformer"

/// A graph transformer over a batch of B dense graphs with N nodes each: node features plus
/// a projection of the k smallest Laplacian eigenvectors (positional encodings), then
/// pre-norm transformer layers whose attention is masked to each node's neighbourhood
/// (adjacency plus self-loops; `local: false` lets every node attend to every node), a mean
/// readout over the nodes and a classifier.
model GraphTransformer(features: int = 32, k: int = 8, d: int = 128, depth: int = 4, heads: int = 8, classes: int = 2,
                       local: bool = true, N: dim = 50) {
  input x: f32[B, N, features], adj: f32[B, N, N], lap_pe: f32[B, N, k]
  h0 = linear(x, d) as node_embed + linear(lap_pe, d) as pe_embed
  neighbours: bool[B, 1, N, N] = unsqueeze(adj + eye(N) > 0.0, 1)
  h = if local {
    Encoder(h0, depth, heads, 2 * d, norm: "pre", act: "gelu", mask: neighbours) as encoder
  } else {
    Encoder(h0, depth, heads, 2 * d, norm: "pre", act: "gelu") as encoder
  }
  pooled = mean(h, axis: 1)                                      // graph readout
  output logits = linear(pooled, classes) as classifier
}

train GraphTransformer {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = adamw(lr: 3e-4, weight_decay: 0.01)
  batch = 64
  epochs = 100
  metrics = ["accuracy"]
}
