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
import { type DType, type OpDef, type TensorType, OpError, broadcastShapes, cost, input, isInteger, numel, typeToString } from "./types.js";
import type { BinaryOp, UnaryOp } from "../prim/builder.js";
import { castTo, map1, need, optNum, outDType, withLower } from "./lowering.js";

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
  return withLower(
    rule,
    map1((x, { b }) => (rounding && b.dtype(x) !== "f32" ? x : b.unary(name as UnaryOp, x))),
  );
}

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
];

const cast = withLower(
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
);

const clamp = withLower(
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
  };
}

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
};

export const ops: OpDef[] = [...unaryOps, cast, clamp, ...binaryOps, where];
