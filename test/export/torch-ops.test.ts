// Every op's PyTorch mapping against dlm, one op at a time: each case is a one-op model graph
// (inputs, the op's parameters, its outputs) exported to PyTorch; torch runs it in float32 on
// the same inputs and weights, and its outputs and the gradients of a probe loss Σ y·r (a
// fixed random r per float output) with respect to every parameter and float input must match
// dlm's float64 reference interpreter. An op with a `torch` mapping but no case fails the
// suite. Ops that only draw random numbers are checked for shapes and dtypes.

import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gradients } from "../../compiler/autodiff.js";
import { Dim } from "../../compiler/dim.js";
import type { ModelGraph, Node } from "../../compiler/ir/graph.js";
import { lowerModel } from "../../compiler/lower.js";
import { OPS } from "../../compiler/ops/index.js";
import type { AttrValue, DType } from "../../compiler/ops/types.js";
import type { T } from "../../compiler/prim/builder.js";
import { START_RANGE } from "../../compiler/diagnostics/index.js";
import { evaluate, type HostArray } from "../../runtime/cpu/reference.js";
import type { SafeTensor } from "../../runtime/safetensors.js";
import { ctxAttrs, type Attrs } from "../compiler/ops/rule-harness.js";
import {
  findTorch,
  relativeError,
  results,
  runJobs,
  safeTensor,
  stream,
  tempDir,
  writeModule,
  writeTensors,
  type Job,
} from "./torch-harness.js";

const torch = findTorch();

interface In {
  readonly shape: readonly number[];
  /** default f32 */
  readonly dtype?: DType;
  /** fixed values (indices, targets, masks); drawn from [lo, hi) otherwise */
  readonly data?: readonly number[];
  readonly lo?: number;
  readonly hi?: number;
}

interface Case {
  readonly op: string;
  readonly label?: string;
  readonly inputs: readonly (In | undefined)[];
  readonly attrs?: Attrs;
  readonly training?: boolean;
  /** the op only draws random numbers: compare shapes and dtypes */
  readonly random?: boolean;
  /** relative tolerance (default 1e-4) */
  readonly tol?: number;
}

const f = (shape: readonly number[], lo = -1, hi = 1): In => ({ shape, lo, hi });
const i64 = (shape: readonly number[], data: readonly number[]): In => ({ shape, dtype: "i64", data });
const bool = (shape: readonly number[], data: readonly number[]): In => ({ shape, dtype: "bool", data });
const unary = (op: string, lo = -1, hi = 1, attrs: Attrs = {}): Case => ({ op, inputs: [f([2, 3], lo, hi)], attrs });
const binary = (op: string, lo = -1, hi = 1): Case => ({ op, inputs: [f([2, 3], lo, hi), f([3], lo, hi)] });
const reductions = (c: Case): Case[] =>
  ["none", "mean", "sum"].map((reduction) => ({ ...c, label: reduction, attrs: { ...c.attrs, reduction } }));

const CASES: readonly Case[] = [
  // activations
  ...["relu", "relu6", "selu", "silu", "swish", "mish", "sigmoid", "tanh", "softsign", "log_sigmoid", "identity", "sign"].map((op) =>
    unary(op, -2, 7),
  ),
  unary("leaky_relu", -1, 1, { alpha: 0.1 }),
  unary("elu", -1, 1, { alpha: 0.7 }),
  unary("celu", -1, 1, { alpha: 0.6 }),
  unary("gelu", -2, 2),
  { ...unary("gelu", -2, 2, { approximate: "tanh" }), label: "tanh" },
  unary("hard_sigmoid", -4, 4),
  unary("hard_swish", -4, 4),
  unary("hard_tanh", -1.5, 1.5, { min: -0.5, max: 0.8 }),
  unary("softplus", -12, 12, { beta: 2 }),
  unary("step", -1, 1),
  { op: "prelu", inputs: [f([2, 3, 4])], attrs: { num_parameters: 3 } },
  { op: "prelu", label: "shared", inputs: [f([2, 3])] },
  { op: "maxout", inputs: [f([2, 4])], attrs: { out: 3, pieces: 2 } },
  { op: "softmax", inputs: [f([3, 4], -2, 2)], attrs: { axis: 0, temperature: 0.7 } },
  { op: "log_softmax", inputs: [f([3, 4], -2, 2)], attrs: { temperature: 1.5 } },
  { op: "softmin", inputs: [f([3, 4], -2, 2)] },
  // elementwise
  ...["exp", "neg", "square", "sin", "cos", "erf", "abs", "floor", "ceil", "round", "stop_gradient"].map((op) => unary(op, -2.5, 2.5)),
  ...["log", "log1p", "sqrt", "rsqrt", "reciprocal"].map((op) => unary(op, 0.3, 1.5)),
  { op: "floor", label: "integers pass through", inputs: [i64([3], [-2, 0, 5])] },
  { op: "logical_not", inputs: [bool([3], [1, 0, 1])] },
  unary("cast", -2, 2, { dtype: "f64" }),
  { ...unary("cast", -2.5, 2.5, { dtype: "i32" }), label: "to an integer" },
  unary("clamp", -1.5, 1.5, { min: -0.5, max: 0.5 }),
  { ...unary("clamp", -1.5, 1.5, { min: 0.2 }), label: "lower bound" },
  ...["add", "sub", "mul", "maximum", "minimum"].map((op) => binary(op)),
  binary("div", 0.5, 1.5),
  binary("pow", 0.3, 1.5),
  ...["eq", "ne", "lt", "le", "gt", "ge"].map((op) => ({ op, inputs: [i64([2, 3], [1, 2, 3, 4, 5, 6]), i64([3], [2, 2, 5])] })),
  { op: "div", label: "integers give floats", inputs: [i64([3], [1, 2, 7]), i64([3], [2, 4, 2])] },
  { op: "logical_and", inputs: [bool([2, 2], [1, 0, 1, 1]), bool([2], [1, 0])] },
  { op: "logical_or", inputs: [bool([2, 2], [1, 0, 0, 0]), bool([2], [0, 1])] },
  { op: "where", inputs: [bool([2, 3], [1, 0, 0, 1, 1, 0]), f([2, 3]), f([3])] },
  // linear
  { op: "linear", inputs: [f([2, 4])], attrs: { out: 3 } },
  { op: "linear", label: "no bias, batched", inputs: [f([2, 2, 3])], attrs: { out: 2, bias: false } },
  { op: "matmul", inputs: [f([2, 1, 2, 3]), f([3, 3, 2])] },
  { op: "bilinear", inputs: [f([3, 2]), f([3, 4])], attrs: { out: 2 } },
  { op: "einsum", inputs: [f([2, 3, 4]), f([2, 4, 2])], attrs: { equation: "bij,bjk->bik" } },
  // convolutions
  { op: "conv1d", inputs: [f([2, 4, 7])], attrs: { out: 4, kernel: 3, stride: 2, padding: 1, groups: 2 } },
  {
    op: "conv1d",
    label: "reflect, dilation",
    inputs: [f([1, 2, 6])],
    attrs: { out: 2, kernel: 2, padding: 2, dilation: 2, padding_mode: "reflect" },
  },
  {
    op: "conv1d",
    label: "same, circular",
    inputs: [f([1, 2, 5])],
    attrs: { out: 1, kernel: 3, padding: "same", padding_mode: "circular" },
  },
  {
    op: "conv2d",
    inputs: [f([1, 4, 5, 6])],
    attrs: { out: 4, kernel: [3, 2], stride: [2, 1], padding: [1, 0], dilation: [1, 2], groups: 2 },
  },
  {
    op: "conv2d",
    label: "replicate, no bias",
    inputs: [f([1, 1, 4, 4])],
    attrs: { out: 2, kernel: 3, padding: 1, padding_mode: "replicate", bias: false },
  },
  { op: "conv3d", inputs: [f([1, 2, 3, 4, 3])], attrs: { out: 2, kernel: 2, stride: [1, 2, 1], padding: [1, 0, 0] } },
  { op: "conv_transpose1d", inputs: [f([1, 4, 3])], attrs: { out: 4, kernel: 3, stride: 2, padding: 1, output_padding: 1, groups: 2 } },
  {
    op: "conv_transpose2d",
    inputs: [f([1, 2, 3, 3])],
    attrs: { out: 4, kernel: [3, 2], stride: 2, padding: 1, output_padding: 1, dilation: [1, 2], groups: 2 },
  },
  { op: "conv_transpose3d", inputs: [f([1, 2, 2, 2, 2])], attrs: { out: 2, kernel: 2, stride: 2, bias: false } },
  // pools
  { op: "maxpool1d", inputs: [f([1, 2, 8])], attrs: { kernel: 3, stride: 2, padding: 1, ceil_mode: true } },
  { op: "maxpool2d", inputs: [f([1, 2, 5, 6])], attrs: { kernel: [3, 2], stride: 2, padding: 1, ceil_mode: true } },
  { op: "maxpool3d", inputs: [f([1, 1, 4, 4, 2])], attrs: { kernel: 2 } },
  { op: "avgpool1d", inputs: [f([1, 2, 8])], attrs: { kernel: 3, stride: 2, padding: 1, ceil_mode: true, count_include_pad: false } },
  { op: "avgpool2d", inputs: [f([1, 2, 5, 6])], attrs: { kernel: [3, 2], stride: 2, padding: 1, ceil_mode: true } },
  { op: "avgpool3d", inputs: [f([1, 1, 3, 3, 3])], attrs: { kernel: 2, stride: 1 } },
  { op: "adaptive_avgpool1d", inputs: [f([1, 2, 7])], attrs: { size: 3 } },
  { op: "adaptive_avgpool2d", inputs: [f([1, 2, 5, 4])], attrs: { size: [2, 3] } },
  { op: "adaptive_avgpool3d", inputs: [f([1, 1, 2, 5, 3])], attrs: { size: [1, 2, 3] } },
  { op: "adaptive_maxpool1d", inputs: [f([1, 2, 7])], attrs: { size: 3 } },
  { op: "adaptive_maxpool2d", inputs: [f([1, 2, 5, 4])], attrs: { size: [2, 3] } },
  { op: "global_avgpool", inputs: [f([2, 3, 2, 2])] },
  { op: "global_maxpool", inputs: [f([2, 3, 2, 2])], attrs: { keepdim: true } },
  { op: "lppool2d", inputs: [f([1, 2, 4, 4], 0.3, 1.5)], attrs: { p: 3, kernel: 2 } },
  // normalisation
  { op: "batchnorm", label: "training", inputs: [f([3, 2, 2, 2])], training: true },
  { op: "batchnorm", label: "training, [N, C]", inputs: [f([4, 3])], attrs: { momentum: 0.2 }, training: true },
  { op: "batchnorm", label: "eval", inputs: [f([3, 2, 2])] },
  {
    op: "batchnorm",
    label: "no affine, no running stats",
    inputs: [f([4, 3])],
    attrs: { affine: false, track_running_stats: false },
    training: true,
  },
  { op: "layernorm", inputs: [f([2, 3, 4])] },
  { op: "layernorm", label: "two dims, no bias", inputs: [f([2, 2, 3])], attrs: { dims: 2, bias: false } },
  { op: "rmsnorm", inputs: [f([2, 3, 4])] },
  { op: "instancenorm", label: "training, affine", inputs: [f([2, 3, 4])], attrs: { affine: true }, training: true },
  { op: "instancenorm", label: "running stats, eval", inputs: [f([2, 2, 2, 3])], attrs: { track_running_stats: true } },
  { op: "groupnorm", inputs: [f([2, 4, 3])], attrs: { groups: 2 }, training: true },
  { op: "local_response_norm", inputs: [f([1, 4, 3])], attrs: { size: 3, alpha: 0.1, k: 2 } },
  { op: "l2_normalize", inputs: [f([3, 4])] },
  // shapes
  { op: "reshape", inputs: [f([2, 6])], attrs: { shape: [3, -1] } },
  { op: "flatten", inputs: [f([2, 3, 2])] },
  { op: "unflatten", inputs: [f([2, 6])], attrs: { axis: 1, sizes: [2, 3] } },
  { op: "transpose", inputs: [f([2, 3, 4])], attrs: { dim0: 0, dim1: 2 } },
  { op: "transpose", label: "of a vector", inputs: [f([3])] },
  { op: "permute", inputs: [f([2, 3, 4])], attrs: { dims: [1, -1, 0] } },
  { op: "squeeze", inputs: [f([1, 3, 1])] },
  { op: "unsqueeze", inputs: [f([2, 3])], attrs: { axis: -1 } },
  { op: "concat", inputs: [f([2, 3]), f([2, 2])] },
  { op: "stack", inputs: [f([2, 3]), f([2, 3])], attrs: { axis: 1 } },
  { op: "split", inputs: [f([2, 4])], attrs: { sections: [1, 3] } },
  { op: "split", label: "equal parts", inputs: [f([2, 6])], attrs: { sections: 3, axis: 1 } },
  { op: "chunk", inputs: [f([2, 5])], attrs: { chunks: 2 } },
  { op: "slice", inputs: [f([3, 6])], attrs: { axis: 1, start: 1, step: 2 } },
  { op: "slice", label: "negative bounds", inputs: [f([3, 6])], attrs: { axis: -1, start: -4, end: -1 } },
  { op: "index", inputs: [f([2, 3, 4])], attrs: { axis: 1, index: -1 } },
  { op: "take", label: "indices attribute", inputs: [f([2, 3, 4])], attrs: { indices: [2, -4, 2], axis: 2 } },
  { op: "take", label: "indices tensor", inputs: [f([3, 2]), i64([2, 2], [1, 0, 1, 1])], attrs: { axis: 0 } },
  { op: "gather", inputs: [f([3, 4]), i64([3, 2], [3, 0, 1, 1, 2, 3])], attrs: { axis: 1 } },
  { op: "pad", label: "constant, crop", inputs: [f([2, 3])], attrs: { pads: [1, -1, 0, 2], value: 0.5 } },
  { op: "pad", label: "reflect", inputs: [f([1, 2, 4])], attrs: { pads: [2, 1], mode: "reflect" } },
  { op: "pad", label: "replicate", inputs: [f([1, 2, 3])], attrs: { pads: [2, 3], mode: "replicate" } },
  { op: "pad", label: "circular", inputs: [f([1, 2, 3])], attrs: { pads: [2, 1], mode: "circular" } },
  { op: "tile", inputs: [f([2, 3])], attrs: { reps: [2, 2] } },
  { op: "expand", inputs: [f([2, 1])], attrs: { shape: [2, 2, -1, 3] } },
  { op: "broadcast_to", inputs: [f([3])], attrs: { shape: [2, 3] } },
  { op: "patchify", inputs: [f([1, 2, 4, 6])], attrs: { patch: [2, 3] } },
  { op: "pixel_shuffle", inputs: [f([1, 8, 2, 2])], attrs: { factor: 2 } },
  { op: "one_hot", inputs: [i64([2, 2], [0, 3, 1, 2])], attrs: { classes: 4 } },
  { op: "repeat_interleave", inputs: [f([2, 3])], attrs: { repeats: 2, axis: 1 } },
  // reductions
  { op: "sum", inputs: [f([2, 3, 4])], attrs: { axis: [0, 2] } },
  { op: "sum", label: "of bools", inputs: [bool([2, 3], [1, 0, 1, 1, 1, 0])], attrs: { axis: 1 } },
  { op: "mean", inputs: [f([2, 3, 4])], attrs: { axis: 1, keepdim: true } },
  { op: "max", inputs: [f([3, 4])], attrs: { axis: 1 } },
  { op: "min", inputs: [f([3, 4])] },
  { op: "prod", inputs: [f([2, 5, 2], 0.5, 1.5)], attrs: { axis: [1, 2] } },
  { op: "logsumexp", inputs: [f([3, 4], -2, 2)], attrs: { axis: 1 } },
  { op: "var", inputs: [f([3, 4])], attrs: { axis: 1, unbiased: true } },
  { op: "std", inputs: [f([3, 4])] },
  { op: "norm", inputs: [f([3, 4])], attrs: { axis: 1, p: 3 } },
  { op: "argmax", inputs: [f([3, 4])], attrs: { axis: 0, keepdim: true } },
  { op: "argmin", label: "flattened", inputs: [f([3, 4])], attrs: { axis: null } },
  // creation
  { op: "zeros", inputs: [], attrs: { shape: [2, 3] } },
  { op: "ones", inputs: [], attrs: { shape: [2], dtype: "i64" } },
  { op: "full", inputs: [], attrs: { shape: [2, 2], value: 1.5 } },
  { op: "zeros_like", inputs: [f([2, 3])] },
  { op: "ones_like", inputs: [f([2, 3])] },
  { op: "full_like", inputs: [f([2, 3])], attrs: { value: -2 } },
  { op: "arange", inputs: [], attrs: { n: 7, start: 2 } },
  { op: "eye", inputs: [], attrs: { n: 3 } },
  { op: "causal_mask", inputs: [], attrs: { T: 4 } },
  { op: "sinusoidal_positions", inputs: [], attrs: { T: 5, d: 6 } },
  {
    op: "constant",
    inputs: [],
    attrs: {
      value: [
        [1, 2.5],
        [-3, 4],
      ],
    },
  },
  // attention, embeddings, recurrence
  {
    op: "scaled_dot_product_attention",
    inputs: [f([2, 3, 4]), f([2, 5, 4]), f([2, 5, 3]), bool([2, 1, 5], [1, 1, 0, 1, 0, 1, 0, 1, 1, 1])],
  },
  {
    op: "scaled_dot_product_attention",
    label: "causal, float mask, scale",
    inputs: [f([1, 4, 2]), f([1, 4, 2]), f([1, 4, 2]), f([4, 4])],
    attrs: { causal: true, scale: 0.3 },
  },
  // k_proj's bias gets zero gradient in exact arithmetic (softmax ignores a shift of all scores): rounding noise only
  { op: "multihead_attention", inputs: [f([2, 3, 8]), f([2, 4, 6])], attrs: { heads: 2 }, tol: 1e-3 },
  {
    op: "multihead_attention",
    label: "grouped heads, causal, rope",
    inputs: [f([1, 4, 8])],
    attrs: { heads: 4, kv_heads: 2, causal: true, rope: true },
  },
  { op: "apply_rope", inputs: [f([2, 3, 4])] },
  { op: "embedding", inputs: [i64([2, 3], [0, 4, 2, 2, 1, 3])], attrs: { num: 5, dim: 3 } },
  { op: "embedding", label: "padding row", inputs: [i64([4], [0, 4, 2, 4])], attrs: { num: 5, dim: 3, padding_idx: -1 } },
  { op: "positional_embedding", inputs: [f([2, 3, 4])], attrs: { max_len: 5 } },
  { op: "sinusoidal_encoding", inputs: [f([2, 3, 4])] },
  { op: "rnn", inputs: [f([2, 3, 4])], attrs: { hidden: 3, layers: 2, nonlinearity: "relu" } },
  { op: "lstm", inputs: [f([2, 3, 4])], attrs: { hidden: 3, bidirectional: true } },
  { op: "lstm", label: "projection, initial h", inputs: [f([2, 3, 4]), f([1, 2, 2])], attrs: { hidden: 3, proj: 2 } },
  { op: "gru", inputs: [f([3, 4]), f([2, 3])], attrs: { hidden: 3, layers: 2 } },
  { op: "rnn_cell", inputs: [f([2, 4])], attrs: { hidden: 3 } },
  { op: "lstm_cell", inputs: [f([2, 4]), f([2, 3]), undefined], attrs: { hidden: 3 } },
  { op: "gru_cell", inputs: [f([2, 4]), f([2, 3])], attrs: { hidden: 3 } },
  // losses
  ...reductions({ op: "cross_entropy", inputs: [f([3, 4], -2, 2), i64([3], [0, 3, 1])], attrs: { label_smoothing: 0.1 } }),
  {
    op: "cross_entropy",
    label: "class axis last, weights, ignored",
    inputs: [f([2, 3, 4], -2, 2), i64([2, 3], [0, 3, 1, -100, 2, 2])],
    attrs: { weight: [1, 2, 0.5, 1] },
  },
  { op: "cross_entropy", label: "probabilities", inputs: [f([2, 3], -2, 2), f([2, 3], 0, 1)] },
  { op: "nll_loss", inputs: [f([3, 4], -3, -0.1), i64([3], [0, 3, 1])] },
  ...reductions({ op: "mse_loss", inputs: [f([2, 3]), f([2, 3])] }),
  { op: "l1_loss", inputs: [f([2, 3]), f([3])] },
  { op: "smooth_l1_loss", inputs: [f([2, 3], -2, 2), f([2, 3])], attrs: { beta: 0.5 } },
  { op: "huber_loss", inputs: [f([2, 3], -2, 2), f([2, 3])], attrs: { delta: 0.7 } },
  { op: "bce_loss", inputs: [f([2, 3], 0.1, 0.9), f([2, 3], 0, 1)] },
  { op: "bce_with_logits", inputs: [f([2, 3], -2, 2), f([2, 3], 0, 1)], attrs: { pos_weight: [1, 2, 0.5] } },
  { op: "kl_div", inputs: [f([2, 3], -2, -0.1), f([2, 3], 0.1, 1)] },
  { op: "kl_normal", inputs: [f([2, 3]), f([2, 3])] },
  { op: "hinge_loss", inputs: [f([4], -2, 2), i64([4], [1, -1, -1, 1])] },
  { op: "triplet_margin_loss", inputs: [f([3, 4]), f([3, 4]), f([3, 4])], attrs: { margin: 0.5 } },
  { op: "contrastive_loss", inputs: [f([3, 4]), f([3, 4]), f([3], 0, 1)], attrs: { margin: 2 } },
  { op: "cosine_similarity", inputs: [f([3, 4]), f([4])], attrs: { axis: -1 } },
  { op: "cosine_similarity", label: "axis 0", inputs: [f([3, 2]), f([3, 2])], attrs: { axis: 0 } },
  { op: "cosine_embedding_loss", inputs: [f([3, 4]), f([3, 4]), i64([3], [1, -1, 1])], attrs: { margin: 0.1 } },
  { op: "gaussian_nll", inputs: [f([2, 3]), f([2, 3], 0.2, 1), f([2, 3])], attrs: { full: true } },
  // random: deterministic in evaluation mode, else shapes only
  ...["dropout", "alpha_dropout", "gaussian_noise"].map((op) => ({ op, inputs: [f([2, 3])] })),
  { op: "dropout2d", inputs: [f([2, 3, 2, 2])] },
  { op: "dropout", label: "training, p = 0", inputs: [f([2, 3])], attrs: { p: 0 }, training: true },
  ...["randn_like", "rand_like", "gumbel_softmax"].map((op) => ({ op, inputs: [f([2, 3])], random: true })),
  ...["randn", "rand"].map((op) => ({ op, inputs: [], attrs: { shape: [2, 3] }, random: true })),
  { op: "reparameterize", inputs: [f([2, 3]), f([2, 3])], random: true },
];

const site = { file: "op.dlm", range: START_RANGE };

/** A model graph of one application of `c.op`: inputs x0, x1, ..., parameters op.NAME, outputs y0, y1, .... */
function opGraph(c: Case): ModelGraph {
  const op = OPS.get(c.op)!;
  // integer literals reach an untyped attribute as Dims, as the elaborator makes them
  const asDims = (v: AttrValue): AttrValue =>
    typeof v === "number" && Number.isInteger(v) ? Dim.const(v) : Array.isArray(v) ? v.map(asDims) : v;
  const attrs = Object.fromEntries(
    Object.entries(ctxAttrs(op, c.attrs ?? {})).map(([k, v]) => [k, op.attrs.find((s) => s.name === k)?.type === "any" ? asDims(v) : v]),
  );
  const types = c.inputs.map((t) => (t ? { dtype: t.dtype ?? "f32", shape: t.shape.map((d) => Dim.const(d)) } : undefined));
  const r = op.infer({ inputs: types, attrs });
  const nodes: Node[] = [];
  const inputs: number[] = [];
  const refs = types.map((t, i) => {
    if (!t) return null;
    nodes.push({ id: nodes.length, kind: "input", name: `x${i}`, outputs: [t], site, region: 0 });
    inputs.push(nodes.length - 1);
    return { node: nodes.length - 1, index: 0 };
  });
  const params = (r.params ?? []).map((p) => {
    nodes.push({
      id: nodes.length,
      kind: "param",
      name: `op.${p.name}`,
      init: p.init,
      ...(p.initArgs ? { initArgs: p.initArgs } : {}),
      trainable: !p.buffer,
      buffer: p.buffer === true,
      noDecay: p.noDecay === true,
      outputs: [{ dtype: p.dtype ?? "f32", shape: p.shape }],
      site,
      region: 0,
    });
    return nodes.length - 1;
  });
  const id = nodes.length;
  nodes.push({
    id,
    kind: "op",
    op,
    inputs: refs,
    params,
    attrs,
    instance: "op",
    annotations: new Set(),
    outputs: r.outputs,
    site,
    region: 0,
  });
  return {
    name: "OneOp",
    nodes,
    inputs,
    outputs: r.outputs.map((_, i) => ({ name: `y${i}`, ref: { node: id, index: i } })),
    regions: new Map(),
    dimDefaults: new Map(),
  };
}

interface Prepared {
  readonly c: Case;
  readonly label: string;
  readonly job: Job;
  readonly expected: Map<string, { data: ArrayLike<number>; shape: readonly number[]; dtype: string }>;
}

/** dlm's float64 reference for a case, and the files torch reads. */
function prepare(c: Case, index: number, dir: string): Prepared {
  const label = `${c.op}${c.label ? ` (${c.label})` : ""}`;
  const graph = opGraph(c);
  const lowered = lowerModel(graph, { training: c.training === true });
  const b = lowered.builder;
  const random = stream(1000 + index);
  const feeds = new Map<string, HostArray>();
  const files = new Map<string, SafeTensor>();
  const weights = new Map<string, SafeTensor>();
  lowered.inputs.forEach((inp) => {
    const spec = c.inputs[Number(inp.name.slice(1))]!;
    const n = inp.shape.reduce((a, x) => a * x, 1);
    const values = spec.data ?? Array.from({ length: n }, () => Math.fround(random(spec.lo ?? -1, spec.hi ?? 1)));
    feeds.set(
      inp.name,
      inp.dtype === "f32" ? Float64Array.from(values) : inp.dtype === "i32" ? Int32Array.from(values) : Uint8Array.from(values),
    );
    files.set(inp.name, safeTensor(Float64Array.from(values), inp.shape, spec.dtype ?? "f32"));
  });
  for (const p of lowered.params) {
    const n = p.shape.reduce((a, x) => a * x, 1);
    // running variances stay positive
    const values = Array.from({ length: n }, () => Math.fround(p.name.endsWith("running_var") ? random(0.5, 1.5) : random(-1, 1)));
    feeds.set(p.name, Float64Array.from(values));
    weights.set(p.name, { dtype: "F32", shape: p.shape, data: Float32Array.from(values) });
  }
  // the probe loss Σ y·r over the float outputs, and its gradients
  let loss: T | undefined;
  for (const o of lowered.outputs) {
    if (b.dtype(o.node) !== "f32") continue;
    const shape = b.shape(o.node);
    const r = Array.from({ length: shape.reduce((a, x) => a * x, 1) }, () => Math.fround(random(-1, 1)));
    files.set(`probe:${o.name}`, { dtype: "F32", shape, data: Float32Array.from(r) });
    const term = b.sum(b.times(o.node, b.tensor(r, shape)));
    loss = loss === undefined ? term : b.plus(loss, term);
  }
  const wrt = [...lowered.params.filter((p) => p.trainable), ...lowered.inputs.filter((i) => i.dtype === "f32")];
  const grads =
    loss === undefined || c.random
      ? []
      : gradients(
          b,
          loss,
          wrt.map((w) => w.node),
        );
  const values = evaluate(b.graph(), feeds, { seed: 1 });
  const expected = new Map<string, { data: ArrayLike<number>; shape: readonly number[]; dtype: string }>();
  for (const o of lowered.outputs) {
    const v = values.get(o.node)!;
    expected.set(`out:${o.name}`, { data: v.data as ArrayLike<number>, shape: b.shape(o.node), dtype: b.dtype(o.node) });
  }
  grads.forEach((g, i) => {
    if (g === undefined) return;
    const w = wrt[i]!;
    const key = "trainable" in w ? `grad:${w.name}` : `grad:input:${w.name}`;
    expected.set(key, { data: values.get(g)!.data as ArrayLike<number>, shape: b.shape(g), dtype: "f32" });
  });
  for (const u of lowered.bufferUpdates)
    expected.set(`buffer:${u.name}`, { data: values.get(u.node)!.data as ArrayLike<number>, shape: b.shape(u.node), dtype: "f32" });

  const base = join(dir, `case${index}`);
  writeTensors(`${base}.weights.safetensors`, weights);
  writeTensors(`${base}.inputs.safetensors`, files);
  const job: Job = {
    label,
    module: writeModule(dir, `case${index}`, graph, undefined),
    class: "OneOp",
    weights: `${base}.weights.safetensors`,
    inputs: `${base}.inputs.safetensors`,
    args: lowered.inputs.map((i) => i.name),
    outputs: graph.outputs.map((o) => o.name),
    mode: "probe",
    training: c.training === true,
    out: `${base}.torch.safetensors`,
  };
  return { c, label, job, expected };
}

describe("PyTorch mappings", () => {
  it("every op with a torch mapping has a parity case", () => {
    const covered = new Set(CASES.map((c) => c.op));
    const missing = [...OPS.values()].filter((op) => op.torch && !covered.has(op.name)).map((op) => op.name);
    expect(missing).toEqual([]);
    for (const c of CASES) expect(OPS.get(c.op)?.torch, c.op).toBeDefined();
  });
});

describe.skipIf(!torch.python)(`PyTorch mappings against torch, op by op (${torch.reason})`, () => {
  let prepared: Prepared[] = [];
  const dir = tempDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeAll(() => {
    prepared = CASES.map((c, i) => prepare(c, i, dir));
    runJobs(
      torch.python!,
      dir,
      prepared.map((p) => p.job),
    );
  }, 240_000);

  it.each(CASES.map((c, i) => [`${c.op}${c.label ? ` (${c.label})` : ""}`, i] as const))("%s", (_label, i) => {
    const p = prepared[i]!;
    const got = results(p.job);
    const errors: string[] = [];
    for (const [key, want] of p.expected) {
      const t = got.get(key);
      if (p.c.random) {
        if (!t || t.shape.join() !== want.shape.join())
          errors.push(`${key}: shape [${t?.shape.join(", ")}], want [${want.shape.join(", ")}]`);
        continue;
      }
      const e = relativeError(t, want.data, want.shape);
      if (typeof e === "string" || e > (p.c.tol ?? 1e-4)) errors.push(`${key}: ${typeof e === "string" ? e : e.toExponential(2)}`);
    }
    // torch returns zeros where dlm's autodiff finds no gradient at all (floor, sign)
    const grads = (names: Iterable<string>): string[] => [...names].filter((k) => k.startsWith("grad:")).sort();
    const zero = (t: SafeTensor): boolean => Array.from(t.data as ArrayLike<number>).every((v) => v === 0);
    const extra = grads(got.keys()).filter((k) => !p.expected.has(k) && !zero(got.get(k)!));
    if (!p.c.random) expect([extra, grads(p.expected.keys()).filter((k) => !got.has(k))]).toEqual([[], []]);
    expect(errors).toEqual([]);
  });
});
