// std/vision — convolutional building blocks, NCHW layout (PyTorch's).
//
// Sources: seed 004 "CNN architecture" (~L39–54: VGG blocks, 1x1 convs, Inception,
// batch norm, ResNet, DenseNet with transition layers); seed 003 "Residual / Skip"
// (~L113–219: projection shortcuts when the shape changes, ResNet vs ConvNeXt block,
// depthwise convolution ~L238); seed 001 §6.3.2 depth-wise separable convolution
// (~L2307); seed 000 (~L293 stacked 3x3 convs, ~L309 depthwise, ~L407 "expand to higher
// dim, then compress": inverted bottlenecks, no ReLU on the low-dimensional output).
//
// Parameter names follow torchvision where it has a counterpart (conv1, bn1, downsample.0,
// norm1, conv, ...).

/// Convolution → batch norm → activation, the unit most CNNs are made of (torchvision's
/// Conv2dNormActivation / GoogLeNet's BasicConv2d). The convolution has no bias (the batch
/// norm supplies one). `padding` defaults to "same"-style (kernel − 1) / 2;
/// `act`: "relu", "relu6", "silu", "gelu" or "none".
block ConvBNAct(out: int, kernel: int = 3, stride: int = 1, padding: int = (kernel - 1) / 2, groups: int = 1,
                act: str = "relu", eps: float = 1e-5) {
  input x: f32[B, C, H, W]
  y = conv2d(x, out, kernel, stride: stride, padding: padding, groups: groups, bias: false) as conv
  z = batchnorm(y, eps: eps) as bn
  output if act == "relu" {
    relu(z)
  } else if act == "relu6" {
    relu6(z)
  } else if act == "silu" {
    silu(z)
  } else if act == "gelu" {
    gelu(z)
  } else {
    z
  }
}

/// Depth-wise separable convolution (seed 001 §6.3.2, ~L2307): a depth-wise k×k conv
/// (one filter per input channel, groups = C) followed by a 1×1 point-wise conv mixing the
/// channels. Without biases it has k²·C + C·out parameters instead of k²·C·out.
block SeparableConv(out: int, kernel: int = 3, stride: int = 1, padding: int = (kernel - 1) / 2, bias: bool = false) {
  input x: f32[B, C, H, W]
  dw = conv2d(x, C, kernel, stride: stride, padding: padding, groups: C, bias: bias) as depthwise
  output conv2d(dw, out, 1, bias: bias) as pointwise
}

/// VGG block (seed 004 ~L46): `convs` 3×3 convolutions with padding 1 and ReLU, then a 2×2
/// max pool that halves the resolution. Convolutions are convs.0 … convs.{n-1}.
block VGGBlock(convs: int, out: int) {
  input x: f32[B, C, H, W]
  h = x
  for i in 0..convs {
    h = relu(conv2d(h, out, 3, padding: 1) as convs[i])
  }
  output maxpool2d(h, 2)
}

/// ResNet basic block (torchvision BasicBlock; seed 004 ~L51, seed 003 ~L160 "f(x) + g(f(x))"):
/// two 3×3 convs with batch norm; the shortcut is the identity, or a 1×1 strided projection
/// `downsample` when the shape changes (seed 003 ~L198 "need something that changes shape").
block BasicBlock(out: int, stride: int = 1) {
  input x: f32[B, C, H, W]
  y = x |> conv2d(out, 3, stride: stride, padding: 1, bias: false) as conv1 |> batchnorm() as bn1 |> relu
        |> conv2d(out, 3, padding: 1, bias: false) as conv2 |> batchnorm() as bn2
  downsample = if stride != 1 or C != out {
    x |> conv2d(out, 1, stride: stride, bias: false) |> batchnorm
  } else {
    x
  }
  output relu(y + downsample)
}

/// ResNet bottleneck block (torchvision Bottleneck, stride on the 3×3 conv — "ResNet v1.5"):
/// 1×1 reduce to `width`, 3×3, 1×1 expand to width · expansion; projection shortcut when
/// the shape changes.
block Bottleneck(width: int, stride: int = 1, expansion: int = 4) {
  input x: f32[B, C, H, W]
  out = width * expansion
  y = x |> conv2d(width, 1, bias: false) as conv1 |> batchnorm() as bn1 |> relu
        |> conv2d(width, 3, stride: stride, padding: 1, bias: false) as conv2 |> batchnorm() as bn2 |> relu
        |> conv2d(out, 1, bias: false) as conv3 |> batchnorm() as bn3
  downsample = if stride != 1 or C != out {
    x |> conv2d(out, 1, stride: stride, bias: false) |> batchnorm
  } else {
    x
  }
  output relu(y + downsample)
}

/// DenseNet layer (torchvision _DenseLayer, seed 004 ~L52): BN → ReLU → 1×1 conv to
/// bn_size · growth → BN → ReLU → 3×3 conv to `growth` new feature maps. Outputs only the
/// new maps; DenseBlock concatenates them onto its input.
block DenseLayer(growth: int, bn_size: int = 4, drop: float = 0.0) {
  input x: f32[B, C, H, W]
  y = x |> batchnorm() as norm1 |> relu |> conv2d(bn_size * growth, 1, bias: false) as conv1
        |> batchnorm() as norm2 |> relu |> conv2d(growth, 3, padding: 1, bias: false) as conv2
  output dropout(y, p: drop)
}

/// DenseNet dense block: `layers` dense layers, each reading the concatenation of the block
/// input and every earlier layer's output (concat skips; C + layers · growth channels out).
block DenseBlock(layers: int, growth: int, bn_size: int = 4, drop: float = 0.0) {
  input x: f32[B, C, H, W]
  h = x
  for i in 0..layers {
    h = concat(h, DenseLayer(h, growth, bn_size: bn_size, drop: drop) as denselayer[i + 1], axis: 1)
  }
  output h
}

/// DenseNet transition layer (seed 004 ~L52 "may need to reduce res"): BN → ReLU → 1×1 conv
/// to `out` channels → 2×2 average pool.
block Transition(out: int) {
  input x: f32[B, C, H, W]
  output x |> batchnorm() as norm |> relu |> conv2d(out, 1, bias: false) as conv |> avgpool2d(2, stride: 2)
}

/// MobileNetV2 inverted residual (torchvision InvertedResidual; seed 000 ~L407 "expand to
/// higher dim, then compress ... don't ReLU output"): 1×1 expansion to C · expand channels
/// (skipped when expand = 1), 3×3 depth-wise conv, linear 1×1 projection to `out`; the
/// residual is used when the stride is 1 and the channel count is unchanged.
block InvertedResidual(out: int, expand: int, stride: int = 1) {
  input x: f32[B, C, H, W]
  hidden = C * expand
  conv = if expand != 1 {
    x |> ConvBNAct(hidden, 1, act: "relu6") |> ConvBNAct(hidden, 3, stride: stride, groups: hidden, act: "relu6")
      |> conv2d(out, 1, bias: false) |> batchnorm
  } else {
    x |> ConvBNAct(hidden, 3, stride: stride, groups: hidden, act: "relu6") |> conv2d(out, 1, bias: false) |> batchnorm
  }
  output if stride == 1 and C == out { x + conv } else { conv }
}

/// LayerNorm over the channels of an NCHW tensor (ConvNeXt's "LayerNorm2d"): move the
/// channels last, normalise, move them back.
block LayerNorm2d(eps: float = 1e-6) {
  input x: f32[B, C, H, W]
  output x |> permute([0, 2, 3, 1]) |> layernorm(eps: eps) as ln |> permute([0, 3, 1, 2])
}

/// ConvNeXt block ("A ConvNet for the 2020s", seed 003 ~L212–236): 7×7 depth-wise conv →
/// LayerNorm (channels last) → 1×1 expansion to 4·C (a linear) → GELU → 1×1 projection back
/// → learned per-channel layer scale γ (init 1e-6) → stochastic depth → residual.
/// Parameters: 8·C² + 58·C.
block ConvNeXtBlock(layer_scale: float = 1e-6, drop_path: float = 0.0, eps: float = 1e-6) {
  input x: f32[B, C, H, W]
  param gamma: f32[C] = constant(value: layer_scale)
  y = x |> conv2d(C, 7, padding: 3, groups: C) as dwconv |> permute([0, 2, 3, 1])     // [B, H, W, C]
        |> layernorm(eps: eps) as norm |> linear(4 * C) as pwconv1 |> gelu |> linear(C) as pwconv2
  scaled = permute(y * gamma, [0, 3, 1, 2])                                           // [B, C, H, W]
  // stochastic depth (seed 000 ~L537, "drop residual blocks"): one inverted-dropout keep
  // mask per sample, so the whole branch is dropped for that sample
  branch = if drop_path > 0.0 { scaled * dropout(ones([B, 1, 1, 1]), p: drop_path) } else { scaled }
  output x + branch
}

/// Inception module (seed 004 ~L48, GoogLeNet): four parallel branches concatenated along
/// the channels: 1×1; 1×1 → 3×3; 1×1 → k5×k5; 3×3 max pool → 1×1. Every convolution is a
/// ConvBNAct with eps 1e-3 (torchvision's BasicConv2d). The paper's third branch uses 5×5
/// kernels (`k5: 5`); torchvision's GoogLeNet uses 3×3 there (`k5: 3`).
block Inception(c1: int, c3_reduce: int, c3: int, c5_reduce: int, c5: int, pool_proj: int, k5: int = 5) {
  input x: f32[B, C, H, W]
  branch1 = ConvBNAct(x, c1, 1, eps: 1e-3)
  branch2 = x |> ConvBNAct(c3_reduce, 1, eps: 1e-3) |> ConvBNAct(c3, 3, eps: 1e-3)
  branch3 = x |> ConvBNAct(c5_reduce, 1, eps: 1e-3) |> ConvBNAct(c5, k5, eps: 1e-3)
  branch4 = x |> maxpool2d(3, stride: 1, padding: 1, ceil_mode: true) |> ConvBNAct(pool_proj, 1, eps: 1e-3)
  output concat(branch1, branch2, branch3, branch4, axis: 1)
}
