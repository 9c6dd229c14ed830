// seed 004 "CNN architecture" (~L51: ResNet, f(x) + x with a 1×1 conv on x when the shape
// changes); seed 003 "Residual / Skip - connections" (~L113–205: f_{i+1}(x) = f_i(x) +
// g_i(f_i(x)); a projection P where a block subsamples); torchvision.models.resnet18.

import "std/vision"

/// ResNet-18 (torchvision): 7×7/2 stem with batch norm and a 3×3/2 max pool, four stages of
/// two BasicBlocks (64, 128, 256, 512 channels; stages 2–4 start with stride 2 and a 1×1
/// projection shortcut), global average pooling and a dense layer. `blocks` gives the
/// number of blocks per stage ([3, 4, 6, 3] is ResNet-34). Names match torchvision
/// (conv1, bn1, layer1.0.conv1, layer2.0.downsample.0, fc).
/// 11,689,512 parameters, ~1.814 GMACs at 224×224.
model ResNet18(classes: int = 1000, blocks: list[int] = [2, 2, 2, 2]) {
  input x: f32[B, 3, 224, 224]
  stem = x |> conv2d(64, 7, stride: 2, padding: 3, bias: false) as conv1 |> batchnorm() as bn1 |> relu
           |> maxpool2d(3, stride: 2, padding: 1)
  layer1 = stem |> [BasicBlock(64) for i in 0..blocks[0]]
  layer2 = layer1 |> [BasicBlock(128, stride: if i == 0 { 2 } else { 1 }) for i in 0..blocks[1]]
  layer3 = layer2 |> [BasicBlock(256, stride: if i == 0 { 2 } else { 1 }) for i in 0..blocks[2]]
  layer4: f32[B, 512, 7, 7] = layer3 |> [BasicBlock(512, stride: if i == 0 { 2 } else { 1 }) for i in 0..blocks[3]]
  pooled = global_avgpool(layer4)                 // avgpool + flatten
  fc = linear(pooled, classes)
  output logits = fc
}

train ResNet18 {
  input labels: i64[B]
  loss = cross_entropy(logits, labels, label_smoothing: 0.0)
  optimizer = sgd(lr: 0.1, momentum: 0.9, weight_decay: 1e-4)
  schedule = step_lr(every: 150_120, gamma: 0.1)   // every 30 epochs (schedules count optimiser steps: 1,281,167 / 256 = 5,004 a epoch)
  batch = 256
  epochs = 90
  metrics = ["accuracy", "top5"]
}
