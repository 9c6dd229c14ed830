// Issue 5's gradient-checkpointing benchmark: a deep residual MLP whose activations grow with
// its depth while each block's parameters stay small, the case checkpointing is for.

/// One residual block: x + scale·(W₂·relu(W₁·x + b₁) + b₂), no normalisation; the branch is
/// scaled down (as SkipInit and Fixup do) so that a hundred of them train without exploding.
block ResidualBlock(hidden: int, scale: float = 0.1) {
  input x: f32[B, D]
  output x + scale * (x |> linear(hidden) as fc1 |> relu |> linear(D) as fc2)
}

/// A residual MLP of `depth` blocks between an input projection and a classifier.
/// With the defaults: 100 blocks of width 32 and hidden width 64.
model ResidualMLP(features: int = 16, width: int = 32, hidden: int = 64, depth: int = 100, classes: int = 4) {
  input x: f32[B, features]
  h = x |> linear(width) as proj
  for i in 0..depth {
    h = ResidualBlock(h, hidden) as blocks[i]
  }
  output logits = linear(h, classes) as head
}

train ResidualMLP {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = sgd(lr: 0.01, momentum: 0.9)
  batch = 16
  epochs = 1
  seed = 5
}
