// seed 004 "CNN architecture" (~L51: ResNet); seed 003 (~L191 "ResNet-200", ~L193–205: the
// shortcut of a block that subsamples needs something that changes shape);
// torchvision.models.resnet50 (bottleneck blocks, stride on the 3×3 conv: "ResNet v1.5").

import "std/vision"

/// ResNet-50 (torchvision): the ResNet stem, then [3, 4, 6, 3] Bottleneck blocks
/// (1×1 reduce → 3×3 → 1×1 expand ×4) with widths 64, 128, 256, 512 (outputs 256 … 2048),
/// a projection shortcut at the start of every stage, global average pooling and a dense
/// layer. [3, 4, 23, 3] is ResNet-101, [3, 8, 36, 3] ResNet-152.
/// 25,557,032 parameters, ~4.1 GMACs at 224×224.
model ResNet50(classes: int = 1000, blocks: list[int] = [3, 4, 6, 3]) {
  input x: f32[B, 3, 224, 224]
  stem = x |> conv2d(64, 7, stride: 2, padding: 3, bias: false) as conv1 |> batchnorm() as bn1 |> relu
           |> maxpool2d(3, stride: 2, padding: 1)
  layer1 = stem |> [Bottleneck(64) for i in 0..blocks[0]]
  layer2 = layer1 |> [Bottleneck(128, stride: if i == 0 { 2 } else { 1 }) for i in 0..blocks[1]]
  layer3 = layer2 |> [Bottleneck(256, stride: if i == 0 { 2 } else { 1 }) for i in 0..blocks[2]]
  layer4: f32[B, 2048, 7, 7] = layer3 |> [Bottleneck(512, stride: if i == 0 { 2 } else { 1 }) for i in 0..blocks[3]]
  pooled = global_avgpool(layer4)
  fc = linear(pooled, classes)
  output logits = fc
}

train ResNet50 {
  input labels: i64[B]
  loss = cross_entropy(logits, labels, label_smoothing: 0.1)
  optimizer = sgd(lr: 0.1, momentum: 0.9, weight_decay: 1e-4)
  schedule = cosine(steps: 450_000, warmup: 5000)
  batch = 256
  epochs = 90
  metrics = ["accuracy", "top5"]
}
