// seed 001 §6.5 "Vision Transformers" (~L2348: small fixed-size patches of the image are
// fed to a transformer encoder; no spatial inductive bias, no translation equivariance);
// seed 000 (~L114: cost O((h/p · w/p)² D)); torchvision.models.vit_b_16.

import "std/transformer"

/// ViT-B/16 at 224×224: the image is cut into 14×14 = 196 patches of 16×16×3 = 768 values
/// (patchify), each linearly embedded (equivalent to torchvision's 16×16/16 conv_proj), a
/// learned class token is prepended and learned position embeddings added, then 12 pre-norm
/// encoder layers (d = 768, 12 heads, MLP 3072, GELU, LayerNorm eps 1e-6) with a final
/// LayerNorm, and a linear head on the class token.
/// 590,592 + 768 + 151,296 + 12 · 7,087,872 + 1,536 + 769,000 = 86,567,656 parameters.
model ViTB16(classes: int = 1000, image: int = 224, patch: int = 16, d: int = 768, depth: int = 12, heads: int = 12,
             mlp: int = 3072) {
  input x: f32[B, 3, image, image]
  n = (image / patch) * (image / patch)                            // 196 patches
  patches: f32[B, n, 3 * patch * patch] = patchify(x, patch)
  tokens = linear(patches, d) as conv_proj
  param class_token: f32[1, 1, d] = zeros
  param pos_embedding: f32[1, n + 1, d] = normal(std: 0.02)
  h0 = concat(expand(class_token, [B, 1, d]), tokens, axis: 1) + pos_embedding
  h: f32[B, n + 1, d] = Encoder(h0, depth, heads, mlp, norm: "pre", act: "gelu", eps: 1e-6) as encoder
  output logits = linear(h[:, 0], classes) as head
}

train ViTB16 {
  input labels: i64[B]
  loss = cross_entropy(logits, labels, label_smoothing: 0.11)
  optimizer = adamw(lr: 3e-3, weight_decay: 0.3)
  schedule = cosine(steps: 375_000, warmup: 30_000)
  clip_norm = 1.0
  batch = 4096
  epochs = 300
  metrics = ["accuracy", "top5"]
}
