// The op table shared by the op-level tests: one or more sample invocations of every op of
// the library (shapes, attributes, input ranges away from kinks), the ops that carry no
// gradient, and deterministic draws. Used by the finite-difference gradient check
// (gradients.test.ts) and by the exporters' op-by-op checks against onnxruntime and PyTorch
// (test/export/onnx-ops.test.ts, torch-ops.test.ts).

import type { DType } from "../../compiler/ops/types.js";
import type { Attrs } from "./ops/rule-harness.js";

/** A deterministic stream of numbers in [lo, hi) (mulberry32), independent of the code under test. */
export function stream(seed: number): (lo?: number, hi?: number) => number {
  let s = seed >>> 0;
  return (lo = -1, hi = 1) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return lo + (((t ^ (t >>> 14)) >>> 0) / 4294967296) * (hi - lo);
  };
}

/** How the values of a float leaf are drawn: uniform in [lo, hi), at least `gap` from every point of `avoid`. */
export interface Range {
  readonly lo?: number;
  readonly hi?: number;
  readonly avoid?: readonly number[];
  readonly gap?: number;
}

export interface In extends Range {
  readonly shape: readonly number[];
  /** default f32 */
  readonly dtype?: DType;
  /** fixed values (indices, targets, masks); drawn from the range otherwise */
  readonly data?: readonly number[];
}

export interface Case {
  readonly op: string;
  /** tells several invocations of one op apart */
  readonly label?: string;
  /** tensor inputs x0, x1, ... in the op's order; undefined: an absent optional input */
  readonly inputs: readonly (In | undefined)[];
  readonly attrs?: Attrs;
  readonly training?: boolean;
  /** the seed of the random draws (dropout masks, noise): fixed, so the function is deterministic */
  readonly seed?: number;
  /** value ranges of the parameters by name (default [-1, 1]; names containing "var" [0.5, 1.5]) */
  readonly params?: Readonly<Record<string, Range>>;
  /** relative tolerance (default 1e-5) */
  readonly tol?: number;
  /** the gradient is zero everywhere (a piecewise-constant op, a value-independent result) */
  readonly zero?: boolean;
}

// ---------------------------------------------------------------------------
// Ops that carry no gradient, with the reason.

export const NOT_DIFFERENTIABLE: Readonly<Record<string, string>> = {
  // integer or bool results
  eq: "bool result (comparison)",
  ne: "bool result (comparison)",
  lt: "bool result (comparison)",
  le: "bool result (comparison)",
  gt: "bool result (comparison)",
  ge: "bool result (comparison)",
  logical_and: "bool inputs and result",
  logical_or: "bool inputs and result",
  logical_not: "bool input and result",
  argmax: "integer result (an index)",
  argmin: "integer result (an index)",
  one_hot: "integer input (class ids)",
  degree: "integer input (edge index) only",
  // creation: no tensor input and no parameter
  zeros: "creation op: no input, no parameter",
  ones: "creation op: no input, no parameter",
  full: "creation op: no input, no parameter",
  arange: "creation op: no input, no parameter",
  eye: "creation op: no input, no parameter",
  causal_mask: "creation op: no input, no parameter (bool result)",
  sinusoidal_positions: "creation op: no input, no parameter",
  constant: "creation op: no input, no parameter",
  randn: "random draw: no input, no parameter",
  rand: "random draw: no input, no parameter",
};

/** Ops whose gradient is zero by definition although the forward value depends on the input. */
export const GRADIENT_BLOCKING: Readonly<Record<string, string>> = {
  stop_gradient: "the identity forward, no gradient backward",
};

// ---------------------------------------------------------------------------
// The table.

export const f = (shape: readonly number[], range: Range = {}): In => ({ shape, ...range });
const i64 = (shape: readonly number[], data: readonly number[]): In => ({ shape, dtype: "i64", data });
const bool = (shape: readonly number[], data: readonly number[]): In => ({ shape, dtype: "bool", data });
const AWAY0: Range = { avoid: [0], gap: 0.1 };
const POS: Range = { lo: 0.3, hi: 1.5 };
const ints = (lo: number, hi: number): number[] => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);

const unary = (op: string, range: Range = {}, attrs: Attrs = {}, label?: string): Case => ({
  op,
  inputs: [f([2, 3], range)],
  attrs,
  ...(label ? { label } : {}),
});
const zero = (c: Case): Case => ({ ...c, zero: true });
const binary = (op: string, a: Range = {}, b: Range = a): Case => ({ op, inputs: [f([2, 3], a), f([3], b)] });

const REDUCTIONS = ["none", "mean", "sum"] as const;
const eachReduction = (c: Case, reductions: readonly string[] = REDUCTIONS): Case[] =>
  reductions.map((reduction) => ({ ...c, label: `${c.label ?? ""}reduction ${reduction}`, attrs: { ...c.attrs, reduction } }));

const ACTIVATION: Case[] = [
  unary("relu", AWAY0),
  unary("relu6", { lo: -1, hi: 7, avoid: [0, 6], gap: 0.1 }),
  unary("leaky_relu", AWAY0, { alpha: 0.1 }),
  unary("elu", AWAY0, { alpha: 0.7 }),
  unary("selu", AWAY0),
  unary("celu", AWAY0, { alpha: 0.6 }),
  unary("gelu", { lo: -2, hi: 2 }, {}, "exact"),
  unary("gelu", { lo: -2, hi: 2 }, { approximate: "tanh" }, "tanh approximation"),
  unary("silu", { lo: -2, hi: 2 }),
  unary("swish", { lo: -2, hi: 2 }),
  unary("mish", { lo: -2, hi: 2 }),
  unary("sigmoid", { lo: -2, hi: 2 }),
  unary("hard_sigmoid", { lo: -4, hi: 4, avoid: [-3, 3], gap: 0.1 }),
  unary("tanh", { lo: -2, hi: 2 }),
  unary("hard_tanh", { lo: -1.5, hi: 1.5, avoid: [-0.5, 0.8], gap: 0.1 }, { min: -0.5, max: 0.8 }),
  unary("softplus", { lo: -2, hi: 2 }, { beta: 2 }),
  unary("softsign", AWAY0),
  unary("hard_swish", { lo: -4, hi: 4, avoid: [-3, 3], gap: 0.1 }),
  unary("log_sigmoid", { lo: -3, hi: 3 }),
  zero(unary("step", AWAY0)),
  zero(unary("sign", AWAY0)),
  unary("identity"),
  { op: "prelu", inputs: [f([2, 3, 4], AWAY0)], attrs: { num_parameters: 3 } },
  { op: "prelu", label: "one shared slope", inputs: [f([2, 3], AWAY0)] },
  { op: "maxout", inputs: [f([2, 4])], attrs: { out: 3, pieces: 2 } },
  { op: "softmax", inputs: [f([3, 4], { lo: -2, hi: 2 })], attrs: { axis: 0, temperature: 0.7 } },
  { op: "log_softmax", inputs: [f([3, 4], { lo: -2, hi: 2 })], attrs: { temperature: 1.5 } },
  { op: "softmin", inputs: [f([3, 4], { lo: -2, hi: 2 })] },
];

const ELEMENTWISE: Case[] = [
  unary("exp"),
  unary("log", POS),
  unary("log1p", { lo: -0.5, hi: 2 }),
  unary("sqrt", POS),
  unary("rsqrt", POS),
  unary("abs", AWAY0),
  unary("neg"),
  unary("square"),
  unary("sin", { lo: -3, hi: 3 }),
  unary("cos", { lo: -3, hi: 3 }),
  unary("reciprocal", { lo: -1.5, hi: 1.5, avoid: [0], gap: 0.3 }),
  unary("erf", { lo: -2, hi: 2 }),
  zero(unary("floor", { lo: -2.5, hi: 2.5, avoid: ints(-3, 3), gap: 0.05 })),
  zero(unary("ceil", { lo: -2.5, hi: 2.5, avoid: ints(-3, 3), gap: 0.05 })),
  zero(unary("round", { lo: -2.5, hi: 2.5, avoid: ints(-6, 6).map((k) => k / 2), gap: 0.05 })),
  unary("cast", {}, { dtype: "f64" }, "to another float type"),
  unary("clamp", { lo: -1.5, hi: 1.5, avoid: [-0.5, 0.5], gap: 0.1 }, { min: -0.5, max: 0.5 }, "both bounds"),
  unary("clamp", { lo: -1.5, hi: 1.5, avoid: [0.2], gap: 0.1 }, { min: 0.2 }, "lower bound"),
  binary("add"),
  binary("sub"),
  binary("mul"),
  binary("div", {}, { lo: -1.5, hi: 1.5, avoid: [0], gap: 0.3 }),
  binary("pow", POS, { lo: -1, hi: 2 }),
  binary("maximum"),
  binary("minimum"),
  { op: "where", inputs: [bool([2, 3], [1, 0, 0, 1, 1, 0]), f([2, 3]), f([3])] },
];

const LINEAR: Case[] = [
  { op: "linear", inputs: [f([2, 4])], attrs: { out: 3 } },
  { op: "linear", label: "no bias, batched", inputs: [f([2, 2, 3])], attrs: { out: 2, bias: false } },
  { op: "matmul", inputs: [f([2, 1, 2, 3]), f([3, 3, 2])] },
  { op: "matmul", label: "vector · matrix", inputs: [f([3]), f([3, 2])] },
  { op: "bilinear", inputs: [f([3, 2]), f([3, 4])], attrs: { out: 2 } },
  { op: "einsum", label: "batched matmul", inputs: [f([2, 3, 4]), f([2, 4, 2])], attrs: { equation: "bij,bjk->bik" } },
  { op: "einsum", label: "diagonal", inputs: [f([3, 3])], attrs: { equation: "ii->i" } },
  { op: "einsum", label: "trace", inputs: [f([3, 3])], attrs: { equation: "ii->" } },
  { op: "einsum", label: "outer", inputs: [f([2]), f([3])], attrs: { equation: "i,j->ij" } },
  { op: "einsum", label: "three operands", inputs: [f([2, 3]), f([2, 3, 2]), f([2, 2])], attrs: { equation: "bi,bij,bj->b" } },
  { op: "einsum", label: "ellipsis", inputs: [f([2, 2, 3]), f([2, 3, 2])], attrs: { equation: "...ij,...jk->...ik" } },
];

const CONV: Case[] = [
  { op: "conv1d", inputs: [f([2, 4, 7])], attrs: { out: 4, kernel: 3, stride: 2, padding: 1, groups: 2 } },
  {
    op: "conv1d",
    label: "reflect padding, dilation",
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
    label: "replicate padding, no bias",
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
];

const POOL: Case[] = [
  { op: "maxpool1d", inputs: [f([1, 2, 8])], attrs: { kernel: 3, stride: 2, padding: 1, ceil_mode: true } },
  { op: "maxpool1d", label: "dilation", inputs: [f([1, 2, 7])], attrs: { kernel: 2, stride: 1, dilation: 2 } },
  { op: "maxpool2d", inputs: [f([1, 2, 5, 6])], attrs: { kernel: [3, 2], stride: 2, padding: 1, ceil_mode: true } },
  { op: "maxpool3d", inputs: [f([1, 1, 4, 4, 2])], attrs: { kernel: 2 } },
  { op: "avgpool1d", inputs: [f([1, 2, 8])], attrs: { kernel: 3, stride: 2, padding: 1, ceil_mode: true, count_include_pad: false } },
  { op: "avgpool2d", inputs: [f([1, 2, 5, 6])], attrs: { kernel: [3, 2], stride: 2, padding: 1, ceil_mode: true } },
  {
    op: "avgpool2d",
    label: "excluding padding",
    inputs: [f([1, 1, 5, 5])],
    attrs: { kernel: 3, stride: 2, padding: 1, count_include_pad: false },
  },
  { op: "avgpool3d", inputs: [f([1, 1, 3, 3, 3])], attrs: { kernel: 2, stride: 1 } },
  { op: "adaptive_avgpool1d", inputs: [f([1, 2, 7])], attrs: { size: 3 } },
  { op: "adaptive_avgpool2d", inputs: [f([1, 2, 5, 4])], attrs: { size: [2, 3] } },
  { op: "adaptive_avgpool3d", inputs: [f([1, 1, 2, 5, 3])], attrs: { size: [1, 2, 3] } },
  { op: "adaptive_maxpool1d", inputs: [f([1, 2, 7])], attrs: { size: 3 } },
  { op: "adaptive_maxpool2d", inputs: [f([1, 2, 5, 4])], attrs: { size: [2, 3] } },
  { op: "global_avgpool", inputs: [f([2, 3, 2, 2])] },
  { op: "global_maxpool", inputs: [f([2, 3, 2, 2])], attrs: { keepdim: true } },
  { op: "lppool2d", inputs: [f([1, 2, 4, 4], POS)], attrs: { p: 3, kernel: 2 } },
  { op: "lppool2d", label: "p = 2, stride 1", inputs: [f([1, 1, 3, 4], AWAY0)], attrs: { p: 2, kernel: 2, stride: 1 } },
];

const NORM: Case[] = [
  { op: "batchnorm", label: "training (batch statistics)", inputs: [f([3, 2, 2, 2])], training: true },
  { op: "batchnorm", label: "training, [N, C]", inputs: [f([4, 3])], attrs: { momentum: 0.2 }, training: true },
  { op: "batchnorm", label: "eval (running statistics)", inputs: [f([3, 2, 2])] },
  {
    op: "batchnorm",
    label: "training, no affine, no running stats",
    inputs: [f([4, 3])],
    attrs: { affine: false, track_running_stats: false },
    training: true,
  },
  { op: "layernorm", inputs: [f([2, 3, 4])] },
  { op: "layernorm", label: "over two dims", inputs: [f([2, 2, 3])], attrs: { dims: 2 } },
  { op: "rmsnorm", inputs: [f([2, 3, 4])] },
  { op: "instancenorm", label: "training, affine", inputs: [f([2, 3, 4])], attrs: { affine: true }, training: true },
  { op: "instancenorm", label: "eval, no affine", inputs: [f([2, 2, 2, 3])] },
  { op: "groupnorm", inputs: [f([2, 4, 3])], attrs: { groups: 2 }, training: true },
  { op: "local_response_norm", inputs: [f([1, 4, 3])], attrs: { size: 3, alpha: 0.1, k: 2 } },
  { op: "l2_normalize", inputs: [f([3, 4])] },
  { op: "l2_normalize", label: "axis 0", inputs: [f([3, 2])], attrs: { axis: 0 } },
];

const SHAPE: Case[] = [
  { op: "reshape", inputs: [f([2, 6])], attrs: { shape: [3, 4] } },
  { op: "flatten", inputs: [f([2, 3, 2])] },
  { op: "unflatten", inputs: [f([2, 6])], attrs: { axis: 1, sizes: [2, 3] } },
  { op: "transpose", inputs: [f([2, 3, 4])], attrs: { dim0: 0, dim1: 2 } },
  { op: "permute", inputs: [f([2, 3, 4])], attrs: { dims: [1, -1, 0] } },
  { op: "squeeze", inputs: [f([1, 3, 1])] },
  { op: "unsqueeze", inputs: [f([2, 3])], attrs: { axis: 1 } },
  { op: "concat", inputs: [f([2, 3]), f([2, 2])] },
  { op: "stack", inputs: [f([2, 3]), f([2, 3])], attrs: { axis: 1 } },
  { op: "split", inputs: [f([2, 4])], attrs: { sections: [1, 3] } },
  { op: "chunk", inputs: [f([2, 5])], attrs: { chunks: 2 } },
  { op: "slice", inputs: [f([3, 6])], attrs: { axis: 1, start: 1, step: 2 } },
  { op: "index", inputs: [f([2, 3, 4])], attrs: { axis: 1, index: -1 } },
  { op: "take", label: "indices attribute", inputs: [f([2, 3, 4])], attrs: { indices: [2, -4, 2], axis: 2 } },
  { op: "take", label: "indices tensor (repeated)", inputs: [f([3, 2]), i64([2, 2], [1, 0, 1, 1])], attrs: { axis: 0 } },
  { op: "gather", inputs: [f([3, 4]), i64([3, 2], [3, 0, 1, 1, 2, 3])], attrs: { axis: 1 } },
  { op: "gather", label: "axis 0", inputs: [f([3, 2]), i64([2, 2], [2, 0, 2, 2])], attrs: { axis: 0 } },
  { op: "pad", label: "constant", inputs: [f([2, 3])], attrs: { pads: [1, 0, 0, 2], value: 0.5 } },
  { op: "pad", label: "negative (crop)", inputs: [f([2, 3])], attrs: { pads: [-1, 1] } },
  { op: "pad", label: "reflect", inputs: [f([2, 4])], attrs: { pads: [2, 1], mode: "reflect" } },
  { op: "pad", label: "replicate", inputs: [f([2, 3])], attrs: { pads: [2, 3], mode: "replicate" } },
  { op: "pad", label: "circular", inputs: [f([2, 3])], attrs: { pads: [2, 1], mode: "circular" } },
  { op: "tile", inputs: [f([2, 3])], attrs: { reps: [2, 2] } },
  { op: "expand", inputs: [f([2, 1])], attrs: { shape: [2, 2, -1, 3] } },
  { op: "broadcast_to", inputs: [f([3])], attrs: { shape: [2, 3] } },
  { op: "patchify", inputs: [f([1, 2, 4, 4])], attrs: { patch: 2 } },
  { op: "pixel_shuffle", inputs: [f([1, 8, 2, 2])], attrs: { factor: 2 } },
  { op: "repeat_interleave", inputs: [f([2, 3])], attrs: { repeats: 2, axis: 1 } },
];

const REDUCE: Case[] = [
  { op: "sum", inputs: [f([2, 3, 4])], attrs: { axis: [0, 2] } },
  { op: "mean", inputs: [f([2, 3, 4])], attrs: { axis: 1, keepdim: true } },
  { op: "mean", label: "all axes", inputs: [f([2, 3])] },
  { op: "max", inputs: [f([3, 4])], attrs: { axis: 1 } },
  { op: "max", label: "all axes", inputs: [f([3, 4])] },
  { op: "min", inputs: [f([3, 4])], attrs: { axis: 0, keepdim: true } },
  { op: "prod", inputs: [f([2, 5], { lo: -1.5, hi: 1.5, avoid: [0], gap: 0.4 })], attrs: { axis: 1 } },
  { op: "logsumexp", inputs: [f([3, 4], { lo: -2, hi: 2 })], attrs: { axis: 1 } },
  { op: "var", inputs: [f([3, 4])], attrs: { axis: 1, unbiased: true } },
  { op: "var", label: "all axes, biased", inputs: [f([2, 3])] },
  { op: "std", inputs: [f([3, 4])], attrs: { axis: 1 } },
  { op: "norm", label: "p = 2", inputs: [f([3, 4])], attrs: { axis: 1 } },
  { op: "norm", label: "p = 1", inputs: [f([3, 4], AWAY0)], attrs: { axis: 1, p: 1 } },
  { op: "norm", label: "p = 3, all axes", inputs: [f([2, 3], AWAY0)], attrs: { p: 3 } },
];

const CREATION: Case[] = [
  // float results that do not depend on the input's values: the gradient is zero
  zero({ op: "zeros_like", inputs: [f([2, 3])] }),
  zero({ op: "ones_like", inputs: [f([2, 3])] }),
  zero({ op: "full_like", inputs: [f([2, 3])], attrs: { value: -1.5 } }),
];

const ATTENTION: Case[] = [
  {
    op: "scaled_dot_product_attention",
    label: "bool mask",
    inputs: [f([2, 3, 4]), f([2, 5, 4]), f([2, 5, 3]), bool([3, 5], [1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 1])],
  },
  {
    op: "scaled_dot_product_attention",
    label: "float additive mask, scale",
    inputs: [f([2, 3, 4]), f([2, 4, 4]), f([2, 4, 2]), f([2, 3, 4])],
    attrs: { scale: 0.7 },
  },
  {
    op: "scaled_dot_product_attention",
    label: "causal",
    inputs: [f([1, 2, 3, 4]), f([1, 2, 3, 4]), f([1, 2, 3, 4])],
    attrs: { causal: true },
  },
  {
    op: "scaled_dot_product_attention",
    label: "dropout in training (fixed seed)",
    inputs: [f([2, 3, 4]), f([2, 4, 4]), f([2, 4, 3])],
    attrs: { dropout: 0.3 },
    training: true,
    seed: 5,
  },
  {
    op: "multihead_attention",
    label: "bool mask per head",
    inputs: [f([1, 3, 4]), undefined, bool([1, 2, 3, 3], [1, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 1])],
    attrs: { heads: 2 },
  },
  {
    op: "multihead_attention",
    label: "grouped kv heads, causal, rope, no bias",
    inputs: [f([1, 3, 8])],
    attrs: { heads: 4, kv_heads: 2, causal: true, rope: true, bias: false },
  },
  { op: "multihead_attention", label: "cross attention, unbatched", inputs: [f([3, 4]), f([2, 6])], attrs: { heads: 2 } },
  {
    op: "multihead_attention",
    label: "dropout in training",
    inputs: [f([2, 3, 4])],
    attrs: { heads: 2, dropout: 0.25 },
    training: true,
    seed: 3,
  },
  { op: "apply_rope", inputs: [f([2, 3, 4])], attrs: { base: 100 } },
  { op: "relative_position_bias", inputs: [], attrs: { q_len: 3, k_len: 4, heads: 2, num_buckets: 4, max_distance: 8 } },
  {
    op: "relative_position_bias",
    label: "unidirectional",
    inputs: [],
    attrs: { q_len: 3, k_len: 3, heads: 1, num_buckets: 4, max_distance: 4, bidirectional: false },
  },
];

const EMBEDDING: Case[] = [
  { op: "embedding", inputs: [i64([2, 3], [4, 1, 4, 0, 2, 4])], attrs: { num: 5, dim: 3 } },
  { op: "embedding", label: "padding_idx", inputs: [i64([4], [1, 3, 1, 0])], attrs: { num: 4, dim: 2, padding_idx: 1 } },
  { op: "positional_embedding", inputs: [f([2, 3, 4])], attrs: { max_len: 5 } },
  { op: "sinusoidal_encoding", inputs: [f([2, 3, 4])] },
];

const RECURRENT: Case[] = [
  { op: "rnn", label: "tanh, given h0", inputs: [f([2, 3, 2]), f([1, 2, 3])], attrs: { hidden: 3 } },
  {
    op: "rnn",
    label: "relu, 2 layers, bidirectional",
    inputs: [f([2, 3, 2])],
    attrs: { hidden: 2, layers: 2, bidirectional: true, nonlinearity: "relu" },
  },
  { op: "lstm", label: "given states", inputs: [f([2, 3, 2]), f([1, 2, 3]), f([1, 2, 3])], attrs: { hidden: 3 } },
  { op: "lstm", label: "bidirectional, projected", inputs: [f([2, 3, 2])], attrs: { hidden: 3, proj: 2, bidirectional: true } },
  { op: "lstm", label: "2 layers, unbatched, no bias", inputs: [f([3, 2])], attrs: { hidden: 2, layers: 2, bias: false } },
  { op: "gru", label: "2 layers, given h0", inputs: [f([2, 3, 2]), f([2, 2, 2])], attrs: { hidden: 2, layers: 2 } },
  { op: "gru", label: "bidirectional", inputs: [f([1, 3, 2])], attrs: { hidden: 2, bidirectional: true } },
  { op: "rnn_cell", inputs: [f([2, 3]), f([2, 4])], attrs: { hidden: 4 } },
  { op: "rnn_cell", label: "relu from zeros", inputs: [f([2, 3])], attrs: { hidden: 3, nonlinearity: "relu" } },
  { op: "lstm_cell", inputs: [f([2, 3]), f([2, 4]), f([2, 4])], attrs: { hidden: 4 } },
  { op: "lstm_cell", label: "from zeros", inputs: [f([2, 3])], attrs: { hidden: 2 } },
  { op: "gru_cell", inputs: [f([2, 3]), f([2, 4])], attrs: { hidden: 4 } },
  { op: "gru_cell", label: "unbatched, from zeros", inputs: [f([3])], attrs: { hidden: 2 } },
];

const SEG_IDS = i64([5], [0, 2, 0, 1, 2]);
const GRAPH: Case[] = [
  { op: "segment_sum", inputs: [f([5, 2]), SEG_IDS], attrs: { num_segments: 4 } },
  { op: "segment_mean", inputs: [f([5, 2]), SEG_IDS], attrs: { num_segments: 4 } },
  { op: "segment_max", inputs: [f([5, 2]), SEG_IDS], attrs: { num_segments: 4 } },
  { op: "segment_min", inputs: [f([5, 2]), SEG_IDS], attrs: { num_segments: 4 } },
  { op: "scatter_add", inputs: [f([2, 3]), i64([3], [2, 0, 2])], attrs: { size: 4, axis: 1 } },
  { op: "scatter_add", label: "axis 0", inputs: [f([4, 2]), i64([4], [1, 1, 0, 2])], attrs: { size: 3 } },
  { op: "gcn_norm", inputs: [f([3, 3], { lo: 0.2, hi: 1 })] },
  { op: "gcn_norm", label: "batched, no self loops", inputs: [f([2, 3, 3], { lo: 0.2, hi: 1 })], attrs: { add_self_loops: false } },
];

const PROBS = f([2, 3], { lo: 0.1, hi: 1 });
const LOSS: Case[] = [
  ...eachReduction({ op: "cross_entropy", inputs: [f([4, 3], { lo: -2, hi: 2 }), i64([4], [2, 0, 1, 2])] }),
  {
    op: "cross_entropy",
    label: "class weights, label smoothing, ignored target",
    inputs: [f([4, 3], { lo: -2, hi: 2 }), i64([4], [2, -100, 1, 0])],
    attrs: { weight: [0.5, 2, 1], label_smoothing: 0.1 },
  },
  { op: "cross_entropy", label: "probability targets", inputs: [f([3, 4], { lo: -2, hi: 2 }), f([3, 4], { lo: 0, hi: 1 })] },
  {
    op: "cross_entropy",
    label: "[N, d, C] logits",
    inputs: [f([2, 2, 3], { lo: -2, hi: 2 }), i64([2, 2], [0, 2, 1, 1])],
    attrs: { reduction: "sum" },
  },
  ...eachReduction({ op: "nll_loss", inputs: [f([3, 4], { lo: -3, hi: 0 }), i64([3], [3, 0, 3])], attrs: { weight: [1, 0.5, 2, 1.5] } }),
  ...eachReduction({ op: "mse_loss", inputs: [f([2, 3]), f([2, 3])] }),
  ...eachReduction({ op: "l1_loss", inputs: [f([2, 3], { lo: 0.5, hi: 1.5 }), f([2, 3], { lo: -1.5, hi: 0.3 })] }),
  ...eachReduction({ op: "smooth_l1_loss", inputs: [f([2, 3], { lo: -2, hi: 2 }), f([2, 3])], attrs: { beta: 0.5 } }),
  ...eachReduction({ op: "huber_loss", inputs: [f([2, 3], { lo: -2, hi: 2 }), f([2, 3])], attrs: { delta: 0.5 } }),
  ...eachReduction({ op: "bce_loss", inputs: [f([2, 3], { lo: 0.1, hi: 0.9 }), f([2, 3], { lo: 0, hi: 1 })] }),
  ...eachReduction({
    op: "bce_with_logits",
    inputs: [f([2, 3], { lo: -3, hi: 3 }), f([2, 3], { lo: 0, hi: 1 })],
    attrs: { pos_weight: [2, 0.5, 1] },
  }),
  ...eachReduction({ op: "kl_div", inputs: [f([2, 3], { lo: -2, hi: 0 }), PROBS] }, ["none", "mean", "sum", "batchmean"]),
  ...eachReduction({ op: "kl_normal", inputs: [f([2, 3]), f([2, 3])] }),
  // scores kept 0.1 away from ±margin, so no term sits on the hinge
  ...eachReduction({
    op: "hinge_loss",
    inputs: [f([6], { lo: -2.5, hi: 2.5, avoid: [-1, 1], gap: 0.1 }), i64([6], [1, -1, -1, 1, 1, -1])],
  }),
  ...eachReduction({ op: "triplet_margin_loss", inputs: [f([3, 4]), f([3, 4]), f([3, 4])], attrs: { margin: 0.8 } }),
  ...eachReduction({ op: "contrastive_loss", inputs: [f([3, 4]), f([3, 4]), i64([3], [1, 0, 0])], attrs: { margin: 1.5 } }),
  { op: "cosine_similarity", inputs: [f([3, 4]), f([3, 4])] },
  { op: "cosine_similarity", label: "axis 0, broadcast", inputs: [f([3, 2]), f([3, 1])], attrs: { axis: 0 } },
  ...eachReduction({
    op: "cosine_embedding_loss",
    inputs: [f([3, 4]), f([3, 4]), { shape: [3], data: [1, -1, -1] }],
    attrs: { margin: 0.1 },
  }),
  ...eachReduction({ op: "gaussian_nll", inputs: [f([2, 3]), f([2, 3], POS), f([2, 3])], attrs: { full: true } }),
  { op: "gaussian_nll", label: "not full", inputs: [f([2, 3]), f([2, 3], POS), f([2, 3])] },
];

const RANDOM: Case[] = [
  { op: "dropout", label: "training (fixed seed)", inputs: [f([3, 4])], attrs: { p: 0.4 }, training: true, seed: 11 },
  { op: "dropout", label: "eval: the identity", inputs: [f([3, 4])], attrs: { p: 0.4 } },
  { op: "dropout2d", label: "training (fixed seed)", inputs: [f([2, 3, 2, 2])], attrs: { p: 0.4 }, training: true, seed: 4 },
  { op: "dropout2d", label: "eval: the identity", inputs: [f([2, 3, 2])] },
  { op: "alpha_dropout", label: "training (fixed seed)", inputs: [f([3, 4])], attrs: { p: 0.3 }, training: true, seed: 2 },
  { op: "alpha_dropout", label: "eval: the identity", inputs: [f([3, 4])] },
  { op: "gaussian_noise", label: "training (fixed seed)", inputs: [f([2, 3])], attrs: { std: 0.3 }, training: true, seed: 9 },
  { op: "gaussian_noise", label: "eval: the identity", inputs: [f([2, 3])] },
  zero({ op: "randn_like", label: "independent of the input's values", inputs: [f([2, 3])], training: true }),
  zero({ op: "rand_like", label: "independent of the input's values", inputs: [f([2, 3])], training: true }),
  { op: "reparameterize", label: "training (fixed seed)", inputs: [f([2, 3]), f([2, 3])], training: true, seed: 6 },
  { op: "reparameterize", label: "eval", inputs: [f([2, 3]), f([2, 3])] },
  // hard: true is a straight-through estimator (its VJP is the soft one by design), not checkable here
  {
    op: "gumbel_softmax",
    label: "soft, training (fixed seed)",
    inputs: [f([2, 4], { lo: -2, hi: 2 })],
    attrs: { tau: 0.7 },
    training: true,
    seed: 8,
  },
  { op: "gumbel_softmax", label: "soft, eval", inputs: [f([2, 4], { lo: -2, hi: 2 })], attrs: { axis: 0 } },
];

export const CASES: readonly Case[] = [
  ...ACTIVATION,
  ...ELEMENTWISE,
  ...LINEAR,
  ...CONV,
  ...POOL,
  ...NORM,
  ...SHAPE,
  ...REDUCE,
  ...CREATION,
  ...ATTENTION,
  ...EMBEDDING,
  ...RECURRENT,
  ...GRAPH,
  ...LOSS,
  ...RANDOM,
];

// ---------------------------------------------------------------------------
// The check.

export function hashOf(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

export function draw(rand: (lo?: number, hi?: number) => number, n: number, r: Range): Float64Array {
  const lo = r.lo ?? -1;
  const hi = r.hi ?? 1;
  const gap = r.gap ?? 0.05;
  return Float64Array.from({ length: n }, () => {
    for (let tries = 0; tries < 1000; tries++) {
      const v = rand(lo, hi);
      if (!(r.avoid ?? []).some((k) => Math.abs(v - k) < gap)) return v;
    }
    throw new Error("no value in range away from the kinks");
  });
}

export const nameOf = (c: Case): string => (c.label ? `${c.op} (${c.label})` : c.op);

/** Sample invocations of the ops the gradient table leaves out (no gradient), for the checks that run forward only (the exporters). */
export const NO_GRADIENT_CASES: readonly Case[] = [
  ...["eq", "ne", "lt", "le", "gt", "ge"].map((op) => ({ op, inputs: [f([2, 3]), { ...f([3]), data: [0.5, -0.25, 2] }] })),
  { op: "eq", label: "bools", inputs: [bool([4], [1, 0, 1, 0]), bool([4], [1, 1, 0, 0])] },
  { op: "lt", label: "bools", inputs: [bool([4], [1, 0, 1, 0]), bool([4], [1, 1, 0, 0])] },
  { op: "logical_and", inputs: [bool([4], [1, 0, 1, 0]), bool([4], [1, 1, 0, 0])] },
  { op: "logical_or", inputs: [bool([4], [1, 0, 1, 0]), bool([4], [1, 1, 0, 0])] },
  { op: "logical_not", inputs: [bool([4], [1, 0, 1, 0])] },
  { op: "argmax", inputs: [f([3, 4])] },
  { op: "argmax", label: "over all, keepdim", inputs: [f([3, 4])], attrs: { axis: null, keepdim: true } },
  { op: "argmin", inputs: [f([3, 4])], attrs: { axis: 0 } },
  { op: "one_hot", inputs: [i64([2, 3], [0, 2, 1, 3, 3, 0])], attrs: { classes: 4 } },
  { op: "degree", inputs: [i64([5], [0, 2, 2, 1, 2])], attrs: { num_nodes: 4 } },
  { op: "zeros", inputs: [], attrs: { shape: [2, 3] } },
  { op: "ones", inputs: [], attrs: { shape: [2, 3], dtype: "i64" } },
  { op: "full", inputs: [], attrs: { shape: [3], value: 2.5 } },
  { op: "arange", inputs: [], attrs: { n: 7, start: 2 } },
  { op: "arange", label: "f32", inputs: [], attrs: { n: 4, dtype: "f32" } },
  { op: "eye", inputs: [], attrs: { n: 3 } },
  { op: "causal_mask", inputs: [], attrs: { T: 4 } },
  { op: "sinusoidal_positions", inputs: [], attrs: { T: 5, d: 6 } },
  {
    op: "constant",
    inputs: [],
    attrs: {
      value: [
        [1.5, -2],
        [0.25, 4],
      ],
    },
  },
  { op: "randn", inputs: [], attrs: { shape: [2, 3] } },
  { op: "randn_like", inputs: [f([2, 3])] },
  { op: "rand_like", inputs: [f([3])] },
  { op: "reparameterize", inputs: [f([2, 3]), f([2, 3])] },
  { op: "rand", inputs: [], attrs: { shape: [4] } },
  { op: "cast", label: "f32 to i32 (truncation)", inputs: [{ ...f([4]), data: [1.7, -1.7, 0.2, -0.2] }], attrs: { dtype: "i32" } },
  { op: "cast", label: "f32 to bool", inputs: [{ ...f([3]), data: [0, 2, -0.5] }], attrs: { dtype: "bool" } },
  { op: "sum", label: "bools count", inputs: [bool([2, 2], [1, 0, 1, 1])] },
  { op: "stop_gradient", inputs: [f([2, 3])] },
  { op: "batchnorm", label: "eval, batch statistics", inputs: [f([3, 2, 2])], attrs: { track_running_stats: false } },
  { op: "instancenorm", label: "eval, running statistics", inputs: [f([2, 3, 4])], attrs: { track_running_stats: true, affine: true } },
];
