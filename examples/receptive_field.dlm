// seed 000 (~L285–299: receptive field L(K − 1) + 1 for L stride-1 convs; "then 3x3, same
// receptive field → 7x7, but the former has non-linearities; 3·(C·(3·3·C)) = 27C² vs
// C·(7·7·C) = 49C² parameters"); seed 004 (~L31–35: l_k = l_{k−1} + (f_k − 1)·∏ s_i).
// ORACLES: three stacked 3×3 vs one 7×7 at C = 64, no bias: 110,592 vs 200,704.

/// One 7×7 convolution (C → C channels, no bias, "same" padding): 49·C² = 200,704
/// parameters at C = 64, receptive field 7.
model Single7x7(C: int = 64) {
  input x: f32[B, C, 32, 32]
  output y = x |> conv2d(C, 7, padding: 3, bias: false) |> relu
}

/// Three stacked 3×3 convolutions (C → C, no bias): the same 7×7 receptive field
/// (1 + 3·(3 − 1) = 7) with three non-linearities and 27·C² = 110,592 parameters at C = 64.
model Stacked3x3(C: int = 64) {
  input x: f32[B, C, 32, 32]
  output y = x
    |> conv2d(C, 3, padding: 1, bias: false) |> relu
    |> conv2d(C, 3, padding: 1, bias: false) |> relu
    |> conv2d(C, 3, padding: 1, bias: false) |> relu
}

/// A strided chain from ORACLES: (k7, s2), (k3, s2), (k3, s1) has receptive field
/// 7 + 2·2 + 2·4 = 19; on a 224×224 input the maps are 109, 54, 52 (no padding).
model StridedChain(C: int = 64) {
  input x: f32[B, 3, 224, 224]
  output y: f32[B, C, 52, 52] = x
    |> conv2d(C, 7, stride: 2) |> relu
    |> conv2d(C, 3, stride: 2) |> relu
    |> conv2d(C, 3) |> relu
}
