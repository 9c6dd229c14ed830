// Graph neural-network primitives: segment reductions (message aggregation by destination
// node), scatter_add, GCN normalisation of a dense adjacency and node degrees. Gathering
// node features by an edge index is take(x, src, axis: 0) in shape.ts.
//
// Cost: no matmul work here; `flops` are ~1 per aggregated element (add or compare), plus
// one division per output element for the mean.

import { Dim } from "../dim.js";
import type { PrimBuilder, T } from "../prim/builder.js";
import { stridesOf } from "../prim/ir.js";
import { prodRange, requireIntegerInput, requireMinRank, requirePositiveDim, sameDim } from "./builders.js";
import { flag, need, num, outShape, table } from "./lowering.js";
import {
  type CostContext,
  type DType,
  type InferContext,
  type LowerContext,
  type OpDef,
  type TensorType,
  OpError,
  axisAttr,
  boolAttr,
  cost,
  input,
  intAttr,
  isFloat,
  normAxis,
  numel,
  requireFloat,
  requireRank,
  typeToString,
} from "./types.js";

import { DataType, type OnnxContext } from "../export/onnx/context.js";
import { swapPerm, unsqueeze as unsqueezeOnnx, value } from "../export/onnx/helpers.js";

/** Values being aggregated: any numeric dtype (floats for means). */
function requireNumeric(op: string, x: TensorType, float: boolean): void {
  if (float) requireFloat(op, x, 0);
  else if (x.dtype === "bool")
    throw new OpError(`${op} aggregates numbers, got ${typeToString(x)}`, { at: 0, code: "DLM3102", hint: "use cast(x, f32) first" });
}

/** A 1-D integer index tensor [E]. */
function indexInput(op: string, ctx: InferContext, at: number, what: string): TensorType {
  const idx = input(ctx, at);
  requireIntegerInput(op, idx, at, what, `${what} must be an integer tensor (i32/i64)`);
  requireRank(op, idx, [1], at, `${what} [E]`);
  return idx;
}

type SegmentKind = "sum" | "mean" | "max" | "min";

/** How many entries of the index `ids` [E] name each of `n` rows (f32 [n]). */
function counts(b: PrimBuilder, ids: T, n: number): T {
  return b.scatterAdd(b.scalar(1, "f32", b.shape(ids)), ids, 0, n);
}

/** `v` [n] shaped to broadcast over the rows of an [n, ...] tensor of rank `rank`. */
function perRow(b: PrimBuilder, v: T, rank: number): T {
  return b.reshape(v, [b.shape(v)[0]!, ...Array<number>(rank - 1).fill(1)]);
}

/**
 * Segment reductions over rows of x [E, ...] by ids [E] into n rows. sum: scatter_add;
 * mean: the sum over max(count, 1); max/min: the extreme over a dense membership mask
 * [n, E], with 0 for empty segments (as torch_scatter / PyG).
 */
function lowerSegment(kind: SegmentKind, ctx: LowerContext): T {
  const b = ctx.b;
  const x = need(ctx, 0);
  const ids = need(ctx, 1);
  const n = outShape(ctx)[0]!;
  const sx = b.shape(x);
  if (kind === "sum") return b.scatterAdd(x, ids, 0, n);
  const count = perRow(b, counts(b, ids, n), sx.length);
  if (kind === "mean") return b.over(b.scatterAdd(x, ids, 0, n), b.binary("maximum", count, b.scalar(1)));
  const e = sx[0]!;
  const member = b.reshape(b.binary("eq", b.iota([n, e], 0), b.reshape(ids, [1, e])), [n, e, ...sx.slice(1).map(() => 1)]);
  const dt = b.dtype(x);
  const extreme = dt === "f32" ? Infinity : 2147483647;
  const picked = b.where(member, b.reshape(x, [1, ...sx]), b.scalar(kind === "max" ? -extreme : extreme, dt));
  const reduced = kind === "max" ? b.max(picked, [1]) : b.min(picked, [1]);
  return b.where(b.binary("gt", count, b.scalar(0)), reduced, b.scalar(0, dt));
}

// ---------------------------------------------------------------------------
// ONNX: scatters with a reduction (ScatterElements), as the lowerings

/** A tensor of `shape` (int64 shape tensor) filled with `value` of dtype `dtype`. */
function filledOnnx(ctx: OnnxContext, shape: string, value: number, dtype: DType): string {
  return ctx.op("ConstantOfShape", [shape], { value: { tensor: { values: [value], shape: [1], dtype } } });
}

/** How many entries of ids [E] name each of `n` rows: f32 [n]. */
function countsOnnx(ctx: OnnxContext, ids: string, n: Dim): string {
  const ones = filledOnnx(ctx, ctx.op("Shape", [ids]), 1, "f32");
  return ctx.op("ScatterElements", [filledOnnx(ctx, ctx.shape([n]), 0, "f32"), ids, ones], { axis: 0, reduction: "add" });
}

/** A 1-D index along `axis` of x (rank `rank`) spread to x's shape, as ScatterElements wants its indices. */
function spreadIndex(ctx: OnnxContext, ids: string, x: string, axis: number, rank: number): string {
  const lifted = unsqueezeOnnx(
    ctx,
    ids,
    [...Array(rank).keys()].filter((i) => i !== axis),
  );
  return ctx.op("Expand", [lifted, ctx.op("Shape", [x])]);
}

function segmentOnnx(kind: SegmentKind, ctx: OnnxContext): string {
  const t = input(ctx, 0);
  const x = value(ctx, 0);
  const ids = value(ctx, 1);
  const out = ctx.outputs[0]!.shape;
  const idx = spreadIndex(ctx, ids, x, 0, t.shape.length);
  const scatter = (init: number, reduction: string): string =>
    ctx.op("ScatterElements", [filledOnnx(ctx, ctx.shape(out), init, t.dtype), idx, x], { axis: 0, reduction });
  if (kind === "sum") return scatter(0, "add");
  const count = ctx.op("Reshape", [countsOnnx(ctx, ids, out[0]!), ctx.ints([-1, ...Array<number>(t.shape.length - 1).fill(1)])]);
  if (kind === "mean") return ctx.op("Div", [scatter(0, "add"), ctx.op("Max", [count, ctx.scalar(1)])]);
  const extreme = isFloat(t.dtype) ? Infinity : 2147483647;
  const reduced = scatter(kind === "max" ? -extreme : extreme, kind);
  return ctx.op("Where", [ctx.op("Greater", [count, ctx.scalar(0)]), reduced, ctx.scalar(0, t.dtype)]);
}

function segmentOp(kind: SegmentKind): OpDef {
  const name = `segment_${kind}`;
  return {
    name,
    category: "graph",
    doc: `${kind} of the rows of x [E, ...] that share a segment id → [num_segments, ...]`,
    inputs: [{ name: "x" }, { name: "segment_ids", integer: true }],
    attrs: [{ name: "num_segments", type: "int", doc: "number of segments (e.g. nodes)" }],
    infer(ctx) {
      const x = input(ctx, 0);
      requireMinRank(name, x, 1, 0, "x [E, ...]");
      requireNumeric(name, x, kind === "mean");
      const ids = indexInput(name, ctx, 1, "segment_ids");
      if (!sameDim(ids.shape[0]!, x.shape[0]!))
        throw new OpError(
          `segment_ids ${typeToString(ids)} must have one entry per row of x ${typeToString(x)}: ${ids.shape[0]} vs ${x.shape[0]}`,
          { at: 1 },
        );
      const n = requirePositiveDim(intAttr(ctx, "num_segments"), "num_segments");
      const shape = x.shape.slice();
      shape[0] = n;
      return { outputs: [{ dtype: x.dtype, shape }] };
    },
    cost(ctx: CostContext) {
      const work = numel(input(ctx, 0).shape);
      return cost(0, kind === "mean" ? work.add(numel(ctx.outputs[0]!.shape)) : work);
    },
    lower: (ctx) => [lowerSegment(kind, ctx)],
    onnx: (ctx) => [segmentOnnx(kind, ctx)],
  };
}

const scatterAdd: OpDef = {
  name: "scatter_add",
  category: "graph",
  doc: "adds slices of x into an output of length `size` along `axis` at positions index (1-D, or x's shape)",
  inputs: [{ name: "x" }, { name: "index", integer: true }],
  attrs: [
    { name: "size", type: "int", doc: "output length along axis" },
    { name: "axis", type: "int", default: Dim.const(0) },
  ],
  infer(ctx) {
    const op = "scatter_add";
    const x = input(ctx, 0);
    requireMinRank(op, x, 1, 0, "x");
    requireNumeric(op, x, false);
    const axis = axisAttr(ctx, "axis", x.shape.length);
    const idx = input(ctx, 1);
    requireIntegerInput(op, idx, 1, "index");
    if (idx.shape.length === 1) {
      if (!sameDim(idx.shape[0]!, x.shape[axis]!))
        throw new OpError(
          `index ${typeToString(idx)} must have one entry per slice of x ${typeToString(x)} along axis ${axis}: ${idx.shape[0]} vs ${x.shape[axis]}`,
          { at: 1 },
        );
    } else {
      let ok = idx.shape.length === x.shape.length;
      for (let i = 0; ok && i < idx.shape.length; i++) ok = sameDim(idx.shape[i]!, x.shape[i]!);
      if (!ok)
        throw new OpError(`index ${typeToString(idx)} must be 1-D [${x.shape[axis]}] or have x's shape: x is ${typeToString(x)}`, {
          at: 1,
        });
    }
    const shape = x.shape.slice();
    shape[axis] = requirePositiveDim(intAttr(ctx, "size"), "size");
    return { outputs: [{ dtype: x.dtype, shape }] };
  },
  cost(ctx) {
    return cost(0, numel(input(ctx, 0).shape));
  },
  lower(ctx) {
    const b = ctx.b;
    const x = need(ctx, 0);
    const idx = need(ctx, 1);
    const axis = num(ctx, "axis");
    const out = outShape(ctx);
    const a = axis < 0 ? axis + out.length : axis;
    if (b.rank(idx) === 1) return [b.scatterAdd(x, idx, a, out[a]!)];
    // torch.scatter_add: out[..., idx[i], ...] += x[i] elementwise, as one flat scatter over
    // the linear output positions (idx along the axis, the element's own position elsewhere)
    const st = stridesOf(out);
    const sx = b.shape(x);
    const rest = table(b, sx, (...i) => i.reduce((acc, v, j) => (j === a ? acc : acc + v * st[j]!), 0), "i32");
    const flat = b.reshape(b.plus(b.times(idx, b.scalar(st[a]!, "i32")), rest), [-1]);
    const total = out.reduce((m, d) => m * d, 1);
    return [b.reshape(b.scatterAdd(b.reshape(x, [-1]), flat, 0, total), out)];
  },
  onnx(ctx) {
    const t = input(ctx, 0);
    const x = value(ctx, 0);
    const axis = normAxis(ctx.int("axis"), t.shape.length);
    const idx = input(ctx, 1).shape.length === 1 ? spreadIndex(ctx, value(ctx, 1), x, axis, t.shape.length) : value(ctx, 1);
    const zeros = filledOnnx(ctx, ctx.shape(ctx.outputs[0]!.shape), 0, t.dtype);
    return [ctx.op("ScatterElements", [zeros, idx, x], { axis, reduction: "add" })];
  },
};

const gcnNorm: OpDef = {
  name: "gcn_norm",
  category: "graph",
  doc: "symmetric GCN normalisation D^-1/2 (A + I) D^-1/2 of a dense adjacency [N, N] (or [B, N, N])",
  inputs: [{ name: "adj" }],
  attrs: [{ name: "add_self_loops", type: "bool", default: true }],
  infer(ctx) {
    const op = "gcn_norm";
    const a = input(ctx, 0);
    requireMinRank(op, a, 2, 0, "an adjacency [N, N]");
    requireFloat(op, a, 0);
    const r = a.shape.length;
    if (!sameDim(a.shape[r - 1]!, a.shape[r - 2]!))
      throw new OpError(`the adjacency must be square [N, N], got ${typeToString(a)}`, { at: 0 });
    boolAttr(ctx, "add_self_loops");
    return { outputs: [a] };
  },
  // self loops N, row sums N², rsqrt N, scaling rows and columns 2N² (per matrix)
  cost(ctx) {
    const s = input(ctx, 0).shape;
    const r = s.length;
    const n = s[r - 1]!;
    return cost(0, prodRange(s, 0, r - 2).mul(n.mul(n).scale(3).add(n.scale(2))));
  },
  lower(ctx) {
    // D^-1/2 Â D^-1/2 with D the row sums of Â = A (+ I); rows of degree 0 get 0 (as PyG)
    const b = ctx.b;
    const a = need(ctx, 0);
    const n = b.shape(a).at(-1)!;
    const hat = flag(ctx, "add_self_loops")
      ? b.plus(
          a,
          table(b, [n, n], (i, j) => (i === j ? 1 : 0)),
        )
      : a;
    const deg = b.sum(hat, [-1], true);
    const pos = b.binary("gt", deg, b.scalar(0));
    const dinv = b.where(pos, b.unary("rsqrt", b.where(pos, deg, b.scalar(1))), b.scalar(0));
    return [b.times(b.times(dinv, hat), b.swapAxes(dinv, -1, -2))];
  },
  onnx(ctx) {
    const t = input(ctx, 0);
    const a = value(ctx, 0);
    let hat = a;
    if (boolAttr(ctx, "add_self_loops")) {
      const positions = ctx.op("Range", [ctx.scalar(0, "i64"), ctx.size(t.shape.at(-1)!), ctx.scalar(1, "i64")]);
      const eye = ctx.op("Cast", [ctx.op("Equal", [unsqueezeOnnx(ctx, positions, [1]), positions])], { to: DataType.FLOAT });
      hat = ctx.op("Add", [a, eye]);
    }
    const deg = ctx.op("ReduceSum", [hat, ctx.ints([-1])], { keepdims: 1 });
    const pos = ctx.op("Greater", [deg, ctx.scalar(0)]);
    const root = ctx.op("Reciprocal", [ctx.op("Sqrt", [ctx.op("Where", [pos, deg, ctx.scalar(1)])])]);
    const dinv = ctx.op("Where", [pos, root, ctx.scalar(0)]);
    const dinvT = ctx.op("Transpose", [dinv], { perm: swapPerm(t.shape.length, -1, -2) });
    return [ctx.op("Mul", [ctx.op("Mul", [dinv, hat]), dinvT])];
  },
};

const degree: OpDef = {
  name: "degree",
  category: "graph",
  doc: "number of occurrences of each node in an integer index [E] → f32 [num_nodes]",
  inputs: [{ name: "index", integer: true }],
  attrs: [{ name: "num_nodes", type: "int" }],
  infer(ctx) {
    indexInput("degree", ctx, 0, "index");
    return { outputs: [{ dtype: "f32", shape: [requirePositiveDim(intAttr(ctx, "num_nodes"), "num_nodes")] }] };
  },
  cost(ctx) {
    return cost(0, input(ctx, 0).shape[0]!);
  },
  lower: (ctx) => [counts(ctx.b, need(ctx, 0), outShape(ctx)[0]!)],
  onnx: (ctx) => [countsOnnx(ctx, value(ctx, 0), ctx.outputs[0]!.shape[0]!)],
};

export const ops: OpDef[] = [segmentOp("sum"), segmentOp("mean"), segmentOp("max"), segmentOp("min"), scatterAdd, gcnNorm, degree];
