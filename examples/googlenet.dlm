// seed 004 "CNN architecture" (~L48: Inception, deep + parallel paths with blocks that
// capture different kinds of features, combining convolutions and pooling while keeping the
// cost down); torchvision.models.googlenet (aux_logits=False).

import "std/vision"

/// GoogLeNet (Inception v1) as in torchvision: a stem of BasicConv2d units (conv without bias,
/// batch norm with eps 1e-3, ReLU), nine Inception modules — four parallel branches
/// (1×1 | 1×1→3×3 | 1×1→k5×k5 | 3×3 max pool→1×1) concatenated along the channels — max pools
/// with ceil mode, global average pooling and one dense layer. torchvision uses 3×3 kernels
/// in the "5×5" branch (`k5: 3`, its 6,624,904 parameters); `k5: 5` is the paper's version.
model GoogLeNet(classes: int = 1000, k5: int = 3) {
  input x: f32[B, 3, 224, 224]
  conv1 = ConvBNAct(x, 64, 7, stride: 2, padding: 3, eps: 1e-3)
  maxpool1 = maxpool2d(conv1, 3, stride: 2, ceil_mode: true)
  conv2 = ConvBNAct(maxpool1, 64, 1, eps: 1e-3)
  conv3 = ConvBNAct(conv2, 192, 3, padding: 1, eps: 1e-3)
  maxpool2: f32[B, 192, 28, 28] = maxpool2d(conv3, 3, stride: 2, ceil_mode: true)

  inception3a = Inception(maxpool2, 64, 96, 128, 16, 32, 32, k5: k5)
  inception3b: f32[B, 480, 28, 28] = Inception(inception3a, 128, 128, 192, 32, 96, 64, k5: k5)
  maxpool3 = maxpool2d(inception3b, 3, stride: 2, ceil_mode: true)

  inception4a = Inception(maxpool3, 192, 96, 208, 16, 48, 64, k5: k5)
  inception4b = Inception(inception4a, 160, 112, 224, 24, 64, 64, k5: k5)
  inception4c = Inception(inception4b, 128, 128, 256, 24, 64, 64, k5: k5)
  inception4d = Inception(inception4c, 112, 144, 288, 32, 64, 64, k5: k5)
  inception4e: f32[B, 832, 14, 14] = Inception(inception4d, 256, 160, 320, 32, 128, 128, k5: k5)
  maxpool4 = maxpool2d(inception4e, 2, stride: 2, ceil_mode: true)

  inception5a = Inception(maxpool4, 256, 160, 320, 32, 128, 128, k5: k5)
  inception5b: f32[B, 1024, 7, 7] = Inception(inception5a, 384, 192, 384, 48, 128, 128, k5: k5)

  h = inception5b |> global_avgpool |> dropout(p: 0.2)
  fc = linear(h, classes)
  output logits = fc
}

train GoogLeNet {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = sgd(lr: 0.01, momentum: 0.9, weight_decay: 1e-4)
  batch = 256
  epochs = 60
  metrics = ["accuracy", "top5"]
}
