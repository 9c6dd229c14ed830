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
  numel,
  requireFloat,
  typeToString,
} from "./types.js";

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
  };
}

const UNBIASED: AttrSpec = {
  name: "unbiased",
  type: "bool",
  default: false,
  doc: "divide by n - 1 (Bessel's correction) instead of n",
};

export const ops: OpDef[] = [
  reduceOp({
    name: "sum",
    doc: "sum over axes (none: all)",
    dtype: "count",
    flopsPerElement: 1,
  }),
  reduceOp({
    name: "mean",
    doc: "mean over axes (none: all)",
    dtype: "float",
    flopsPerElement: 1,
  }),
  reduceOp({
    name: "max",
    doc: "maximum over axes (none: all)",
    dtype: "keep",
    flopsPerElement: 1,
  }),
  reduceOp({
    name: "min",
    doc: "minimum over axes (none: all)",
    dtype: "keep",
    flopsPerElement: 1,
  }),
  reduceOp({
    name: "prod",
    doc: "product over axes (none: all)",
    dtype: "count",
    flopsPerElement: 1,
  }),
  reduceOp({
    name: "logsumexp",
    doc: "log(sum(exp(x))) over axes, computed stably (none: all)",
    dtype: "float",
    flopsPerElement: 4,
  }),
  reduceOp({
    name: "var",
    doc: "variance over axes (none: all); population variance unless unbiased",
    dtype: "float",
    flopsPerElement: 3,
    extraAttrs: [UNBIASED],
  }),
  reduceOp({
    name: "std",
    doc: "standard deviation over axes (none: all); population unless unbiased",
    dtype: "float",
    flopsPerElement: 3,
    extraAttrs: [UNBIASED],
  }),
  reduceOp({
    name: "norm",
    doc: "p-norm (sum |x|^p)^(1/p) over axes (none: all), p = 2 by default",
    dtype: "float",
    flopsPerElement: 2,
    extraAttrs: [{ name: "p", type: "float", default: 2.0, doc: "order of the norm" }],
  }),
  reduceOp({
    name: "argmax",
    doc: "i64 position of the maximum along axis (default the last)",
    dtype: "index",
    flopsPerElement: 1,
    positional: true,
  }),
  reduceOp({
    name: "argmin",
    doc: "i64 position of the minimum along axis (default the last)",
    dtype: "index",
    flopsPerElement: 1,
    positional: true,
  }),
];
