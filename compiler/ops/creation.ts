// Creation ops: tensors made from attributes alone (shapes may be symbolic, e.g. [B, 1, 1, 1])
// or shaped like an input (zeros_like). Fills, ranges, identity and causal masks, the
// sinusoidal position table and literal constants.
//
// Cost: zero for all of them. Their values depend only on attributes and shapes, so they
// are compile-time constants (or plain memory fills) with no arithmetic per element, like
// the sinusoidal table of embedding.ts's sinusoidal_encoding.

import { Dim } from "../dim.js";
import { dtypeAttr, shapeAttr } from "./builders.js";
import {
  type AttrSpec,
  type AttrValue,
  type DType,
  type InferContext,
  type OpDef,
  type TensorType,
  OpError,
  ZERO_COST,
  describeAttr,
  input,
  intAttr,
  isInteger,
} from "./types.js";
import type { T } from "../prim/builder.js";
import { castTo, need, num, outDType, outShape } from "./lowering.js";
import type { ConcreteAttr, LowerContext } from "./types.js";
import { castValue, type OnnxContext } from "../export/onnx/context.js";
import { sinusoidalTable, unsqueeze, value } from "../export/onnx/helpers.js";
import { arg, pyCall, withTorch, type TorchContext, type TorchTable } from "./torch-mapping.js";

/** A fill value as a number (true/false → 1/0). */
function fillValue(v: ConcreteAttr | undefined): number {
  return typeof v === "boolean" ? (v ? 1 : 0) : (v as number);
}

/** Output 0 filled with `value`. */
function fill(ctx: LowerContext, value: number): T {
  return ctx.b.scalar(value, outDType(ctx), outShape(ctx));
}

const DTYPE_F32: AttrSpec = { name: "dtype", type: "dtype", default: "f32" };
const SHAPE: AttrSpec = {
  name: "shape",
  type: "ints",
  doc: "a list of sizes (may be symbolic, e.g. [B, 1])",
};
const VALUE: AttrSpec = {
  name: "value",
  type: "any",
  doc: "the fill value (a number or true/false)",
};

/** A size attribute: an integer, possibly symbolic, not negative where it is known. */
function sizeAttr(ctx: InferContext, name: string): Dim {
  const d = intAttr(ctx, name);
  const c = d.constant;
  if (c !== undefined && c < 0) throw new OpError(`'${name}' must not be negative, got ${c}`, { at: name });
  return d;
}

/** A scalar fill value; integer dtypes need an integer value. */
function checkScalar(v: AttrValue | undefined, dtype: DType, where: string, at: string): void {
  let n: number | boolean | undefined;
  if (typeof v === "number" || typeof v === "boolean") n = v;
  else if (v instanceof Dim) {
    n = v.constant;
    if (n === undefined) throw new OpError(`${where} is the symbolic ${v}; a constant needs values known at compile time`, { at });
  }
  if (n === undefined) throw new OpError(`${where} must be a number or true/false, got ${describeAttr(v)}`, { at });
  if (typeof n === "number" && isInteger(dtype) && !Number.isInteger(n))
    throw new OpError(`${where} is ${n}, which is not an integer, but the dtype is ${dtype}`, {
      at,
      hint: `use dtype: f32 for fractional values`,
    });
}

// ---------------------------------------------------------------------------
// Fills

/** zeros / ones / full: a tensor of `shape` filled with one value. */
function filled(name: string, doc: string, withValue: boolean): OpDef {
  return {
    name,
    category: "creation",
    doc,
    inputs: [],
    attrs: withValue ? [SHAPE, VALUE, DTYPE_F32] : [SHAPE, DTYPE_F32],
    infer(ctx) {
      const dtype = dtypeAttr(ctx, "dtype");
      if (withValue) checkScalar(ctx.attrs.value, dtype, "'value'", "value");
      return { outputs: [{ dtype, shape: shapeAttr(ctx, "shape") }] };
    },
    cost: () => ZERO_COST,
    lower: (ctx) => [fill(ctx, withValue ? fillValue(ctx.attrs.value) : name === "ones" ? 1 : 0)],
    onnx: (ctx) => [fillOnnx(ctx, ctx.shape(ctx.outputs[0]!.shape), withValue ? attrNumber(ctx.attrs.value) : name === "ones" ? 1 : 0)],
  };
}

/** zeros_like / ones_like / full_like: x's shape and dtype. */
function like(name: string, doc: string, withValue: boolean): OpDef {
  return {
    name,
    category: "creation",
    doc,
    inputs: [{ name: "x" }],
    attrs: withValue ? [VALUE] : [],
    infer(ctx) {
      const x: TensorType = input(ctx, 0);
      if (withValue) checkScalar(ctx.attrs.value, x.dtype, "'value'", "value");
      return { outputs: [x] };
    },
    cost: () => ZERO_COST,
    lower: (ctx) => {
      need(ctx, 0);
      return [fill(ctx, withValue ? fillValue(ctx.attrs.value) : name === "ones_like" ? 1 : 0)];
    },
    onnx: (ctx) => [
      fillOnnx(ctx, ctx.op("Shape", [value(ctx, 0)]), withValue ? attrNumber(ctx.attrs.value) : name === "ones_like" ? 1 : 0),
    ],
  };
}

/** A fill value given as an attribute (a number, true/false, or a constant size). */
function attrNumber(v: AttrValue | undefined): number {
  return v instanceof Dim ? v.constant! : typeof v === "boolean" ? (v ? 1 : 0) : (v as number);
}

/** ConstantOfShape: output 0's dtype, filled with `value`, shaped by the int64 tensor `shape`. */
function fillOnnx(ctx: OnnxContext, shape: string, value: number): string {
  const dtype = ctx.outputs[0]!.dtype;
  return ctx.op("ConstantOfShape", [shape], { value: { tensor: { values: [value], shape: [1], dtype } } });
}

// ---------------------------------------------------------------------------
// Ranges, identity, masks, positions

const arange: OpDef = {
  name: "arange",
  category: "creation",
  doc: "start, start + 1, ..., n - 1: shape [n - start] (arange(T) gives the positions 0..T-1)",
  inputs: [],
  attrs: [
    { name: "n", type: "int", doc: "end (exclusive)" },
    { name: "start", type: "int", default: Dim.const(0) },
    { name: "dtype", type: "dtype", default: "i64" },
  ],
  infer(ctx) {
    const dtype = dtypeAttr(ctx, "dtype");
    if (dtype === "bool")
      throw new OpError("arange cannot count in bool", {
        at: "dtype",
        code: "DLM3102",
        hint: "use i64 (or f32)",
      });
    const n = intAttr(ctx, "n");
    const start = intAttr(ctx, "start");
    const len = n.sub(start);
    const c = len.constant;
    if (c !== undefined && c < 0)
      throw new OpError(`arange: start=${start} is past the end n=${n}`, {
        at: "start",
        hint: "n is the exclusive end, so it must be >= start",
      });
    return { outputs: [{ dtype, shape: [len] }] };
  },
  cost: () => ZERO_COST,
  lower: (ctx) => [castTo(ctx, ctx.b.shift(ctx.b.iota(outShape(ctx)), num(ctx, "start")), outDType(ctx))],
  onnx(ctx) {
    const range = ctx.op("Range", [ctx.size(intAttr(ctx, "start")), ctx.size(intAttr(ctx, "n")), ctx.scalar(1, "i64")]);
    return [castValue(ctx, range, "i64", ctx.outputs[0]!.dtype)];
  },
};

const eye: OpDef = {
  name: "eye",
  category: "creation",
  doc: "identity matrix [n, n]",
  inputs: [],
  attrs: [{ name: "n", type: "int" }, DTYPE_F32],
  infer(ctx) {
    const n = sizeAttr(ctx, "n");
    return { outputs: [{ dtype: dtypeAttr(ctx, "dtype"), shape: [n, n] }] };
  },
  cost: () => ZERO_COST,
  lower: (ctx) => [castTo(ctx, diagonalRelation(ctx, "eq"), outDType(ctx))],
  onnx(ctx) {
    const n = intAttr(ctx, "n");
    return [castValue(ctx, diagonalRelationOnnx(ctx, n, "Equal"), "bool", ctx.outputs[0]!.dtype)];
  },
};

/** row index `op` column index over an [n, n] grid, at run time */
function diagonalRelationOnnx(ctx: OnnxContext, n: Dim, op: string): string {
  const positions = ctx.op("Range", [ctx.scalar(0, "i64"), ctx.size(n), ctx.scalar(1, "i64")]);
  return ctx.op(op, [unsqueeze(ctx, positions, [1]), positions]);
}

/** row index `op` column index over the [n, n] output */
function diagonalRelation(ctx: LowerContext, op: "eq" | "ge"): T {
  const s = outShape(ctx);
  return ctx.b.binary(op, ctx.b.iota(s, 0), ctx.b.iota(s, 1));
}

const causalMask: OpDef = {
  name: "causal_mask",
  category: "creation",
  doc: "bool [T, T], true where key j <= query i (may attend): the lower triangle",
  inputs: [],
  attrs: [{ name: "T", type: "int", doc: "sequence length" }],
  infer(ctx) {
    const t = sizeAttr(ctx, "T");
    return { outputs: [{ dtype: "bool", shape: [t, t] }] };
  },
  cost: () => ZERO_COST,
  // query i (row) may attend key j (column) when j <= i
  lower: (ctx) => [diagonalRelation(ctx, "ge")],
  onnx: (ctx) => [diagonalRelationOnnx(ctx, intAttr(ctx, "T"), "GreaterOrEqual")],
};

const sinusoidalPositions: OpDef = {
  name: "sinusoidal_positions",
  category: "creation",
  doc: "the fixed sin/cos position table of 'Attention Is All You Need': f32 [T, d] (d even)",
  inputs: [],
  attrs: [
    { name: "T", type: "int", doc: "number of positions" },
    { name: "d", type: "int", doc: "feature size (even)" },
  ],
  infer(ctx) {
    const t = sizeAttr(ctx, "T");
    const d = sizeAttr(ctx, "d");
    const dc = d.constant;
    if (dc !== undefined && dc % 2 !== 0)
      throw new OpError(`sinusoidal_positions needs an even d (sin and cos fill alternate features), got d=${dc}`, {
        at: "d",
        hint: `use an even size such as d=${dc + 1}`,
      });
    return { outputs: [{ dtype: "f32", shape: [t, d] }] };
  },
  cost: () => ZERO_COST,
  // pe[pos, 2i] = sin(pos / 10000^(2i/d)), pe[pos, 2i + 1] = cos(pos / 10000^(2i/d)), a constant
  lower: (ctx) => {
    const [t, d] = outShape(ctx) as [number, number];
    const values: number[] = [];
    for (let pos = 0; pos < t; pos++)
      for (let k = 0; k < d; k++) {
        const angle = pos / Math.pow(10000, (k - (k % 2)) / d);
        values.push(k % 2 === 0 ? Math.sin(angle) : Math.cos(angle));
      }
    return [ctx.b.tensor(values, [t, d])];
  },
  onnx: (ctx) => [sinusoidalTable(ctx, intAttr(ctx, "T"), ctx.int("d"))],
};

// ---------------------------------------------------------------------------
// Literal constants

/** The shape of a nested list of scalars; errors name the offending entry (value[1][0]). */
function nestedShape(v: AttrValue, dtype: DType, path: string): number[] {
  if (!Array.isArray(v)) {
    checkScalar(v, dtype, path, "value");
    return [];
  }
  const items = v as readonly AttrValue[];
  if (items.length === 0) return [0];
  const first = nestedShape(items[0]!, dtype, `${path}[0]`);
  for (let i = 1; i < items.length; i++) {
    const s = nestedShape(items[i]!, dtype, `${path}[${i}]`);
    if (s.length !== first.length || s.some((n, k) => n !== first[k]))
      throw new OpError(`'value' is ragged: ${path}[0] has shape [${first.join(", ")}] but ${path}[${i}] has shape [${s.join(", ")}]`, {
        at: "value",
        hint: "every row of a constant needs the same length",
      });
  }
  return [items.length, ...first];
}

const constant: OpDef = {
  name: "constant",
  category: "creation",
  doc: "a literal tensor from a nested list of numbers: constant([[1.0, 2.0]]) is f32 [1, 2]",
  inputs: [],
  attrs: [{ name: "value", type: "any", doc: "a number or a nested list of numbers" }, DTYPE_F32],
  infer(ctx) {
    const dtype = dtypeAttr(ctx, "dtype");
    const v = ctx.attrs.value;
    if (v === undefined || v === null)
      throw new OpError("constant needs a value", {
        at: "value",
        hint: "e.g. constant([[1.0, 0.0], [0.0, 1.0]])",
      });
    const shape = nestedShape(v, dtype, "value").map((n) => Dim.const(n));
    return { outputs: [{ dtype, shape }] };
  },
  cost: () => ZERO_COST,
  lower: (ctx) => {
    const flat = [ctx.attrs.value].flat(Infinity as 1) as ConcreteAttr[];
    return [ctx.b.tensor(flat.map(fillValue), outShape(ctx), outDType(ctx))];
  },
  onnx(ctx) {
    const flat = [ctx.attrs.value].flat(Infinity as 1) as AttrValue[];
    const shape = ctx.outputs[0]!.shape.map((d) => d.constant!);
    return [ctx.constant(flat.map(attrNumber), shape, ctx.outputs[0]!.dtype)];
  },
};

// PyTorch (compiler/ops/torch-mapping.ts): torch's factories on the forward's device.
const made = (c: TorchContext, dtype = true): Record<string, string> => ({
  ...(dtype ? { dtype: c.dtype(c.outputs[0]!.dtype) } : {}),
  device: c.device,
});
const TORCH: TorchTable = {
  zeros: { forward: (c) => pyCall("torch.zeros", [c.py(c.attrs.shape)], made(c)) },
  ones: { forward: (c) => pyCall("torch.ones", [c.py(c.attrs.shape)], made(c)) },
  full: { forward: (c) => pyCall("torch.full", [c.py(c.attrs.shape), c.py(c.attrs.value)], made(c)) },
  zeros_like: { forward: (c) => pyCall("torch.zeros_like", [arg(c, 0)]) },
  ones_like: { forward: (c) => pyCall("torch.ones_like", [arg(c, 0)]) },
  full_like: { forward: (c) => pyCall("torch.full_like", [arg(c, 0), c.py(c.attrs.value)]) },
  arange: { forward: (c) => pyCall("torch.arange", [c.py(c.attrs.start), c.py(c.attrs.n)], made(c)) },
  eye: { forward: (c) => pyCall("torch.eye", [c.py(c.attrs.n)], made(c)) },
  // query i may attend key j when j <= i: the lower triangle
  causal_mask: { forward: (c) => `${pyCall("torch.ones", [c.py(c.attrs.T), c.py(c.attrs.T)], made(c))}.tril()` },
  sinusoidal_positions: { forward: (c) => pyCall(c.helper("sinusoidal"), [c.py(c.attrs.T), c.py(c.attrs.d), c.device, c.dtype("f32")]) },
  constant: { forward: (c) => pyCall("torch.tensor", [c.py(c.attrs.value)], made(c)) },
};

export const ops: OpDef[] = withTorch(
  [
    filled("zeros", "a tensor of zeros of the given shape", false),
    filled("ones", "a tensor of ones of the given shape", false),
    filled("full", "a tensor of the given shape filled with value", true),
    like("zeros_like", "zeros with x's shape and dtype", false),
    like("ones_like", "ones with x's shape and dtype", false),
    like("full_like", "value with x's shape and dtype", true),
    arange,
    eye,
    causalMask,
    sinusoidalPositions,
    constant,
  ],
  TORCH,
);
