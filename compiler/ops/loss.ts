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
import {
  type AttrSpec,
  type CostContext,
  type InferContext,
  type InputSpec,
  type OpDef,
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
});

// ---------------------------------------------------------------------------
// Elementwise losses on (prediction, target) pairs

function pairLoss(
  name: string,
  doc: string,
  perElem: number,
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
  });
}

function nonNegative(name: string) {
  return (ctx: InferContext): void => {
    const v = floatAttr(ctx, name);
    if (!(v >= 0)) throw new OpError(`'${name}' must be non-negative, got ${v}`, { at: name });
  };
}

const mse = pairLoss("mse_loss", "mean squared error (a - b)²", 2);
const l1 = pairLoss("l1_loss", "mean absolute error |a - b|", 2);
const smoothL1 = pairLoss(
  "smooth_l1_loss",
  "smooth L1: quadratic below beta, linear above",
  4,
  [{ name: "beta", type: "float", default: 1.0 }],
  nonNegative("beta"),
);
const huber = pairLoss(
  "huber_loss",
  "Huber loss: quadratic below delta, linear above",
  4,
  [{ name: "delta", type: "float", default: 1.0 }],
  (ctx) => {
    const d = floatAttr(ctx, "delta");
    if (!(d > 0)) throw new OpError(`'delta' must be positive, got ${d}`, { at: "delta" });
  },
);
const bce = pairLoss("bce_loss", "binary cross-entropy of probabilities p in [0, 1] against targets y", 6);
const bceWithLogits = pairLoss(
  "bce_with_logits",
  "binary cross-entropy on logits (sigmoid fused, numerically stable)",
  7,
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
});

// ---------------------------------------------------------------------------
// Losses over a feature axis (one loss per row)

const klNormal = reductionLoss({
  name: "kl_normal",
  doc: "KL(N(mu, exp(logvar)) || N(0, 1)), summed over the last axis; mean over the rest by default",
  inputs: [{ name: "mu" }, { name: "logvar" }],
  elements: (ctx) => featureRows("kl_normal", ctx, 2),
  flops: (ctx, rows) => featureNumel(ctx, rows).scale(6),
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
};

export const ops: OpDef[] = [
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
];
