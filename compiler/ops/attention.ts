// Attention: scaled dot-product attention, multi-head attention (with grouped / multi-query
// key-value heads and rotary embeddings), rotary embeddings on their own and T5-style
// relative position biases.
//
// Cost conventions (see CATALOGUE.md): `macs` count the matmul-like work as fvcore does —
// the q/k/v/out projections (bias adds not counted) and the two attention products QKᵀ and
// AV; `flops` count the softmax at ~5 per score (max, subtract, exp, sum, divide) and the
// rotary rotation at ~3 per rotated element (x·cos + rotate_half(x)·sin).

import { Dim, type Shape } from "../dim.js";
import { attention, attentionUnsupported, attentionWeights, type AttentionAttrs } from "../prim/attention.js";
import type { PrimBuilder, T } from "../prim/builder.js";
import {
  ONE,
  biasParam,
  lastDim,
  optionalFloatAttr,
  prodRange,
  rangeAttr,
  requireAtLeast,
  requireBroadcastsTo,
  requireFloatFeatures,
  requireMinRank,
  requirePositiveDim,
  sameDim,
  weightParam,
} from "./builders.js";
import { dropout, flag, linear, need, num, optNum, outShape, table } from "./lowering.js";
import { arg, pyCall, withTorch, type TorchTable } from "./torch-mapping.js";
import {
  type CostContext,
  type InferContext,
  type LowerContext,
  type OpDef,
  type ParamSpec,
  type TensorType,
  OpError,
  boolAttr,
  broadcastShapes,
  constIntAttr,
  cost,
  floatAttr,
  input,
  intAttr,
  isFloat,
  requireFloat,
  requireRank,
  sameDType,
  typeToString,
} from "./types.js";

import {
  affine as affineOnnx,
  attend as attendOnnx,
  reshapeTo,
  rope as ropeOnnx,
  squeeze as squeezeOnnx,
  unsqueeze as unsqueezeOnnx,
  value,
} from "../export/onnx/helpers.js";

const SOFTMAX_FLOPS = 5;
/** torch.nn.Linear's default init: kaiming_uniform with a = sqrt(5). */
const KAIMING_LINEAR = Object.freeze({ a: Math.sqrt(5) });
const ROPE_FLOPS = 3;

/** A mask must be bool (true = attend) or a float additive mask. */
function checkMask(op: string, mask: TensorType, target: Shape, at: number, targetWhat: string): void {
  if (mask.dtype !== "bool" && !isFloat(mask.dtype))
    throw new OpError(`${op}: the mask must be bool or float, got ${typeToString(mask)}`, {
      at,
      code: "DLM3102",
      hint: "use a bool mask (true = may attend) or a float mask added to the scores (0 or -inf)",
    });
  requireBroadcastsTo(op, "mask", mask, target, at, targetWhat);
}

/** Head dimension must be even for rotary embeddings (pairs of features are rotated). */
function requireEven(d: Dim, what: string, at: number | string, t: TensorType): void {
  const c = d.constant;
  if (c !== undefined && c % 2 !== 0)
    throw new OpError(`${what} (${c}) must be even for rotary embeddings, which rotate pairs of features; x is ${typeToString(t)}`, {
      at,
    });
}

/** The broadcast leading (batch, head) axes of q, k, v; equal leading axes allocate once. */
function leadingBroadcast(q: TensorType, k: TensorType, v: TensorType): Shape {
  const qb = q.shape.slice(0, -2);
  const kr = k.shape.length - 2;
  const vr = v.shape.length - 2;
  let eq = kr === qb.length && vr === qb.length;
  for (let i = 0; eq && i < qb.length; i++) eq = sameDim(qb[i]!, k.shape[i]!) && sameDim(qb[i]!, v.shape[i]!);
  if (eq) return qb;
  const bad = (at: number, a: TensorType, b: TensorType, an: string, bn: string): OpError =>
    new OpError(`the leading (batch, head) axes of ${an} ${typeToString(a)} and ${bn} ${typeToString(b)} cannot be broadcast`, {
      at,
      hint: "q, k and v share all axes but the last two (or broadcast them: each pair of dims equal or one of them 1)",
    });
  let out: Shape;
  try {
    out = broadcastShapes(qb, k.shape.slice(0, -2));
  } catch {
    throw bad(1, q, k, "q", "k");
  }
  try {
    return broadcastShapes(out, v.shape.slice(0, -2));
  } catch {
    throw bad(2, q, v, "q", "v");
  }
}

// ---------------------------------------------------------------------------
// Lowering helpers

/**
 * softmax(q·kᵀ·scale + mask)·v as torch.nn.functional.scaled_dot_product_attention: a bool
 * mask says where a query may attend (elsewhere the score is -inf), a float mask is added;
 * causal keeps keys j <= query i (top-left aligned); dropout on the weights in training.
 *
 * Lowered to the attention primitive (compiler/prim/attention.ts), which the CPU runs without
 * storing the weights, unless something has to see them: dropout on the weights in training
 * (and shapes the primitive does not take). Then it is the unfused chain, and the final matmul
 * says why in its `attentionFallback` attribute (`dlm compile --explain` prints it).
 */
function attend(ctx: LowerContext, q: T, k: T, v: T, mask: T | undefined, scale: number | null): T {
  const b = ctx.b;
  const attrs: AttentionAttrs = {
    scale: scale ?? 1 / Math.sqrt(b.shape(q).at(-1)!),
    causal: flag(ctx, "causal"),
    mask: mask === undefined ? "none" : b.dtype(mask) === "bool" ? "keep" : "add",
  };
  const dropping = ctx.training && num(ctx, "dropout") > 0;
  const why = dropping ? "dropout on the attention weights in training" : attentionUnsupported(b, q, k, v, mask);
  if (why === undefined) return attention(b, q, k, v, mask, attrs);
  const w = attentionWeights(b, q, k, mask, attrs);
  const out = b.matmul(dropping ? dropout(b, w, num(ctx, "dropout")) : w, v);
  // the node was just built: annotate it in place rather than build a twin
  b.nodes[out] = { ...b.node(out), attrs: { ...b.node(out).attrs, attentionFallback: why } };
  return out;
}

/**
 * Rotary position embedding over x [..., T, d] in the rotate-half layout (GPT-NeoX, Hugging
 * Face Llama): x·cos + rotate_half(x)·sin with angle t·base^(-2i/d) for feature i mod d/2.
 */
function rope(b: PrimBuilder, x: T, base: number): T {
  const [t, d] = b.shape(x).slice(-2) as [number, number];
  const half = d / 2;
  const angle = (pos: number, j: number): number => pos * Math.pow(base, (-2 * (j % half)) / d);
  const cos = table(b, [t, d], (pos, j) => Math.cos(angle(pos, j)));
  const sin = table(b, [t, d], (pos, j) => Math.sin(angle(pos, j)));
  const rotated = b.concat([b.neg(b.sliceAxis(x, -1, half, d)), b.sliceAxis(x, -1, 0, half)], -1);
  return b.plus(b.times(x, cos), b.times(rotated, sin));
}

/** The T5 bucket of a relative position (key - query), as Hugging Face's _relative_position_bucket (float32 logs). */
function t5Bucket(rel: number, bidirectional: boolean, buckets: number, maxDistance: number): number {
  let n = buckets;
  let base = 0;
  if (bidirectional) {
    n = Math.floor(n / 2);
    if (rel > 0) base = n;
    rel = Math.abs(rel);
  } else rel = -Math.min(rel, 0);
  const exact = Math.floor(n / 2);
  if (rel < exact) return base + rel;
  const f = Math.fround;
  const logRatio = f(f(Math.log(f(rel / exact))) / f(Math.log(maxDistance / exact)));
  return base + Math.min(exact + Math.trunc(f(logRatio * (n - exact))), n - 1);
}

// ---------------------------------------------------------------------------
// scaled_dot_product_attention

const sdpa: OpDef = {
  name: "scaled_dot_product_attention",
  category: "attention",
  doc: "softmax(q·kᵀ·scale + mask)·v: q [..., Tq, d], k [..., Tk, d], v [..., Tk, dv] → [..., Tq, dv]",
  inputs: [{ name: "q" }, { name: "k" }, { name: "v" }, { name: "mask", optional: true }],
  attrs: [
    { name: "causal", type: "bool", default: false, doc: "mask out keys after each query (top-left aligned)" },
    { name: "scale", type: "float", default: null, doc: "score scale; none = 1/sqrt(d)" },
    { name: "dropout", type: "float", default: 0.0, doc: "dropout on the attention weights (training only)" },
  ],
  // attention dropout draws random numbers in training mode
  stochastic: true,
  modeDependent: true,
  infer(ctx) {
    const op = "scaled_dot_product_attention";
    const q = input(ctx, 0);
    const k = input(ctx, 1);
    const v = input(ctx, 2);
    requireMinRank(op, q, 2, 0, "q [..., Tq, d]");
    requireMinRank(op, k, 2, 1, "k [..., Tk, d]");
    requireMinRank(op, v, 2, 2, "v [..., Tk, dv]");
    requireFloat(op, q, 0);
    requireFloat(op, k, 1);
    requireFloat(op, v, 2);
    const dtype = sameDType(op, [q, k, v]);
    const qs = q.shape;
    const ks = k.shape;
    const vs = v.shape;
    const d = qs[qs.length - 1]!;
    if (!sameDim(d, ks[ks.length - 1]!))
      throw new OpError(
        `q ${typeToString(q)} and k ${typeToString(k)} must have the same feature size (last axis): ${d} vs ${ks[ks.length - 1]}`,
        { at: 1 },
      );
    const tk = ks[ks.length - 2]!;
    if (!sameDim(tk, vs[vs.length - 2]!))
      throw new OpError(
        `k ${typeToString(k)} and v ${typeToString(v)} must have the same sequence length (second-to-last axis): ${tk} vs ${vs[vs.length - 2]}`,
        { at: 2 },
      );
    // Leading (batch, head) axes broadcast.
    const batch = leadingBroadcast(q, k, v);
    const tq = qs[qs.length - 2]!;
    const mask = ctx.inputs[3];
    if (mask) checkMask(op, mask, [...batch, tq, tk], 3, "the scores [..., Tq, Tk]");
    const scale = optionalFloatAttr(ctx, "scale");
    if (scale !== null && !Number.isFinite(scale)) throw new OpError(`'scale' must be a finite number, got ${scale}`, { at: "scale" });
    rangeAttr(floatAttr(ctx, "dropout"), "dropout", 0, 1);
    boolAttr(ctx, "causal");
    return { outputs: [{ dtype, shape: [...batch, tq, vs[vs.length - 1]!] }] };
  },
  cost(ctx) {
    const out = ctx.outputs[0]!.shape;
    const r = out.length;
    const batch = prodRange(out, 0, r - 2);
    const ks = input(ctx, 1).shape;
    const scores = batch.mul(out[r - 2]!).mul(ks[ks.length - 2]!);
    const d = lastDim(input(ctx, 0).shape);
    return cost(scores.mul(d.add(out[r - 1]!)), scores.scale(SOFTMAX_FLOPS));
  },
  lower: (ctx) => [attend(ctx, need(ctx, 0), need(ctx, 1), need(ctx, 2), ctx.inputs[3], optNum(ctx, "scale"))],
  onnx(ctx) {
    const [q, k, mask] = [0, 1, 3].map((i) => (ctx.values[i] === undefined ? undefined : { name: ctx.values[i]!, type: input(ctx, i) }));
    return [attendOnnx(ctx, q!, k!, value(ctx, 2), mask, optionalFloatAttr(ctx, "scale"), boolAttr(ctx, "causal"))];
  },
};

// ---------------------------------------------------------------------------
// multihead_attention

interface MhaLayout {
  readonly heads: number;
  readonly kvHeads: number;
  /** head size d / heads */
  readonly dh: Dim;
  /** kv_heads * dh: the output size of k_proj and v_proj */
  readonly kvDim: Dim;
}

function nearDivisors(n: number, h: number): string {
  let lo = h - 1;
  while (lo > 1 && n % lo !== 0) lo--;
  let hi = h + 1;
  while (hi < n && n % hi !== 0) hi++;
  return lo >= 1 && hi <= n ? `${lo} or ${hi}` : String(lo >= 1 ? lo : hi);
}

function mhaLayout(ctx: InferContext, x: TensorType): MhaLayout {
  const heads = requireAtLeast(constIntAttr(ctx, "heads"), 1, "heads");
  const kvHeads = ctx.attrs.kv_heads == null ? heads : requireAtLeast(constIntAttr(ctx, "kv_heads"), 1, "kv_heads");
  if (heads % kvHeads !== 0)
    throw new OpError(`heads=${heads} must be a multiple of kv_heads=${kvHeads} (each key/value head serves a group of query heads)`, {
      at: "kv_heads",
    });
  const d = lastDim(x.shape);
  const dc = d.constant;
  if (dc !== undefined && dc % heads !== 0)
    throw new OpError(`model dim d=${dc} of x ${typeToString(x)} is not divisible by heads=${heads}`, {
      at: "heads",
      hint: `each head gets d / heads features; try heads = ${nearDivisors(dc, heads)}`,
    });
  const dh = d.floordiv(heads);
  return { heads, kvHeads, dh, kvDim: kvHeads === heads ? d : dh.scale(kvHeads) };
}

const mha: OpDef = {
  name: "multihead_attention",
  category: "attention",
  doc: "multi-head attention with q/k/v/out projections: x [B, T, d], kv [B, S, dkv] (default x) → [B, T, d]",
  inputs: [{ name: "x" }, { name: "kv", optional: true }, { name: "mask", optional: true }],
  attrs: [
    { name: "heads", type: "int" },
    { name: "kv_heads", type: "int", default: null, doc: "key/value heads; none = heads, 1 = multi-query" },
    { name: "bias", type: "bool", default: true },
    { name: "causal", type: "bool", default: false },
    { name: "dropout", type: "float", default: 0.0 },
    { name: "rope", type: "bool", default: false, doc: "rotary position embeddings on q and k" },
  ],
  stochastic: true,
  modeDependent: true,
  infer(ctx) {
    const op = "multihead_attention";
    const x = input(ctx, 0);
    requireRank(op, x, [3, 2], 0, "sequence [B, T, d] (or unbatched [T, d])");
    requireFloatFeatures(op, x, 0);
    const kvIn = ctx.inputs[1];
    const kv = kvIn ?? x;
    const rank = x.shape.length;
    if (kvIn) {
      requireFloat(op, kvIn, 1);
      sameDType(op, [x, kvIn]);
      if (kvIn.shape.length !== rank)
        throw new OpError(`kv ${typeToString(kvIn)} must have the same rank as x ${typeToString(x)}`, { at: 1, code: "DLM3103" });
      if (rank === 3 && !sameDim(x.shape[0]!, kvIn.shape[0]!))
        throw new OpError(
          `x ${typeToString(x)} and kv ${typeToString(kvIn)} have different batch sizes: ${x.shape[0]} vs ${kvIn.shape[0]}`,
          {
            at: 1,
          },
        );
    }
    const { heads, dh, kvDim } = mhaLayout(ctx, x);
    const rope = boolAttr(ctx, "rope");
    if (rope) requireEven(dh, "the head size d / heads", "rope", x);
    boolAttr(ctx, "causal");
    rangeAttr(floatAttr(ctx, "dropout"), "dropout", 0, 1);
    const mask = ctx.inputs[2];
    if (mask) {
      const t = x.shape[rank - 2]!;
      const s = kv.shape[rank - 2]!;
      const h = Dim.const(heads);
      if (rank === 3) checkMask(op, mask, [x.shape[0]!, h, t, s], 2, "the scores [B, heads, T, S]");
      else checkMask(op, mask, [h, t, s], 2, "the scores [heads, T, S]");
    }
    const d = lastDim(x.shape);
    const dkv = lastDim(kv.shape);
    const bias = boolAttr(ctx, "bias");
    const dd = [d, d];
    const kvw = [kvDim, dkv];
    const params: ParamSpec[] = [];
    // torch.nn.MultiheadAttention: xavier_uniform in-projections, Linear-default out-projection, zero biases.
    params.push(weightParam("q_proj.weight", dd, "xavier_uniform"));
    if (bias) params.push(biasParam("q_proj.bias", [d]));
    params.push(weightParam("k_proj.weight", kvw, "xavier_uniform"));
    if (bias) params.push(biasParam("k_proj.bias", [kvDim]));
    params.push(weightParam("v_proj.weight", kvw, "xavier_uniform"));
    if (bias) params.push(biasParam("v_proj.bias", [kvDim]));
    params.push(weightParam("out_proj.weight", dd, "kaiming_uniform", KAIMING_LINEAR));
    if (bias) params.push(biasParam("out_proj.bias", [d]));
    return { outputs: [x], params };
  },
  cost(ctx) {
    const x = input(ctx, 0);
    const kv = ctx.inputs[1] ?? x;
    const r = x.shape.length;
    const { heads, kvDim } = mhaLayout(ctx, x);
    const d = x.shape[r - 1]!;
    const batch = r === 3 ? x.shape[0]! : ONE;
    const t = x.shape[r - 2]!;
    const s = kv.shape[r - 2]!;
    const tokX = batch.mul(t);
    const tokKV = batch.mul(s);
    // projections: q and out on x's tokens, k and v on kv's tokens
    const proj = tokX
      .mul(d)
      .mul(d)
      .scale(2)
      .add(tokKV.mul(lastDim(kv.shape)).mul(kvDim).scale(2));
    // products: QKᵀ and AV, heads * dh = d each (grouped kv heads are shared, not cheaper)
    const scores = tokX.mul(s);
    const macs = proj.add(scores.mul(d).scale(2));
    let flops = scores.scale(heads * SOFTMAX_FLOPS);
    if (ctx.attrs.rope === true) flops = flops.add(tokX.mul(d).add(tokKV.mul(kvDim)).scale(ROPE_FLOPS));
    return cost(macs, flops);
  },
  lower(ctx) {
    const b = ctx.b;
    const x0 = need(ctx, 0);
    const unbatched = b.rank(x0) === 2;
    const batch = (t: T): T => (unbatched ? b.reshape(t, [1, ...b.shape(t)]) : t);
    const x = batch(x0);
    const kv = ctx.inputs[1] === undefined ? x : batch(ctx.inputs[1]);
    // parameters in infer's order: q, k, v, out projections, each weight then (with bias) its bias
    const params = [...ctx.params];
    const projection = (): ((t: T) => T) => {
      const w = params.shift()!;
      const bias = flag(ctx, "bias") ? params.shift()! : undefined;
      return (t) => linear(b, t, w, bias);
    };
    const [qProj, kProj, vProj, outProj] = [projection(), projection(), projection(), projection()];
    const heads = num(ctx, "heads");
    const kvHeads = optNum(ctx, "kv_heads") ?? heads;
    const [bs, tq, d] = b.shape(x) as [number, number, number];
    const s = b.shape(kv)[1]!;
    const dh = d / heads;
    // [B, len, n*dh] → [B, n, len, dh], rotated by position when rope is on
    const split = (t: T, n: number, len: number): T => {
      const h = b.transpose(b.reshape(t, [bs, len, n, dh]), [0, 2, 1, 3]);
      return flag(ctx, "rope") ? rope(b, h, 10000) : h;
    };
    // key/value head j serves query heads j*g .. j*g + g - 1 (grouped / multi-query attention)
    const share = (t: T): T =>
      kvHeads === heads
        ? t
        : b.reshape(b.broadcastTo(b.reshape(t, [bs, kvHeads, 1, s, dh]), [bs, kvHeads, heads / kvHeads, s, dh]), [bs, heads, s, dh]);
    const q = split(qProj(x), heads, tq);
    const k = share(split(kProj(kv), kvHeads, s));
    const v = share(b.transpose(b.reshape(vProj(kv), [bs, s, kvHeads, dh]), [0, 2, 1, 3]));
    const o = attend(ctx, q, k, v, ctx.inputs[2], null);
    const y = outProj(b.reshape(b.transpose(o, [0, 2, 1, 3]), [bs, tq, d]));
    return [unbatched ? b.reshape(y, outShape(ctx)) : y];
  },
  // as the lowering: projections, heads split [B, n, len, dh] (rotated with rope), shared kv heads, attention
  onnx(ctx) {
    const x0 = input(ctx, 0);
    const unbatched = x0.shape.length === 2;
    const batch = (v: string, t: TensorType): { v: string; shape: readonly Dim[] } =>
      unbatched ? { v: unsqueezeOnnx(ctx, v, [0]), shape: [ONE, ...t.shape] } : { v, shape: t.shape };
    const x = batch(value(ctx, 0), x0);
    const kv = ctx.values[1] === undefined ? x : batch(ctx.values[1], input(ctx, 1));
    const params = [...ctx.params];
    const projection = (): ((t: string) => string) => {
      const w = params.shift()!;
      const bias = boolAttr(ctx, "bias") ? params.shift()! : undefined;
      return (t) => affineOnnx(ctx, t, 3, w, bias);
    };
    const [qProj, kProj, vProj, outProj] = [projection(), projection(), projection(), projection()];
    const heads = ctx.int("heads");
    const kvHeads = ctx.attrs.kv_heads == null ? heads : ctx.int("kv_heads");
    const [bs, tq, d] = x.shape as [Dim, Dim, Dim];
    const s = kv.shape[1]!;
    const dh = Dim.const(ctx.known(d, "the model width") / heads);
    const rope = boolAttr(ctx, "rope");
    const headsOf = (t: string, n: number, len: Dim, rotate: boolean): string => {
      const h = ctx.op("Transpose", [reshapeTo(ctx, t, [bs, len, Dim.const(n), dh])], { perm: [0, 2, 1, 3] });
      return rotate ? ropeOnnx(ctx, h, { dtype: "f32", shape: [bs, Dim.const(n), len, dh] }, 10000) : h;
    };
    const share = (t: string): string =>
      kvHeads === heads
        ? t
        : reshapeTo(
            ctx,
            ctx.op("Expand", [
              reshapeTo(ctx, t, [bs, Dim.const(kvHeads), ONE, s, dh]),
              ctx.shape([bs, Dim.const(kvHeads), Dim.const(heads / kvHeads), s, dh]),
            ]),
            [bs, Dim.const(heads), s, dh],
          );
    const q = headsOf(qProj(x.v), heads, tq, rope);
    const k = share(headsOf(kProj(kv.v), kvHeads, s, rope));
    const v = share(headsOf(vProj(kv.v), kvHeads, s, false));
    const mask = ctx.values[2] === undefined ? undefined : { name: ctx.values[2], type: input(ctx, 2) };
    const type = (len: Dim): TensorType => ({ dtype: "f32", shape: [bs, Dim.const(heads), len, dh] });
    const o = attendOnnx(ctx, { name: q, type: type(tq) }, { name: k, type: type(s) }, v, mask, null, boolAttr(ctx, "causal"));
    const y = outProj(reshapeTo(ctx, ctx.op("Transpose", [o], { perm: [0, 2, 1, 3] }), [bs, tq, d]));
    return [unbatched ? squeezeOnnx(ctx, y, [0]) : y];
  },
};

// ---------------------------------------------------------------------------
// apply_rope

const applyRope: OpDef = {
  name: "apply_rope",
  category: "attention",
  doc: "rotary position embedding over the last axis of x [..., T, d] (d even); same shape",
  inputs: [{ name: "x" }],
  attrs: [{ name: "base", type: "float", default: 10000.0 }],
  infer(ctx) {
    const op = "apply_rope";
    const x = input(ctx, 0);
    requireMinRank(op, x, 2, 0, "x [..., T, d]");
    requireFloat(op, x, 0);
    requireEven(lastDim(x.shape), "the feature size d", 0, x);
    const base = floatAttr(ctx, "base");
    if (!(base > 0)) throw new OpError(`'base' must be positive, got ${base}`, { at: "base" });
    return { outputs: [x] };
  },
  cost(ctx: CostContext) {
    return cost(0, prodRange(input(ctx, 0).shape).scale(ROPE_FLOPS));
  },
  lower: (ctx) => [rope(ctx.b, need(ctx, 0), num(ctx, "base"))],
  onnx: (ctx) => [ropeOnnx(ctx, value(ctx, 0), input(ctx, 0), floatAttr(ctx, "base"))],
};

// ---------------------------------------------------------------------------
// relative_position_bias

/** bucket index per (query, key) pair: a handful of ops (abs, compare, log, scale, clamp) */
const BUCKET_FLOPS = 6;

const relativePositionBias: OpDef = {
  name: "relative_position_bias",
  category: "attention",
  doc: "T5 relative position bias: learned per-head biases by log-bucketed distance → f32 [heads, q_len, k_len]",
  inputs: [],
  attrs: [
    { name: "q_len", type: "int" },
    { name: "k_len", type: "int" },
    { name: "heads", type: "int" },
    { name: "num_buckets", type: "int", default: Dim.const(32) },
    { name: "max_distance", type: "int", default: Dim.const(128) },
    { name: "bidirectional", type: "bool", default: true },
  ],
  infer(ctx) {
    const q = requirePositiveDim(intAttr(ctx, "q_len"), "q_len");
    const k = requirePositiveDim(intAttr(ctx, "k_len"), "k_len");
    const heads = requireAtLeast(constIntAttr(ctx, "heads"), 1, "heads");
    const bidirectional = boolAttr(ctx, "bidirectional");
    const buckets = requireAtLeast(constIntAttr(ctx, "num_buckets"), bidirectional ? 2 : 1, "num_buckets");
    const maxDistance = constIntAttr(ctx, "max_distance");
    // T5 keeps half the (per-direction) buckets for exact distances; the rest are log-spaced up to max_distance
    const exact = Math.floor((bidirectional ? buckets / 2 : buckets) / 2);
    if (maxDistance <= exact)
      throw new OpError(`'max_distance' (${maxDistance}) must exceed the ${exact} exactly-bucketed distances of num_buckets=${buckets}`, {
        at: "max_distance",
      });
    const h = Dim.const(heads);
    return {
      outputs: [{ dtype: "f32", shape: [h, q, k] }],
      params: [weightParam("weight", [Dim.const(buckets), h], "normal")],
    };
  },
  cost(ctx) {
    const [, q, k] = ctx.outputs[0]!.shape as [Dim, Dim, Dim];
    return cost(0, q.mul(k).scale(BUCKET_FLOPS));
  },
  lower(ctx) {
    // bias[h, i, j] = weight[bucket(j - i), h]
    const b = ctx.b;
    const [, q, k] = outShape(ctx) as [number, number, number];
    const buckets = num(ctx, "num_buckets");
    const maxDistance = num(ctx, "max_distance");
    const ids = table(b, [q, k], (i, j) => t5Bucket(j - i, flag(ctx, "bidirectional"), buckets, maxDistance), "i32");
    return [b.transpose(b.gather(ctx.params[0]!, ids, 0), [2, 0, 1])];
  },
  onnx(ctx) {
    const [, q, k] = ctx.outputs[0]!.shape.map((d) => ctx.known(d, "a sequence length")) as [number, number, number];
    const buckets = ctx.int("num_buckets");
    const maxDistance = ctx.int("max_distance");
    const bidirectional = boolAttr(ctx, "bidirectional");
    const ids = Array.from({ length: q * k }, (_, n) => t5Bucket((n % k) - Math.floor(n / k), bidirectional, buckets, maxDistance));
    const rows = ctx.op("Gather", [ctx.params[0]!, ctx.constant(ids, [q, k], "i64")], { axis: 0 });
    return [ctx.op("Transpose", [rows], { perm: [2, 0, 1] })];
  },
};

// PyTorch (compiler/ops/torch-mapping.ts): helpers written out in the exported file (torch
// 1.13 has no F.scaled_dot_product_attention; the multi-head layer keeps dlm's parameter names).
const TORCH: TorchTable = {
  scaled_dot_product_attention: {
    forward: (c) =>
      pyCall(c.helper("sdpa"), [arg(c, 0), arg(c, 1), arg(c, 2)], {
        mask: c.inputs[3],
        causal: c.py(c.attrs.causal),
        scale: c.py(c.attrs.scale),
        dropout: c.py(c.attrs.dropout),
        training: c.training,
      }),
  },
  multihead_attention: {
    layer: (c) => {
      const [d, dkv] = [c.paramShapes[0]![1]!, c.paramShapes[c.paramShapes.length > 4 ? 2 : 1]![1]!];
      const heads = c.int("heads");
      const kvHeads = c.attrs.kv_heads === null ? heads : c.int("kv_heads");
      return pyCall(c.helper("mha"), [String(d), String(dkv), String(heads), String(kvHeads), c.py(c.attrs.bias)]);
    },
    forward: (c) => {
      if (!c.layer) throw new Error("a multi-head attention whose projections are shared with another layer");
      return pyCall(c.layer, [arg(c, 0)], {
        kv: c.inputs[1],
        mask: c.inputs[2],
        causal: c.py(c.attrs.causal),
        dropout: c.py(c.attrs.dropout),
        rope: c.py(c.attrs.rope),
      });
    },
  },
  apply_rope: { forward: (c) => pyCall(c.helper("rope"), [arg(c, 0), c.py(c.attrs.base)]) },
};

export const ops: OpDef[] = withTorch([sdpa, mha, applyRope, relativePositionBias], TORCH);
