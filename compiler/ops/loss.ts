// Losses (and cosine similarity). Every loss is built by `reductionLoss`: a rule for the
// per-element loss (its shape and dtype, with all input checks) plus the shared `reduction`
// handling — "mean" (default) and "sum" give an f32 scalar [], "none" the per-element loss.
// Class axes are LAST: logits [..., C] with integer targets [...].
//
// Cost: no matmul work; `flops` per element of the per-element loss (or per input feature
// where a loss reduces a feature axis), plus 1 per loss element to accumulate a mean/sum:
//   mse 2 (sub, square)  l1 2 (sub, abs)  smooth_l1/huber 4  bce 6  bce_with_logits 7
//   kl_div 3  hinge 3  gaussian_nll 6
//   cross_entropy: log-softmax 5 per logit + 1 per row to pick the target (+2 per logit for
//     probability targets or label smoothing); nll_loss 1 per row
//   kl_normal 6 per feature; triplet 6 per feature + 5 per row; contrastive 3 per feature +
//   6 per row; cosine_embedding 6 per feature + 4 per row; cosine_similarity 6 per element +
//   3 per output.

import { Dim, type Shape, shapeToString } from "../dim.js";
import {
  broadcastPair,
  dropLast,
  enumAttr,
  equalsWithoutLast,
  lastDim,
  optionalFloatsAttr,
  rangeAttr,
  requireBroadcastsTo,
  requireMinRank,
  sameDim,
} from "./builders.js";
import type { T } from "../prim/builder.js";
import { clampMinValue, flag, logSoftmax, need, num, optNums, reduceLoss, softplus, str } from "./lowering.js";
import { arg, pyCall, withTorch, type TorchContext, type TorchMapping, type TorchTable } from "./torch-mapping.js";
import {
  type AttrSpec,
  type AttrValue,
  type CostContext,
  type InferContext,
  type InputSpec,
  type OpDef,
  type LowerContext,
  type TensorType,
  OpError,
  axisAttr,
  boolAttr,
  cost,
  floatAttr,
  input,
  intAttr,
  isFloat,
  isInteger,
  normAxis,
  numel,
  requireFloat,
  sameDType,
  typeToString,
} from "./types.js";

const SCALAR_F32: TensorType = Object.freeze({ dtype: "f32", shape: Object.freeze([]) as Shape });
const MEAN_SUM_NONE = ["mean", "sum", "none"] as const;

interface LossSpec {
  readonly name: string;
  readonly doc: string;
  readonly inputs: readonly InputSpec[];
  /** attributes before `reduction` */
  readonly attrs?: readonly AttrSpec[];
  readonly reductions?: readonly string[];
  readonly defaultReduction?: string;
  /** checks inputs and attributes; the per-element loss before reduction */
  elements(ctx: InferContext): TensorType;
  /** flops of the per-element loss; `elems` is the number of loss elements */
  flops(ctx: CostContext, elems: Dim): Dim;
  /** the per-element loss in primitives (shaped as `elements` says) */
  lower(ctx: LowerContext): LossElements;
}

interface LossElements {
  readonly el: T;
  /** the divisor of a "mean" (class-weighted losses); default: the number of elements */
  readonly total?: T;
}

/** The shared reduction of a lowered loss: mean (by `total` where given), sum, none, batchmean. */
function lowerReduction(ctx: LowerContext, { el, total }: LossElements): T {
  const b = ctx.b;
  const r = str(ctx, "reduction");
  if (r === "mean" && total !== undefined) return b.over(b.sum(el), total);
  // kl_div's batchmean: the sum over the first axis' size (PyTorch's input.size(0))
  if (r === "batchmean") return b.scale(b.sum(el), 1 / (b.shape(el)[0] ?? 1));
  return reduceLoss(b, el, r);
}

/** The one builder behind every loss: per-element rule + shared reduction handling. */
function reductionLoss(spec: LossSpec): OpDef {
  const reductions = spec.reductions ?? MEAN_SUM_NONE;
  const def = spec.defaultReduction ?? "mean";
  return {
    name: spec.name,
    category: "loss",
    doc: spec.doc,
    inputs: spec.inputs,
    attrs: [...(spec.attrs ?? []), { name: "reduction", type: "string", default: def, doc: reductions.map((r) => `"${r}"`).join(" | ") }],
    infer(ctx) {
      const el = spec.elements(ctx);
      return { outputs: [enumAttr(ctx, "reduction", reductions) === "none" ? el : SCALAR_F32] };
    },
    cost(ctx) {
      const elems = numel(spec.elements(ctx).shape);
      const f = spec.flops(ctx, elems);
      return cost(0, ctx.attrs.reduction === "none" ? f : f.add(elems));
    },
    lower: (ctx) => [lowerReduction(ctx, spec.lower(ctx))],
  };
}

// ---------------------------------------------------------------------------
// Input rules shared by several losses

/** Two float tensors of one dtype, broadcast together (prediction, target). */
function floatPair(op: string, ctx: InferContext, ia: number, ib: number): TensorType {
  const a = input(ctx, ia);
  const b = input(ctx, ib);
  requireFloat(op, a, ia);
  requireFloat(op, b, ib);
  sameDType(op, [a, b]);
  return { dtype: a.dtype, shape: broadcastPair(op, a, b, ib) };
}

/** Feature tensors [..., D] broadcast together; the loss has one element per row [...]. */
function featureRows(op: string, ctx: InferContext, count: number): TensorType {
  let t = input(ctx, 0);
  requireFloat(op, t, 0);
  for (let i = 1; i < count; i++) {
    const u = input(ctx, i);
    requireFloat(op, u, i);
    sameDType(op, [t, u]);
    t = { dtype: t.dtype, shape: broadcastPair(op, t, u, i) };
  }
  requireMinRank(op, t, 1, 0, "features [..., D]");
  return { dtype: t.dtype, shape: dropLast(t.shape) };
}

/** numel of the broadcast feature inputs (recomputed from the rows and the last axis). */
function featureNumel(ctx: CostContext, rows: Dim): Dim {
  return rows.mul(lastDim(input(ctx, 0).shape));
}

/** A label tensor (±1 or 0/1, any numeric dtype) that broadcasts onto the loss elements. */
function labels(op: string, ctx: InferContext, at: number, elems: Shape): void {
  const y = input(ctx, at);
  requireBroadcastsTo(op, "labels", y, elems, at, "the per-example losses");
}

const CLASS_AXIS_HINT =
  "the class axis is last: logits [..., C] pair with integer targets [...] (PyTorch puts classes at axis 1; move them last with permute)";

/** logits/log-probabilities [..., C] with class ids [...] (or, if allowed, probabilities [..., C]). */
function classTarget(op: string, ctx: InferContext, allowProbabilities: boolean): { logits: TensorType; soft: boolean } {
  const logits = input(ctx, 0);
  requireMinRank(op, logits, 1, 0, "logits [..., C]");
  requireFloat(op, logits, 0);
  const target = input(ctx, 1);
  let soft = false;
  if (isInteger(target.dtype)) {
    if (!equalsWithoutLast(target.shape, logits.shape)) {
      const oneHot = target.shape.length === logits.shape.length && target.shape.every((d, i) => sameDim(d, logits.shape[i]!));
      throw new OpError(
        `target ${typeToString(target)} does not match logits ${typeToString(logits)}: class ids need the logits' shape without the class axis, ${shapeToString(dropLast(logits.shape))}`,
        {
          at: 1,
          hint: oneHot
            ? "the target looks one-hot: pass class ids (argmax(target)) or, for cross_entropy, cast it to f32 probabilities"
            : CLASS_AXIS_HINT,
        },
      );
    }
  } else if (allowProbabilities && isFloat(target.dtype)) {
    let ok = target.shape.length === logits.shape.length;
    for (let i = 0; ok && i < target.shape.length; i++) ok = sameDim(target.shape[i]!, logits.shape[i]!);
    if (!ok)
      throw new OpError(`probability targets ${typeToString(target)} must have the logits' shape ${typeToString(logits)}`, {
        at: 1,
        hint: "float targets are class probabilities [..., C]; integer targets are class ids [...]",
      });
    soft = true;
  } else {
    throw new OpError(
      `${op} needs ${allowProbabilities ? "integer class ids or float class probabilities" : "integer class ids"} as target, got ${typeToString(target)}`,
      { at: 1, code: "DLM3102", hint: "class ids must be an integer tensor (i32/i64)" },
    );
  }
  const weight = optionalFloatsAttr(ctx, "weight");
  const c = lastDim(logits.shape).constant;
  if (weight && c !== undefined && weight.length !== c)
    throw new OpError(`'weight' has ${weight.length} entries but logits ${typeToString(logits)} have ${c} classes`, {
      at: "weight",
      hint: "give one weight per class",
    });
  intAttr(ctx, "ignore_index");
  return { logits, soft };
}

/**
 * Cross-entropy of log-probabilities logp [..., C] against class ids or probabilities, as
 * PyTorch computes it: per row -Σ_c q_c·logp_c with q the (smoothed, class-weighted) target
 * distribution, zero for ignored rows; a mean over class ids divides by the total weight
 * of the counted targets, a mean over probabilities by the number of rows.
 */
function lowerClassLoss(ctx: LowerContext, logp: T, smoothing: number): LossElements {
  const b = ctx.b;
  const target = need(ctx, 1);
  const classes = b.shape(logp).at(-1)!;
  const w = optNums(ctx, "weight");
  const weight = w ? b.tensor(w, [classes]) : undefined;
  const smooth = (t: T): T => (smoothing > 0 ? b.shift(b.scale(t, 1 - smoothing), smoothing / classes) : t);
  const weigh = (t: T): T => (weight === undefined ? t : b.times(t, weight));
  const loss = (q: T): T => b.neg(b.sum(b.times(q, logp), [-1]));
  if (b.dtype(target) === "f32") return { el: loss(weigh(smooth(target))) };
  // a class id outside [0, C) has no one-hot row: leave it out of the mean's denominator too
  // (the trainer rejects such labels before they get here; this keeps the graph honest)
  const inRange = b.binary("and", b.binary("ge", target, b.scalar(0, "i32")), b.binary("lt", target, b.scalar(classes, "i32")));
  const counted = b.cast(b.binary("and", b.binary("ne", target, b.scalar(num(ctx, "ignore_index"), "i32")), inRange), "f32");
  const hot = b.oneHot(target, classes);
  const q = b.times(weigh(smooth(hot)), b.reshape(counted, [...b.shape(counted), 1]));
  const targetWeight = weight === undefined ? counted : b.times(b.sum(b.times(hot, weight), [-1]), counted);
  return { el: loss(q), total: b.sum(targetWeight) };
}

/** Σ over the last axis. */
function rowSum(ctx: LowerContext, x: T): T {
  return ctx.b.sum(x, [-1]);
}

/** PyTorch's pairwise_distance: ||x - y + eps||₂ over the last axis (eps 1e-6). */
function pairwiseDistance(ctx: LowerContext, x: T, y: T): T {
  const b = ctx.b;
  return b.sqrt(rowSum(ctx, b.unary("square", b.shift(b.minus(x, y), 1e-6))));
}

/** Quadratic below k, linear above: where(|d| < k, d²/2, k·(|d| - k/2)) (Huber; smooth L1 is this / beta). */
function quadraticLinear(ctx: LowerContext, d: T, k: number): T {
  const b = ctx.b;
  const a = b.unary("abs", d);
  return b.where(b.binary("lt", a, b.scalar(k)), b.scale(b.unary("square", d), 0.5), b.scale(b.shift(a, -k / 2), k));
}

/** A label tensor as f32 (labels may be integers). */
function asFloat(ctx: LowerContext, i: number): T {
  return ctx.b.cast(need(ctx, i), "f32");
}

const CLASS_WEIGHT: AttrSpec = { name: "weight", type: "floats", default: null, doc: "per-class weights (C numbers)" };
const IGNORE_INDEX: AttrSpec = { name: "ignore_index", type: "int", default: Dim.const(-100) };

// ---------------------------------------------------------------------------
// Classification

const crossEntropy = reductionLoss({
  name: "cross_entropy",
  doc: "softmax cross-entropy: logits [..., C] with class ids [...] or probabilities [..., C]",
  inputs: [{ name: "logits" }, { name: "target" }],
  attrs: [CLASS_WEIGHT, { name: "label_smoothing", type: "float", default: 0.0 }, IGNORE_INDEX],
  elements(ctx) {
    const { logits } = classTarget("cross_entropy", ctx, true);
    rangeAttr(floatAttr(ctx, "label_smoothing"), "label_smoothing", 0, 1, true);
    return { dtype: logits.dtype, shape: dropLast(logits.shape) };
  },
  flops(ctx, rows) {
    const logits = numel(input(ctx, 0).shape);
    const extra = isFloat(input(ctx, 1).dtype) || (ctx.attrs.label_smoothing as number) > 0 ? 7 : 5;
    return logits.scale(extra).add(rows);
  },
  lower: (ctx) => lowerClassLoss(ctx, logSoftmax(ctx.b, need(ctx, 0), -1), num(ctx, "label_smoothing")),
});

const nllLoss = reductionLoss({
  name: "nll_loss",
  doc: "negative log-likelihood: log-probabilities [..., C] with class ids [...]",
  inputs: [{ name: "logp" }, { name: "target", integer: true }],
  attrs: [CLASS_WEIGHT, IGNORE_INDEX],
  elements(ctx) {
    const { logits } = classTarget("nll_loss", ctx, false);
    return { dtype: logits.dtype, shape: dropLast(logits.shape) };
  },
  flops: (_ctx, rows) => rows,
  lower: (ctx) => lowerClassLoss(ctx, need(ctx, 0), 0),
});

// ---------------------------------------------------------------------------
// Elementwise losses on (prediction, target) pairs

function pairLoss(
  name: string,
  doc: string,
  perElem: number,
  /** the per-element loss of prediction `x` and target `y` */
  lowerPair: (ctx: LowerContext, x: T, y: T) => T,
  attrs: readonly AttrSpec[] = [],
  check?: (ctx: InferContext, el: TensorType) => void,
): OpDef {
  return reductionLoss({
    name,
    doc,
    inputs: [{ name: "input" }, { name: "target" }],
    attrs,
    elements(ctx) {
      const el = floatPair(name, ctx, 0, 1);
      check?.(ctx, el);
      return el;
    },
    flops: (_ctx, elems) => elems.scale(perElem),
    lower: (ctx) => ({ el: lowerPair(ctx, need(ctx, 0), need(ctx, 1)) }),
  });
}

function nonNegative(name: string) {
  return (ctx: InferContext): void => {
    const v = floatAttr(ctx, name);
    if (!(v >= 0)) throw new OpError(`'${name}' must be non-negative, got ${v}`, { at: name });
  };
}

const mse = pairLoss("mse_loss", "mean squared error (a - b)²", 2, (ctx, x, y) => ctx.b.unary("square", ctx.b.minus(x, y)));
const l1 = pairLoss("l1_loss", "mean absolute error |a - b|", 2, (ctx, x, y) => ctx.b.unary("abs", ctx.b.minus(x, y)));
const smoothL1 = pairLoss(
  "smooth_l1_loss",
  "smooth L1: quadratic below beta, linear above",
  4,
  (ctx, x, y) => {
    const beta = num(ctx, "beta");
    const d = ctx.b.minus(x, y);
    return beta === 0 ? ctx.b.unary("abs", d) : ctx.b.scale(quadraticLinear(ctx, d, beta), 1 / beta);
  },
  [{ name: "beta", type: "float", default: 1.0 }],
  nonNegative("beta"),
);
const huber = pairLoss(
  "huber_loss",
  "Huber loss: quadratic below delta, linear above",
  4,
  (ctx, x, y) => quadraticLinear(ctx, ctx.b.minus(x, y), num(ctx, "delta")),
  [{ name: "delta", type: "float", default: 1.0 }],
  (ctx) => {
    const d = floatAttr(ctx, "delta");
    if (!(d > 0)) throw new OpError(`'delta' must be positive, got ${d}`, { at: "delta" });
  },
);
const bce = pairLoss("bce_loss", "binary cross-entropy of probabilities p in [0, 1] against targets y", 6, (ctx, p, y) => {
  // -(y·log p + (1 - y)·log(1 - p)), each log clamped at -100 as PyTorch does
  const b = ctx.b;
  const clampedLog = (t: T): T => b.binary("maximum", b.log(t), b.scalar(-100));
  const oneMinus = (t: T): T => b.minus(b.scalar(1), t);
  return b.neg(b.plus(b.times(y, clampedLog(p)), b.times(oneMinus(y), clampedLog(oneMinus(p)))));
});
const bceWithLogits = pairLoss(
  "bce_with_logits",
  "binary cross-entropy on logits (sigmoid fused, numerically stable)",
  7,
  (ctx, x, y) => {
    // PyTorch: (1 - y)·x + (1 + (pos_weight - 1)·y)·softplus(-x)
    const b = ctx.b;
    const pw = optNums(ctx, "pos_weight");
    const sp = softplus(b, b.neg(x));
    const pos =
      pw === null ? sp : b.times(sp, b.shift(b.times(b.shift(pw.length === 1 ? b.scalar(pw[0]!) : b.tensor(pw, [pw.length]), -1), y), 1));
    return b.plus(b.times(b.minus(b.scalar(1), y), x), pos);
  },
  [{ name: "pos_weight", type: "floats", default: null, doc: "weight of positives: one number or one per class (last axis)" }],
  (ctx, el) => {
    const pw = optionalFloatsAttr(ctx, "pos_weight");
    const c = el.shape.length > 0 ? lastDim(el.shape).constant : 1;
    if (pw && pw.length !== 1 && c !== undefined && pw.length !== c)
      throw new OpError(`'pos_weight' has ${pw.length} entries but the last axis of ${typeToString(input(ctx, 0))} has ${c}`, {
        at: "pos_weight",
        hint: "give one number, or one per class",
      });
  },
);

const klDiv = reductionLoss({
  name: "kl_div",
  doc: "KL divergence p·(log p - logq) with log-probabilities logq and probabilities p; batchmean divides by the batch",
  inputs: [{ name: "logq" }, { name: "p" }],
  reductions: ["batchmean", "mean", "sum", "none"],
  defaultReduction: "batchmean",
  elements: (ctx) => floatPair("kl_div", ctx, 0, 1),
  flops: (_ctx, elems) => elems.scale(3),
  lower(ctx) {
    // p·log p - p·logq, with p·log p = 0 at p = 0 (xlogy; the log's argument kept finite)
    const b = ctx.b;
    const logq = need(ctx, 0);
    const p = need(ctx, 1);
    const positive = b.binary("gt", p, b.scalar(0));
    return { el: b.times(p, b.minus(b.log(b.where(positive, p, b.scalar(1))), logq)) };
  },
});

const hinge = reductionLoss({
  name: "hinge_loss",
  doc: "hinge loss max(0, margin - y·score) with labels y = ±1",
  inputs: [{ name: "scores" }, { name: "y" }],
  attrs: [{ name: "margin", type: "float", default: 1.0 }],
  elements(ctx) {
    const s = input(ctx, 0);
    const y = input(ctx, 1);
    requireFloat("hinge_loss", s, 0);
    if (y.dtype === "bool")
      throw new OpError(`hinge_loss labels must be ±1 numbers, got ${typeToString(y)}`, {
        at: 1,
        code: "DLM3102",
        hint: "map bools to ±1 first",
      });
    floatAttr(ctx, "margin");
    return { dtype: s.dtype, shape: broadcastPair("hinge_loss", s, y, 1) };
  },
  flops: (_ctx, elems) => elems.scale(3),
  lower: (ctx) => ({ el: ctx.b.relu(ctx.b.minus(ctx.b.scalar(num(ctx, "margin")), ctx.b.times(asFloat(ctx, 1), need(ctx, 0)))) }),
});

const gaussianNll = reductionLoss({
  name: "gaussian_nll",
  doc: "Gaussian negative log-likelihood of y under N(mu, var)",
  inputs: [{ name: "mu" }, { name: "var" }, { name: "y" }],
  attrs: [
    { name: "full", type: "bool", default: false, doc: "include the constant log(2π)/2" },
    { name: "eps", type: "float", default: 1e-6 },
  ],
  elements(ctx) {
    const el = floatPair("gaussian_nll", ctx, 0, 2);
    const v = input(ctx, 1);
    requireFloat("gaussian_nll", v, 1);
    requireBroadcastsTo("gaussian_nll", "var", v, el.shape, 1, "the predictions");
    boolAttr(ctx, "full");
    floatAttr(ctx, "eps");
    return el;
  },
  flops: (_ctx, elems) => elems.scale(6),
  lower(ctx) {
    // 0.5·(log var + (mu - y)² / var) [+ 0.5·log 2π], var clamped at eps in value only (as PyTorch)
    const b = ctx.b;
    const v = clampMinValue(b, need(ctx, 1), num(ctx, "eps"));
    const el = b.scale(b.plus(b.log(v), b.over(b.unary("square", b.minus(need(ctx, 0), need(ctx, 2))), v)), 0.5);
    return { el: flag(ctx, "full") ? b.shift(el, 0.5 * Math.log(2 * Math.PI)) : el };
  },
});

// ---------------------------------------------------------------------------
// Losses over a feature axis (one loss per row)

const klNormal = reductionLoss({
  name: "kl_normal",
  doc: "KL(N(mu, exp(logvar)) || N(0, 1)), summed over the last axis; mean over the rest by default",
  inputs: [{ name: "mu" }, { name: "logvar" }],
  elements: (ctx) => featureRows("kl_normal", ctx, 2),
  flops: (ctx, rows) => featureNumel(ctx, rows).scale(6),
  lower(ctx) {
    // -0.5·Σ (1 + logvar - mu² - exp(logvar))
    const b = ctx.b;
    const mu = need(ctx, 0);
    const lv = need(ctx, 1);
    return { el: b.scale(rowSum(ctx, b.shift(b.minus(b.minus(lv, b.unary("square", mu)), b.exp(lv)), 1)), -0.5) };
  },
});

const triplet = reductionLoss({
  name: "triplet_margin_loss",
  doc: "max(0, ||a - p|| - ||a - n|| + margin) per row of anchors a, positives p, negatives n [..., D]",
  inputs: [{ name: "anchor" }, { name: "positive" }, { name: "negative" }],
  attrs: [{ name: "margin", type: "float", default: 1.0 }],
  elements(ctx) {
    nonNegative("margin")(ctx);
    return featureRows("triplet_margin_loss", ctx, 3);
  },
  flops: (ctx, rows) => featureNumel(ctx, rows).scale(6).add(rows.scale(5)),
  lower(ctx) {
    const b = ctx.b;
    const a = need(ctx, 0);
    const gap = b.minus(pairwiseDistance(ctx, a, need(ctx, 1)), pairwiseDistance(ctx, a, need(ctx, 2)));
    return { el: b.relu(b.shift(gap, num(ctx, "margin"))) };
  },
});

const contrastive = reductionLoss({
  name: "contrastive_loss",
  doc: "y·d² + (1 - y)·max(0, margin - d)² with d = ||x1 - x2|| per row and y = 1 for similar pairs",
  inputs: [{ name: "x1" }, { name: "x2" }, { name: "y" }],
  attrs: [{ name: "margin", type: "float", default: 1.0 }],
  elements(ctx) {
    nonNegative("margin")(ctx);
    const el = featureRows("contrastive_loss", ctx, 2);
    labels("contrastive_loss", ctx, 2, el.shape);
    return el;
  },
  flops: (ctx, rows) => featureNumel(ctx, rows).scale(3).add(rows.scale(6)),
  lower(ctx) {
    // y·d² + (1 - y)·max(0, margin - d)², d the pairwise distance
    const b = ctx.b;
    const d = pairwiseDistance(ctx, need(ctx, 0), need(ctx, 1));
    const y = asFloat(ctx, 2);
    const far = b.unary("square", b.relu(b.minus(b.scalar(num(ctx, "margin")), d)));
    return { el: b.plus(b.times(y, b.unary("square", d)), b.times(b.minus(b.scalar(1), y), far)) };
  },
});

const cosineEmbedding = reductionLoss({
  name: "cosine_embedding_loss",
  doc: "1 - cos(a, b) for y = 1, max(0, cos(a, b) - margin) for y = -1, per row",
  inputs: [{ name: "a" }, { name: "b" }, { name: "y" }],
  attrs: [{ name: "margin", type: "float", default: 0.0 }],
  elements(ctx) {
    rangeAttr(floatAttr(ctx, "margin"), "margin", -1, 1, true);
    const el = featureRows("cosine_embedding_loss", ctx, 2);
    labels("cosine_embedding_loss", ctx, 2, el.shape);
    return el;
  },
  flops: (ctx, rows) => featureNumel(ctx, rows).scale(6).add(rows.scale(4)),
  lower(ctx) {
    // PyTorch: cos = a·b / sqrt((|a|² + 1e-12)(|b|² + 1e-12)); 1 - cos where y = 1, max(0, cos - margin) where y = -1, else 0
    const b = ctx.b;
    const a = need(ctx, 0);
    const c = need(ctx, 1);
    const sq = (t: T): T => b.shift(rowSum(ctx, b.unary("square", t)), 1e-12);
    const cos = b.over(rowSum(ctx, b.times(a, c)), b.sqrt(b.times(sq(a), sq(c))));
    const y = need(ctx, 2);
    const is = (v: number): T => b.binary("eq", y, b.scalar(v, b.dtype(y)));
    const zero = b.scalar(0);
    const pos = b.where(is(1), b.minus(b.scalar(1), cos), zero);
    return { el: b.plus(pos, b.where(is(-1), b.relu(b.shift(cos, -num(ctx, "margin"))), zero)) };
  },
});

// ---------------------------------------------------------------------------
// cosine_similarity (not a loss, but lives with them)

function cosineShape(ctx: InferContext): { shape: Dim[]; dtype: TensorType["dtype"]; full: Shape } {
  const op = "cosine_similarity";
  const a = input(ctx, 0);
  const b = input(ctx, 1);
  requireFloat(op, a, 0);
  requireFloat(op, b, 1);
  const dtype = sameDType(op, [a, b]);
  const full = broadcastPair(op, a, b, 1);
  requireMinRank(op, { dtype, shape: full }, 1, 0, "vectors [..., D]");
  const axis = axisAttr(ctx, "axis", full.length);
  const shape = full.slice();
  shape.splice(axis, 1);
  return { shape, dtype, full };
}

const cosineSimilarity: OpDef = {
  name: "cosine_similarity",
  category: "loss",
  doc: "cos of the angle between a and b along `axis` (which is reduced)",
  inputs: [{ name: "a" }, { name: "b" }],
  attrs: [
    { name: "axis", type: "int", default: Dim.const(-1) },
    { name: "eps", type: "float", default: 1e-8 },
  ],
  infer(ctx) {
    const { shape, dtype } = cosineShape(ctx);
    const eps = floatAttr(ctx, "eps");
    if (!(eps > 0)) throw new OpError(`'eps' must be positive, got ${eps}`, { at: "eps" });
    return { outputs: [{ dtype, shape }] };
  },
  cost(ctx) {
    const { full } = cosineShape(ctx);
    return cost(0, numel(full).scale(6).add(numel(ctx.outputs[0]!.shape).scale(3)));
  },
  lower(ctx) {
    // PyTorch: Σ (a / max(|a|, eps))·(b / max(|b|, eps)) along axis, the norms clamped in value only
    const b = ctx.b;
    const axis = num(ctx, "axis");
    const eps = num(ctx, "eps");
    const unit = (t: T): T => b.over(t, clampMinValue(b, b.sqrt(b.sum(b.unary("square", t), [axis], true)), eps));
    return [b.sum(b.times(unit(need(ctx, 0)), unit(need(ctx, 1))), [axis])];
  },
  // the axis counted from the end, so that it names the same axis of a, b and their broadcast
  onnx(ctx) {
    const { full } = cosineShape(ctx);
    const axes = ctx.ints([normAxis(ctx.int("axis"), full.length) - full.length]);
    const eps = ctx.scalar(floatAttr(ctx, "eps"));
    const unit = (t: string): string =>
      ctx.op("Div", [t, ctx.op("Max", [ctx.op("Sqrt", [ctx.op("ReduceSum", [ctx.op("Mul", [t, t]), axes], { keepdims: 1 })]), eps])]);
    const [a, b] = [ctx.values[0]!, ctx.values[1]!];
    return [ctx.op("ReduceSum", [ctx.op("Mul", [unit(a), unit(b)]), axes], { keepdims: 0 })];
  },
};

// PyTorch (compiler/ops/torch-mapping.ts): torch.nn.functional's losses, which share dlm's
// definitions; class losses through helpers that move dlm's last-axis classes to torch's axis 1.
const reduction = (c: TorchContext): string => c.py(c.attrs.reduction);
const pairTorch = (fn: string, extra: (c: TorchContext) => Record<string, string | undefined> = () => ({})): TorchMapping => ({
  forward: (c) => pyCall(fn, [arg(c, 0), arg(c, 1)], { ...extra(c), reduction: reduction(c) }),
});
/** a per-element loss written out, reduced as dlm reduces it */
const reduced = (el: (c: TorchContext) => string): TorchMapping => ({
  forward: (c) => pyCall(c.helper("reduce_loss"), [el(c), reduction(c)]),
});
const floatList = (c: TorchContext, v: unknown, like: string): string =>
  v === null || v === undefined ? "None" : `torch.tensor(${c.py(v as AttrValue)}, dtype=${like}.dtype, device=${like}.device)`;

const TORCH: TorchTable = {
  cross_entropy: {
    forward: (c) =>
      pyCall(c.helper("cross_entropy"), [arg(c, 0), arg(c, 1)], {
        weight: c.attrs.weight === null ? undefined : c.py(c.attrs.weight),
        label_smoothing: c.py(c.attrs.label_smoothing),
        ignore_index: c.py(c.attrs.ignore_index),
        reduction: reduction(c),
      }),
  },
  nll_loss: {
    forward: (c) =>
      pyCall(c.helper("nll_loss"), [arg(c, 0), arg(c, 1)], {
        weight: c.attrs.weight === null ? undefined : c.py(c.attrs.weight),
        ignore_index: c.py(c.attrs.ignore_index),
        reduction: reduction(c),
      }),
  },
  mse_loss: pairTorch("F.mse_loss"),
  l1_loss: pairTorch("F.l1_loss"),
  smooth_l1_loss: pairTorch("F.smooth_l1_loss", (c) => ({ beta: c.py(c.attrs.beta) })),
  huber_loss: pairTorch("F.huber_loss", (c) => ({ delta: c.py(c.attrs.delta) })),
  bce_loss: pairTorch("F.binary_cross_entropy"),
  bce_with_logits: pairTorch("F.binary_cross_entropy_with_logits", (c) =>
    c.attrs.pos_weight === null ? {} : { pos_weight: floatList(c, c.attrs.pos_weight, arg(c, 0)) },
  ),
  kl_div: pairTorch("F.kl_div"),
  kl_normal: reduced((c) => `-0.5 * (1 + ${arg(c, 1)} - ${arg(c, 0)} ** 2 - torch.exp(${arg(c, 1)})).sum(-1)`),
  hinge_loss: reduced((c) => `torch.relu(${c.py(c.attrs.margin)} - ${arg(c, 1)}.to(${arg(c, 0)}.dtype) * ${arg(c, 0)})`),
  triplet_margin_loss: {
    forward: (c) =>
      pyCall("F.triplet_margin_loss", [arg(c, 0), arg(c, 1), arg(c, 2)], { margin: c.py(c.attrs.margin), reduction: reduction(c) }),
  },
  contrastive_loss: reduced((c) => {
    const d = pyCall("F.pairwise_distance", [arg(c, 0), arg(c, 1)]);
    const y = `${arg(c, 2)}.to(${arg(c, 0)}.dtype)`;
    return `${y} * ${d} ** 2 + (1 - ${y}) * torch.relu(${c.py(c.attrs.margin)} - ${d}) ** 2`;
  }),
  // written out: each side over max(its norm, eps), as dlm (torch's own eps handling changed across versions)
  cosine_similarity: {
    forward: (c) => {
      const unit = (x: string): string =>
        `(${x} / torch.linalg.vector_norm(${x}, dim=${c.py(c.attrs.axis)}, keepdim=True).clamp_min(${c.py(c.attrs.eps)}))`;
      return `(${unit(arg(c, 0))} * ${unit(arg(c, 1))}).sum(${c.py(c.attrs.axis)})`;
    },
  },
  cosine_embedding_loss: {
    forward: (c) =>
      pyCall("F.cosine_embedding_loss", [arg(c, 0), arg(c, 1), arg(c, 2)], { margin: c.py(c.attrs.margin), reduction: reduction(c) }),
  },
  gaussian_nll: {
    forward: (c) =>
      pyCall("F.gaussian_nll_loss", [arg(c, 0), arg(c, 2), arg(c, 1)], {
        full: c.py(c.attrs.full),
        eps: c.py(c.attrs.eps),
        reduction: reduction(c),
      }),
  },
};

export const ops: OpDef[] = withTorch(
  [
    crossEntropy,
    nllLoss,
    mse,
    l1,
    smoothL1,
    huber,
    bce,
    bceWithLogits,
    klDiv,
    klNormal,
    hinge,
    triplet,
    contrastive,
    cosineSimilarity,
    cosineEmbedding,
    gaussianNll,
  ],
  TORCH,
);
