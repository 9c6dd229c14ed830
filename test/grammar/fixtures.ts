// Source texts shared by the grammar tests.

/** The sketch from the language design notes (LeNet, Residual, LSTMCell, a train section). */
export const SKETCH = `/// LeNet-style CNN from seed 002 (CIFAR-sized input)
model LeNet(classes: int = 10) {
  input x: f32[B, 3, 32, 32]

  features = x
    |> conv2d(6, kernel: 5) |> relu |> maxpool2d(2)
    |> conv2d(16, kernel: 5) |> relu |> maxpool2d(2)   // f32[B, 16, 5, 5]
  h: f32[B, 400] = flatten(features)
  output logits = h |> linear(120) |> relu |> linear(84) |> relu |> linear(classes)
}

block Residual(out: int, stride: int = 1) {
  input x: f32[B, C, H, W]
  y = x |> conv2d(out, 3, stride: stride, padding: 1, bias: false) |> batchnorm |> relu
        |> conv2d(out, 3, padding: 1, bias: false) |> batchnorm
  skip = if stride != 1 or C != out {
    x |> conv2d(out, 1, stride: stride, bias: false) |> batchnorm
  } else { x }
  output relu(y + skip)
}

block LSTMCell(hidden: int) {
  input x: f32[B, X]
  state h: f32[B, hidden] = zeros, c: f32[B, hidden] = zeros
  i, f, g, o = split(linear(concat(h, x), 4 * hidden), 4, axis: -1)
  next c = sigmoid(f) * c + sigmoid(i) * tanh(g)
  next h = sigmoid(o) * tanh(c)
  output h
}

train LeNet {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = adam(lr: 1e-3)
  batch = 64
  epochs = 5
  phase warmup { optimizer = sgd(lr: 0.1) }
}
`;

/** The declaration samples of grammar/README.md. */
export const README_DECLARATIONS = `import "./blocks.dlm"            // every block, model and const of that file
import "std/transformer" as tf   // the standard library, qualified: tf.EncoderLayer(...)
const width = 64

/// doc comment, shown on hover
@inline
block Name(hidden: int, act: str = "relu", dims: list[int] = [64, 128]) { output hidden }
model Name2(classes: int = 10, T: dim = 128) { input x: f32[B, T] output x }
train ModelName { loss = l phase name { lr = 0.1 } }
`;

/** The statement samples of grammar/README.md, in one block. */
export const README_STATEMENTS = `block Statements {
  input x: f32[B, 3, 32, 32], labels: i64[B]
  state h: f32[B, hidden] = zeros, c: f32[B, hidden] = learned   // scan cells only
  param w: f32[d, d] = normal(std: 0.02)                          // explicit learnable tensor
  layer tower = Tower(64)            // a layer instance, applied later: shares its parameters
  h: f32[B, 400] = flatten(x)       // binding with a checked shape ascription
  i, f, g, o = split(z, 4, axis: -1) // tuple destructuring
  next c = sigmoid(f) * c + sigmoid(i) * tanh(g)
  output logits = h |> linear(classes)
  output relu(y + skip)
  for i in 0..n { h = concat(h, Dense(h, growth), axis: 1) }   // names may be reassigned in loops
  @checkpoint @frozen @lr(0.1) @no_decay @nofuse @name("x") @memory_budget("2GB")
  z = x
}
`;

/** The forms of the README's expression table, and the extra forms of the brief. */
export const README_EXPRESSIONS = [
  "a |> f(args) |> g",
  "a |> [f, g]",
  "a or b and not c",
  "a == b != c < d <= e > f >= g",
  "a + b - c",
  "a * b / c % d @ e",
  "H / 2",
  "-x + +y",
  "a ** b ** c",
  "f(x, 3, kernel: 5)",
  "x[:, -1]",
  "x.weight",
  "e as name",
  "e as name[i]",
  '[42, 3.5, "s", true, false, none, name, (a, b), [a, b]]',
  "[e for i in 0..n if c]",
  "0..n",
  "if c { b = 1; b } else if d { 2 } else { 3 }",
  "h @ transpose(wte.weight)",
  "cast(x, i64)",
  "x[:, -1, 0:2]",
  "[Block(64 * 2 ** i) for i in 0..4 if i != 2]",
  "50_257 + 0x1F + 2.5e4 + 1e-3",
];

export const BRIEF_EXTRAS = `import "std/transformer" as tf
const width = 64
model Extras(dims: list[int] = [64, 128], T: dim = 128) {
  input x: f32[B, T, 64]
  @checkpoint @lr(0.1) h = Block(x) as enc
  for i in 0..n { h = concat(h, Dense(h, growth) as layer[i], axis: 1) }
  layer tower = Tower(64)
  param w: f32[d, d] = normal(std: 0.02)
  s = x[:, -1, 0:2]
  stack = [Block(64 * 2 ** i) for i in 0..4 if i != 2]
  output s
}
`;
