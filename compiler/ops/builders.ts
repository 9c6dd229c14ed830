// Shared rule builders and checks for the op families. Append-only: several families
// import from here, so existing exports keep their meaning; add new helpers below.

import { Dim, type Shape, shapeToString, shapesEqual } from "../dim.js";
import {
  type AttrValue,
  type DType,
  type InferContext,
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
export function requireIntegerInput(op: string, t: TensorType, at: number, what: string, hint = `${what} must be an integer tensor (i32/i64)`): void {
  if (!isInteger(t.dtype))
    throw new OpError(`${op} needs integer ${what}, got ${typeToString(t)}`, { at, code: "DLM3102", hint });
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
export function weightParam(name: string, shape: Shape, init: InitName, initArgs?: Readonly<Record<string, number>>): ParamSpec {
  return initArgs ? { name, shape, init, initArgs } : { name, shape, init };
}

/** A bias vector: zeros unless told, excluded from weight decay. */
export function biasParam(name: string, shape: Shape, init: InitName = "zeros", initArgs?: Readonly<Record<string, number>>): ParamSpec {
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
