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
import { biasParam, optionalFloatAttr, rangeAttr, requireAtLeast, requireMinRank, weightParam } from "./builders.js";
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
  };
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
});

export const ops: OpDef[] = [batchnorm, layernorm, rmsnorm, instancenorm, groupnorm, localResponseNorm, l2Normalize];
