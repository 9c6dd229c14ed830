// ONNX patterns shared by the ops' export hooks (OpDef.onnx): the affine map, reshapes to a
// shape the rule promised, slices and axis moves, attention, and the fixed position tables.

import type { Dim } from "../../dim.js";
import type { OpDef, TensorType } from "../../ops/types.js";
import { DataType, TO_END, float, type OnnxContext } from "./context.js";

/** Tensor input `i` of the op, which must be present. */
export function value(ctx: OnnxContext, i: number): string {
  const v = ctx.values[i];
  if (v === undefined) throw new Error(`internal: ONNX export: missing tensor input #${i + 1}`);
  return v;
}

/** x reshaped to `dims` (symbolic sizes computed at run time). */
export function reshapeTo(ctx: OnnxContext, x: string, dims: readonly Dim[]): string {
  return ctx.op("Reshape", [x, ctx.shape(dims)]);
}

/** Input 0 reshaped to output `i`'s shape (reshape, flatten, squeeze, ...). */
export function toOutputShape(ctx: OnnxContext, i = 0): string[] {
  return [reshapeTo(ctx, value(ctx, 0), ctx.outputs[i]!.shape)];
}

/** x @ wᵀ + bias for x [..., in], w [out, in], bias [out] (torch.nn.functional.linear). */
export function affine(ctx: OnnxContext, x: string, rank: number, w: string, bias?: string): string {
  if (rank === 2) return ctx.op("Gemm", bias === undefined ? [x, w] : [x, w, bias], { transB: 1 });
  const y = ctx.op("MatMul", [x, ctx.op("Transpose", [w], { perm: [1, 0] })]);
  return bias === undefined ? y : ctx.op("Add", [y, bias]);
}

/** x[start:end:step] along `axis` (ONNX clamps and counts negatives from the end, as Python does). */
export function sliceAxis(
  ctx: OnnxContext,
  x: string,
  axis: number,
  start: number | string,
  end: number | string = TO_END,
  step = 1,
): string {
  const bound = (b: number | string): string => (typeof b === "number" ? ctx.ints([b]) : b);
  return ctx.op("Slice", [x, bound(start), bound(end), ctx.ints([axis]), ctx.ints([step])]);
}

export function unsqueeze(ctx: OnnxContext, x: string, axes: readonly number[]): string {
  return ctx.op("Unsqueeze", [x, ctx.ints(axes)]);
}

export function squeeze(ctx: OnnxContext, x: string, axes: readonly number[]): string {
  return ctx.op("Squeeze", [x, ctx.ints(axes)]);
}

/** Axes 0..rank-1 with `a` and `b` swapped. */
export function swapPerm(rank: number, a: number, b: number): number[] {
  const perm = [...Array(rank).keys()];
  const [i, j] = [a < 0 ? a + rank : a, b < 0 ? b + rank : b];
  [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  return perm;
}

/** A per-channel vector [C] shaped [C, 1, ...] to broadcast over axis `axis` of a rank-`rank` tensor. */
export function perChannel(ctx: OnnxContext, v: string, channels: number, axis: number, rank: number): string {
  return ctx.op("Reshape", [v, ctx.ints([channels, ...Array<number>(rank - axis - 1).fill(1)])]);
}

/** Runs `f` on x [B, C, *S] when x is unbatched [C, *S] (rank `spatial + 1`): a batch of one is added and removed. */
export function batched(ctx: OnnxContext, x: string, rank: number, spatial: number, f: (x: string) => string): string {
  if (rank === spatial + 2) return f(x);
  return squeeze(ctx, f(unsqueeze(ctx, x, [0])), [0]);
}

/**
 * softmax(q·kᵀ·scale + mask)·v as torch's scaled_dot_product_attention in evaluation mode: a
 * bool mask says where a query may attend (elsewhere -inf), a float mask is added; causal keeps
 * keys j <= query i.
 */
export function attend(
  ctx: OnnxContext,
  q: { name: string; type: TensorType },
  k: { name: string; type: TensorType },
  v: string,
  mask: { name: string; type: TensorType } | undefined,
  scale: number | null,
  causal: boolean,
): string {
  const rk = k.type.shape.length;
  const d = ctx.known(q.type.shape.at(-1)!, "the feature size of q");
  let s = ctx.op("MatMul", [q.name, ctx.op("Transpose", [k.name], { perm: swapPerm(rk, -1, -2) })]);
  s = ctx.op("Mul", [s, ctx.scalar(scale ?? 1 / Math.sqrt(d))]);
  const hide = (allowed: string): string => ctx.op("Where", [allowed, s, ctx.scalar(-Infinity)]);
  if (mask) s = mask.type.dtype === "bool" ? hide(mask.name) : ctx.op("Add", [s, mask.name]);
  if (causal) {
    const positions = (len: Dim): string => ctx.op("Range", [ctx.scalar(0, "i64"), ctx.size(len), ctx.scalar(1, "i64")]);
    const rows = unsqueeze(ctx, positions(q.type.shape.at(-2)!), [1]);
    s = hide(ctx.op("LessOrEqual", [positions(k.type.shape.at(-2)!), rows]));
  }
  return ctx.op("MatMul", [ctx.op("Softmax", [s], { axis: -1 }), v]);
}

/**
 * A table [T, d] of f(pos, j) for positions 0..T-1: a constant when T is known, else computed at
 * run time from the angle pos·freq[j] by `fromAngle` (sin, cos, or a mix by feature).
 */
export function positionTable(
  ctx: OnnxContext,
  t: Dim,
  d: number,
  freq: (j: number) => number,
  f: (angle: number, j: number) => number,
  fromAngle: (angle: string) => string,
): string {
  const tc = t.constant;
  if (tc !== undefined) {
    const values = new Float64Array(tc * d);
    for (let pos = 0; pos < tc; pos++) for (let j = 0; j < d; j++) values[pos * d + j] = f(pos * freq(j), j);
    return ctx.constant(values, [tc, d], "f32");
  }
  const pos = ctx.op("Cast", [ctx.op("Range", [ctx.scalar(0, "i64"), ctx.size(t), ctx.scalar(1, "i64")])], { to: DataType.FLOAT });
  const freqs = ctx.constant(
    Array.from({ length: d }, (_, j) => freq(j)),
    [d],
    "f32",
  );
  return fromAngle(ctx.op("Mul", [unsqueeze(ctx, pos, [1]), freqs]));
}

/** The sin/cos position table of "Attention Is All You Need": sin on even features, cos on odd ones. */
export function sinusoidalTable(ctx: OnnxContext, t: Dim, d: number): string {
  const freq = (j: number): number => 1 / Math.pow(10000, (j - (j % 2)) / d);
  return positionTable(
    ctx,
    t,
    d,
    freq,
    (a, j) => (j % 2 === 0 ? Math.sin(a) : Math.cos(a)),
    (angle) => {
      const even = ctx.constant(
        Array.from({ length: d }, (_, j) => (j % 2 === 0 ? 1 : 0)),
        [d],
        "bool",
      );
      return ctx.op("Where", [even, ctx.op("Sin", [angle]), ctx.op("Cos", [angle])]);
    },
  );
}

/** Rotary position embedding over x [..., T, d] in the rotate-half layout (as the op's lowering). */
export function rope(ctx: OnnxContext, x: string, type: TensorType, base: number): string {
  const t = type.shape.at(-2)!;
  const d = ctx.known(type.shape.at(-1)!, "the rotary feature size");
  const half = d / 2;
  const freq = (j: number): number => Math.pow(base, (-2 * (j % half)) / d);
  const cos = positionTable(ctx, t, d, freq, Math.cos, (a) => ctx.op("Cos", [a]));
  const sin = positionTable(ctx, t, d, freq, Math.sin, (a) => ctx.op("Sin", [a]));
  const rotated = ctx.op("Concat", [ctx.op("Neg", [sliceAxis(ctx, x, -1, half, d)]), sliceAxis(ctx, x, -1, 0, half)], { axis: -1 });
  return ctx.op("Add", [ctx.op("Mul", [x, cos]), ctx.op("Mul", [rotated, sin])]);
}

/** Clip(x, lo, hi) with bounds of x's type (either may be absent). */
export function clipValue(ctx: OnnxContext, x: string, lo: number | null, hi: number | null, dtype: TensorType["dtype"] = "f32"): string {
  return ctx.op("Clip", [x, lo === null ? undefined : ctx.scalar(lo, dtype), hi === null ? undefined : ctx.scalar(hi, dtype)]);
}

export { float };

/** `def` with its ONNX export hook attached (for OpDefs made by shared rule builders). */
export function withOnnx(def: OpDef, onnx: (ctx: OnnxContext) => readonly string[]): OpDef {
  return { ...def, onnx };
}
