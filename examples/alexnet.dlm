// seed 004 "CNN architecture" (~L45: AlexNet, a deeper and wider LeNet with ReLU, max
// pooling and dropout); torchvision.models.alexnet.

/// AlexNet as in torchvision (single-GPU variant), 3×224×224 input. Parameter names match
/// torchvision (features.0, features.3, ..., classifier.1, classifier.4, classifier.6).
/// 61,100,840 parameters, ~0.714 GMACs.
model AlexNet(classes: int = 1000, drop: float = 0.5) {
  input x: f32[B, 3, 224, 224]
  features = x
    |> conv2d(64, 11, stride: 4, padding: 2) |> relu |> maxpool2d(3, stride: 2)      // 0 1 2
    |> conv2d(192, 5, padding: 2) |> relu |> maxpool2d(3, stride: 2)                 // 3 4 5
    |> conv2d(384, 3, padding: 1) |> relu                                            // 6 7
    |> conv2d(256, 3, padding: 1) |> relu                                            // 8 9
    |> conv2d(256, 3, padding: 1) |> relu |> maxpool2d(3, stride: 2)                 // 10 11 12
  pooled: f32[B, 256, 6, 6] = adaptive_avgpool2d(features, 6)
  h: f32[B, 9216] = flatten(pooled)
  classifier = h
    |> dropout(p: drop) |> linear(4096) |> relu
    |> dropout(p: drop) |> linear(4096) |> relu
    |> linear(classes)
  output logits = classifier
}

train AlexNet {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = sgd(lr: 0.01, momentum: 0.9, weight_decay: 5e-4)
  schedule = step_lr(every: 300_270, gamma: 0.1)   // every 30 epochs (schedules count optimiser steps: 1,281,167 / 128 = 10,009 a epoch)
  batch = 128
  epochs = 90
  metrics = ["accuracy", "top5"]
}
