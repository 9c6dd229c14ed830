// Normalisation layers: batch, layer, RMS, instance, group and local-response
// normalisation, and L2 normalisation of vectors. All keep x's shape and dtype.
// Parameters follow PyTorch: scales `weight` (init ones) and shifts `bias` (init zeros),
// both excluded from weight decay; batch-norm running statistics are buffers.
//
// Cost (flops only, no matmul work), counted per element of x (N = numel(x)):
//   batchnorm                        4  (subtract mean, divide by std, scale, shift; the
//                                        per-channel statistics are amortised away)
//   layernorm, instancenorm, groupnorm 8 (mean: 1, centre: 1, square: 1, variance sum: 1,
//                                        divide by std: 1, scale: 1, shift: 1, + ~1 slack)
//   rmsnorm                          4  (square, sum, divide by rms, scale)
//   l2_normalize                     3  (square, sum, divide)
//   local_response_norm              size + 4  (sum of `size` squares across channels,
//                                        then k + alpha/size * s, pow beta, divide)

import { Dim, type Shape } from "../dim.js";
import { biasParam, optionalFloatAttr, prodRange, rangeAttr, requireAtLeast, requireMinRank, weightParam } from "./builders.js";
import {
  type AttrSpec,
  type CostContext,
  type InferContext,
  type OpDef,
  type ParamSpec,
  type TensorType,
  OpError,
  axisAttr,
  boolAttr,
  constIntAttr,
  cost,
  floatAttr,
  input,
  numel,
  requireFloat,
  requireRank,
  typeToString,
} from "./types.js";
import type { T } from "../prim/builder.js";
import { type Lower, flag, map1, need, num, optNum, padAxis, perChannel } from "./lowering.js";
import { float, type OnnxContext } from "../export/onnx/context.js";
import { perChannel as perChannelOnnx, reshapeTo, value } from "../export/onnx/helpers.js";
import type { LowerContext } from "./types.js";
import { arg, pyCall, rankOf, withTorch, type TorchContext, type TorchTable } from "./torch-mapping.js";

// ---------------------------------------------------------------------------
// Shared attributes and parameters

const EPS = (value: number): AttrSpec => ({
  name: "eps",
  type: "float",
  default: value,
  doc: "added to the variance for numerical stability",
});
const AFFINE = (value: boolean): AttrSpec => ({
  name: "affine",
  type: "bool",
  default: value,
  doc: "learn a per-feature scale `weight` and shift `bias`",
});
const TRACK = (value: boolean): AttrSpec => ({
  name: "track_running_stats",
  type: "bool",
  default: value,
  doc: "keep running mean/variance buffers for eval mode",
});

function epsAttr(ctx: InferContext): number {
  return rangeAttr(floatAttr(ctx, "eps"), "eps", 0, Infinity, false, "eps is a small positive constant such as 1e-5");
}

/** Scale (ones) and optional shift (zeros) of shape `shape`, both without weight decay. */
function affineParams(shape: Shape, withBias = true): ParamSpec[] {
  const weight: ParamSpec = {
    ...weightParam("weight", shape, "ones"),
    noDecay: true,
  };
  return withBias ? [weight, biasParam("bias", shape)] : [weight];
}

/** Running mean (zeros) and variance (ones) buffers of `[C]`. */
function runningStats(c: Dim): ParamSpec[] {
  return [
    { name: "running_mean", shape: [c], init: "zeros", buffer: true },
    { name: "running_var", shape: [c], init: "ones", buffer: true },
  ];
}

/** [B, C, *S] with the channel axis 1; returns C. */
function channelsFirst(op: string, x: TensorType, ranks: readonly number[], layout: string): Dim {
  if (ranks.length > 0) requireRank(op, x, ranks, 0, layout);
  else requireMinRank(op, x, 2, 0, layout);
  return x.shape[1]!;
}

/** The trailing `dims` axes of x (layernorm, rmsnorm). */
function trailingShape(op: string, ctx: InferContext, x: TensorType): Shape {
  const dims = requireAtLeast(constIntAttr(ctx, "dims"), 1, "dims");
  if (x.shape.length < dims)
    throw new OpError(`${op} normalises the last ${dims} dims, but x ${typeToString(x)} has rank ${x.shape.length}`, {
      at: 0,
      code: "DLM3103",
      hint: `lower 'dims' to at most ${x.shape.length}`,
    });
  return x.shape.slice(x.shape.length - dims);
}

// ---------------------------------------------------------------------------
// Lowering helpers: statistics over axes, normalisation, per-channel affine, running stats

interface Moments {
  readonly mean: T;
  /** biased (population) variance */
  readonly var: T;
}

/** Mean and biased variance over `axes`, kept as size-1 axes. */
function moments(ctx: LowerContext, x: T, axes: readonly number[]): Moments {
  const { b } = ctx;
  const mean = b.mean(x, axes, true);
  const d = b.minus(x, mean);
  return { mean, var: b.mean(b.times(d, d), axes, true) };
}

/** (x - mean) / sqrt(var + eps) */
function standardize(ctx: LowerContext, x: T, m: Moments, eps: number): T {
  const { b } = ctx;
  return b.times(b.minus(x, m.mean), b.unary("rsqrt", b.shift(m.var, eps)));
}

/** y · weight + bias, the optional parameters shaped by `shape` (per channel or trailing). */
function scaleShift(ctx: LowerContext, y: T, weight: T | undefined, bias: T | undefined, shape: (p: T) => T = (p) => p): T {
  const { b } = ctx;
  const scaled = weight === undefined ? y : b.times(y, shape(weight));
  return bias === undefined ? scaled : b.plus(scaled, shape(bias));
}

/** Channels-first statistics: per channel over `axes`, with the parameters laid out as affine?, running? */
function channelNorm(ctx: LowerContext, axes: (r: number) => number[], momentum: number | null): T {
  const { b } = ctx;
  const x = need(ctx, 0);
  const r = b.rank(x);
  const affine = flag(ctx, "affine");
  const track = flag(ctx, "track_running_stats");
  const at = affine ? 2 : 0;
  const chan = (p: T): T => perChannel(ctx, p, 1, r);
  let m: Moments;
  if (ctx.training || !track) {
    m = moments(ctx, x, axes(r));
    if (ctx.training && track) updateRunning(ctx, x, m, axes(r), at, momentum);
  } else m = { mean: chan(ctx.params[at]!), var: chan(ctx.params[at + 1]!) };
  const y = standardize(ctx, x, m, num(ctx, "eps"));
  return affine ? scaleShift(ctx, y, ctx.params[0], ctx.params[1], chan) : y;
}

/**
 * running ← (1 - momentum)·running + momentum·batch, with the unbiased variance (PyTorch);
 * statistics over a batch of instances (instance norm) are averaged over the batch.
 */
function updateRunning(ctx: LowerContext, x: T, m: Moments, axes: readonly number[], at: number, momentum: number | null): void {
  const { b } = ctx;
  if (momentum === null)
    throw new Error("batchnorm with momentum none (a cumulative average) needs a num_batches_tracked buffer, which dlm does not keep yet");
  const shape = b.shape(x);
  const n = axes.reduce((p, a) => p * shape[a]!, 1);
  const perChannelOf = (t: T): T => b.stopGradient(b.reshape(b.mean(t, axes.includes(0) ? [] : [0], true), [shape[1]!]));
  const update = (i: number, batch: T): void =>
    ctx.updateBuffer(i, b.plus(b.scale(ctx.params[i]!, 1 - momentum), b.scale(perChannelOf(batch), momentum)));
  update(at, m.mean);
  update(at + 1, b.scale(m.var, n / Math.max(n - 1, 1)));
}

/** The last `dims` axes of a rank-r tensor. */
function trailing(ctx: LowerContext, r: number): number[] {
  const d = num(ctx, "dims");
  return Array.from({ length: d }, (_, i) => r - d + i);
}

// ---------------------------------------------------------------------------
// The builder: every norm keeps x's shape; only the parameters and the cost differ.

interface NormSpec {
  readonly name: string;
  readonly doc: string;
  readonly attrs: readonly AttrSpec[];
  /** checks layout and attributes, returns the parameters */
  readonly params: (x: TensorType, ctx: InferContext) => ParamSpec[];
  /** flops per element of x */
  readonly flopsPerElement: (ctx: CostContext) => number;
  readonly modeDependent?: boolean;
  readonly lower: Lower;
  /** the ONNX export (inference: running statistics where tracked) */
  readonly onnx: (ctx: OnnxContext) => readonly string[];
}

function normOp(spec: NormSpec): OpDef {
  return {
    name: spec.name,
    category: "norm",
    doc: spec.doc,
    inputs: [{ name: "x" }],
    attrs: spec.attrs,
    infer(ctx) {
      const x = input(ctx, 0);
      requireFloat(spec.name, x, 0);
      const params = spec.params(x, ctx);
      return { outputs: [x], params };
    },
    cost(ctx) {
      return cost(0, numel(input(ctx, 0).shape).scale(spec.flopsPerElement(ctx)));
    },
    ...(spec.modeDependent ? { modeDependent: true } : {}),
    lower: spec.lower,
    onnx: spec.onnx,
  };
}

// ---------------------------------------------------------------------------
// ONNX helpers

/** (x - mean) / sqrt(var + eps) over `axes` (biased variance), as `standardize` does. */
function standardizeOnnx(ctx: OnnxContext, x: string, axes: readonly number[], eps: number): string {
  const mean = ctx.op("ReduceMean", [x, ctx.ints(axes)], { keepdims: 1 });
  const d = ctx.op("Sub", [x, mean]);
  const variance = ctx.op("ReduceMean", [ctx.op("Mul", [d, d]), ctx.ints(axes)], { keepdims: 1 });
  return ctx.op("Mul", [d, ctx.op("Reciprocal", [ctx.op("Sqrt", [ctx.op("Add", [variance, ctx.scalar(eps)])])])]);
}

/** y · weight + bias with the optional parameters reshaped by `shape`. */
function scaleShiftOnnx(ctx: OnnxContext, y: string, weight?: string, bias?: string, shape: (p: string) => string = (p) => p): string {
  const scaled = weight === undefined ? y : ctx.op("Mul", [y, shape(weight)]);
  return bias === undefined ? scaled : ctx.op("Add", [scaled, shape(bias)]);
}

/**
 * batch / instance norm in inference: running statistics (BatchNormalization) when tracked,
 * else the statistics of x over `axes`; parameters laid out as affine?, running?.
 */
function channelNormOnnx(ctx: OnnxContext, axes: (r: number) => number[]): string {
  const x = value(ctx, 0);
  const t = input(ctx, 0);
  const r = t.shape.length;
  const affine = boolAttr(ctx, "affine");
  const eps = floatAttr(ctx, "eps");
  const c = ctx.known(t.shape[1]!, "the channel count");
  if (boolAttr(ctx, "track_running_stats")) {
    const at = affine ? 2 : 0;
    const [scale, shift] = affine
      ? [ctx.params[0]!, ctx.params[1]!]
      : [ctx.constant(new Float32Array(c).fill(1), [c], "f32"), ctx.constant(new Float32Array(c), [c], "f32")];
    return ctx.op("BatchNormalization", [x, scale, shift, ctx.params[at]!, ctx.params[at + 1]!], { epsilon: float(eps) });
  }
  const y = standardizeOnnx(ctx, x, axes(r), eps);
  return affine ? scaleShiftOnnx(ctx, y, ctx.params[0], ctx.params[1], (p) => perChannelOnnx(ctx, p, c, 1, r)) : y;
}

const batchnorm = normOp({
  name: "batchnorm",
  doc: "batch normalisation over the channel axis 1 of x [B, C, *S] (rank 2..5), running stats for eval",
  attrs: [
    EPS(1e-5),
    {
      name: "momentum",
      type: "float",
      default: 0.1,
      doc: "running-stat update rate (none: cumulative average)",
    },
    AFFINE(true),
    TRACK(true),
  ],
  params(x, ctx) {
    const c = channelsFirst("batchnorm", x, [2, 3, 4, 5], "input [B, C] or [B, C, *S]");
    epsAttr(ctx);
    const m = optionalFloatAttr(ctx, "momentum");
    if (m !== null) rangeAttr(m, "momentum", 0, 1, true);
    return [...(boolAttr(ctx, "affine") ? affineParams([c]) : []), ...(boolAttr(ctx, "track_running_stats") ? runningStats(c) : [])];
  },
  flopsPerElement: () => 4,
  modeDependent: true,
  // statistics over every axis but the channel axis 1
  lower: (ctx) => [channelNorm(ctx, (r) => [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2)], optNum(ctx, "momentum"))],
  onnx: (ctx) => [channelNormOnnx(ctx, (r) => [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2)])],
});

const layernorm = normOp({
  name: "layernorm",
  doc: "layer normalisation over the last `dims` dims of x; weight/bias of that trailing shape",
  attrs: [
    {
      name: "dims",
      type: "int",
      default: Dim.const(1),
      doc: "number of trailing dims normalised",
    },
    EPS(1e-5),
    AFFINE(true),
    {
      name: "bias",
      type: "bool",
      default: true,
      doc: "learn the shift `bias` (with affine)",
    },
  ],
  params(x, ctx) {
    const shape = trailingShape("layernorm", ctx, x);
    epsAttr(ctx);
    return boolAttr(ctx, "affine") ? affineParams(shape, boolAttr(ctx, "bias")) : [];
  },
  flopsPerElement: () => 8,
  lower: map1((x, ctx) => {
    const y = standardize(ctx, x, moments(ctx, x, trailing(ctx, ctx.b.rank(x))), num(ctx, "eps"));
    return scaleShift(ctx, y, ctx.params[0], ctx.params[1]);
  }),
  // LayerNormalization needs a scale: ones when not affine
  onnx(ctx) {
    const dims = ctx.int("dims");
    const trailingShape = input(ctx, 0)
      .shape.slice(-dims)
      .map((d) => ctx.known(d, "a normalised size"));
    const ones = (): string => ctx.constant(new Float32Array(trailingShape.reduce((a, b) => a * b, 1)).fill(1), trailingShape, "f32");
    const scale = ctx.params[0] ?? ones();
    return [ctx.op("LayerNormalization", [value(ctx, 0), scale, ctx.params[1]], { axis: -dims, epsilon: float(floatAttr(ctx, "eps")) })];
  },
});

const rmsnorm = normOp({
  name: "rmsnorm",
  doc: "RMS normalisation x / sqrt(mean(x^2) + eps) over the last `dims` dims; scale weight only",
  attrs: [
    {
      name: "dims",
      type: "int",
      default: Dim.const(1),
      doc: "number of trailing dims normalised",
    },
    EPS(1e-6),
    AFFINE(true),
  ],
  params(x, ctx) {
    const shape = trailingShape("rmsnorm", ctx, x);
    epsAttr(ctx);
    return boolAttr(ctx, "affine") ? affineParams(shape, false) : [];
  },
  flopsPerElement: () => 4,
  // x / sqrt(mean(x²) + eps) · weight
  lower: map1((x, ctx) => {
    const { b } = ctx;
    const ms = b.mean(b.times(x, x), trailing(ctx, b.rank(x)), true);
    return scaleShift(ctx, b.times(x, b.unary("rsqrt", b.shift(ms, num(ctx, "eps")))), ctx.params[0], undefined);
  }),
  onnx(ctx) {
    const x = value(ctx, 0);
    const r = input(ctx, 0).shape.length;
    const d = ctx.int("dims");
    const ms = ctx.op("ReduceMean", [ctx.op("Mul", [x, x]), ctx.ints(Array.from({ length: d }, (_, i) => r - d + i))], { keepdims: 1 });
    const inv = ctx.op("Reciprocal", [ctx.op("Sqrt", [ctx.op("Add", [ms, ctx.scalar(floatAttr(ctx, "eps"))])])]);
    return [scaleShiftOnnx(ctx, ctx.op("Mul", [x, inv]), ctx.params[0])];
  },
});

const instancenorm = normOp({
  name: "instancenorm",
  doc: "instance normalisation: each channel of each sample of x [B, C, *S] over its spatial dims",
  attrs: [EPS(1e-5), AFFINE(false), TRACK(false)],
  params(x, ctx) {
    const c = channelsFirst("instancenorm", x, [3, 4, 5], "input [B, C, *S]");
    epsAttr(ctx);
    return [...(boolAttr(ctx, "affine") ? affineParams([c]) : []), ...(boolAttr(ctx, "track_running_stats") ? runningStats(c) : [])];
  },
  flopsPerElement: () => 8,
  // with track_running_stats eval mode uses the running statistics
  modeDependent: true,
  // per sample and channel over the spatial axes; torch's fixed momentum 0.1 for the running stats
  lower: (ctx) => [channelNorm(ctx, (r) => Array.from({ length: r - 2 }, (_, i) => i + 2), 0.1)],
  onnx: (ctx) => [channelNormOnnx(ctx, (r) => Array.from({ length: r - 2 }, (_, i) => i + 2))],
});

/** Divisors of n closest to g from below and above (for the groupnorm hint). */
function nearestDivisors(n: number, g: number): number[] {
  const out: number[] = [];
  for (let d = Math.min(g, n); d >= 1; d--)
    if (n % d === 0) {
      out.push(d);
      break;
    }
  for (let d = g + 1; d <= n; d++)
    if (n % d === 0) {
      out.push(d);
      break;
    }
  return out;
}

const groupnorm = normOp({
  name: "groupnorm",
  doc: "group normalisation: the C channels of x [B, C, *S] in `groups` groups (C divisible by groups)",
  attrs: [{ name: "groups", type: "int", doc: "number of channel groups" }, EPS(1e-5), AFFINE(true)],
  params(x, ctx) {
    const c = channelsFirst("groupnorm", x, [], "input [B, C, *S]");
    const g = requireAtLeast(constIntAttr(ctx, "groups"), 1, "groups");
    const rem = c.mod(g).constant;
    if (rem !== undefined && rem !== 0) {
      const cc = c.constant;
      const near = cc !== undefined ? nearestDivisors(cc, g) : [];
      throw new OpError(`the ${c} channels of x ${typeToString(x)} cannot be split into ${g} equal groups`, {
        at: "groups",
        hint:
          near.length > 0
            ? `choose groups dividing ${cc}, e.g. ${near.join(" or ")}`
            : "choose a number of groups that divides the channel count",
      });
    }
    epsAttr(ctx);
    return boolAttr(ctx, "affine") ? affineParams([c]) : [];
  },
  flopsPerElement: () => 8,
  // x as [B, groups, rest]: statistics over each group's channels and positions
  lower: map1((x, ctx) => {
    const { b } = ctx;
    const s = b.shape(x);
    const g = b.reshape(x, [s[0]!, num(ctx, "groups"), -1]);
    const y = b.reshape(standardize(ctx, g, moments(ctx, g, [2]), num(ctx, "eps")), s);
    return scaleShift(ctx, y, ctx.params[0], ctx.params[1], (p) => perChannel(ctx, p, 1, s.length));
  }),
  onnx(ctx) {
    const t = input(ctx, 0);
    const grouped = reshapeTo(ctx, value(ctx, 0), [t.shape[0]!, Dim.const(ctx.int("groups")), Dim.const(-1)]);
    const y = reshapeTo(ctx, standardizeOnnx(ctx, grouped, [2], floatAttr(ctx, "eps")), t.shape);
    const c = ctx.known(t.shape[1]!, "the channel count");
    return [scaleShiftOnnx(ctx, y, ctx.params[0], ctx.params[1], (p) => perChannelOnnx(ctx, p, c, 1, t.shape.length))];
  },
});

const localResponseNorm = normOp({
  name: "local_response_norm",
  doc: "local response normalisation across `size` neighbouring channels of x [B, C, *S] (AlexNet)",
  attrs: [
    {
      name: "size",
      type: "int",
      doc: "number of neighbouring channels summed",
    },
    { name: "alpha", type: "float", default: 1e-4 },
    { name: "beta", type: "float", default: 0.75 },
    { name: "k", type: "float", default: 1.0 },
  ],
  params(x, ctx) {
    requireMinRank("local_response_norm", x, 3, 0, "input [B, C, *S]");
    requireAtLeast(constIntAttr(ctx, "size"), 1, "size");
    floatAttr(ctx, "alpha");
    floatAttr(ctx, "beta");
    floatAttr(ctx, "k");
    return [];
  },
  flopsPerElement: (ctx) => constIntAttr(ctx, "size") + 4,
  // torch: x / (k + alpha · avg of x² over `size` channels, zero-padded size//2 before and (size-1)//2 after)^beta
  lower: map1((x, ctx) => {
    const { b } = ctx;
    const size = num(ctx, "size");
    const c = b.shape(x)[1]!;
    const sq = padAxis(ctx, b.times(x, x), 1, Math.floor(size / 2), Math.floor((size - 1) / 2), "constant");
    let acc = b.sliceAxis(sq, 1, 0, c);
    for (let i = 1; i < size; i++) acc = b.plus(acc, b.sliceAxis(sq, 1, i, i + c));
    const div = b.binary("pow", b.shift(b.scale(acc, num(ctx, "alpha") / size), num(ctx, "k")), b.scalar(num(ctx, "beta")));
    return b.over(x, div);
  }),
  // ONNX's LRN sums (size - 1) / 2 channels on each side: torch's window only for odd sizes
  onnx(ctx) {
    const size = ctx.int("size");
    if (size % 2 === 0) ctx.unsupported(`an even window (size ${size}) sits differently in ONNX's LRN than in torch`);
    // onnxruntime's LRN takes [B, C, H, W] only: other ranks run with their spatial axes as one
    const s = input(ctx, 0).shape;
    const asImage = s.length === 4 ? value(ctx, 0) : reshapeTo(ctx, value(ctx, 0), [s[0]!, s[1]!, prodRange(s, 2), Dim.const(1)]);
    const y = ctx.op("LRN", [asImage], {
      size,
      alpha: float(floatAttr(ctx, "alpha")),
      beta: float(floatAttr(ctx, "beta")),
      bias: float(floatAttr(ctx, "k")),
    });
    return [s.length === 4 ? y : reshapeTo(ctx, y, s)];
  },
});

const l2Normalize = normOp({
  name: "l2_normalize",
  doc: "divides x by its L2 norm along `axis` (max(norm, eps)); same shape",
  attrs: [
    { name: "axis", type: "int", default: Dim.const(-1) },
    {
      name: "eps",
      type: "float",
      default: 1e-12,
      doc: "lower bound of the norm",
    },
  ],
  params(x, ctx) {
    requireMinRank("l2_normalize", x, 1, 0, "a tensor");
    axisAttr(ctx, "axis", x.shape.length);
    epsAttr(ctx);
    return [];
  },
  flopsPerElement: () => 3,
  // F.normalize: x / max(||x||₂, eps)
  lower: map1((x, ctx) => {
    const { b } = ctx;
    const norm = b.sqrt(b.sum(b.times(x, x), [num(ctx, "axis")], true));
    return b.over(x, b.binary("maximum", norm, b.scalar(num(ctx, "eps"))));
  }),
  onnx(ctx) {
    const x = value(ctx, 0);
    const norm = ctx.op("Sqrt", [ctx.op("ReduceSum", [ctx.op("Mul", [x, x]), ctx.ints([ctx.int("axis")])], { keepdims: 1 })]);
    return [ctx.op("Div", [x, ctx.op("Max", [norm, ctx.scalar(floatAttr(ctx, "eps"))])])];
  },
});

// PyTorch (compiler/ops/torch-mapping.ts): nn.BatchNormNd / nn.LayerNorm / nn.GroupNorm when
// the layer owns its parameters (batch norm without torch's num_batches_tracked, which dlm does
// not keep), the functional forms otherwise; RMS norm written out (nn.RMSNorm needs torch 2.4).
/** the trailing dims layer norm and RMS norm normalise, as a tuple of sizes */
const trailingSizes = (c: TorchContext): string => c.py(c.inputTypes[0]!.shape.slice(-c.int("dims")));
/** the affine parameters and running statistics in the op's order */
const normParams = (c: TorchContext): { weight: string; bias: string; mean: string; var: string } => {
  const affine = c.attrs.affine === true;
  const track = c.attrs.track_running_stats === true;
  const at = affine ? 2 : 0;
  return {
    weight: affine ? c.params[0]! : "None",
    bias: affine ? c.params[1]! : "None",
    mean: track ? c.params[at]! : "None",
    var: track ? c.params[at + 1]! : "None",
  };
};
const TORCH: TorchTable = {
  batchnorm: {
    layer: (c) => {
      const r = rankOf(c, 0);
      const norm = pyCall(`nn.BatchNorm${r <= 3 ? 1 : r - 2}d`, [c.py(c.inputTypes[0]!.shape[1])], {
        eps: c.py(c.attrs.eps),
        momentum: c.py(c.attrs.momentum),
        affine: c.py(c.attrs.affine),
        track_running_stats: c.py(c.attrs.track_running_stats),
      });
      return c.attrs.track_running_stats === true ? pyCall(c.helper("no_batch_counter"), [norm]) : norm;
    },
    forward: (c) => {
      if (c.layer) return `${c.layer}(${arg(c, 0)})`;
      const p = normParams(c);
      const training = c.attrs.track_running_stats === true ? c.training : "True";
      return pyCall("F.batch_norm", [arg(c, 0), p.mean, p.var, p.weight, p.bias, training, c.py(c.attrs.momentum), c.py(c.attrs.eps)]);
    },
  },
  layernorm: {
    layer: (c) => (c.paramShapes.length === 2 ? pyCall("nn.LayerNorm", [trailingSizes(c)], { eps: c.py(c.attrs.eps) }) : undefined),
    forward: (c) =>
      c.layer
        ? `${c.layer}(${arg(c, 0)})`
        : pyCall("F.layer_norm", [arg(c, 0), trailingSizes(c), c.params[0] ?? "None", c.params[1] ?? "None", c.py(c.attrs.eps)]),
  },
  rmsnorm: {
    forward: (c) => {
      const dims = c.py(Array.from({ length: c.int("dims") }, (_, i) => Dim.const(i - c.int("dims"))));
      const y = `${arg(c, 0)} * torch.rsqrt(${arg(c, 0)}.pow(2).mean(dim=${dims}, keepdim=True) + ${c.py(c.attrs.eps)})`;
      return c.params.length > 0 ? `${y} * ${c.params[0]}` : y;
    },
  },
  instancenorm: {
    forward: (c) => {
      const p = normParams(c);
      const stats = c.attrs.track_running_stats === true ? c.training : "True";
      return pyCall("F.instance_norm", [arg(c, 0), p.mean, p.var, p.weight, p.bias, stats, "0.1", c.py(c.attrs.eps)]);
    },
  },
  groupnorm: {
    layer: (c) => pyCall("nn.GroupNorm", [c.py(c.attrs.groups), String(c.paramShapes[0]![0])], { eps: c.py(c.attrs.eps) }),
    forward: (c) =>
      c.layer
        ? `${c.layer}(${arg(c, 0)})`
        : pyCall("F.group_norm", [arg(c, 0), c.py(c.attrs.groups), c.params[0] ?? "None", c.params[1] ?? "None", c.py(c.attrs.eps)]),
  },
  local_response_norm: {
    forward: (c) =>
      pyCall("F.local_response_norm", [arg(c, 0), c.py(c.attrs.size)], {
        alpha: c.py(c.attrs.alpha),
        beta: c.py(c.attrs.beta),
        k: c.py(c.attrs.k),
      }),
  },
  l2_normalize: { forward: (c) => pyCall("F.normalize", [arg(c, 0)], { p: "2.0", dim: c.py(c.attrs.axis), eps: c.py(c.attrs.eps) }) },
};

export const ops: OpDef[] = withTorch([batchnorm, layernorm, rmsnorm, instancenorm, groupnorm, localResponseNorm, l2Normalize], TORCH);
