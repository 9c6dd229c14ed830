// Small worked examples of the notes as models (shapes and parameter counts; the numeric
// results are in ORACLES and checked by running them):
//   seed 002 §4.1 Example 4.4 (~L1146): 3-channel 4×4 image, three 3×3 kernels summed into
//     one output map, zero padding 1, bias 2, ReLU, then 2×2 max and average pooling;
//   seed 001 §6.2.1 "Stride & Padding" (~L2246–2268): 1-D cross-correlation with K = (1, 0, −1);
//   seed 003 "The code perspective" (~L330–364): corr2d and trans_conv of D2L.

/// Example 4.4: Y = ReLU(Σᵢ Xᵢ ⋆ Wᵢ + 2) with a 3×3×3 kernel and padding 1 (28 parameters),
/// then non-overlapping 2×2 max pooling ([[10, 8], [4, 11]]) and average pooling
/// ([[5.25, 3.5], [1.25, 6.75]]).
model Example44 {
  input x: f32[B, 3, 4, 4]
  y: f32[B, 1, 4, 4] = relu(conv2d(x, 1, 3, padding: 1) as conv)
  output maxpooled: f32[B, 1, 2, 2] = maxpool2d(y, 2)
  output avgpooled: f32[B, 1, 2, 2] = avgpool2d(y, 2)
}

/// 1-D cross-correlation with a 3-tap kernel: "valid" maps 9 samples to 7, zero padding 1
/// keeps 9 (input 0 1 2 4 8 4 2 1 0 with K = (1, 0, −1) gives −2 −3 −6 0 6 3 2).
model Corr1D {
  input x: f32[B, 1, 9]
  output valid: f32[B, 1, 7] = conv1d(x, 1, 3, bias: false) as k_valid
  output padded: f32[B, 1, 9] = conv1d(x, 1, 3, padding: 1, bias: false) as k_padded
}

/// D2L's corr2d and trans_conv with a 2×2 kernel: a 3×3 input correlates to 2×2
/// ([[19, 25], [37, 43]] for X = 0..8, K = 0..3); a 2×2 input transposed-convolves to 3×3
/// ([[0, 0, 1], [0, 4, 6], [4, 12, 9]]).
model Corr2DAndTransposed {
  input x: f32[B, 1, 3, 3], z: f32[B, 1, 2, 2]
  output corr: f32[B, 1, 2, 2] = conv2d(x, 1, 2, bias: false) as k_corr
  output trans: f32[B, 1, 3, 3] = conv_transpose2d(z, 1, 2, bias: false) as k_trans
}
