// seed 002 §4.6 "Total Architecture with PyTorch" (~L1215–1245): the LeNet-style CNN of the
// notes (conv1 3→6 k5, max pool 2, conv2 6→16 k5, max pool 2, fc 400→120→84→10).

/// LeNet-style CNN from seed 002 on CIFAR-sized 3×32×32 images. Spatial sizes
/// 32 → 28 → 14 → 10 → 5, so flatten gives 16·5·5 = 400 features (fed 1×28×28 images it
/// would give 256: a shape error). Names match the torch module (conv1, conv2, fc1–fc3).
/// 62,006 parameters; 651,720 MACs per sample (convs 592,800 + fcs 58,920).
model LeNet(classes: int = 10) {
  input x: f32[B, 3, 32, 32]
  conv1 = conv2d(x, 6, 5)                                     // nn.Conv2d(3, 6, 5)
  p1: f32[B, 6, 14, 14] = maxpool2d(relu(conv1), 2, stride: 2)  // self.pool = nn.MaxPool2d(2, 2)
  conv2 = conv2d(p1, 16, 5)                                   // nn.Conv2d(6, 16, 5)
  p2: f32[B, 16, 5, 5] = maxpool2d(relu(conv2), 2, stride: 2)
  h: f32[B, 400] = flatten(p2)                                // torch.flatten(x, 1)
  fc1 = linear(h, 120)
  fc2 = linear(relu(fc1), 84)
  fc3 = linear(relu(fc2), classes)
  output logits = fc3
}

train LeNet {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = sgd(lr: 0.001, momentum: 0.9)
  batch = 4
  epochs = 2
  metrics = ["accuracy"]
}
