// Random ops: dropout variants and noise (train-mode only), random tensors, the VAE
// reparameterisation and Gumbel-softmax. All are `stochastic` (never folded or CSE'd).
//
// Cost: `flops` only, ~1 per elementwise op per element, with a random draw counted as 1:
//   dropout/alpha_dropout 2 (draw + mask-scale), dropout2d 1 per element + 1 per channel draw,
//   gaussian_noise 2 (draw + add), rand(n)_like / rand(n) 1, reparameterize 5 (draw, scale,
//   exp, mul, add), gumbel_softmax 9 (draw, -log(-log u) 2, add, divide by tau, softmax ~5
//   minus the shared max) — the hard variant's one-hot is not counted.

import { Dim } from "../dim.js";
import { DataType, type OnnxContext } from "../export/onnx/context.js";
import { value } from "../export/onnx/helpers.js";
import type { PrimBuilder, T } from "../prim/builder.js";
import { broadcastPair, prodRange, rangeAttr, requireFloatDType, shapeAttr } from "./builders.js";
import { dropout as dropoutMasked, flag, moveAxis, need, num, outShape, softmax } from "./lowering.js";
import { arg, pyCall, withTorch, type TorchContext, type TorchTable } from "./torch-mapping.js";
import {
  type AttrSpec,
  type CostContext,
  type InferContext,
  type LowerContext,
  type OpDef,
  type TensorType,
  OpError,
  axisAttr,
  boolAttr,
  cost,
  floatAttr,
  input,
  numel,
  requireFloat,
  requireRank,
  sameDType,
} from "./types.js";

const P_HINT = "p is the probability of DROPPING a unit (PyTorch's meaning), so it must be below 1";

function dropProbability(ctx: InferContext): void {
  const p = floatAttr(ctx, "p");
  rangeAttr(p, "p", 0, 1, false, Number.isInteger(p) && p > 1 && p <= 100 ? `${P_HINT}; for ${p}% write ${p / 100}` : P_HINT);
}

interface SameShapeRandom {
  readonly name: string;
  readonly doc: string;
  readonly attrs: readonly AttrSpec[];
  /** active only in training mode (dropout, noise) */
  readonly trainOnly: boolean;
  readonly flopsPerElem: number;
  /** extra input checks after "x is a float tensor" */
  check?(ctx: InferContext, x: TensorType): void;
  extraFlops?(x: TensorType): Dim;
  /** the transform in primitives (in eval mode a train-only op is the identity instead) */
  lower(b: PrimBuilder, x: T, ctx: LowerContext): T;
}

/** x → random transform of x with the same type. */
function sameShapeRandom(spec: SameShapeRandom): OpDef {
  return {
    name: spec.name,
    category: "random",
    doc: spec.doc,
    inputs: [{ name: "x" }],
    attrs: spec.attrs,
    stochastic: true,
    ...(spec.trainOnly ? { modeDependent: true } : {}),
    infer(ctx) {
      const x = input(ctx, 0);
      requireFloat(spec.name, x, 0);
      spec.check?.(ctx, x);
      return { outputs: [x] };
    },
    cost(ctx: CostContext) {
      const x = input(ctx, 0);
      const f = numel(x.shape).scale(spec.flopsPerElem);
      return cost(0, spec.extraFlops ? f.add(spec.extraFlops(x)) : f);
    },
    lower(ctx) {
      const x = need(ctx, 0);
      return [spec.trainOnly && !ctx.training ? x : spec.lower(ctx.b, x, ctx)];
    },
    // inference: a train-only op is the identity; the samplers draw with ONNX's own generator
    onnx(ctx) {
      const x = value(ctx, 0);
      if (spec.trainOnly) return [x];
      return [ctx.op(spec.name === "randn_like" ? "RandomNormalLike" : "RandomUniformLike", [x], { dtype: DataType.FLOAT })];
    },
  };
}

/** Samples of the output's shape: RandomNormalLike / RandomUniformLike of a tensor of that shape. */
function samplesOnnx(ctx: OnnxContext, kind: "normal" | "uniform"): string {
  const like = ctx.op("ConstantOfShape", [ctx.shape(ctx.outputs[0]!.shape)]);
  return ctx.op(kind === "normal" ? "RandomNormalLike" : "RandomUniformLike", [like], { dtype: DataType.FLOAT });
}

const P: AttrSpec = { name: "p", type: "float", default: 0.5, doc: "drop probability" };

const dropout = sameShapeRandom({
  name: "dropout",
  doc: "zeroes each element with probability p and scales the rest by 1/(1-p) (training only)",
  attrs: [P],
  trainOnly: true,
  flopsPerElem: 2,
  check: dropProbability,
  lower: (b, x, ctx) => dropoutMasked(b, x, num(ctx, "p")),
});

const dropout2d = sameShapeRandom({
  name: "dropout2d",
  doc: "zeroes whole channels of [B, C, H, W] (or [C, H, W]) with probability p (training only)",
  attrs: [P],
  trainOnly: true,
  flopsPerElem: 1,
  check(ctx, x) {
    requireRank("dropout2d", x, [4, 3], 0, "feature map [B, C, H, W] (or [C, H, W])");
    dropProbability(ctx);
  },
  extraFlops: (x) => prodRange(x.shape, 0, x.shape.length - 2),
  // one draw per channel: the mask is [B, C, 1, 1] (or [C, 1, 1])
  lower: (b, x, ctx) =>
    dropoutMasked(
      b,
      x,
      num(ctx, "p"),
      b.shape(x).map((d, i, s) => (i < s.length - 2 ? d : 1)),
    ),
});

const alphaDropout = sameShapeRandom({
  name: "alpha_dropout",
  doc: "dropout that keeps SELU's self-normalising mean and variance (training only)",
  attrs: [P],
  trainOnly: true,
  flopsPerElem: 2,
  check: dropProbability,
  lower(b, x, ctx) {
    // PyTorch: x·(keep·a) + a·alpha·(keep - 1 + p), alpha = -SELU's λα, a = 1/sqrt((alpha²p + 1)(1 - p))
    const p = num(ctx, "p");
    if (p === 0) return x;
    const alpha = 1.7580993408473766;
    const a = 1 / Math.sqrt((alpha * alpha * p + 1) * (1 - p));
    const keep = b.cast(b.binary("ge", b.random("uniform", b.shape(x)), b.scalar(p)), "f32");
    return b.plus(b.times(x, b.scale(keep, a)), b.scale(b.shift(keep, p - 1), alpha * a));
  },
});

const gaussianNoise = sameShapeRandom({
  name: "gaussian_noise",
  doc: "adds N(0, std²) noise (training only)",
  attrs: [{ name: "std", type: "float", default: 1.0 }],
  trainOnly: true,
  flopsPerElem: 2,
  check(ctx) {
    const s = floatAttr(ctx, "std");
    if (!(s >= 0)) throw new OpError(`'std' must be non-negative, got ${s}`, { at: "std" });
  },
  lower: (b, x, ctx) => b.plus(x, b.scale(b.random("normal", b.shape(x)), num(ctx, "std"))),
});

const randnLike = sameShapeRandom({
  name: "randn_like",
  doc: "N(0, 1) samples shaped like x",
  attrs: [],
  trainOnly: false,
  flopsPerElem: 1,
  lower: (b, x) => b.random("normal", b.shape(x)),
});
const randLike = sameShapeRandom({
  name: "rand_like",
  doc: "U[0, 1) samples shaped like x",
  attrs: [],
  trainOnly: false,
  flopsPerElem: 1,
  lower: (b, x) => b.random("uniform", b.shape(x)),
});

/** randn(shape) / rand(shape): a fresh random tensor. */
function randomTensor(name: string, doc: string, kind: "normal" | "uniform"): OpDef {
  return {
    name,
    category: "random",
    doc,
    inputs: [],
    attrs: [
      { name: "shape", type: "ints" },
      { name: "dtype", type: "dtype", default: "f32" },
    ],
    stochastic: true,
    infer(ctx) {
      const dtype = requireFloatDType(name, ctx.attrs.dtype, "dtype");
      return { outputs: [{ dtype, shape: shapeAttr(ctx, "shape") }] };
    },
    cost(ctx) {
      return cost(0, numel(ctx.outputs[0]!.shape));
    },
    lower: (ctx) => [ctx.b.random(kind, outShape(ctx))],
    onnx: (ctx) => [samplesOnnx(ctx, kind)],
  };
}

const reparameterize: OpDef = {
  name: "reparameterize",
  category: "random",
  doc: "VAE sample mu + exp(0.5·logvar)·eps with eps ~ N(0, 1)",
  inputs: [{ name: "mu" }, { name: "logvar" }],
  attrs: [],
  stochastic: true,
  infer(ctx) {
    const op = "reparameterize";
    const mu = input(ctx, 0);
    const lv = input(ctx, 1);
    requireFloat(op, mu, 0);
    requireFloat(op, lv, 1);
    const dtype = sameDType(op, [mu, lv]);
    const shape = broadcastPair(op, mu, lv, 1);
    return { outputs: [shape === mu.shape ? mu : { dtype, shape }] };
  },
  cost(ctx) {
    return cost(0, numel(ctx.outputs[0]!.shape).scale(5));
  },
  lower(ctx) {
    const b = ctx.b;
    const std = b.exp(b.scale(need(ctx, 1), 0.5));
    return [b.plus(need(ctx, 0), b.times(std, b.random("normal", outShape(ctx))))];
  },
  onnx(ctx) {
    const std = ctx.op("Exp", [ctx.op("Mul", [value(ctx, 1), ctx.scalar(0.5)])]);
    return [ctx.op("Add", [value(ctx, 0), ctx.op("Mul", [std, samplesOnnx(ctx, "normal")])])];
  },
};

const gumbelSoftmax: OpDef = {
  name: "gumbel_softmax",
  category: "random",
  doc: "softmax((logits + Gumbel noise) / tau) along axis; hard: one-hot forward, soft gradient",
  inputs: [{ name: "logits" }],
  attrs: [
    { name: "tau", type: "float", default: 1.0 },
    { name: "hard", type: "bool", default: false },
    { name: "axis", type: "int", default: Dim.const(-1) },
  ],
  stochastic: true,
  infer(ctx) {
    const x = input(ctx, 0);
    requireFloat("gumbel_softmax", x, 0);
    if (x.shape.length === 0)
      throw new OpError("gumbel_softmax needs at least one axis to normalise over, got a scalar", { at: 0, code: "DLM3103" });
    axisAttr(ctx, "axis", x.shape.length);
    const tau = floatAttr(ctx, "tau");
    if (!(tau > 0)) throw new OpError(`'tau' must be positive, got ${tau}`, { at: "tau", hint: "the temperature divides the logits" });
    boolAttr(ctx, "hard");
    return { outputs: [x] };
  },
  cost(ctx) {
    return cost(0, numel(input(ctx, 0).shape).scale(9));
  },
  lower(ctx) {
    // softmax((logits - log(-log u)) / tau); hard: one_hot(argmax) - stop_gradient(y) + y
    const b = ctx.b;
    const x = need(ctx, 0);
    const axis = num(ctx, "axis");
    const u = b.binary("maximum", b.random("uniform", b.shape(x)), b.scalar(1e-20));
    const gumbel = b.neg(b.log(b.neg(b.log(u))));
    const y = softmax(b, b.scale(b.plus(x, gumbel), 1 / num(ctx, "tau")), axis);
    if (!flag(ctx, "hard")) return [y];
    const hard = moveAxis(ctx, b.oneHot(b.argmax(y, axis), b.shape(x).at(axis)!), -1, axis);
    return [b.plus(b.minus(hard, b.stopGradient(y)), y)];
  },
  // forward values: the soft sample, or its one-hot argmax
  onnx(ctx) {
    const x = value(ctx, 0);
    const axis = ctx.int("axis");
    const u = ctx.op("Max", [ctx.op("RandomUniformLike", [x], { dtype: DataType.FLOAT }), ctx.scalar(1e-20)]);
    const gumbel = ctx.op("Neg", [ctx.op("Log", [ctx.op("Neg", [ctx.op("Log", [u])])])]);
    const y = ctx.op("Softmax", [ctx.op("Div", [ctx.op("Add", [x, gumbel]), ctx.scalar(floatAttr(ctx, "tau"))])], { axis });
    if (!boolAttr(ctx, "hard")) return [y];
    const depth = ctx.size(input(ctx, 0).shape.at(axis)!);
    return [ctx.op("OneHot", [ctx.op("ArgMax", [y], { axis, keepdims: 0 }), depth, ctx.constant([0, 1], [2], "f32")], { axis })];
  },
};

// PyTorch (compiler/ops/torch-mapping.ts): torch's random functions (torch's generator, so
// the draws differ from dlm's; the distributions and the train-only switches are the same).
const trainOnly = (c: TorchContext, sample: string): string => `(${sample} if ${c.training} else ${arg(c, 0)})`;
const TORCH: TorchTable = {
  dropout: { forward: (c) => pyCall("F.dropout", [arg(c, 0), c.py(c.attrs.p)], { training: c.training }) },
  dropout2d: { forward: (c) => pyCall("F.dropout2d", [arg(c, 0), c.py(c.attrs.p)], { training: c.training }) },
  alpha_dropout: { forward: (c) => pyCall("F.alpha_dropout", [arg(c, 0), c.py(c.attrs.p)], { training: c.training }) },
  gaussian_noise: { forward: (c) => trainOnly(c, `${arg(c, 0)} + torch.randn_like(${arg(c, 0)}) * ${c.py(c.attrs.std)}`) },
  randn_like: { forward: (c) => pyCall("torch.randn_like", [arg(c, 0)]) },
  rand_like: { forward: (c) => pyCall("torch.rand_like", [arg(c, 0)]) },
  randn: { forward: (c) => pyCall("torch.randn", [c.py(c.attrs.shape)], { dtype: c.dtype(c.outputs[0]!.dtype), device: c.device }) },
  rand: { forward: (c) => pyCall("torch.rand", [c.py(c.attrs.shape)], { dtype: c.dtype(c.outputs[0]!.dtype), device: c.device }) },
  reparameterize: { forward: (c) => `${arg(c, 0)} + torch.exp(0.5 * ${arg(c, 1)}) * torch.randn_like(${arg(c, 0)})` },
  gumbel_softmax: {
    forward: (c) => pyCall("F.gumbel_softmax", [arg(c, 0)], { tau: c.py(c.attrs.tau), hard: c.py(c.attrs.hard), dim: c.py(c.attrs.axis) }),
  },
};

export const ops: OpDef[] = withTorch(
  [
    dropout,
    dropout2d,
    alphaDropout,
    gaussianNoise,
    randnLike,
    randLike,
    randomTensor("randn", "N(0, 1) samples of the given shape", "normal"),
    randomTensor("rand", "U[0, 1) samples of the given shape", "uniform"),
    reparameterize,
    gumbelSoftmax,
  ],
  TORCH,
);
