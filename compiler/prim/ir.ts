// The primitive IR: what autodiff, the optimisation passes and the backends work on.
// High-level ops (linear, conv2d, lstm, attention, ...) lower to a few dozen primitives
// (compiler/ops/*: each op's `lower`), at concrete shapes: every dim is a number here, so
// kernels index with plain integers and buffers are sized once.

import type { SourceSite } from "../ir/graph.js";

/** Runtime element types: floats are f32 (f64 on the gradient-checking path), integers i32, bools u8. */
export type PDType = "f32" | "i32" | "bool";

export interface PNode {
  readonly id: number;
  /** the primitive's name (see PRIMS in prims.ts) */
  readonly op: string;
  readonly inputs: readonly number[];
  readonly attrs: Readonly<Record<string, unknown>>;
  readonly shape: readonly number[];
  readonly dtype: PDType;
  /** where the high-level op that produced this node is written (for errors and --explain) */
  readonly origin?: SourceSite;
  /** the layer instance it belongs to, e.g. "layer1.0.conv1" */
  readonly instance?: string;
  /** the `@checkpoint` region (an annotated statement or block instance) its op was written in */
  readonly checkpoint?: number;
  /** the forward node this node computes again for the backward pass (gradient checkpointing) */
  readonly recomputes?: number;
  /** written under `@nofuse` (or the backward pass of such an op): it keeps a kernel of its own */
  readonly nofuse?: true;
}

export interface PGraph {
  readonly nodes: readonly PNode[];
  /** data fed per call: the model's inputs and the train section's inputs */
  readonly inputs: readonly { readonly name: string; readonly node: number }[];
  /** learnable tensors and buffers, by their hierarchical names */
  readonly params: readonly { readonly name: string; readonly node: number }[];
  /** named results: model outputs, the loss, gradients `grad:NAME`, buffer updates `update:NAME` */
  readonly outputs: readonly { readonly name: string; readonly node: number }[];
}

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Elementwise primitives of one operand. */
export const UNARY = [
  "neg",
  "exp",
  "log",
  "sqrt",
  "rsqrt",
  "abs",
  "sign",
  "tanh",
  "sigmoid",
  "relu",
  "sin",
  "cos",
  "erf",
  "floor",
  "ceil",
  "round",
  "square",
  "reciprocal",
  "log1p",
  "not",
] as const;
/** Elementwise primitives of two operands, with NumPy broadcasting. */
export const BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge", "and", "or"] as const;
/** Every primitive the builder can emit (the executors and the autodiff tests cover them all). */
export const PRIMITIVES = [
  "input",
  "param",
  "const",
  "iota",
  "rng_uniform",
  "rng_normal",
  ...UNARY,
  ...BINARY,
  "where",
  "cast",
  "stop_gradient",
  "reduce_sum",
  "reduce_max",
  "reduce_min",
  "argmax",
  "argmin",
  "reshape",
  "transpose",
  "broadcast_to",
  "slice",
  "pad",
  "concat",
  "gather",
  "scatter_add",
  "one_hot",
  "matmul",
  "conv",
  "conv_input_grad",
  "conv_weight_grad",
  "max_pool",
  "max_pool_grad",
  "avg_pool",
  "avg_pool_grad",
  // softmax(q·kᵀ·scale + mask)·v as one streaming kernel, and its packed [dq, dk, dv] (compiler/prim/attention.ts)
  "attention",
  "attention_grad",
] as const;
