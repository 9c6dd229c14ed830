// seed 004 "CNN architecture" (~L46–47: VGG groups layers into blocks that are easily
// parameterised; many narrow 3×3 convolutions beat few wide ones); seed 000 (~L293: three
// 3×3 convs see what one 7×7 sees, with fewer parameters and more non-linearity);
// torchvision.models.vgg16.

/// VGG, parameterised by depth (11, 13, 16 or 19): five stages of 3×3 convolutions
/// (padding 1, ReLU), each stage ending in a 2×2 max pool, then three dense layers.
/// The stages are generated from a configuration list; the running index reproduces
/// torchvision's parameter names (features.0, features.2, features.5, ..., classifier.0,
/// classifier.3, classifier.6). VGG-16 at 224×224: 138,357,544 parameters, ~15.47 GMACs.
model VGG(depth: int = 16, classes: int = 1000, drop: float = 0.5) {
  input x: f32[B, 3, 224, 224]
  stages = if depth == 11 {
    [[64], [128], [256, 256], [512, 512], [512, 512]]
  } else if depth == 13 {
    [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]]
  } else if depth == 19 {
    [[64, 64], [128, 128], [256, 256, 256, 256], [512, 512, 512, 512], [512, 512, 512, 512]]
  } else {
    [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]]
  }
  h = x
  idx = 0                                    // position in torchvision's `features` Sequential
  for stage in stages {
    for width in stage {
      h = relu(conv2d(h, width, 3, padding: 1) as features[idx])
      idx = idx + 2                          // conv, relu
    }
    h = maxpool2d(h, 2, stride: 2)
    idx = idx + 1                            // pool
  }
  pooled: f32[B, 512, 7, 7] = adaptive_avgpool2d(h, 7)
  classifier = flatten(pooled)
    |> linear(4096) |> relu |> dropout(p: drop)
    |> linear(4096) |> relu |> dropout(p: drop)
    |> linear(classes)
  output logits = classifier
}

train VGG {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = sgd(lr: 0.01, momentum: 0.9, weight_decay: 5e-4)
  schedule = step_lr(every: 150_120, gamma: 0.1)   // every 30 epochs (schedules count optimiser steps: 1,281,167 / 256 = 5,004 a epoch)
  batch = 256
  epochs = 74
  metrics = ["accuracy", "top5"]
}
