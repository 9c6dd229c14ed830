// The 1,000-line .dlm file the language-server benchmark edits.

/**
 * A 1,000-line file as people write them: residual blocks with doc comments and
 * hyperparameters, each applied once by a model, and a train section.
 */
export function generateLargeFile(lines = 1000): string {
  const out = ['import "std/vision"', ""];
  const blocks: string[] = [];
  for (let k = 0; out.length < lines - 12 - blocks.length; k++) {
    blocks.push(`Unit${k}`);
    out.push(
      `/// Residual unit ${k}: two 3×3 convolutions with batch norm, and a projection`,
      `/// shortcut when the shape changes.`,
      `block Unit${k}(out: int, stride: int = 1) {`,
      `  input x: f32[B, C, H, W]`,
      `  a = x |> conv2d(out, 3, stride: stride, padding: 1, bias: false) |> batchnorm |> relu`,
      `  b = a |> conv2d(out, 3, padding: 1, bias: false) |> batchnorm`,
      `  skip = if stride != 1 or C != out { x |> conv2d(out, 1, stride: stride, bias: false) |> batchnorm } else { x }`,
      `  y: f32[B, out, H / stride, W / stride] = relu(b + skip)`,
      `  output y`,
      `}`,
      ``,
    );
  }
  out.push(`model Large(classes: int = 10) {`, `  input x: f32[B, 3, 32, 32]`, `  h0 = x |> conv2d(16, 3, padding: 1)`);
  blocks.forEach((b, i) => out.push(`  h${i + 1} = ${b}(h${i}, 16)`));
  out.push(
    `  output logits = h${blocks.length} |> global_avgpool |> linear(classes)`,
    `}`,
    ``,
    `train Large {`,
    `  input labels: i64[B]`,
    `  loss = cross_entropy(logits, labels)`,
    `  optimizer = adam(lr: 1e-3)`,
    `}`,
  );
  return out.join("\n") + "\n";
}
