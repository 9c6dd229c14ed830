// seed 001 §5.9 "Transformer Encoder-Decoder" (~L2097–2108: the decoder produces one output
// after another from the encoder representations and its previous outputs), §5.9.1 masked
// attention (~L2109), §5.9.2 cross attention (~L2140); seed 002 §6.3 "Image Captioning"
// (~L1574: an encoder CNN's features, a decoder generating the caption).

import "std/transformer"

/// A transformer decoder for captioning: the memory is a grid of image features from some
/// encoder (e.g. a CNN's 7×7×2048 map flattened to 49 positions), projected to d; the
/// decoder embeds the caption so far (learned positions), runs 6 decoder layers (causal
/// self-attention, cross-attention into the image features, feed-forward; pre-norm) and
/// predicts the next token with an output layer tied to the token embedding.
model CaptionDecoder(vocab: int = 10000, d: int = 512, depth: int = 6, heads: int = 8, ff: int = 2048, feat: int = 2048,
                     max_len: int = 64, T: dim = 32, S: dim = 49) {
  input image_features: f32[B, S, feat], caption_in: i64[B, T]
  memory = linear(image_features, d) as visual_proj
  layer embed = embedding(vocab, d)
  x = positional_embedding(embed(caption_in), max_len) as pos_embed
  h = Decoder(x, memory, depth, heads, ff, norm: "pre", act: "gelu", drop: 0.1) as decoder
  output logits = h @ transpose(embed.weight)                      // tied output layer
}

train CaptionDecoder {
  input caption_out: i64[B, T]
  loss = cross_entropy(logits, caption_out, ignore_index: 0)
  optimizer = adamw(lr: 3e-4, weight_decay: 0.01)
  schedule = cosine(steps: 100_000, warmup: 2000)
  batch = 64
  epochs = 20
}
