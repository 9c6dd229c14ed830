// seed 004 "Low Rank Adaptation (LoRA)" (~L412–430: for a pretrained y = X W₀, learn only
// ΔW ≈ L₁L₂ with L₁ ∈ R^{D×r}, L₂ ∈ R^{r×D}, r ≪ D; merge W₀ + L₁L₂ at inference); seed 001
// §8.5.6 "Low-Cost Finetuning" (~L2999–3010: adapters, LoRA updates as a residual that can be
// computed in parallel with the base); seed 000 "Finetuning" (~L222–233: freezing).
// ORACLES: D = 4096, r = 8 → 65,536 trainable vs 16,777,216 in the full matrix.

/// A frozen pretrained linear map W₀ (D × D, no bias) with a LoRA update:
/// y = x W₀ + (α/r) · x L₁ L₂, L₁ initialised randomly and L₂ at zero so training starts
/// from the pretrained function. Only L₁ and L₂ train: 2 · 4096 · 8 = 65,536 parameters;
/// 16,777,216 are frozen.
model LoRALinear(D: int = 4096, r: int = 8, alpha: float = 16.0, T: dim = 128) {
  input x: f32[B, T, D]
  @frozen base = linear(x, D, bias: false)             // x W₀, pretrained, not updated
  param L1: f32[D, r] = kaiming_uniform
  param L2: f32[r, D] = zeros
  update = x @ L1 @ L2                                 // low-rank residual, rank ≤ r
  output y = base + update * (alpha / float(r))
}

train LoRALinear {
  input target: f32[B, T, D]
  loss = mse_loss(y, target)
  optimizer = adamw(lr: 1e-4, weight_decay: 0.0)
  batch = 16
  epochs = 3
}
