// seed 004 "CNN architecture" (~L44: a 1×1 convolution acts like an MLP per pixel,
// aggregating across channels and adding non-linearity); seed 000 (~L319–323: global
// average pooling instead of flatten + dense layers, any input size works); Network in
// Network (Lin et al. 2013) as in d2l.ai §8.3.

/// NiN block: a k×k convolution followed by two 1×1 convolutions ("mlpconv"), each with ReLU.
block NiNBlock(out: int, kernel: int, stride: int = 1, padding: int = 0) {
  input x: f32[B, C, H, W]
  output x |> conv2d(out, kernel, stride: stride, padding: padding) as conv |> relu
           |> conv2d(out, 1) as mlp1 |> relu |> conv2d(out, 1) as mlp2 |> relu
}

/// Network in Network for 224×224 single-channel images (d2l's Fashion-MNIST setup): four
/// NiN blocks with max pooling in between; the last block has one channel per class and a
/// global average pool replaces the dense classifier (no dense layers at all).
model NiN(classes: int = 10) {
  input x: f32[B, 1, 224, 224]
  h = x
    |> NiNBlock(96, 11, stride: 4) |> maxpool2d(3, stride: 2)
    |> NiNBlock(256, 5, padding: 2) |> maxpool2d(3, stride: 2)
    |> NiNBlock(384, 3, padding: 1) |> maxpool2d(3, stride: 2)
    |> dropout(p: 0.5)
    |> NiNBlock(classes, 3, padding: 1)
  output logits: f32[B, classes] = global_avgpool(h)
}

train NiN {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = sgd(lr: 0.1)
  batch = 128
  epochs = 10
  metrics = ["accuracy"]
}
