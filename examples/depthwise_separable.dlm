// seed 001 §6.3.1 "Convolutional Layers" (~L2288: 32×32×3 → 32×32×5 with five 7×7×3
// kernels) and §6.3.2 "Depth-Wise Separable Convolution Layer" (~L2307–2320:
// (7×7)×5×3 vs (7×7)×3 + (5×3) parameters); seed 003 "Depthwise - convolution" (~L238).
// ORACLES: 735 vs 162.

/// A standard convolution with 5 kernels of 7×7×3 (no bias): 735 parameters.
model Conv7x7(out: int = 5) {
  input x: f32[B, 3, 32, 32]
  output y: f32[B, out, 32, 32] = conv2d(x, out, 7, padding: 3, bias: false)
}

/// The depth-wise separable equivalent: three 7×7 depth-wise kernels (one per input
/// channel, groups = 3) and five 1×1×3 point-wise kernels: 147 + 15 = 162 parameters.
model DepthwiseSeparable(out: int = 5) {
  input x: f32[B, 3, 32, 32]
  depthwise = conv2d(x, 3, 7, padding: 3, groups: 3, bias: false)     // [B, 3, 32, 32]
  output y: f32[B, out, 32, 32] = conv2d(depthwise, out, 1, bias: false) as pointwise
}
