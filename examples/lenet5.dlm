// seed 004 "CNN architecture" (~L39–45: LeNet as the starting point AlexNet deepened) and
// "Convolutions & CNNs" (~L8–13: output size floor((W − K + 2P)/S) + 1, F·(K·K·C + 1)
// parameters per conv layer); classic LeNet-5 (LeCun et al. 1998) as commonly
// re-implemented: 1×32×32 input, tanh, average-pool subsampling, full C3 connectivity.

/// LeNet-5: C1 conv 6@5×5 → S2 avg pool → C3 conv 16@5×5 → S4 avg pool → C5 conv 120@5×5
/// (a 1×1 map, equivalent to a 400→120 dense layer) → F6 84 → 10 outputs.
/// Parameters: 156 + 2,416 + 48,120 + 10,164 + 850 = 61,706.
model LeNet5(classes: int = 10) {
  input x: f32[B, 1, 32, 32]
  features = x
    |> conv2d(6, 5) |> tanh |> avgpool2d(2)         // 6@28×28 → 6@14×14
    |> conv2d(16, 5) |> tanh |> avgpool2d(2)        // 16@10×10 → 16@5×5
    |> conv2d(120, 5) |> tanh                       // 120@1×1
  h: f32[B, 120] = flatten(features)
  classifier = h |> linear(84) |> tanh |> linear(classes)
  output logits = classifier
}

train LeNet5 {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = sgd(lr: 0.01, momentum: 0.9)
  batch = 64
  epochs = 10
  metrics = ["accuracy"]
}

/// LeNet-5 as usually trained on MNIST's 28×28 digits: the first convolution pads by 2,
/// which gives C1 the 28×28 maps of the 32×32 original; ReLU and max pooling as in modern
/// re-implementations; inputs standardised with MNIST's mean and standard deviation. The same
/// 61,706 parameters.
model LeNet5MNIST(classes: int = 10) {
  input x: f32[B, 1, 28, 28]
  features = (x - 0.1307) / 0.3081                        // MNIST's pixel mean and std
    |> conv2d(6, 5, padding: 2) |> relu |> maxpool2d(2)   // 6@28×28 → 6@14×14
    |> conv2d(16, 5) |> relu |> maxpool2d(2)              // 16@10×10 → 16@5×5
    |> conv2d(120, 5) |> relu                             // 120@1×1
  h: f32[B, 120] = flatten(features)
  output logits = h |> linear(84) |> relu |> linear(classes)
}

train LeNet5MNIST {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = sgd(lr: 0.015, momentum: 0.9, weight_decay: 5e-4)
  schedule = cosine(steps: 2500)                          // 5 epochs × 500 steps
  augment = random_shift(1)                               // each digit moved by up to a pixel
  batch = 16
  epochs = 5
  metrics = ["accuracy"]
}
