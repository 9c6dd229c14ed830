// The op definition: one object per operator holding its signature, shape rule,
// parameter rule and cost rule. Later stages (autodiff, kernels, ONNX) add their fields
// here, next to the rules they depend on, so adding an op touches one place.

import { Dim, type Shape, numel, shapeToString, toDim } from "../dim.js";
import type { PrimBuilder } from "../prim/builder.js";
import type { PDType } from "../prim/ir.js";
import type { OnnxContext } from "../export/onnx/context.js";
import type { TorchMapping } from "./torch-mapping.js";

export const DTYPES = ["f16", "bf16", "f32", "f64", "i8", "u8", "i32", "i64", "bool"] as const;
export type DType = (typeof DTYPES)[number];

export function isDType(s: string): s is DType {
  return (DTYPES as readonly string[]).includes(s);
}

export function isFloat(d: DType): boolean {
  return d === "f16" || d === "bf16" || d === "f32" || d === "f64";
}

export function isInteger(d: DType): boolean {
  return d === "i8" || d === "u8" || d === "i32" || d === "i64";
}

export function bytesOf(d: DType): number {
  switch (d) {
    case "bool":
    case "i8":
    case "u8":
      return 1;
    case "f16":
    case "bf16":
      return 2;
    case "f32":
    case "i32":
      return 4;
    case "f64":
    case "i64":
      return 8;
  }
}

export interface TensorType {
  readonly dtype: DType;
  readonly shape: Shape;
}

export function typeToString(t: TensorType): string {
  return `${t.dtype}${shapeToString(t.shape)}`;
}

/**
 * Compile-time values an op receives as attributes. Integers are `Dim`s (so a symbolic
 * batch size can flow into `reshape`), floats are numbers.
 */
export type AttrValue = Dim | number | boolean | string | null | readonly AttrValue[];

export type AttrType = "int" | "float" | "bool" | "string" | "ints" | "floats" | "dtype" | "any";

export interface AttrSpec {
  readonly name: string;
  readonly type: AttrType;
  /** omitted: the attribute is required */
  readonly default?: AttrValue;
  readonly doc?: string;
}

export interface InputSpec {
  readonly name: string;
  readonly optional?: boolean;
  /** takes all remaining tensor arguments (or one list of tensors) */
  readonly variadic?: boolean;
  /** a plain number given here becomes a scalar constant of the other inputs' dtype (`pow(x, 2)`) */
  readonly acceptsScalar?: boolean;
  /** integer index tensors (embedding ids, class labels, edge lists) */
  readonly integer?: boolean;
}

export type InitName =
  | "zeros"
  | "ones"
  | "normal"
  | "uniform"
  | "xavier_uniform"
  | "xavier_normal"
  | "kaiming_uniform"
  | "kaiming_normal"
  | "orthogonal"
  | "lecun_normal"
  | "constant";

/**
 * Numbers for an initialiser (std, bound, gain, value). A Dim is evaluated once shapes are
 * concrete; `fan_in` with "uniform" means the bound 1/sqrt(fan_in) (PyTorch's bias init).
 */
export type InitArgs = Readonly<Record<string, number | Dim>>;

export interface ParamSpec {
  /** local name, e.g. "weight"; the elaborator prefixes the instance path */
  readonly name: string;
  readonly shape: Shape;
  readonly dtype?: DType;
  readonly init: InitName;
  /** extra numbers for the initialiser (std, bound, gain, value) */
  readonly initArgs?: InitArgs;
  /** buffers are state, not trained (batch-norm running statistics) */
  readonly buffer?: boolean;
  /** excluded from weight decay by default (biases, norm scales) */
  readonly noDecay?: boolean;
}

export interface InferContext {
  readonly inputs: readonly (TensorType | undefined)[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
}

export interface InferResult {
  readonly outputs: readonly TensorType[];
  readonly params?: readonly ParamSpec[];
}

export interface CostContext extends InferContext {
  readonly outputs: readonly TensorType[];
  readonly params: readonly ParamSpec[];
}

/**
 * Compute for one application. `macs` are fused multiply-adds of matmul-like work
 * (linear, conv, matmul, attention products), counted as torchvision / fvcore do;
 * `flops` are the other floating-point operations (elementwise, normalisation, softmax),
 * reported separately. Either may be symbolic.
 */
export interface Cost {
  readonly macs: Dim;
  readonly flops: Dim;
}

export type OpCategory =
  | "activation"
  | "elementwise"
  | "linear"
  | "conv"
  | "pool"
  | "norm"
  | "shape"
  | "reduce"
  | "attention"
  | "embedding"
  | "recurrent"
  | "graph"
  | "loss"
  | "random"
  | "creation";

export interface OpDef {
  readonly name: string;
  readonly category: OpCategory;
  /** one line, shown on hover and in `dlm ops` */
  readonly doc: string;
  readonly inputs: readonly InputSpec[];
  readonly attrs: readonly AttrSpec[];
  /** shape rule + parameter rule; throws OpError on bad input */
  infer(ctx: InferContext): InferResult;
  /** forward compute; default: zero */
  cost?(ctx: CostContext): Cost;
  /**
   * Backward compute relative to forward; default: gradients w.r.t. inputs and weights each
   * cost one forward's MACs (2x in total), elementwise work the same as forward.
   */
  backwardCost?(ctx: CostContext & { needsInputGrad: boolean; needsParamGrad: boolean }): Cost;
  /**
   * Lowering to primitives at concrete shapes (compiler/prim/builder.ts): what autodiff
   * and the backends run. Gradients come from the primitives' vector-Jacobian products.
   */
  lower?(ctx: LowerContext): readonly PrimRef[];
  /** the op draws random numbers (dropout, noise): not folded, not CSE'd */
  readonly stochastic?: boolean;
  /** differs between train and eval mode (dropout, batch norm) */
  readonly modeDependent?: boolean;
  /**
   * ONNX export of one application in inference mode (compiler/export/onnx/): emits nodes
   * through the context and returns the value names of the outputs. Absent: not exportable.
   */
  onnx?(ctx: OnnxContext): readonly string[];
  /** PyTorch export (compiler/export/torch.ts): the op as torch code. Absent: not exportable. */
  readonly torch?: TorchMapping;
}

/** An error in how an op was used; the elaborator turns it into a diagnostic at the call. */
export class OpError extends Error {
  constructor(
    message: string,
    readonly options: {
      /** which argument to underline: an input index or an attribute name */
      readonly at?: number | string;
      readonly hint?: string;
      readonly notes?: readonly string[];
      /** diagnostic code override, e.g. DLM3102 for a dtype error */
      readonly code?: string;
    } = {},
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------
// Helpers for writing rules.

export const ZERO_COST: Cost = { macs: Dim.const(0), flops: Dim.const(0) };

export function cost(macs: Dim | number, flops: Dim | number = 0): Cost {
  return { macs: toDim(macs), flops: toDim(flops) };
}

export function input(ctx: InferContext, i: number): TensorType {
  const t = ctx.inputs[i];
  if (!t) throw new OpError(`missing tensor input #${i + 1}`);
  return t;
}

export function intAttr(ctx: InferContext, name: string): Dim {
  const v = ctx.attrs[name];
  if (v instanceof Dim) return v;
  if (typeof v === "number" && Number.isInteger(v)) return Dim.const(v);
  throw new OpError(`'${name}' must be an integer, got ${describeAttr(v)}`, { at: name });
}

/** An integer attribute that must be known at compile time (kernel sizes, head counts). */
export function constIntAttr(ctx: InferContext, name: string): number {
  const d = intAttr(ctx, name);
  const c = d.constant;
  if (c === undefined) throw new OpError(`'${name}' must be known at compile time, got ${d}`, { at: name });
  return c;
}

export function floatAttr(ctx: InferContext, name: string): number {
  const v = ctx.attrs[name];
  if (typeof v === "number") return v;
  if (v instanceof Dim && v.constant !== undefined) return v.constant;
  throw new OpError(`'${name}' must be a number, got ${describeAttr(v)}`, { at: name });
}

export function boolAttr(ctx: InferContext, name: string): boolean {
  const v = ctx.attrs[name];
  if (typeof v === "boolean") return v;
  throw new OpError(`'${name}' must be true or false, got ${describeAttr(v)}`, { at: name });
}

export function stringAttr(ctx: InferContext, name: string): string {
  const v = ctx.attrs[name];
  if (typeof v === "string") return v;
  throw new OpError(`'${name}' must be a string, got ${describeAttr(v)}`, { at: name });
}

/** An int or a list of ints, expanded to `n` entries (kernel: 3 → [3, 3]). */
export function intsAttr(ctx: InferContext, name: string, n?: number): Dim[] {
  const v = ctx.attrs[name];
  const list: readonly AttrValue[] = Array.isArray(v) ? v : [v as AttrValue];
  const out = list.map((x) => {
    if (x instanceof Dim) return x;
    if (typeof x === "number" && Number.isInteger(x)) return Dim.const(x);
    throw new OpError(`'${name}' must be an integer or a list of integers, got ${describeAttr(v)}`, { at: name });
  });
  if (n === undefined) return out;
  if (out.length === 1) return Array.from({ length: n }, () => out[0]!);
  if (out.length !== n) throw new OpError(`'${name}' needs 1 or ${n} values, got ${out.length}`, { at: name });
  return out;
}

export function describeAttr(v: AttrValue | undefined): string {
  if (v === undefined) return "nothing";
  if (v === null) return "none";
  if (v instanceof Dim) return `the integer ${v}`;
  if (Array.isArray(v)) return `a list [${v.map((x) => describeAttr(x)).join(", ")}]`;
  if (typeof v === "string") return `the string "${v}"`;
  return `${typeof v === "number" ? "the number" : ""} ${String(v)}`.trim();
}

/** Normalise a possibly negative axis against a rank. */
export function normAxis(axis: number, rank: number, what = "axis"): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new OpError(`${what} ${axis} is out of range for a tensor of rank ${rank}`, { at: what });
  return a;
}

export function axisAttr(ctx: InferContext, name: string, rank: number): number {
  const d = intAttr(ctx, name).constant;
  if (d === undefined) throw new OpError(`'${name}' must be a constant integer`, { at: name });
  return normAxis(d, rank, name);
}

/** NumPy broadcasting of two shapes; throws OpError naming both. */
export function broadcastShapes(a: Shape, b: Shape): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? Dim.const(1);
    const db = b[b.length - n + i] ?? Dim.const(1);
    if (da.equals(db) || db.equals(1)) out.push(da);
    else if (da.equals(1)) out.push(db);
    else
      throw new OpError(`shapes ${shapeToString(a)} and ${shapeToString(b)} cannot be broadcast: dimension ${i - n} is ${da} vs ${db}`, {
        hint: "broadcasting aligns shapes from the right; each pair of dims must be equal or one of them 1",
      });
  }
  return out;
}

export function sameDType(op: string, types: readonly TensorType[]): DType {
  const first = types[0]!.dtype;
  for (const t of types)
    if (t.dtype !== first)
      throw new OpError(`${op} mixes dtypes ${first} and ${t.dtype}`, {
        code: "DLM3102",
        hint: `convert one side with cast(x, ${first})`,
      });
  return first;
}

export function requireFloat(op: string, t: TensorType, at = 0): void {
  if (!isFloat(t.dtype))
    throw new OpError(`${op} needs a floating-point tensor, got ${typeToString(t)}`, {
      at,
      code: "DLM3102",
      hint: "use cast(x, f32) first",
    });
}

export function requireRank(op: string, t: TensorType, ranks: readonly number[], at = 0, what = "input"): void {
  if (!ranks.includes(t.shape.length))
    throw new OpError(`${op} expects a ${what} of rank ${ranks.join(" or ")}, got ${typeToString(t)} (rank ${t.shape.length})`, {
      at,
      code: "DLM3103",
    });
}

export { Dim, numel };

// ---------------------------------------------------------------------------
// Lowering

/** A primitive node id (compiler/prim/builder.ts). */
export type PrimRef = number;

/** An attribute with every Dim evaluated to a number. */
export type ConcreteAttr = number | boolean | string | null | readonly ConcreteAttr[];

export interface LowerContext {
  readonly b: PrimBuilder;
  /** tensor inputs in the op's input order (a variadic input flattened); undefined when absent */
  readonly inputs: readonly (PrimRef | undefined)[];
  /** attributes, defaults filled, dims evaluated */
  readonly attrs: Readonly<Record<string, ConcreteAttr>>;
  /** the op's parameters and buffers, in the order its `infer` listed them */
  readonly params: readonly PrimRef[];
  /** the concrete output types `infer` promised (the lowering must produce exactly these) */
  readonly outputs: readonly { readonly shape: readonly number[]; readonly dtype: PDType }[];
  /** training mode (dropout active, batch norm on batch statistics) or evaluation */
  readonly training: boolean;
  /** set the value a buffer (batch-norm running statistics) holds after this step */
  updateBuffer(paramIndex: number, value: PrimRef): void;
}
