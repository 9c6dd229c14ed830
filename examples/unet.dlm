// seed 003 "U-nets" (~L380: bring information for each pixel from earlier processing),
// "Semantic segmentation" (~L370), transposed convolution as learnable upsampling
// (~L265–328); seed 000 "UNET for pixel-level classification" (~L339–344: double the
// channels when downsampling, combine the up-sampled features with the fine detail from
// earlier layers). Ronneberger et al. 2015.

/// Two 3×3 convolutions with ReLU ("valid" in the paper: padding 0 trims 2 pixels each).
block DoubleConv(out: int, padding: int = 0) {
  input x: f32[B, C, H, W]
  output x |> conv2d(out, 3, padding: padding) as conv1 |> relu |> conv2d(out, 3, padding: padding) as conv2 |> relu
}

/// Contracting step: 2×2 max pool, then a DoubleConv doubling the channels.
block Down(out: int, padding: int = 0) {
  input x: f32[B, C, H, W]
  output maxpool2d(x, 2) |> DoubleConv(out, padding: padding) as conv
}

/// Expanding step: a 2×2/2 transposed convolution (learnable upsampling, halving the
/// channels), the skip connection from the contracting path centre-cropped to the same size
/// (needed with valid convolutions), concatenation, and a DoubleConv.
block Up(out: int, padding: int = 0) {
  input x: f32[B, C, H, W], skip: f32[B, S, HS, WS]
  up = conv_transpose2d(x, out, 2, stride: 2)                     // [B, out, 2H, 2W]
  top = (HS - 2 * H) / 2
  left = (WS - 2 * W) / 2
  cropped = skip[:, :, top:top + 2 * H, left:left + 2 * W]
  output DoubleConv(concat(cropped, up, axis: 1), out, padding: padding) as conv
}

/// U-Net: a contracting path of four Down steps (64 → 1024 channels) and an expanding path
/// of four Up steps with skip connections, then a 1×1 convolution to per-pixel class scores.
/// The paper's configuration: a 1×572×572 tile, valid convolutions, a 388×388 output map,
/// 2 classes. `valid: false` pads the convolutions instead (output size = input size when
/// it is divisible by 16). 31,030,658 parameters with the defaults.
model UNet(in_channels: int = 1, classes: int = 2, base: int = 64, valid: bool = true) {
  input x: f32[B, in_channels, 572, 572]
  p = if valid { 0 } else { 1 }
  x1 = DoubleConv(x, base, padding: p) as inc                       // 64 @ 568²
  x2 = Down(x1, 2 * base, padding: p) as down1                      // 128 @ 280²
  x3 = Down(x2, 4 * base, padding: p) as down2                      // 256 @ 136²
  x4 = Down(x3, 8 * base, padding: p) as down3                      // 512 @ 64²
  x5 = Down(x4, 16 * base, padding: p) as down4                     // 1024 @ 28²
  u1 = Up(x5, x4, 8 * base, padding: p) as up1                      // 512 @ 52²
  u2 = Up(u1, x3, 4 * base, padding: p) as up2                      // 256 @ 100²
  u3 = Up(u2, x2, 2 * base, padding: p) as up3                      // 128 @ 196²
  u4 = Up(u3, x1, base, padding: p) as up4                          // 64 @ 388²
  output logits = conv2d(u4, classes, 1) as outc                    // [B, classes, 388, 388]
}

train UNet {
  input mask: i64[B, 388, 388]                                      // class id per output pixel
  loss = cross_entropy(permute(logits, [0, 2, 3, 1]), mask)         // class axis last
  optimizer = sgd(lr: 0.01, momentum: 0.99)
  batch = 1
  epochs = 50
}
