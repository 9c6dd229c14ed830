// Reductions over one, several or all axes: sum, mean, max, min, prod, logsumexp, var,
// std, the p-norm, and argmax/argmin (→ i64 positions).
//
// Cost (flops only): per INPUT element, ignoring the per-output finishing step (the
// division of mean/var, the log of logsumexp, the root of std/norm):
//   sum, mean, max, min, prod, argmax, argmin  1  (one add / multiply / compare)
//   norm                                       2  (|x|^p, add)
//   var, std                                   3  (subtract the mean, square, add)
//   logsumexp                                  4  (max, subtract, exp, add)

import { Dim } from "../dim.js";
import { axesAttr } from "./builders.js";
import {
  type AttrSpec,
  type DType,
  type OpDef,
  type TensorType,
  OpError,
  boolAttr,
  cost,
  floatAttr,
  input,
  isFloat,
  normAxis,
  numel,
  requireFloat,
  typeToString,
} from "./types.js";
import type { T } from "../prim/builder.js";
import { type Lower, axesOf, castTo, flag, map1, num, outShape } from "./lowering.js";
import type { LowerContext } from "./types.js";
import { DataType, castValue, type OnnxContext } from "../export/onnx/context.js";
import { value } from "../export/onnx/helpers.js";
import { arg, pyCall, pyTuple, reductionAxes, withTorch, type TorchContext, type TorchMapping, type TorchTable } from "./torch-mapping.js";

/** What a reduction does to the dtype. */
type DTypeRule =
  /** any dtype, kept (max, min) */
  | "keep"
  /** bool counts as i64 (sum, prod as in torch) */
  | "count"
  /** floating-point only (mean, var, ...) */
  | "float"
  /** positions: i64 (argmax, argmin) */
  | "index";

interface ReduceSpec {
  readonly name: string;
  readonly doc: string;
  readonly dtype: DTypeRule;
  readonly flopsPerElement: number;
  readonly extraAttrs?: readonly AttrSpec[];
  /** argmax/argmin reduce the last axis by default; the others all axes */
  readonly positional?: boolean;
  /** x reduced over `axes`, keeping them as size-1 axes (the result is then reshaped to the output) */
  readonly lower: (ctx: LowerContext, x: T, axes: number[]) => T;
}

function outDType(spec: ReduceSpec, x: TensorType): DType {
  switch (spec.dtype) {
    case "keep":
      return x.dtype;
    case "count":
      return x.dtype === "bool" ? "i64" : x.dtype;
    case "float":
      requireFloat(spec.name, x, 0);
      return x.dtype;
    case "index":
      if (x.dtype === "bool")
        throw new OpError(`${spec.name} needs numbers to compare, got ${typeToString(x)}`, {
          at: 0,
          code: "DLM3102",
          hint: "use cast(x, i32) first",
        });
      return "i64";
  }
}

function reduceOp(spec: ReduceSpec): OpDef {
  return {
    name: spec.name,
    category: "reduce",
    doc: spec.doc,
    inputs: [{ name: "x" }],
    attrs: [
      spec.positional
        ? {
            name: "axis",
            type: "int",
            default: Dim.const(-1),
            doc: "axis to reduce (none: all, flattened)",
          }
        : {
            name: "axis",
            type: "ints",
            default: null,
            doc: "axis or list of axes to reduce (none: all)",
          },
      {
        name: "keepdim",
        type: "bool",
        default: false,
        doc: "keep reduced axes as size 1",
      },
      ...(spec.extraAttrs ?? []),
    ],
    infer(ctx) {
      const x = input(ctx, 0);
      const dtype = outDType(spec, x);
      const rank = x.shape.length;
      const axes = axesAttr(ctx, "axis", rank);
      const keepdim = boolAttr(ctx, "keepdim");
      for (const a of spec.extraAttrs ?? []) {
        if (a.type === "float") floatAttr(ctx, a.name);
        else boolAttr(ctx, a.name);
      }
      const reduced = (i: number): boolean => axes === undefined || axes.includes(i);
      const shape: Dim[] = [];
      x.shape.forEach((d, i) => {
        if (!reduced(i)) shape.push(d);
        else if (keepdim) shape.push(Dim.const(1));
      });
      return { outputs: [{ dtype, shape }] };
    },
    cost(ctx) {
      return cost(0, numel(input(ctx, 0).shape).scale(spec.flopsPerElement));
    },
    lower: reduceLower(spec),
    onnx: reduceOnnx(spec),
  };
}

/**
 * A reduction in ONNX: argmax/argmin with no axis run over x flattened; the others reduce the
 * listed axes (none: all of them), keeping them as size 1 with keepdim.
 */
function reduceOnnx(spec: ReduceSpec) {
  return (ctx: OnnxContext): string[] => {
    const t = input(ctx, 0);
    const keepdims = boolAttr(ctx, "keepdim") ? 1 : 0;
    if (spec.positional) {
      const flat = ctx.attrs.axis === null;
      const x = flat ? ctx.op("Reshape", [value(ctx, 0), ctx.ints([-1])]) : value(ctx, 0);
      const axis = flat ? 0 : normAxis(ctx.int("axis"), t.shape.length);
      const y = ctx.op(spec.name === "argmax" ? "ArgMax" : "ArgMin", [x], { axis, keepdims: flat ? 0 : keepdims });
      // keepdim over a flattened x keeps every axis as size 1
      return [flat && keepdims ? ctx.op("Reshape", [y, ctx.ints(t.shape.map(() => 1))]) : y];
    }
    const axes = axesAttr(ctx, "axis", t.shape.length) ?? [...t.shape.keys()];
    const counted = spec.dtype === "count" ? castValue(ctx, value(ctx, 0), t.dtype, ctx.outputs[0]!.dtype) : value(ctx, 0);
    const f = REDUCE_ONNX[spec.name];
    if (!f) throw new Error(`reduction '${spec.name}' has no ONNX mapping`);
    return [f(ctx, counted, axes, keepdims, t)];
  };
}

type ReduceOnnx = (ctx: OnnxContext, x: string, axes: number[], keepdims: number, t: TensorType) => string;

function reduceWith(op: string): ReduceOnnx {
  return (ctx, x, axes, keepdims) => ctx.op(op, [x, ctx.ints(axes)], { keepdims });
}

/** variance over axes (population, or unbiased with n - 1) */
function varianceOnnx(ctx: OnnxContext, x: string, axes: number[], keepdims: number, t: TensorType): string {
  const d = ctx.op("Sub", [x, ctx.op("ReduceMean", [x, ctx.ints(axes)], { keepdims: 1 })]);
  const sum = ctx.op("ReduceSum", [ctx.op("Mul", [d, d]), ctx.ints(axes)], { keepdims });
  const n = axes.reduce((acc, a) => acc.mul(t.shape[a]!), Dim.const(1)).sub(boolAttr(ctx, "unbiased") ? 1 : 0);
  return ctx.op("Div", [sum, ctx.op("Cast", [ctx.size(n)], { to: DataType.FLOAT })]);
}

const REDUCE_ONNX: Readonly<Record<string, ReduceOnnx>> = {
  sum: reduceWith("ReduceSum"),
  mean: reduceWith("ReduceMean"),
  max: reduceWith("ReduceMax"),
  min: reduceWith("ReduceMin"),
  prod: reduceWith("ReduceProd"),
  logsumexp: reduceWith("ReduceLogSumExp"),
  var: varianceOnnx,
  std: (ctx, x, axes, keepdims, t) => ctx.op("Sqrt", [varianceOnnx(ctx, x, axes, keepdims, t)]),
  norm(ctx, x, axes, keepdims) {
    const p = floatAttr(ctx, "p");
    const abs = (): string => ctx.op("Abs", [x]);
    const over = (op: string, v: string): string => ctx.op(op, [v, ctx.ints(axes)], { keepdims });
    if (p === 2) return over("ReduceL2", x);
    if (p === 1) return over("ReduceL1", x);
    if (p === Infinity) return over("ReduceMax", abs());
    if (p === -Infinity) return over("ReduceMin", abs());
    if (p === 0) return over("ReduceSum", ctx.op("Cast", [ctx.op("Not", [ctx.op("Equal", [x, ctx.scalar(0)])])], { to: DataType.FLOAT }));
    return ctx.op("Pow", [over("ReduceSum", ctx.op("Pow", [abs(), ctx.scalar(p)])), ctx.scalar(1 / p)]);
  },
};

// ---------------------------------------------------------------------------
// Lowerings: each reduces with kept axes; the result takes the promised output shape

function reduceLower(spec: ReduceSpec): Lower {
  return map1((x, ctx) => {
    const { b } = ctx;
    // argmax / argmin with axis none work on x flattened
    const flat = spec.positional && ctx.attrs.axis === null;
    const v = flat ? b.reshape(x, [-1]) : x;
    const y = spec.lower(ctx, v, axesOf(ctx, "axis", b.rank(v)));
    return b.reshape(y, outShape(ctx));
  });
}

/** bool counts as an integer (sum, prod) */
function counted(ctx: LowerContext, x: T): T {
  return ctx.b.dtype(x) === "bool" ? ctx.b.cast(x, "i32") : x;
}

/** max / min; on bools through 0/1 */
function extreme(kind: "max" | "min") {
  return (ctx: LowerContext, x: T, axes: number[]): T => {
    const { b } = ctx;
    const v = counted(ctx, x);
    const y = kind === "max" ? b.max(v, axes, true) : b.min(v, axes, true);
    return castTo(ctx, y, b.dtype(x));
  };
}

/** Product over one axis by halving: pad odd lengths with 1, multiply the two halves, repeat. */
function prodAxis(ctx: LowerContext, x: T, axis: number): T {
  const { b } = ctx;
  let n = b.shape(x)[axis]!;
  if (n === 0)
    return b.scalar(
      1,
      b.dtype(x),
      b.shape(x).map((d, i) => (i === axis ? 1 : d)),
    );
  while (n > 1) {
    if (n % 2 === 1) {
      const z = b.shape(x).map(() => 0);
      x = b.pad(
        x,
        z,
        z.map((_, i) => (i === axis ? 1 : 0)),
        1,
      );
      n += 1;
    }
    x = b.times(b.sliceAxis(x, axis, 0, n / 2), b.sliceAxis(x, axis, n / 2, n));
    n /= 2;
  }
  return x;
}

/** log(sum(exp(x))) = m + log(sum(exp(x - m))), m the max without gradient (0 where infinite, as torch). */
export function logsumexpOf(ctx: LowerContext, x: T, axes: number[]): T {
  const { b } = ctx;
  const m0 = b.stopGradient(b.max(x, axes, true));
  const m = b.where(b.binary("eq", b.unary("abs", m0), b.scalar(Infinity)), b.scalar(0), m0);
  return b.plus(b.log(b.sum(b.exp(b.minus(x, m)), axes, true)), m);
}

/** Variance over axes, divided by n - 1 when unbiased. */
function varianceOf(ctx: LowerContext, x: T, axes: number[]): T {
  const { b } = ctx;
  const n = axes.reduce((p, a) => p * b.shape(x)[a]!, 1);
  const d = b.minus(x, b.mean(x, axes, true));
  return b.scale(b.sum(b.times(d, d), axes, true), 1 / (n - (flag(ctx, "unbiased") ? 1 : 0)));
}

/** torch.norm's p-norms: p = inf / -inf the max / min of |x|, 0 the count of nonzeros, else (sum |x|^p)^(1/p). */
function pNorm(ctx: LowerContext, x: T, axes: number[]): T {
  const { b } = ctx;
  const p = num(ctx, "p");
  const a = b.unary("abs", x);
  if (p === Infinity) return b.max(a, axes, true);
  if (p === -Infinity) return b.min(a, axes, true);
  if (p === 0) return b.sum(b.cast(b.binary("ne", x, b.scalar(0)), "f32"), axes, true);
  if (p === 1) return b.sum(a, axes, true);
  if (p === 2) return b.sqrt(b.sum(b.times(x, x), axes, true));
  return b.binary("pow", b.sum(b.binary("pow", a, b.scalar(p)), axes, true), b.scalar(1 / p));
}

function position(smallest: boolean) {
  return (ctx: LowerContext, x: T, axes: number[]): T => ctx.b.argmax(x, axes[0]!, true, smallest);
}

const UNBIASED: AttrSpec = {
  name: "unbiased",
  type: "bool",
  default: false,
  doc: "divide by n - 1 (Bessel's correction) instead of n",
};

// PyTorch (compiler/ops/torch-mapping.ts): torch's reductions over explicit axes.
const over = (fn: string, extra: (c: TorchContext) => Record<string, string | undefined> = () => ({})): TorchMapping => ({
  forward: (c) => pyCall(fn, [arg(c, 0)], { dim: pyTuple(reductionAxes(c)), ...extra(c), keepdim: c.py(c.attrs.keepdim) }),
});
/** integer sums keep dlm's dtype (torch would widen i32 to i64) */
const counting = (fn: string): TorchMapping =>
  over(fn, (c) => (isFloat(c.inputTypes[0]!.dtype) ? {} : { dtype: c.dtype(c.outputs[0]!.dtype) }));
const located = (fn: string): TorchMapping => ({
  forward: (c) =>
    c.attrs.axis === null
      ? `${pyCall(fn, [`${arg(c, 0)}.reshape(-1)`])}.reshape(${c.py(c.outputs[0]!.shape)})`
      : pyCall(fn, [arg(c, 0)], { dim: c.py(c.attrs.axis), keepdim: c.py(c.attrs.keepdim) }),
});
const TORCH: TorchTable = {
  sum: counting("torch.sum"),
  mean: over("torch.mean"),
  max: over("torch.amax"),
  min: over("torch.amin"),
  // torch.prod takes one axis: the highest first, so the others keep their numbers
  prod: {
    forward: (c) =>
      reductionAxes(c)
        .sort((a, b) => b - a)
        .reduce((x, a) => `${x}.prod(dim=${a}, keepdim=${c.py(c.attrs.keepdim)})`, arg(c, 0)) +
      (isFloat(c.inputTypes[0]!.dtype) ? "" : `.to(${c.dtype(c.outputs[0]!.dtype)})`),
  },
  logsumexp: over("torch.logsumexp"),
  var: over("torch.var", (c) => ({ correction: c.attrs.unbiased === true ? "1" : "0" })),
  std: over("torch.std", (c) => ({ correction: c.attrs.unbiased === true ? "1" : "0" })),
  norm: over("torch.linalg.vector_norm", (c) => ({ ord: c.py(c.attrs.p) })),
  argmax: located("torch.argmax"),
  argmin: located("torch.argmin"),
};

export const ops: OpDef[] = withTorch(
  [
    reduceOp({
      name: "sum",
      doc: "sum over axes (none: all)",
      dtype: "count",
      flopsPerElement: 1,
      lower: (ctx, x, axes) => ctx.b.sum(counted(ctx, x), axes, true),
    }),
    reduceOp({
      name: "mean",
      doc: "mean over axes (none: all)",
      dtype: "float",
      flopsPerElement: 1,
      lower: (ctx, x, axes) => ctx.b.mean(x, axes, true),
    }),
    reduceOp({
      name: "max",
      doc: "maximum over axes (none: all)",
      dtype: "keep",
      flopsPerElement: 1,
      lower: extreme("max"),
    }),
    reduceOp({
      name: "min",
      doc: "minimum over axes (none: all)",
      dtype: "keep",
      flopsPerElement: 1,
      lower: extreme("min"),
    }),
    reduceOp({
      name: "prod",
      doc: "product over axes (none: all)",
      dtype: "count",
      flopsPerElement: 1,
      lower: (ctx, x, axes) => axes.reduce((y, a) => prodAxis(ctx, y, a), counted(ctx, x)),
    }),
    reduceOp({
      name: "logsumexp",
      doc: "log(sum(exp(x))) over axes, computed stably (none: all)",
      dtype: "float",
      flopsPerElement: 4,
      lower: logsumexpOf,
    }),
    reduceOp({
      name: "var",
      doc: "variance over axes (none: all); population variance unless unbiased",
      dtype: "float",
      flopsPerElement: 3,
      extraAttrs: [UNBIASED],
      lower: varianceOf,
    }),
    reduceOp({
      name: "std",
      doc: "standard deviation over axes (none: all); population unless unbiased",
      dtype: "float",
      flopsPerElement: 3,
      extraAttrs: [UNBIASED],
      lower: (ctx, x, axes) => ctx.b.sqrt(varianceOf(ctx, x, axes)),
    }),
    reduceOp({
      name: "norm",
      doc: "p-norm (sum |x|^p)^(1/p) over axes (none: all), p = 2 by default",
      dtype: "float",
      flopsPerElement: 2,
      extraAttrs: [{ name: "p", type: "float", default: 2.0, doc: "order of the norm" }],
      lower: pNorm,
    }),
    reduceOp({
      name: "argmax",
      doc: "i64 position of the maximum along axis (default the last)",
      dtype: "index",
      flopsPerElement: 1,
      positional: true,
      lower: position(false),
    }),
    reduceOp({
      name: "argmin",
      doc: "i64 position of the minimum along axis (default the last)",
      dtype: "index",
      flopsPerElement: 1,
      positional: true,
      lower: position(true),
    }),
  ],
  TORCH,
);
