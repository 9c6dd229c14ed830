// Shared rule builders and checks for the op families. Append-only: several families
// import from here, so existing exports keep their meaning; add new helpers below.

import { Dim, type Shape, shapeToString, shapesEqual } from "../dim.js";
import {
  type AttrValue,
  type DType,
  type InferContext,
  type InitArgs,
  type InitName,
  type ParamSpec,
  type TensorType,
  OpError,
  broadcastShapes,
  describeAttr,
  isDType,
  isFloat,
  isInteger,
  typeToString,
} from "./types.js";

export const ONE: Dim = Dim.const(1);

// ---------------------------------------------------------------------------
// Shapes (allocation-light: no intermediate arrays where a loop does)

/** Product of shape[start..end), symbolic. */
export function prodRange(shape: Shape, start = 0, end = shape.length): Dim {
  let acc = ONE;
  for (let i = start; i < end; i++) acc = acc.mul(shape[i]!);
  return acc;
}

/** The last axis (the feature axis); callers check the rank first. */
export function lastDim(shape: Shape): Dim {
  return shape[shape.length - 1]!;
}

/** `shape` without its last axis. */
export function dropLast(shape: Shape): Dim[] {
  return shape.slice(0, -1);
}

/** `shape` with its last axis replaced by `d`. */
export function withLast(shape: Shape, d: Dim): Dim[] {
  const out = shape.slice();
  out[out.length - 1] = d;
  return out;
}

/** Whether `a` equals `b` with its last axis removed (class ids vs. logits). */
export function equalsWithoutLast(a: Shape, b: Shape): boolean {
  if (a.length !== b.length - 1) return false;
  for (let i = 0; i < a.length; i++) if (!sameDim(a[i]!, b[i]!)) return false;
  return true;
}

/**
 * NumPy broadcasting of two tensors' shapes with an error naming both and pointing at
 * input `at`. Equal shapes (the common case) return `a.shape` without allocating.
 */
export function broadcastPair(op: string, a: TensorType, b: TensorType, at: number, what = "shapes"): Shape {
  if (shapesEqual(a.shape, b.shape)) return a.shape;
  try {
    return broadcastShapes(a.shape, b.shape);
  } catch (e) {
    if (!(e instanceof OpError)) throw e;
    throw new OpError(`${op}: ${what} ${typeToString(a)} and ${typeToString(b)} do not match and cannot be broadcast`, {
      at,
      hint: e.options.hint,
    });
  }
}

/**
 * `src` must broadcast to exactly `target` (a mask onto attention scores, a label onto
 * per-example losses): broadcasting may not grow the target.
 */
export function requireBroadcastsTo(op: string, what: string, src: TensorType, target: Shape, at: number, targetWhat: string): void {
  const ok =
    src.shape.length <= target.length &&
    src.shape.every((d, i) => {
      const t = target[target.length - src.shape.length + i]!;
      return sameDim(d, t) || d.equals(1);
    });
  if (!ok)
    throw new OpError(`${op}: ${what} ${typeToString(src)} does not broadcast to ${targetWhat} ${shapeToString(target)}`, {
      at,
      hint: "broadcasting aligns shapes from the right; each dim must equal the target's or be 1",
    });
}

// ---------------------------------------------------------------------------
// Checks

/** Integer index tensors (token ids, class ids, segment ids, edge lists). */
export function requireIntegerInput(
  op: string,
  t: TensorType,
  at: number,
  what: string,
  hint = `${what} must be an integer tensor (i32/i64)`,
): void {
  if (!isInteger(t.dtype)) throw new OpError(`${op} needs integer ${what}, got ${typeToString(t)}`, { at, code: "DLM3102", hint });
}

/** A tensor of at least `min` axes (features-last ops). */
export function requireMinRank(op: string, t: TensorType, min: number, at: number, layout: string): void {
  if (t.shape.length < min)
    throw new OpError(`${op} expects ${layout} (rank >= ${min}), got ${typeToString(t)} (rank ${t.shape.length})`, {
      at,
      code: "DLM3103",
    });
}

/** A dimension-valued attribute that must be positive where it is known. */
export function requirePositiveDim(d: Dim, name: string): Dim {
  const c = d.constant;
  if (c !== undefined && c <= 0) throw new OpError(`'${name}' must be positive, got ${c}`, { at: name });
  return d;
}

/** A compile-time integer attribute >= `min`. */
export function requireAtLeast(v: number, min: number, name: string): number {
  if (v < min) throw new OpError(`'${name}' must be at least ${min}, got ${v}`, { at: name });
  return v;
}

/** A compile-time integer attribute in [min, max]: `max` keeps a structural count (stacked layers) to what a model could use, so a typo cannot make the checker build millions of parts. */
export function requireBetween(v: number, min: number, max: number, name: string): number {
  requireAtLeast(v, min, name);
  if (v > max) throw new OpError(`'${name}' must be at most ${max}, got ${v}`, { at: name });
  return v;
}

/** A string attribute from a fixed set; the error lists the choices. */
export function enumAttr<T extends string>(ctx: InferContext, name: string, choices: readonly T[]): T {
  const v = ctx.attrs[name];
  if (typeof v === "string" && (choices as readonly string[]).includes(v)) return v as T;
  throw new OpError(`'${name}' must be one of ${choices.map((c) => `"${c}"`).join(", ")}, got ${describeAttr(v)}`, {
    at: name,
  });
}

/** A float attribute that may be `none`. */
export function optionalFloatAttr(ctx: InferContext, name: string): number | null {
  const v = ctx.attrs[name];
  if (v === null || v === undefined) return null;
  if (typeof v === "number") return v;
  if (v instanceof Dim && v.constant !== undefined) return v.constant;
  throw new OpError(`'${name}' must be a number or none, got ${describeAttr(v)}`, { at: name });
}

/** A float in [lo, hi) (or [lo, hi] with `closed`), e.g. a dropout probability. */
export function rangeAttr(v: number, name: string, lo: number, hi: number, closed = false, hint?: string): number {
  if (!(v >= lo && (closed ? v <= hi : v < hi)))
    throw new OpError(`'${name}' must be in [${lo}, ${hi}${closed ? "]" : ")"}, got ${v}`, { at: name, hint });
  return v;
}

/** A list of numbers (or one number, or none): loss class weights, pos_weight. */
export function optionalFloatsAttr(ctx: InferContext, name: string): number[] | null {
  const v: AttrValue | undefined = ctx.attrs[name];
  if (v === null || v === undefined) return null;
  const list: readonly AttrValue[] = Array.isArray(v) ? v : [v as AttrValue];
  const out: number[] = [];
  for (const x of list) {
    if (typeof x === "number") out.push(x);
    else if (x instanceof Dim && x.constant !== undefined) out.push(x.constant);
    else throw new OpError(`'${name}' must be a number or a list of numbers, got ${describeAttr(v)}`, { at: name });
  }
  return out;
}

/** A shape attribute: one integer or a list of integers (possibly symbolic), none negative. */
export function shapeAttr(ctx: InferContext, name: string): Dim[] {
  const v = ctx.attrs[name];
  const list: readonly AttrValue[] = Array.isArray(v) ? v : [v as AttrValue];
  const out: Dim[] = [];
  for (const x of list) {
    const d = x instanceof Dim ? x : typeof x === "number" && Number.isInteger(x) ? Dim.const(x) : undefined;
    if (!d) throw new OpError(`'${name}' must be a list of integers, got ${describeAttr(v)}`, { at: name });
    const c = d.constant;
    if (c !== undefined && c < 0) throw new OpError(`'${name}' has a negative dimension ${c}`, { at: name });
    out.push(d);
  }
  return out;
}

/** A dtype attribute that must name a floating-point type (random draws). */
export function requireFloatDType(op: string, dtype: AttrValue | undefined, name: string): DType {
  if (typeof dtype !== "string" || !isDType(dtype) || !isFloat(dtype))
    throw new OpError(`${op} draws floating-point values; dtype ${describeAttr(dtype)} is not a float type`, {
      at: name,
      code: "DLM3102",
      hint: "use f32 (or f16/bf16/f64) and cast the result if integers are needed",
    });
  return dtype;
}

// ---------------------------------------------------------------------------
// Parameters

/** A weight matrix/tensor parameter. */
export function weightParam(name: string, shape: Shape, init: InitName, initArgs?: InitArgs): ParamSpec {
  return initArgs ? { name, shape, init, initArgs } : { name, shape, init };
}

/** A bias vector: zeros unless told, excluded from weight decay. */
export function biasParam(name: string, shape: Shape, init: InitName = "zeros", initArgs?: InitArgs): ParamSpec {
  return initArgs ? { name, shape, init, initArgs, noDecay: true } : { name, shape, init, noDecay: true };
}

/** Sum of the element counts of all rank-2 parameters (the weight matrices of matmul-like ops). */
export function matrixParamsNumel(params: readonly { readonly shape: Shape }[]): Dim {
  let acc = Dim.const(0);
  for (const p of params) if (p.shape.length === 2) acc = acc.add(p.shape[0]!.mul(p.shape[1]!));
  return acc;
}

/** Dim equality with an identity fast path (shapes usually share Dim objects). */
export function sameDim(a: Dim, b: Dim): boolean {
  return a === b || a.equals(b);
}

/**
 * Float features for sequence layers (rnn, attention); integer input is most likely token
 * ids that were never embedded, so the hint says so.
 */
export function requireFloatFeatures(op: string, t: TensorType, at: number): void {
  if (!isFloat(t.dtype))
    throw new OpError(`${op} needs floating-point features, got ${typeToString(t)}`, {
      at,
      code: "DLM3102",
      hint: isInteger(t.dtype)
        ? "integer input looks like token ids: embed them first, e.g. x |> embedding(vocab, dim)"
        : "use cast(x, f32) first",
    });
}

// ---------------------------------------------------------------------------
// Exact division and axis lists (norm, shape and reduce families)

/** Keys of non-symbol atoms (floordiv, mod, max, min) are written with parentheses. */
function isSymbolKey(key: string): boolean {
  return !key.includes("(");
}

/**
 * `a / b` when it divides exactly, else undefined. Decides constants, equal expressions and
 * division by a monomial in plain symbols (B*T*768 / (B*T) = 768); the quotient is always
 * verified by multiplying back, so an undecidable case yields undefined, never a wrong dim.
 */
export function divideExactly(a: Dim, b: Dim): Dim | undefined {
  const bc = b.constant;
  if (bc !== undefined) {
    if (bc === 0) return undefined;
    const q = a.floordiv(bc);
    return q.mul(bc).equals(a) ? q : undefined;
  }
  if (a.equals(b)) return ONE;
  if (b.terms.length !== 1) return undefined;
  const divisor = b.terms[0]!;
  if (!divisor.factors.every(isSymbolKey)) return undefined;
  let q = Dim.const(0);
  for (const term of a.terms) {
    if (term.coeff % divisor.coeff !== 0) return undefined;
    const rest = term.factors.slice();
    for (const f of divisor.factors) {
      const i = rest.indexOf(f);
      if (i < 0) return undefined;
      rest.splice(i, 1);
    }
    if (!rest.every(isSymbolKey)) return undefined;
    q = q.add(rest.reduce((acc, f) => acc.mul(Dim.sym(f)), Dim.const(term.coeff / divisor.coeff)));
  }
  return q.mul(b).equals(a) ? q : undefined;
}

/**
 * An axis attribute that may be none (undefined: all axes), one integer or a list of
 * integers; normalised against `rank`, sorted, each axis at most once.
 */
export function axesAttr(ctx: InferContext, name: string, rank: number): number[] | undefined {
  const v = ctx.attrs[name];
  if (v === null || v === undefined) return undefined;
  const list: readonly AttrValue[] = Array.isArray(v) ? v : [v as AttrValue];
  const out: number[] = [];
  for (const x of list) {
    const c = x instanceof Dim ? x.constant : typeof x === "number" && Number.isInteger(x) ? x : undefined;
    if (c === undefined)
      throw new OpError(`'${name}' must be none, a constant integer or a list of them, got ${describeAttr(v)}`, { at: name });
    const a = c < 0 ? c + rank : c;
    if (a < 0 || a >= rank) throw new OpError(`${name} ${c} is out of range for a tensor of rank ${rank}`, { at: name });
    if (out.includes(a)) throw new OpError(`'${name}' lists axis ${a} more than once`, { at: name });
    out.push(a);
  }
  return out.sort((p, q) => p - q);
}

// ---------------------------------------------------------------------------
// Pointwise ops and dtype attributes (activation.ts, elementwise.ts, creation.ts).
// The file is append-only, so the extra imports these helpers need sit here.

import {
  type AttrSpec as PwAttrSpec,
  type CostContext as PwCostContext,
  type OpCategory as PwOpCategory,
  type OpDef as PwOpDef,
  DTYPES as PW_DTYPES,
  cost as pwCost,
  input as pwInput,
  numel as pwNumel,
  requireFloat as pwRequireFloat,
} from "./types.js";

/** Which dtypes a pointwise op accepts: floats, any number (not bool), bools, or anything. */
export type DTypeClass = "float" | "numeric" | "bool" | "any";

/** `t` must belong to `cls`; dtype errors carry DLM3102 and a conversion hint. */
export function requireDTypeClass(op: string, t: TensorType, cls: DTypeClass, at: number, what = "input"): void {
  if (cls === "any") return;
  if (cls === "float") return pwRequireFloat(op, t, at);
  if (cls === "numeric" && t.dtype === "bool")
    throw new OpError(`${op} needs a numeric ${what}, got ${typeToString(t)}`, {
      at,
      code: "DLM3102",
      hint: "convert the mask first, e.g. cast(x, f32); on bools use logical_and / logical_or / logical_not",
    });
  if (cls === "bool" && t.dtype !== "bool")
    throw new OpError(`${op} needs a bool ${what}, got ${typeToString(t)}`, {
      at,
      code: "DLM3102",
      hint: "make a mask with a comparison (x > 0) or cast(x, bool)",
    });
}

/** A dtype attribute (f32, i64, bool, ...); the error lists the dtypes. */
export function dtypeAttr(ctx: InferContext, name: string): DType {
  const v = ctx.attrs[name];
  if (typeof v === "string" && isDType(v)) return v;
  throw new OpError(`'${name}' must be a dtype, got ${describeAttr(v)}`, { at: name, hint: `dtypes: ${PW_DTYPES.join(", ")}` });
}

export interface PointwiseSpec {
  readonly name: string;
  readonly category: PwOpCategory;
  /** one line */
  readonly doc: string;
  /** forward flops per element of x (a number, or computed from the attributes) */
  readonly flopsPerElem: number | ((ctx: PwCostContext) => number);
  readonly attrs?: readonly PwAttrSpec[];
  /** default "float" */
  readonly dtypes?: DTypeClass;
  /** attribute checks and extra input checks, after the dtype check */
  check?(ctx: InferContext, x: TensorType): void;
  /** the output dtype when it is not x's (cast, logical_not) */
  outDType?(ctx: InferContext, x: TensorType): DType;
}

/** x → f(x) elementwise: same shape (and, unless `outDType` says otherwise, same dtype). */
export function pointwise(spec: PointwiseSpec): PwOpDef {
  const dtypes = spec.dtypes ?? "float";
  const flops = spec.flopsPerElem;
  return {
    name: spec.name,
    category: spec.category,
    doc: spec.doc,
    inputs: [{ name: "x" }],
    attrs: spec.attrs ?? [],
    infer(ctx) {
      const x = pwInput(ctx, 0);
      requireDTypeClass(spec.name, x, dtypes, 0);
      spec.check?.(ctx, x);
      const dtype = spec.outDType ? spec.outDType(ctx, x) : x.dtype;
      return { outputs: [dtype === x.dtype ? x : { dtype, shape: x.shape }] };
    },
    cost(ctx) {
      const n = typeof flops === "number" ? flops : flops(ctx);
      return pwCost(0, pwNumel(pwInput(ctx, 0).shape).scale(n));
    },
  };
}

// ---------------------------------------------------------------------------
// torch's default initialisation of Linear / Bilinear / ConvNd layers (linear.ts, conv.ts)

/** nn.Linear / nn.ConvNd weights: kaiming_uniform with a = sqrt(5), i.e. U(±1/sqrt(fan_in)). */
export const TORCH_DEFAULT_KAIMING: Readonly<Record<string, number>> = Object.freeze({ a: Math.sqrt(5) });

/**
 * initArgs of U(-1/sqrt(fan_in), 1/sqrt(fan_in)), torch's default for those layers' biases
 * (and Bilinear's weight); undefined while fan_in is symbolic.
 */
export function fanInBound(fanIn: Dim): InitArgs {
  const f = fanIn.constant;
  return f !== undefined && f > 0 ? Object.freeze({ bound: 1 / Math.sqrt(f) }) : Object.freeze({ fan_in: fanIn });
}
