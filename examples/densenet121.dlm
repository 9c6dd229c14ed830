// seed 004 "CNN architecture" (~L52: DenseNet, a higher-order "Taylor expansion" with
// feature-map reuse; transition layers reduce the resolution); seed 003 (~L128: "add links
// from outputs of all earlier layers to the input of a given layer"); torchvision densenet121.

import "std/vision"

/// DenseNet-121 (torchvision): 7×7/2 stem and 3×3/2 max pool, four dense blocks of
/// [6, 12, 24, 16] layers with growth rate 32 (each layer sees the concatenation of all
/// earlier feature maps), transitions halving channels and resolution in between, a final
/// batch norm, global average pooling and a dense layer. 7,978,856 parameters.
/// Names: conv0, norm0, denseblock1.denselayer.1.conv1, transition1.conv, norm5, classifier.
model DenseNet121(classes: int = 1000, growth: int = 32, blocks: list[int] = [6, 12, 24, 16], init_features: int = 64,
                  bn_size: int = 4) {
  input x: f32[B, 3, 224, 224]
  stem = x |> conv2d(init_features, 7, stride: 2, padding: 3, bias: false) as conv0 |> batchnorm() as norm0
           |> relu |> maxpool2d(3, stride: 2, padding: 1)
  c1 = init_features + blocks[0] * growth          // 256
  c2 = c1 / 2 + blocks[1] * growth                 // 512
  c3 = c2 / 2 + blocks[2] * growth                 // 1024
  denseblock1 = DenseBlock(stem, blocks[0], growth, bn_size: bn_size)
  transition1 = Transition(denseblock1, c1 / 2)
  denseblock2 = DenseBlock(transition1, blocks[1], growth, bn_size: bn_size)
  transition2 = Transition(denseblock2, c2 / 2)
  denseblock3 = DenseBlock(transition2, blocks[2], growth, bn_size: bn_size)
  transition3 = Transition(denseblock3, c3 / 2)
  denseblock4: f32[B, 1024, 7, 7] = DenseBlock(transition3, blocks[3], growth, bn_size: bn_size)
  norm5 = batchnorm(denseblock4)
  pooled = norm5 |> relu |> global_avgpool
  classifier = linear(pooled, classes)
  output logits = classifier
}

train DenseNet121 {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = sgd(lr: 0.1, momentum: 0.9, nesterov: true, weight_decay: 1e-4)
  batch = 256
  epochs = 90
  metrics = ["accuracy", "top5"]
}
