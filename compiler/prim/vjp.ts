// Vector-Jacobian products of the primitives, written with the primitive builder itself:
// a backward graph is an ordinary primitive graph, so it can be differentiated again
// (second order, as MAML needs). Each rule receives the node, its output cotangent `dy`
// and which inputs need a gradient, and returns one cotangent per input (undefined: none).

import { attentionVjp } from "./attention.js";
import type { PrimBuilder, T, Window } from "./builder.js";
import type { PNode } from "./ir.js";

export type VjpRule = (b: PrimBuilder, n: PNode, dy: T, wants: readonly boolean[]) => readonly (T | undefined)[];

/** Primitives whose outputs carry no gradient: integer/bool results, constants, random draws. */
export const NON_DIFFERENTIABLE: ReadonlySet<string> = new Set([
  "input",
  "param",
  "const",
  "iota",
  "rng_uniform",
  "rng_normal",
  "stop_gradient",
  "argmax",
  "argmin",
  "one_hot",
  "eq",
  "ne",
  "lt",
  "le",
  "gt",
  "ge",
  "and",
  "or",
  "not",
  // between float and integer/bool types (there is one float type at run time)
  "cast",
  // piecewise constant: zero almost everywhere
  "sign",
  "floor",
  "ceil",
  "round",
]);

const x0 = (n: PNode): T => n.inputs[0]!;
const x1 = (n: PNode): T => n.inputs[1]!;
const win = (n: PNode): Window => n.attrs as unknown as Window;

/** dy * f(x, y) for a unary op with derivative f. */
function unary(f: (b: PrimBuilder, x: T, y: T) => T): VjpRule {
  return (b, n, dy) => [b.times(dy, f(b, x0(n), n.id))];
}

/** Gradient of one side of a broadcasting binary op, summed back to that side's shape. */
function toShape(b: PrimBuilder, g: T, like: T): T {
  return b.sumTo(g, b.shape(like));
}

/** 1 where `m` holds, else 0, in the dtype of `like`. */
function indicator(b: PrimBuilder, m: T, like: T): T {
  return b.cast(m, b.dtype(like));
}

/** Route dy to the larger (maximum) or smaller (minimum) input; ties split evenly, as PyTorch. */
function extremum(pick: "gt" | "lt"): VjpRule {
  return (b, n, dy, wants) => {
    const a = x0(n);
    const c = x1(n);
    const half = b.scale(indicator(b, b.binary("eq", a, c), dy), 0.5);
    const toA = b.plus(indicator(b, b.binary(pick, a, c), dy), half);
    const toC = b.plus(indicator(b, b.binary(pick, c, a), dy), half);
    return [wants[0] ? toShape(b, b.times(dy, toA), a) : undefined, wants[1] ? toShape(b, b.times(dy, toC), c) : undefined];
  };
}

/** reduce_max / reduce_min: the cotangent goes to the extreme elements, shared among ties. */
function reduceExtremum(): VjpRule {
  return (b, n, dy) => {
    const x = x0(n);
    const keep = keepDims(b, n, dy);
    const y = keepDims(b, n, n.id);
    const hit = indicator(b, b.binary("eq", x, b.broadcastTo(y, b.shape(x))), dy);
    const count = b.sum(hit, n.attrs.axes as number[], true);
    return [b.times(hit, b.broadcastTo(b.over(keep, count), b.shape(x)))];
  };
}

/** A reduction's output (or its cotangent) with the reduced axes kept as size 1. */
function keepDims(b: PrimBuilder, n: PNode, v: T): T {
  if (n.attrs.keepdims) return v;
  const shape = b.shape(x0(n)).map((d, i) => ((n.attrs.axes as number[]).includes(i) ? 1 : d));
  return b.reshape(v, shape);
}

function inversePerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

/** The adjoint of a strided slice: zero-padded (step 1) or scattered (step > 1) back. */
function sliceAdjoint(b: PrimBuilder, n: PNode, dy: T): T {
  const shape = b.shape(x0(n));
  const starts = n.attrs.starts as number[];
  const ends = n.attrs.ends as number[];
  const steps = n.attrs.steps as number[];
  let g = dy;
  shape.forEach((size, axis) => {
    if (steps[axis] === 1) {
      const lo = shape.map((_, i) => (i === axis ? starts[i]! : 0));
      const hi = shape.map((_, i) => (i === axis ? size - ends[i]! : 0));
      g = b.pad(g, lo, hi);
    } else {
      const picked = b.shape(g)[axis]!;
      const rows = Array.from({ length: picked }, (_, k) => starts[axis]! + k * steps[axis]!);
      g = b.scatterAdd(g, b.tensor(rows, [picked], "i32"), axis, size);
    }
  });
  return g;
}

export const VJP: Readonly<Record<string, VjpRule>> = {
  neg: (b, _n, dy) => [b.neg(dy)],
  exp: unary((_b, _x, y) => y),
  log: unary((b, x) => b.unary("reciprocal", x)),
  sqrt: unary((b, _x, y) => b.scale(b.unary("reciprocal", y), 0.5)),
  rsqrt: unary((b, _x, y) => b.scale(b.times(y, b.times(y, y)), -0.5)),
  abs: unary((b, x) => b.unary("sign", x)),
  tanh: unary((b, _x, y) => b.minus(b.scalar(1), b.times(y, y))),
  sigmoid: unary((b, _x, y) => b.times(y, b.minus(b.scalar(1), y))),
  relu: unary((b, x) => indicator(b, b.binary("gt", x, b.scalar(0, b.dtype(x))), x)),
  sin: unary((b, x) => b.unary("cos", x)),
  cos: unary((b, x) => b.neg(b.unary("sin", x))),
  erf: unary((b, x) => b.scale(b.exp(b.neg(b.times(x, x))), 2 / Math.sqrt(Math.PI))),
  square: unary((b, x) => b.scale(x, 2)),
  reciprocal: unary((b, _x, y) => b.neg(b.times(y, y))),
  log1p: unary((b, x) => b.unary("reciprocal", b.shift(x, 1))),

  add: (b, n, dy, w) => [w[0] ? toShape(b, dy, x0(n)) : undefined, w[1] ? toShape(b, dy, x1(n)) : undefined],
  sub: (b, n, dy, w) => [w[0] ? toShape(b, dy, x0(n)) : undefined, w[1] ? toShape(b, b.neg(dy), x1(n)) : undefined],
  mul: (b, n, dy, w) => [
    w[0] ? toShape(b, b.times(dy, x1(n)), x0(n)) : undefined,
    w[1] ? toShape(b, b.times(dy, x0(n)), x1(n)) : undefined,
  ],
  div: (b, n, dy, w) => {
    const g = w[0] || w[1] ? b.over(dy, x1(n)) : undefined;
    return [w[0] ? toShape(b, g!, x0(n)) : undefined, w[1] ? toShape(b, b.neg(b.times(g!, n.id)), x1(n)) : undefined];
  },
  pow: (b, n, dy, w) => {
    const a = x0(n);
    const e = x1(n);
    const da = w[0] ? toShape(b, b.times(dy, b.times(e, b.binary("pow", a, b.shift(e, -1)))), a) : undefined;
    const de = w[1] ? toShape(b, b.times(dy, b.times(n.id, b.log(a))), e) : undefined;
    return [da, de];
  },
  maximum: extremum("gt"),
  minimum: extremum("lt"),
  where: (b, n, dy, w) => {
    const [c, a, e] = n.inputs as [T, T, T];
    const zero = b.scalar(0, b.dtype(dy));
    return [undefined, w[1] ? toShape(b, b.where(c, dy, zero), a) : undefined, w[2] ? toShape(b, b.where(c, zero, dy), e) : undefined];
  },

  reduce_sum: (b, n, dy) => [b.broadcastTo(keepDims(b, n, dy), b.shape(x0(n)))],
  reduce_max: reduceExtremum(),
  reduce_min: reduceExtremum(),

  reshape: (b, n, dy) => [b.reshape(dy, b.shape(x0(n)))],
  transpose: (b, n, dy) => [b.transpose(dy, inversePerm(n.attrs.perm as number[]))],
  broadcast_to: (b, n, dy) => [b.sumTo(dy, b.shape(x0(n)))],
  slice: (b, n, dy) => [sliceAdjoint(b, n, dy)],
  pad: (b, n, dy) => {
    const lo = n.attrs.lo as number[];
    const shape = b.shape(x0(n));
    return [
      b.slice(
        dy,
        lo,
        shape.map((d, i) => lo[i]! + d),
      ),
    ];
  },
  concat: (b, n, dy, w) => {
    const axis = n.attrs.axis as number;
    let offset = 0;
    return n.inputs.map((x, i) => {
      const size = b.shape(x)[axis]!;
      const g = w[i] ? b.sliceAxis(dy, axis, offset, offset + size) : undefined;
      offset += size;
      return g;
    });
  },
  gather: (b, n, dy, w) => [
    w[0] ? b.scatterAdd(dy, x1(n), n.attrs.axis as number, b.shape(x0(n))[n.attrs.axis as number]!) : undefined,
    undefined,
  ],
  scatter_add: (b, n, dy, w) => [w[0] ? b.gather(dy, x1(n), n.attrs.axis as number) : undefined, undefined],

  matmul: (b, n, dy, w) => {
    const a = x0(n);
    const c = x1(n);
    const ta = n.attrs.transA as boolean;
    const tb = n.attrs.transB as boolean;
    const da = w[0] ? toShape(b, ta ? b.matmul(c, dy, tb, true) : b.matmul(dy, c, false, !tb), a) : undefined;
    const dc = w[1] ? toShape(b, tb ? b.matmul(dy, a, true, ta) : b.matmul(a, dy, !ta, false), c) : undefined;
    return [da, dc];
  },
  conv: (b, n, dy, w) => {
    const x = x0(n);
    const k = x1(n);
    const g = n.attrs.groups as number;
    return [
      w[0] ? b.convInputGrad(dy, k, b.shape(x).slice(2), win(n), g) : undefined,
      w[1] ? b.convWeightGrad(x, dy, b.shape(k).slice(2), win(n), g) : undefined,
    ];
  },
  // conv_input_grad(dy, w) is linear in each argument: <g, J_xᵀ(w) dy> = <conv(g, w), dy>
  conv_input_grad: (b, n, dz, w) => {
    const dy = x0(n);
    const k = x1(n);
    const g = n.attrs.groups as number;
    return [w[0] ? b.conv(dz, k, win(n), g) : undefined, w[1] ? b.convWeightGrad(dz, dy, b.shape(k).slice(2), win(n), g) : undefined];
  },
  // conv_weight_grad(x, dy): <g, J_wᵀ(x) dy> = <conv(x, g), dy>
  conv_weight_grad: (b, n, dz, w) => {
    const x = x0(n);
    const dy = x1(n);
    const g = n.attrs.groups as number;
    return [w[0] ? b.convInputGrad(dy, dz, b.shape(x).slice(2), win(n), g) : undefined, w[1] ? b.conv(x, dz, win(n), g) : undefined];
  },
  max_pool: (b, n, dy) => [b.maxPoolGrad(x0(n), dy, win(n))],
  avg_pool: (b, n, dy) => [b.avgPoolGrad(dy, b.shape(x0(n)), win(n), n.attrs.countPad as boolean)],
  attention: attentionVjp,
  avg_pool_grad: (b, n, dz) => [b.avgPool(dz, win(n), n.attrs.countPad as boolean)],
};
