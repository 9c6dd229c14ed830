// seed 000 (~L309 "Depthwise: filters unique to each channel of input ... less expensive,
// now quite common"; ~L407 "expand to higher dim, then compress ... don't ReLU output");
// seed 003 "Depthwise - convolution" (~L238); seed 001 §6.3.2 depth-wise separable
// convolution (~L2307); torchvision.models.mobilenet_v2.

import "std/vision"

/// MobileNetV2 (torchvision, width 1.0): a 3×3/2 ConvBNReLU6 stem, 17 inverted residual
/// blocks from the (t, c, n, s) table — expansion t, output channels c, n repeats, first
/// stride s — a 1×1 ConvBNReLU6 to 1280 channels, global average pooling, dropout 0.2 and a
/// dense layer. Blocks are features.1 … features.17 as in torchvision.
/// 3,504,872 parameters, ~0.30 GMACs at 224×224.
model MobileNetV2(classes: int = 1000, drop: float = 0.2) {
  input x: f32[B, 3, 224, 224]
  settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]
  h = ConvBNAct(x, 32, 3, stride: 2, act: "relu6") as features[0]
  idx = 1
  for s in settings {
    for i in 0..s[2] {
      h = InvertedResidual(h, s[1], s[0], stride: if i == 0 { s[3] } else { 1 }) as features[idx]
      idx = idx + 1
    }
  }
  last: f32[B, 1280, 7, 7] = ConvBNAct(h, 1280, 1, act: "relu6") as features[18]
  pooled = global_avgpool(last)
  classifier = pooled |> dropout(p: drop) |> linear(classes)
  output logits = classifier
}

train MobileNetV2 {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = rmsprop(lr: 0.045, alpha: 0.9, momentum: 0.9, weight_decay: 4e-5)
  schedule = step_lr(every: 13_345, gamma: 0.98)   // every epoch (schedules count optimiser steps: 1,281,167 / 96 = 13,345 a epoch)
  batch = 96
  epochs = 300
  metrics = ["accuracy", "top5"]
}
