// Shared helpers for the op lowerings (OpDef.lower): reading concrete attributes, attaching a
// lowering to an OpDef made by a shared rule builder, and small primitive patterns used by
// several families (casts with PyTorch semantics, moving axes, channels-first batching).
// Append-only: several families import from here, so existing exports keep their meaning.

import type { PDType } from "../prim/ir.js";
import type { PrimBuilder, T } from "../prim/builder.js";
import type { ConcreteAttr, LowerContext, OpDef, PrimRef } from "./types.js";

export type Lower = (ctx: LowerContext) => readonly PrimRef[];

/** `def` with its lowering attached (for OpDefs made by builders.ts). */
export function withLower(def: OpDef, lower: Lower): OpDef {
  return { ...def, lower };
}

/** A one-input, one-output lowering: f(x, ctx). */
export function map1(f: (x: T, ctx: LowerContext) => T): Lower {
  return (ctx) => [f(need(ctx, 0), ctx)];
}

/** Tensor input `i`, which must be present. */
export function need(ctx: LowerContext, i: number): T {
  const v = ctx.inputs[i];
  if (v === undefined) throw new Error(`lowering: missing tensor input #${i + 1}`);
  return v;
}

function attr(ctx: LowerContext, name: string): ConcreteAttr | undefined {
  return ctx.attrs[name];
}

/** A numeric attribute (booleans count as 0/1). */
export function num(ctx: LowerContext, name: string): number {
  const v = attr(ctx, name);
  if (typeof v === "number") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  throw new Error(`lowering: attribute '${name}' is not a number: ${JSON.stringify(v)}`);
}

/** A numeric attribute that may be none. */
export function optNum(ctx: LowerContext, name: string): number | null {
  const v = attr(ctx, name);
  return v === null || v === undefined ? null : num(ctx, name);
}

export function flag(ctx: LowerContext, name: string): boolean {
  return attr(ctx, name) === true;
}

export function str(ctx: LowerContext, name: string): string {
  const v = attr(ctx, name);
  if (typeof v !== "string") throw new Error(`lowering: attribute '${name}' is not a string: ${JSON.stringify(v)}`);
  return v;
}

/** An int or list of ints; with `n`, a single value is repeated n times. */
export function ints(ctx: LowerContext, name: string, n?: number): number[] {
  const v = attr(ctx, name);
  const list = (Array.isArray(v) ? v : [v]) as ConcreteAttr[];
  const out = list.map((x) => {
    if (typeof x !== "number") throw new Error(`lowering: attribute '${name}' is not a list of integers: ${JSON.stringify(v)}`);
    return x;
  });
  return n !== undefined && out.length === 1 ? Array.from({ length: n }, () => out[0]!) : out;
}

/** An axis list attribute (none: every axis), normalised and sorted. */
export function axesOf(ctx: LowerContext, name: string, rank: number): number[] {
  const v = attr(ctx, name);
  if (v === null || v === undefined) return [...Array(rank).keys()];
  return [...new Set(ints(ctx, name).map((a) => normAxis(a, rank)))].sort((p, q) => p - q);
}

export function normAxis(a: number, rank: number): number {
  return a < 0 ? a + rank : a;
}

/** The shape of output `i`. */
export function outShape(ctx: LowerContext, i = 0): readonly number[] {
  return ctx.outputs[i]!.shape;
}

/** The runtime dtype of output `i`. */
export function outDType(ctx: LowerContext, i = 0): PDType {
  return ctx.outputs[i]!.dtype;
}

/**
 * dtype conversion as PyTorch does it: float → integer truncates toward zero, anything →
 * bool is "nonzero", bool → number is 0/1 (the cast primitive's semantics).
 */
export function castTo(ctx: LowerContext, x: T, dtype: PDType): T {
  return ctx.b.cast(x, dtype);
}

/** Insert a size-1 axis at `axis` (of the result). */
export function unsqueeze(ctx: LowerContext, x: T, axis: number): T {
  const s = [...ctx.b.shape(x)];
  s.splice(normAxis(axis, s.length + 1), 0, 1);
  return ctx.b.reshape(x, s);
}

/** Move axis `from` to position `to`. */
export function moveAxis(ctx: LowerContext, x: T, from: number, to: number): T {
  const r = ctx.b.rank(x);
  const perm = [...Array(r).keys()];
  const [a] = perm.splice(normAxis(from, r), 1);
  perm.splice(normAxis(to, r), 0, a!);
  return ctx.b.transpose(x, perm);
}

/**
 * Runs `f` on a batched [B, C, *S] view of x, which may be unbatched [C, *S] (`spatial` is
 * the number of spatial axes); the result gets x's batching back.
 */
export function batched(ctx: LowerContext, x: T, spatial: number, f: (x: T) => T): T {
  const b = ctx.b;
  if (b.rank(x) === spatial + 2) return f(x);
  const y = f(b.reshape(x, [1, ...b.shape(x)]));
  return b.reshape(y, b.shape(y).slice(1));
}

/** A per-channel vector [C] shaped to broadcast over channel axis `axis` of a rank-`rank` tensor. */
export function perChannel(ctx: LowerContext, v: T, axis: number, rank: number): T {
  const c = ctx.b.shape(v)[0]!;
  return ctx.b.reshape(
    v,
    Array.from({ length: rank - axis }, (_, i) => (i === 0 ? c : 1)),
  );
}

/**
 * Index positions for padding one axis of size `size` by `lo`/`hi` with a non-constant mode:
 * the source position of each output position (gather indices).
 */
export function padIndices(size: number, lo: number, hi: number, mode: "reflect" | "replicate" | "circular"): number[] {
  const out: number[] = [];
  for (let p = -lo; p < size + hi; p++) {
    let q = p;
    if (mode === "replicate") q = Math.min(Math.max(p, 0), size - 1);
    else if (mode === "circular") q = ((p % size) + size) % size;
    else {
      const period = 2 * (size - 1);
      q = period === 0 ? 0 : ((p % period) + period) % period;
      if (q >= size) q = period - q;
    }
    out.push(q);
  }
  return out;
}

/**
 * Pads axis `axis` by `lo`/`hi` elements: "constant" with `value` (negative amounts crop),
 * or "reflect" / "replicate" / "circular" as torch.nn.functional.pad.
 */
export function padAxis(ctx: LowerContext, x: T, axis: number, lo: number, hi: number, mode: string, value = 0): T {
  const b = ctx.b;
  const s = b.shape(x);
  const a = normAxis(axis, s.length);
  if (lo === 0 && hi === 0) return x;
  if (mode === "constant" || mode === "zeros") {
    const cropped = b.sliceAxis(x, a, Math.max(0, -lo), s[a]! - Math.max(0, -hi));
    const z = s.map(() => 0);
    return b.pad(
      cropped,
      z.map((_, i) => (i === a ? Math.max(0, lo) : 0)),
      z.map((_, i) => (i === a ? Math.max(0, hi) : 0)),
      value,
    );
  }
  const idx = padIndices(s[a]!, lo, hi, mode as "reflect" | "replicate" | "circular");
  return b.gather(x, b.tensor(idx, [idx.length], "i32"), a);
}

// ---------------------------------------------------------------------------
// Numerics shared by attention, losses, recurrent and random ops (these take the builder)

/** A list of numbers (one number counts as a list of one), or none. */
export function optNums(ctx: LowerContext, name: string): number[] | null {
  const v = attr(ctx, name);
  if (v === null || v === undefined) return null;
  return (Array.isArray(v) ? v : [v]).map((x) => {
    if (typeof x !== "number") throw new Error(`lowering: attribute '${name}' is not a list of numbers: ${JSON.stringify(v)}`);
    return x;
  });
}

/** x @ wᵀ + bias for x [..., in] (rank ≥ 1), w [out, in], bias [out]: torch.nn.functional.linear. */
export function linear(b: PrimBuilder, x: T, w: T, bias?: T): T {
  const s = b.shape(x);
  const x2 = s.length === 1 ? b.reshape(x, [1, s[0]!]) : x;
  let y = b.matmul(x2, w, false, true);
  if (s.length === 1) y = b.reshape(y, [b.shape(w)[0]!]);
  return bias === undefined ? y : b.plus(y, bias);
}

/** log Σ exp(x) along `axis` (kept as size 1), stabilised by the maximum, which carries no gradient. */
export function logsumexp(b: PrimBuilder, x: T, axis: number): T {
  const m = b.stopGradient(b.max(x, [axis], true));
  return b.plus(b.log(b.sum(b.exp(b.minus(x, m)), [axis], true)), m);
}

/** log(softmax(x)) along `axis`: x - logsumexp(x). */
export function logSoftmax(b: PrimBuilder, x: T, axis: number): T {
  return b.minus(x, logsumexp(b, x, axis));
}

/** softmax along `axis`, max-subtracted. */
export function softmax(b: PrimBuilder, x: T, axis: number): T {
  const e = b.exp(b.minus(x, b.stopGradient(b.max(x, [axis], true))));
  return b.over(e, b.sum(e, [axis], true));
}

/** log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|)). */
export function softplus(b: PrimBuilder, x: T): T {
  return b.plus(b.relu(x), b.unary("log1p", b.exp(b.neg(b.unary("abs", x)))));
}

/** max(x, lo) in value while the gradient passes as if unclamped (PyTorch's in-place clamp under no_grad). */
export function clampMinValue(b: PrimBuilder, x: T, lo: number): T {
  return b.plus(x, b.stopGradient(b.minus(b.binary("maximum", x, b.scalar(lo)), x)));
}

/** A compile-time constant of `shape` holding f(i, j, ...) at each index (position tables, buckets). */
export function table(b: PrimBuilder, shape: readonly number[], f: (...index: number[]) => number, dtype: PDType = "f32"): T {
  const values: number[] = [];
  const idx = shape.map(() => 0);
  const total = shape.reduce((n, d) => n * d, 1);
  for (let k = 0; k < total; k++) {
    values.push(f(...idx));
    for (let i = shape.length - 1; i >= 0 && ++idx[i]! >= shape[i]!; i--) idx[i] = 0;
  }
  return b.tensor(values, shape, dtype);
}

/** A loss reduction: "mean" / "sum" to a scalar, "none" unchanged. */
export function reduceLoss(b: PrimBuilder, el: T, reduction: string): T {
  if (reduction === "sum") return b.sum(el);
  if (reduction === "mean") return b.mean(el);
  if (reduction === "none") return el;
  throw new Error(`lowering: unknown reduction '${reduction}'`);
}

/**
 * Inverted dropout: zero with probability p, scale survivors by 1/(1-p). The keep mask is
 * drawn at `maskShape` (default x's; [B, C, 1, 1] drops whole channels) and broadcast.
 */
export function dropout(b: PrimBuilder, x: T, p: number, maskShape: readonly number[] = b.shape(x)): T {
  if (p <= 0) return x;
  const keep = b.cast(b.binary("ge", b.random("uniform", maskShape), b.scalar(p)), "f32");
  return b.times(x, b.scale(keep, 1 / (1 - p)));
}
