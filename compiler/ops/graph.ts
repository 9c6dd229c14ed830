// Graph neural-network primitives: segment reductions (message aggregation by destination
// node), scatter_add, GCN normalisation of a dense adjacency and node degrees. Gathering
// node features by an edge index is take(x, src, axis: 0) in shape.ts.
//
// Cost: no matmul work here; `flops` are ~1 per aggregated element (add or compare), plus
// one division per output element for the mean.

import { Dim } from "../dim.js";
import { prodRange, requireIntegerInput, requireMinRank, requirePositiveDim, sameDim } from "./builders.js";
import {
  type CostContext,
  type InferContext,
  type OpDef,
  type TensorType,
  OpError,
  axisAttr,
  boolAttr,
  cost,
  input,
  intAttr,
  numel,
  requireFloat,
  requireRank,
  typeToString,
} from "./types.js";

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
};

export const ops: OpDef[] = [segmentOp("sum"), segmentOp("mean"), segmentOp("max"), segmentOp("min"), scatterAdd, gcnNorm, degree];
