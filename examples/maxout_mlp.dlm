// seed 002 §2.3.1 "Activation Functions", Example 2.6 "Max-Out Neuron" (~L908):
// σ(x) = max{w₁ᵀx + b₁, w₂ᵀx + b₂}, generalising ReLU and leaky ReLU at twice the parameters.

/// MLP with maxout hidden units on flattened MNIST images: each hidden unit is the max of
/// `pieces` affine functions (maxout(out, pieces): weight [out · pieces, in]). With
/// 784-240-240-10 and 2 pieces: 2·(784·240 + 240) + 2·(240·240 + 240) + 2,410 = 494,890.
model MaxoutMLP(hidden: int = 240, pieces: int = 2, classes: int = 10) {
  input x: f32[B, 1, 28, 28]
  h = flatten(x) |> maxout(hidden, pieces: pieces) as maxout1 |> dropout(p: 0.5)
    |> maxout(hidden, pieces: pieces) as maxout2 |> dropout(p: 0.5)
  output logits = linear(h, classes) as classifier
}

train MaxoutMLP {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = sgd(lr: 0.05, momentum: 0.9)
  batch = 128
  epochs = 10
  metrics = ["accuracy"]
}
