// seed 003 "A more modern perspective: 'A ConvNet for the 2020s' by Liu et al. 2022"
// (~L212–236: ResNet block vs ConvNeXt block, GELU "x·Φ(x)"), "Depthwise - convolution"
// (~L238) and normalisation layers (~L57–111); seed 000 (~L537 stochastic depth);
// torchvision.models.convnext_tiny.

import "std/vision"

/// One ConvNeXt stage: an optional downsampling layer (LayerNorm, 2×2/2 conv to `out`
/// channels) and `depth` ConvNeXt blocks whose stochastic-depth rates start at `dp_start`
/// and grow by `dp_step` per block.
block Stage(depth: int, out: int, downsample: bool, dp_start: float = 0.0, dp_step: float = 0.0) {
  input x: f32[B, C, H, W]
  d = if downsample { x |> LayerNorm2d() as norm |> conv2d(out, 2, stride: 2) as conv } else { x }
  h = d
  for i in 0..depth {
    h = ConvNeXtBlock(h, drop_path: dp_start + dp_step * float(i)) as blocks[i]
  }
  output h
}

/// ConvNeXt-T: a 4×4/4 "patchify" stem with LayerNorm, four stages of [3, 3, 9, 3]
/// ConvNeXt blocks with [96, 192, 384, 768] channels (7×7 depth-wise conv → LayerNorm →
/// 1×1 expand ×4 → GELU → 1×1 project → layer scale → stochastic depth → residual), a
/// LayerNorm + 2×2/2 conv downsampling at the start of stages 2–4, global average pooling,
/// LayerNorm and a dense head. Stochastic depth rises linearly from 0 to `drop_path` over
/// the 18 blocks. 28,589,128 parameters, ~4.5 GMACs at 224×224.
model ConvNeXtT(classes: int = 1000, depths: list[int] = [3, 3, 9, 3], dims: list[int] = [96, 192, 384, 768],
                drop_path: float = 0.1) {
  input x: f32[B, 3, 224, 224]
  total = depths[0] + depths[1] + depths[2] + depths[3]
  dp_step = drop_path / float(total - 1)
  stem = x |> conv2d(dims[0], 4, stride: 4) as stem_conv |> LayerNorm2d() as stem_norm   // [B, 96, 56, 56]
  h = stem
  start = 0
  for s in 0..4 {
    h = Stage(h, depths[s], dims[s], s > 0, dp_start: dp_step * float(start), dp_step: dp_step) as stages[s]
    start = start + depths[s]
  }
  features: f32[B, dims[3], 7, 7] = h
  pooled = global_avgpool(features)
  head = pooled |> layernorm(eps: 1e-6) as head_norm |> linear(classes) as head_fc
  output logits = head
}

train ConvNeXtT {
  input labels: i64[B]
  loss = cross_entropy(logits, labels, label_smoothing: 0.1)
  optimizer = adamw(lr: 4e-3, weight_decay: 0.05)
  schedule = cosine(steps: 375_000, warmup: 25_000)
  batch = 4096
  epochs = 300
  metrics = ["accuracy", "top5"]
}
