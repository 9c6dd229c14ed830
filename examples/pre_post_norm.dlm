// seed 003 "Residual / Skip - connections" (~L164–174: "where should normalizations go?
// Modern default: inside the block near the start, called the 'Pre-Norm' convention,
// associated with more stable training"); seed 004 (~L344: Add&Norm(x) =
// LayerNorm(x + Sublayer(x)), the original post-norm); seed 001 §5.6.4 (~L1988).

import "std/transformer"

/// Post-norm encoder stack: x ← LayerNorm(x + Sublayer(x)) after each sublayer (the
/// original transformer, BERT). The residual stream is normalised after every layer.
model PostNormEncoder(d: int = 512, depth: int = 6, heads: int = 8, ff: int = 2048, T: dim = 128) {
  input x: f32[B, T, d]
  output y = Encoder(x, depth, heads, ff, norm: "post") as encoder
}

/// Pre-norm encoder stack: x ← x + Sublayer(LayerNorm(x)), with a final LayerNorm
/// (GPT-2, ViT). The residual path from input to output is an identity plus updates, which
/// keeps gradients well-scaled in deep stacks. Same parameters as post-norm plus the final
/// norm's 2·d.
model PreNormEncoder(d: int = 512, depth: int = 6, heads: int = 8, ff: int = 2048, T: dim = 128) {
  input x: f32[B, T, d]
  output y = Encoder(x, depth, heads, ff, norm: "pre") as encoder
}
