// Elementwise math: unary functions, cast and clamp (built by the shared `pointwise`
// builder), binary arithmetic / comparisons / logic with NumPy broadcasting (built by
// `binary`), and where(cond, a, b). Binary operands may be plain numbers (acceptsScalar):
// the elaborator turns them into scalar constants of the other operand's dtype.
//
// Dtype rules: the operands of a binary op (and a, b of where) must have equal dtypes
// (DLM3102 otherwise). A dtype or broadcast mismatch (DLM3111) is between operands, so
// its error underlines the whole expression (no `at`); a wrong dtype class points at the
// operand. Arithmetic needs numbers (not bool); div of integers is true
// division and gives f32, as in PyTorch; comparisons give bool; logical ops take bools.
//
// Cost: `flops` only, 1 per element of the output for every op (one elementwise operation;
// transcendental functions count as 1 too), except: stop_gradient 0 (forward identity),
// cast 0 when the dtype does not change, clamp 1 per bound given.

import { type Shape, shapesEqual } from "../dim.js";
import { type DTypeClass, ONE, sameDim, dtypeAttr, optionalFloatAttr, pointwise, requireDTypeClass } from "./builders.js";
import {
  type DType,
  type OpDef,
  type TensorType,
  OpError,
  broadcastShapes,
  cost,
  input,
  isFloat,
  isInteger,
  numel,
  typeToString,
} from "./types.js";
import type { BinaryOp, UnaryOp } from "../prim/builder.js";
import { castTo, map1, need, optNum, outDType, withLower } from "./lowering.js";
import { castValue, type OnnxContext } from "../export/onnx/context.js";
import { clipValue, value, withOnnx } from "../export/onnx/helpers.js";
import { arg, pyCall, unaryCall, withTorch, type TorchMapping, type TorchTable } from "./torch-mapping.js";

// ---------------------------------------------------------------------------
// Unary

/** An elementwise x → f(x) of the same type. */
function unary(name: string, flopsPerElem: number, doc: string, dtypes: DTypeClass = "float"): OpDef {
  const rule = pointwise({
    name,
    category: "elementwise",
    doc,
    flopsPerElem,
    dtypes,
  });
  // same-named primitive; rounding is the identity on integers
  const rounding = name === "floor" || name === "ceil" || name === "round";
  const onnx = UNARY_ONNX[name];
  if (!onnx) throw new Error(`elementwise '${name}' has no ONNX mapping`);
  return {
    ...withLower(
      rule,
      map1((x, { b }) => (rounding && b.dtype(x) !== "f32" ? x : b.unary(name as UnaryOp, x))),
    ),
    onnx: (ctx) => [rounding && !isFloat(input(ctx, 0).dtype) ? value(ctx, 0) : onnx(value(ctx, 0), ctx)],
  };
}

/** The unary functions in ONNX, by name. */
const UNARY_ONNX: Readonly<Record<string, (x: string, ctx: OnnxContext) => string>> = {
  exp: (x, ctx) => ctx.op("Exp", [x]),
  log: (x, ctx) => ctx.op("Log", [x]),
  log1p: (x, ctx) => ctx.op("Log", [ctx.op("Add", [x, ctx.scalar(1)])]),
  sqrt: (x, ctx) => ctx.op("Sqrt", [x]),
  rsqrt: (x, ctx) => ctx.op("Reciprocal", [ctx.op("Sqrt", [x])]),
  abs: (x, ctx) => ctx.op("Abs", [x]),
  neg: (x, ctx) => ctx.op("Neg", [x]),
  square: (x, ctx) => ctx.op("Mul", [x, x]),
  sin: (x, ctx) => ctx.op("Sin", [x]),
  cos: (x, ctx) => ctx.op("Cos", [x]),
  reciprocal: (x, ctx) => ctx.op("Reciprocal", [x]),
  erf: (x, ctx) => ctx.op("Erf", [x]),
  floor: (x, ctx) => ctx.op("Floor", [x]),
  ceil: (x, ctx) => ctx.op("Ceil", [x]),
  round: (x, ctx) => ctx.op("Round", [x]),
};

const unaryOps: OpDef[] = [
  unary("exp", 1, "e^x"),
  unary("log", 1, "natural logarithm"),
  unary("log1p", 1, "log(1 + x), accurate for small x"),
  unary("sqrt", 1, "square root"),
  unary("rsqrt", 1, "1 / sqrt(x)"),
  unary("abs", 1, "|x|", "numeric"),
  unary("neg", 1, "-x", "numeric"),
  unary("square", 1, "x²", "numeric"),
  unary("sin", 1, "sine"),
  unary("cos", 1, "cosine"),
  unary("reciprocal", 1, "1 / x"),
  unary("erf", 1, "Gauss error function"),
  unary("floor", 1, "largest integer <= x (integers pass through)", "numeric"),
  unary("ceil", 1, "smallest integer >= x (integers pass through)", "numeric"),
  unary("round", 1, "round half to even (integers pass through)", "numeric"),
  withOnnx(
    withLower(
      pointwise({
        name: "stop_gradient",
        category: "elementwise",
        doc: "x unchanged forward; no gradient flows back through it (detach)",
        flopsPerElem: 0,
        dtypes: "any",
      }),
      map1((x, { b }) => b.stopGradient(x)),
    ),
    (ctx) => [value(ctx, 0)],
  ),
  withOnnx(
    withLower(
      pointwise({
        name: "logical_not",
        category: "elementwise",
        doc: "elementwise NOT of a bool tensor",
        flopsPerElem: 1,
        dtypes: "bool",
      }),
      map1((x, { b }) => b.unary("not", x)),
    ),
    (ctx) => [ctx.op("Not", [value(ctx, 0)])],
  ),
];

const cast = withOnnx(
  withLower(
    pointwise({
      name: "cast",
      category: "elementwise",
      doc: "converts x to another dtype (float → integer truncates toward zero; nonzero → true)",
      attrs: [{ name: "dtype", type: "dtype", doc: "the target dtype" }],
      dtypes: "any",
      outDType: (ctx) => dtypeAttr(ctx, "dtype"),
      // a conversion per element; none when the dtype already matches
      flopsPerElem: (ctx) => (ctx.attrs.dtype === input(ctx, 0).dtype ? 0 : 1),
    }),
    map1((x, ctx) => castTo(ctx, x, outDType(ctx))),
  ),
  (ctx) => [castValue(ctx, value(ctx, 0), input(ctx, 0).dtype, ctx.outputs[0]!.dtype)],
);

const clamp = withOnnx(
  withLower(
    pointwise({
      name: "clamp",
      category: "elementwise",
      doc: "limits x to [min, max]; either bound may be none (but not both)",
      attrs: [
        { name: "min", type: "float", default: null },
        { name: "max", type: "float", default: null },
      ],
      dtypes: "numeric",
      check(ctx) {
        const lo = optionalFloatAttr(ctx, "min");
        const hi = optionalFloatAttr(ctx, "max");
        if (lo === null && hi === null)
          throw new OpError("clamp needs at least one of 'min' and 'max'", {
            hint: "e.g. clamp(x, min: 0.0), or clamp(x, min: -1.0, max: 1.0)",
          });
      },
      // one comparison per bound
      flopsPerElem: (ctx) => (ctx.attrs.min == null ? 0 : 1) + (ctx.attrs.max == null ? 0 : 1),
    }),
    map1((x, ctx) => {
      const { b } = ctx;
      const lo = optNum(ctx, "min");
      const hi = optNum(ctx, "max");
      const d = b.dtype(x);
      // torch.clamp: max(x, min) first, then min(., max) (so min > max gives max everywhere)
      const y = lo === null ? x : b.binary("maximum", x, b.scalar(lo, d));
      return hi === null ? y : b.binary("minimum", y, b.scalar(hi, d));
    }),
  ),
  // ONNX Clip applies min then max, as torch.clamp
  (ctx) => [clipValue(ctx, value(ctx, 0), optionalFloatAttr(ctx, "min"), optionalFloatAttr(ctx, "max"), input(ctx, 0).dtype)],
);

// ---------------------------------------------------------------------------
// Binary (NumPy broadcasting)

interface BinarySpec {
  readonly name: string;
  /** the primitive (default: the op's name) */
  readonly prim?: BinaryOp;
  readonly doc: string;
  /** what both operands may be; default "numeric" */
  readonly dtypes?: DTypeClass;
  /** the result dtype from the (common) operand dtype; default: the same */
  out?(d: DType): DType;
}

/** An elementwise op of two broadcast operands of one dtype. */
function binary(spec: BinarySpec): OpDef {
  const dtypes = spec.dtypes ?? "numeric";
  return {
    name: spec.name,
    category: "elementwise",
    doc: spec.doc,
    inputs: [
      { name: "a", acceptsScalar: true },
      { name: "b", acceptsScalar: true },
    ],
    attrs: [],
    infer(ctx) {
      const a = input(ctx, 0);
      const b = input(ctx, 1);
      requireDTypeClass(spec.name, a, dtypes, 0, "operand a");
      requireDTypeClass(spec.name, b, dtypes, 1, "operand b");
      const d = sameOperandDType(spec.name, a, b);
      const dtype = spec.out ? spec.out(d) : d;
      const shape = broadcastOperands(spec.name, a, b, "a", "b");
      return {
        outputs: [dtype === a.dtype && shape === a.shape ? a : { dtype, shape }],
      };
    },
    cost(ctx) {
      // one operation per output element
      return cost(0, numel(ctx.outputs[0]!.shape));
    },
    lower(ctx) {
      const { b } = ctx;
      let x = need(ctx, 0);
      let y = need(ctx, 1);
      const prim = spec.prim ?? (spec.name as BinaryOp);
      // true division of integers; comparisons of bools compare 0/1
      const as = spec.name === "div" ? outDType(ctx) : b.dtype(x) === "bool" && prim !== "and" && prim !== "or" ? "i32" : undefined;
      if (as) [x, y] = [b.cast(x, as), b.cast(y, as)];
      return [b.binary(prim, x, y)];
    },
    onnx(ctx) {
      let [x, y] = [value(ctx, 0), value(ctx, 1)];
      const d = input(ctx, 0).dtype;
      // true division of integers; ONNX's order comparisons take numbers, not bools
      const as = spec.name === "div" ? ctx.outputs[0]!.dtype : d === "bool" && ORDERING.has(spec.name) ? "i32" : undefined;
      if (as) [x, y] = [castValue(ctx, x, d, as), castValue(ctx, y, d, as)];
      const onnxOp = BINARY_ONNX[spec.name]!;
      return [spec.name === "ne" ? ctx.op("Not", [ctx.op(onnxOp, [x, y])]) : ctx.op(onnxOp, [x, y])];
    },
  };
}

/** ONNX ops of the binary ops (ne is Not(Equal)). */
const BINARY_ONNX: Readonly<Record<string, string>> = {
  add: "Add",
  sub: "Sub",
  mul: "Mul",
  div: "Div",
  pow: "Pow",
  maximum: "Max",
  minimum: "Min",
  eq: "Equal",
  ne: "Equal",
  lt: "Less",
  le: "LessOrEqual",
  gt: "Greater",
  ge: "GreaterOrEqual",
  logical_and: "And",
  logical_or: "Or",
};
const ORDERING = new Set(["lt", "le", "gt", "ge"]);

/** a and b must share a dtype; the error shows both operands. */
function sameOperandDType(op: string, a: TensorType, b: TensorType): DType {
  if (a.dtype === b.dtype) return a.dtype;
  throw new OpError(`the operands of ${op} mix dtypes: a is ${typeToString(a)}, b is ${typeToString(b)}`, {
    code: "DLM3102",
    hint: `convert one side, e.g. cast(b, ${a.dtype})`,
  });
}

/** NumPy broadcasting of two operands; the error (DLM3111) names both and the first clashing dim. */
function broadcastOperands(op: string, x: TensorType, y: TensorType, xName: string, yName: string): Shape {
  if (shapesEqual(x.shape, y.shape)) return x.shape;
  const rx = x.shape.length;
  const ry = y.shape.length;
  for (let i = 1; i <= Math.max(rx, ry); i++) {
    const dx = x.shape[rx - i] ?? ONE;
    const dy = y.shape[ry - i] ?? ONE;
    if (!(sameDim(dx, dy) || dx.equals(1) || dy.equals(1)))
      throw new OpError(
        `${op} cannot broadcast ${xName} ${typeToString(x)} with ${yName} ${typeToString(y)}: dimension ${-i} is ${dx} vs ${dy}`,
        {
          code: "DLM3111",
          hint: "broadcasting aligns shapes from the right; each pair of dims must be equal or one of them 1",
        },
      );
  }
  return broadcastShapes(x.shape, y.shape);
}

const BOOL = (): DType => "bool";

const binaryOps: OpDef[] = [
  binary({ name: "add", doc: "a + b (broadcasting)" }),
  binary({ name: "sub", doc: "a - b (broadcasting)" }),
  binary({ name: "mul", doc: "a · b elementwise (broadcasting)" }),
  binary({
    name: "div",
    doc: "a / b (broadcasting); true division, so integer operands give f32",
    out: (d) => (isInteger(d) ? "f32" : d),
  }),
  binary({ name: "pow", doc: "a ** b elementwise (broadcasting)" }),
  binary({ name: "maximum", doc: "elementwise max(a, b) (broadcasting)" }),
  binary({ name: "minimum", doc: "elementwise min(a, b) (broadcasting)" }),
  binary({
    name: "eq",
    doc: "a == b → bool (broadcasting)",
    dtypes: "any",
    out: BOOL,
  }),
  binary({
    name: "ne",
    doc: "a != b → bool (broadcasting)",
    dtypes: "any",
    out: BOOL,
  }),
  binary({
    name: "lt",
    doc: "a < b → bool (broadcasting)",
    dtypes: "any",
    out: BOOL,
  }),
  binary({
    name: "le",
    doc: "a <= b → bool (broadcasting)",
    dtypes: "any",
    out: BOOL,
  }),
  binary({
    name: "gt",
    doc: "a > b → bool (broadcasting)",
    dtypes: "any",
    out: BOOL,
  }),
  binary({
    name: "ge",
    doc: "a >= b → bool (broadcasting)",
    dtypes: "any",
    out: BOOL,
  }),
  binary({
    name: "logical_and",
    prim: "and",
    doc: "a AND b of bool tensors (broadcasting)",
    dtypes: "bool",
  }),
  binary({
    name: "logical_or",
    prim: "or",
    doc: "a OR b of bool tensors (broadcasting)",
    dtypes: "bool",
  }),
];

// ---------------------------------------------------------------------------
// where

const where: OpDef = {
  name: "where",
  category: "elementwise",
  doc: "a where cond is true, else b; all three broadcast together",
  inputs: [{ name: "cond" }, { name: "a", acceptsScalar: true }, { name: "b", acceptsScalar: true }],
  attrs: [],
  infer(ctx) {
    const cond = input(ctx, 0);
    const a = input(ctx, 1);
    const b = input(ctx, 2);
    requireDTypeClass("where", cond, "bool", 0, "condition");
    const dtype = sameOperandDType("where", a, b);
    const values: TensorType = {
      dtype,
      shape: broadcastOperands("where", a, b, "a", "b"),
    };
    const shape = broadcastOperands("where", cond, values, "the condition", "the values");
    return { outputs: [{ dtype, shape }] };
  },
  cost(ctx) {
    // one select per output element
    return cost(0, numel(ctx.outputs[0]!.shape));
  },
  lower: (ctx) => [ctx.b.where(need(ctx, 0), need(ctx, 1), need(ctx, 2))],
  onnx: (ctx) => [ctx.op("Where", [value(ctx, 0), value(ctx, 1), value(ctx, 2)])],
};

// PyTorch (compiler/ops/torch-mapping.ts): torch's elementwise functions and Python's
// operators (a plain-number operand stays a number, as in dlm).
/** floor / ceil / round are the identity on integers (torch has no integer kernels for them) */
const rounding = (fn: string): TorchMapping => ({ forward: (c) => (isFloat(c.inputTypes[0]!.dtype) ? `${fn}(${arg(c, 0)})` : arg(c, 0)) });
const operator = (op: string): TorchMapping => ({ forward: (c) => `${arg(c, 0)} ${op} ${arg(c, 1)}` });
const onTensors = (fn: string): TorchMapping => ({
  forward: (c) =>
    pyCall(
      fn,
      c.inputs.map((_, i) => c.tensor(i)),
    ),
});

const TORCH: TorchTable = {
  ...Object.fromEntries(
    ["exp", "log", "log1p", "sqrt", "rsqrt", "abs", "neg", "square", "sin", "cos", "reciprocal", "erf"].map((n) => [
      n,
      unaryCall(`torch.${n}`),
    ]),
  ),
  floor: rounding("torch.floor"),
  ceil: rounding("torch.ceil"),
  round: rounding("torch.round"),
  stop_gradient: { forward: (c) => `${arg(c, 0)}.detach()` },
  logical_not: unaryCall("torch.logical_not"),
  cast: { forward: (c) => `${arg(c, 0)}.to(${c.dtype(c.outputs[0]!.dtype)})` },
  clamp: { forward: (c) => pyCall("torch.clamp", [arg(c, 0)], { min: c.py(c.attrs.min), max: c.py(c.attrs.max) }) },
  add: operator("+"),
  sub: operator("-"),
  mul: operator("*"),
  div: operator("/"),
  pow: { forward: (c) => pyCall("torch.pow", [arg(c, 0), arg(c, 1)]) },
  maximum: onTensors("torch.maximum"),
  minimum: onTensors("torch.minimum"),
  eq: operator("=="),
  ne: operator("!="),
  lt: operator("<"),
  le: operator("<="),
  gt: operator(">"),
  ge: operator(">="),
  logical_and: onTensors("torch.logical_and"),
  logical_or: onTensors("torch.logical_or"),
  where: onTensors("torch.where"),
};

export const ops: OpDef[] = withTorch([...unaryOps, cast, clamp, ...binaryOps, where], TORCH);
