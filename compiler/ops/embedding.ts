// Embeddings: learned lookup tables for token ids and positions, and the fixed sinusoidal
// position encoding. Lookups are not matmul work (no MACs); adding positions is 1 flop per
// element.

import type { T } from "../prim/builder.js";
import { lastDim, requireIntegerInput, requireMinRank, requirePositiveDim, weightParam } from "./builders.js";
import { need, optNum, table, unsqueeze } from "./lowering.js";
import {
  type CostContext,
  type InferContext,
  type LowerContext,
  type OpDef,
  type TensorType,
  OpError,
  ZERO_COST,
  cost,
  input,
  intAttr,
  numel,
  requireFloat,
  typeToString,
} from "./types.js";

import { DataType } from "../export/onnx/context.js";
import { sinusoidalTable, sliceAxis, unsqueeze as unsqueezeOnnx, value } from "../export/onnx/helpers.js";
import { arg, pyCall, withTorch, type TorchTable } from "./torch-mapping.js";

/** nn.Embedding's default init: N(0, 1). */
const EMBEDDING_INIT = Object.freeze({ mean: 0, std: 1 });

const embedding: OpDef = {
  name: "embedding",
  category: "embedding",
  doc: "lookup table: integer ids [...] → rows of weight [num, dim], giving [..., dim]",
  inputs: [{ name: "x", integer: true }],
  attrs: [
    { name: "num", type: "int", doc: "table size (vocabulary)" },
    { name: "dim", type: "int", doc: "embedding size" },
    { name: "padding_idx", type: "int", default: null, doc: "row whose output is zero and gets no gradient" },
  ],
  infer(ctx) {
    const x = input(ctx, 0);
    requireIntegerInput("embedding", x, 0, "token ids", "token ids must be an integer tensor (i32/i64)");
    const num = requirePositiveDim(intAttr(ctx, "num"), "num");
    const dim = requirePositiveDim(intAttr(ctx, "dim"), "dim");
    if (ctx.attrs.padding_idx != null) {
      const p = intAttr(ctx, "padding_idx").constant;
      const n = num.constant;
      if (p === undefined) throw new OpError(`'padding_idx' must be known at compile time`, { at: "padding_idx" });
      if (n !== undefined && (p < -n || p >= n))
        throw new OpError(`'padding_idx' ${p} is out of range for a table of ${n} rows (allowed ${-n}..${n - 1})`, {
          at: "padding_idx",
        });
    }
    const shape = x.shape.slice();
    shape.push(dim);
    return {
      outputs: [{ dtype: "f32", shape }],
      params: [weightParam("weight", [num, dim], "normal", EMBEDDING_INIT)],
    };
  },
  cost() {
    return ZERO_COST;
  },
  lower(ctx) {
    // rows of the table; the padding row's output is masked to zero, so it gets no gradient
    const b = ctx.b;
    const ids = need(ctx, 0);
    const w = ctx.params[0]!;
    const rows = b.gather(w, ids, 0);
    const pad = optNum(ctx, "padding_idx");
    if (pad === null) return [rows];
    const num = b.shape(w)[0]!;
    const keep = b.cast(b.binary("ne", ids, b.scalar(pad < 0 ? pad + num : pad, "i32")), "f32");
    return [b.times(rows, unsqueeze(ctx, keep, -1))];
  },
  // the padding row's output is zero, as in the lowering
  onnx(ctx) {
    const ids = value(ctx, 0);
    const rows = ctx.op("Gather", [ctx.params[0]!, ids], { axis: 0 });
    if (ctx.attrs.padding_idx == null) return [rows];
    const num = ctx.known(ctx.paramTypes[0]!.shape[0]!, "the table size");
    const pad = ctx.int("padding_idx");
    const hit = ctx.op("Equal", [ids, ctx.scalar(pad < 0 ? pad + num : pad, input(ctx, 0).dtype)]);
    const keep = ctx.op("Cast", [ctx.op("Not", [hit])], { to: DataType.FLOAT });
    return [ctx.op("Mul", [rows, unsqueezeOnnx(ctx, keep, [-1])])];
  },
};

/** x [..., T, d] (usually [B, T, d]): the sequence axis is second to last, features last. */
function sequenceInput(op: string, ctx: InferContext): TensorType {
  const x = input(ctx, 0);
  requireMinRank(op, x, 2, 0, "a sequence [B, T, d] (or [T, d])");
  requireFloat(op, x, 0);
  return x;
}

/** adding the positions: 1 flop per element */
function addCost(ctx: CostContext) {
  return cost(0, numel(input(ctx, 0).shape));
}

/** x [..., T, d] plus a position table [T, d] built by `positions(b, T, d)`. */
function addPositions(positions: (ctx: LowerContext, t: number, d: number) => T) {
  return (ctx: LowerContext): T[] => {
    const x = need(ctx, 0);
    const s = ctx.b.shape(x);
    return [ctx.b.plus(x, positions(ctx, s.at(-2)!, s.at(-1)!))];
  };
}

const positionalEmbedding: OpDef = {
  name: "positional_embedding",
  category: "embedding",
  doc: "adds a learned position table weight [max_len, d] to x [B, T, d] (T <= max_len); same shape",
  inputs: [{ name: "x" }],
  attrs: [{ name: "max_len", type: "int", doc: "longest sequence the table covers" }],
  infer(ctx) {
    const x = sequenceInput("positional_embedding", ctx);
    const maxLen = requirePositiveDim(intAttr(ctx, "max_len"), "max_len");
    const t = x.shape[x.shape.length - 2]!;
    const tc = t.constant;
    const mc = maxLen.constant;
    if (tc !== undefined && mc !== undefined && tc > mc)
      throw new OpError(`sequence length T=${tc} of x ${typeToString(x)} exceeds max_len=${mc}`, {
        at: 0,
        hint: `raise max_len to at least ${tc}, or truncate the sequence`,
      });
    return {
      outputs: [x],
      params: [weightParam("weight", [maxLen, lastDim(x.shape)], "normal", EMBEDDING_INIT)],
    };
  },
  cost: addCost,
  // the first T rows of the learned table
  lower: addPositions((ctx, t) => ctx.b.sliceAxis(ctx.params[0]!, 0, 0, t)),
  onnx(ctx) {
    const t = input(ctx, 0).shape.at(-2)!;
    return [ctx.op("Add", [value(ctx, 0), sliceAxis(ctx, ctx.params[0]!, 0, 0, ctx.shape([t]))])];
  },
};

const sinusoidalEncoding: OpDef = {
  name: "sinusoidal_encoding",
  category: "embedding",
  doc: "adds the fixed sin/cos position encoding of 'Attention Is All You Need' to x [B, T, d] (d even); same shape",
  inputs: [{ name: "x" }],
  attrs: [],
  infer(ctx) {
    const x = sequenceInput("sinusoidal_encoding", ctx);
    const d = lastDim(x.shape).constant;
    if (d !== undefined && d % 2 !== 0)
      throw new OpError(`the feature size d=${d} of x ${typeToString(x)} must be even (sin and cos fill alternate features)`, {
        at: 0,
      });
    return { outputs: [x] };
  },
  // the table is a compile-time constant; only the addition runs
  cost: addCost,
  // PE[t, 2i] = sin(t / 10000^(2i/d)), PE[t, 2i+1] = cos(t / 10000^(2i/d))
  lower: addPositions((ctx, t, d) =>
    table(ctx.b, [t, d], (pos, j) => {
      const angle = pos / Math.pow(10000, (j - (j % 2)) / d);
      return j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }),
  ),
  onnx(ctx) {
    const x = input(ctx, 0);
    const table = sinusoidalTable(ctx, x.shape.at(-2)!, ctx.known(x.shape.at(-1)!, "the feature size"));
    return [ctx.op("Add", [value(ctx, 0), table])];
  },
};

// PyTorch (compiler/ops/torch-mapping.ts): nn.Embedding (with dlm's padding row masked to
// zero, which torch's padding_idx leaves to the weights); position tables added to x.
const TORCH: TorchTable = {
  embedding: {
    layer: (c) => pyCall("nn.Embedding", c.paramShapes[0]!.map(String)),
    forward: (c) => {
      const weight = c.layer ? `${c.layer}.weight` : c.params[0]!;
      const pad = c.attrs.padding_idx;
      if (pad === null || pad === undefined) return c.layer ? `${c.layer}(${arg(c, 0)})` : pyCall("F.embedding", [arg(c, 0), weight]);
      const p = c.int("padding_idx");
      return pyCall(c.helper("embedding"), [arg(c, 0), weight, String(p < 0 ? p + c.paramShapes[0]![0]! : p)]);
    },
  },
  positional_embedding: { forward: (c) => `${arg(c, 0)} + ${c.params[0]}[: ${arg(c, 0)}.shape[-2]]` },
  sinusoidal_encoding: {
    forward: (c) =>
      `${arg(c, 0)} + ${pyCall(c.helper("sinusoidal"), [`${arg(c, 0)}.shape[-2]`, `${arg(c, 0)}.shape[-1]`, `${arg(c, 0)}.device`, `${arg(c, 0)}.dtype`])}`,
  },
};

export const ops: OpDef[] = withTorch([embedding, positionalEmbedding, sinusoidalEncoding], TORCH);
