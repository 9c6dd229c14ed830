// seed 001 §7.8 "Graph Convolutional Neural Networks (GCN)" (~L2782: GCNs generalise the key
// ideas of CNNs to graphs), §7.1.4 normalized graph Laplacian (~L2454), §7.6 vertex
// classification as semi-supervised, transductive learning (~L2726–2732); seed 003 (~L4).

/// One graph convolution (Kipf & Welling): H' = Â H W + b with the normalised adjacency
/// Â = D^{−1/2} (A + I) D^{−1/2}. Names as PyG's GCNConv (lin.weight, bias).
block GCNLayer(out: int) {
  input h: f32[N, F], a_hat: f32[N, N]
  param bias: f32[out] = zeros
  output a_hat @ linear(h, out, bias: false) as lin + bias
}

/// Two-layer GCN for semi-supervised node classification on one graph (Cora sizes: 2,708
/// nodes, 1,433 features, 7 classes): ReLU and dropout between the layers. Unlabelled nodes
/// carry the label −100 and are ignored by the loss. N (the node count) defaults to Cora's.
/// 1,433 · 16 + 16 + 16 · 7 + 7 = 23,063 parameters.
model GCN(features: int = 1433, hidden: int = 16, classes: int = 7, drop: float = 0.5, N: dim = 2708) {
  input x: f32[N, features], adj: f32[N, N]
  a_hat = gcn_norm(adj)                               // self-loops added, symmetric normalisation
  h1 = relu(GCNLayer(dropout(x, p: drop), a_hat, hidden) as conv1)
  output logits: f32[N, classes] = GCNLayer(dropout(h1, p: drop), a_hat, classes) as conv2
}

train GCN {
  input labels: i64[N]                                // −100 for nodes outside the training set
  loss = cross_entropy(logits, labels, ignore_index: -100)
  optimizer = adam(lr: 0.01, weight_decay: 5e-4)
  batch = 1                                           // the whole graph
  epochs = 200
  metrics = ["accuracy"]
}
