// The attention primitives: softmax(q·kᵀ·scale + mask)·v as one node, so that the CPU backend
// can run it as a streaming (flash-attention) kernel that never stores the [.., Tq, Tk] score
// matrix, forward or backward.
//
// Why a primitive with its own VJP rather than recognising the pattern after autodiff: the
// backward graph autodiff writes for a softmax between two matmuls has many equivalent forms
// (stop_gradient on the max, broadcasts, reshapes, merged repeats) and a matcher over it
// breaks silently when any of them changes; the high-level op knows exactly what it computes.
// Backends and switches that do not want the streaming kernel expand the primitives back into
// the unfused ones (`unfusedAttention` and `unfusedAttentionGrad`, used by
// compiler/passes/attention.ts), so -O0, `--no-fuse`, `--no-flash-attention` and WebGPU run
// the matmul → scale → mask → softmax → matmul chain the op lowered to before.
//
//   attention(q, k, v[, mask])  q [..L, Tq, d], k [..L, Tk, d], v [..L, Tk, dv] → [..L, Tq, dv + 1]
//       each query row's output, then its logsumexp (the one statistic the backward needs, so
//       that it need not walk the scores a third time); `attention()` below returns the output
//       columns as a slice, and nothing else reads the logsumexp column
//   attention_grad(q, k, v[, mask], a, da) → [dq | dk | dv] flattened and packed in one f32 vector
//       for the attention node a and the cotangent of its output columns (da's last column is ignored)
//
// attrs: `scale` (the score multiplier), `causal` (key j hidden from query i when j > i,
// top-left aligned) and `mask`: "none", "keep" (a bool mask broadcasting to [..L, Tq, Tk],
// false hides the key) or "add" (a float mask added to the scaled scores). The IR has one
// result per node, so the several results of each kernel are packed into one value.

import type { PrimBuilder, T } from "./builder.js";
import { broadcastShape } from "./builder.js";
import { numelOf, type PNode } from "./ir.js";

export type AttentionMask = "none" | "keep" | "add";

export interface AttentionAttrs {
  readonly scale: number;
  readonly causal: boolean;
  readonly mask: AttentionMask;
}

export function attentionAttrs(n: PNode): AttentionAttrs {
  return { scale: n.attrs["scale"] as number, causal: n.attrs["causal"] === true, mask: (n.attrs["mask"] as AttentionMask) ?? "none" };
}

/** The sizes an attention node works over: `batch` flattened leading items of Tq queries and Tk keys. */
export interface AttentionDims {
  readonly lead: readonly number[];
  readonly batch: number;
  readonly tq: number;
  readonly tk: number;
  readonly d: number;
  readonly dv: number;
}

export function attentionDims(q: readonly number[], k: readonly number[], v: readonly number[]): AttentionDims {
  const lead = q.slice(0, -2);
  return { lead, batch: numelOf(lead), tq: q.at(-2)!, tk: k.at(-2)!, d: q.at(-1)!, dv: v.at(-1)! };
}

/**
 * Why q, k, v and a mask cannot form an attention primitive, or undefined when they can: the
 * lowering falls back to the unfused primitives (and `dlm compile --explain` says why).
 */
export function attentionUnsupported(b: PrimBuilder, q: T, k: T, v: T, mask: T | undefined): string | undefined {
  const [sq, sk, sv] = [b.shape(q), b.shape(k), b.shape(v)];
  if ([q, k, v].some((x) => b.dtype(x) !== "f32")) return "q, k and v are not all float32";
  if (sq.length < 2 || sk.length !== sq.length || sv.length !== sq.length) return "q, k and v have different ranks";
  if (sq.at(-1) !== sk.at(-1) || sk.at(-2) !== sv.at(-2)) return "q·kᵀ·v shapes do not chain";
  if (numelOf(sq) === 0 || numelOf(sk) === 0 || numelOf(sv) === 0) return "an empty tensor";
  let lead: number[];
  try {
    lead = broadcastShape("attention", broadcastShape("attention", sq.slice(0, -2), sk.slice(0, -2)), sv.slice(0, -2));
  } catch {
    return "the leading axes of q, k and v do not broadcast";
  }
  if (mask !== undefined) {
    const scores = [...lead, sq.at(-2)!, sk.at(-2)!];
    if (b.dtype(mask) === "i32") return "an integer mask";
    try {
      const s = broadcastShape("attention", b.shape(mask), scores);
      if (s.length !== scores.length || s.some((d, i) => d !== scores[i])) return "the mask is larger than the scores";
    } catch {
      return "the mask does not broadcast to the scores";
    }
  }
  return undefined;
}

/** softmax(q·kᵀ·scale + mask)·v through the attention primitive (q, k and v broadcast to their common leading axes first): its output columns. */
export function attention(b: PrimBuilder, q: T, k: T, v: T, mask: T | undefined, attrs: AttentionAttrs): T {
  const why = attentionUnsupported(b, q, k, v, mask);
  if (why) throw new Error(`primitive attention: ${why}`);
  if ((mask === undefined) !== (attrs.mask === "none") || (mask !== undefined && (b.dtype(mask) === "bool") !== (attrs.mask === "keep")))
    throw new Error(`primitive attention: mask kind '${attrs.mask}' does not match the mask given`);
  const lead = broadcastShape(
    "attention",
    broadcastShape("attention", b.shape(q).slice(0, -2), b.shape(k).slice(0, -2)),
    b.shape(v).slice(0, -2),
  );
  const [bq, bk, bv] = [q, k, v].map((x) => b.broadcastTo(x, [...lead, ...b.shape(x).slice(-2)]));
  const dv = b.shape(bv!).at(-1)!;
  const packed = b.add(
    "attention",
    mask === undefined ? [bq!, bk!, bv!] : [bq!, bk!, bv!, mask],
    { ...attrs },
    [...b.shape(bq!).slice(0, -1), dv + 1],
    "f32",
  );
  return b.sliceAxis(packed, -1, 0, dv);
}

/** The packed [dq | dk | dv] of attention node `a` for the cotangent `dy` of its value (the logsumexp column ignored). */
export function attentionGrad(b: PrimBuilder, a: T, dy: T): T {
  const n = b.node(a);
  const [q, k, v] = n.inputs as [T, T, T];
  const total = numelOf(b.shape(q)) + numelOf(b.shape(k)) + numelOf(b.shape(v));
  return b.add("attention_grad", [...n.inputs, a, dy], { ...attentionAttrs(n) }, [total], "f32");
}

/** dq, dk and dv out of a packed attention_grad value. */
export function unpackAttentionGrad(b: PrimBuilder, packed: T, q: T, k: T, v: T): [T, T, T] {
  let at = 0;
  return [q, k, v].map((x) => {
    const size = numelOf(b.shape(x));
    const part = b.reshape(b.sliceAxis(packed, 0, at, at + size), b.shape(x));
    at += size;
    return part;
  }) as [T, T, T];
}

/** The packed layout attention_grad produces, from separate gradients (the unfused expansion). */
export function packAttentionGrad(b: PrimBuilder, parts: readonly T[]): T {
  return b.concat(
    parts.map((p) => b.reshape(p, [numelOf(b.shape(p))])),
    0,
  );
}

/** Scores masked as the op asks: scale, the mask (hide or add), then the causal triangle. */
function maskedScores(b: PrimBuilder, q: T, k: T, mask: T | undefined, attrs: AttentionAttrs): T {
  let s = b.scale(b.matmul(q, k, false, true), attrs.scale);
  const hide = (allowed: T): T => b.where(allowed, s, b.scalar(-Infinity));
  if (mask !== undefined) s = attrs.mask === "keep" ? hide(mask) : b.plus(s, mask);
  if (attrs.causal) {
    const grid = b.shape(s).slice(-2);
    s = hide(b.binary("le", b.iota(grid, 1), b.iota(grid, 0)));
  }
  return s;
}

/** The softmax weights, [..L, Tq, Tk]: what the unfused chain stores and the streaming kernel never does. */
export function attentionWeights(b: PrimBuilder, q: T, k: T, mask: T | undefined, attrs: AttentionAttrs): T {
  const s = maskedScores(b, q, k, mask, attrs);
  const e = b.exp(b.minus(s, b.stopGradient(b.max(s, [-1], true))));
  return b.over(e, b.sum(e, [-1], true));
}

/** The unfused forward: the weights `p`, the output, and the attention node's value (the output and the logsumexp column). */
export function unfusedAttention(b: PrimBuilder, q: T, k: T, v: T, mask: T | undefined, attrs: AttentionAttrs): { p: T; o: T; packed: T } {
  const s = maskedScores(b, q, k, mask, attrs);
  const m = b.stopGradient(b.max(s, [-1], true));
  const e = b.exp(b.minus(s, m));
  const sum = b.sum(e, [-1], true);
  const p = b.over(e, sum);
  const o = b.matmul(p, v);
  return { p, o, packed: b.concat([o, b.plus(b.log(sum), m)], -1) };
}

/** The output columns of an attention value (or of its cotangent). */
export function outputColumns(b: PrimBuilder, packed: T): T {
  return b.sliceAxis(packed, -1, 0, b.shape(packed).at(-1)! - 1);
}

/**
 * The unfused backward from the weights p: dq, dk, dv and the score cotangent ds (before the
 * scale; an additive mask's gradient is ds summed to the mask's shape).
 */
export function unfusedAttentionGrad(b: PrimBuilder, q: T, k: T, v: T, p: T, dy: T, scale: number): { dq: T; dk: T; dv: T; ds: T } {
  const dv = b.matmul(p, dy, true, false);
  const dp = b.matmul(dy, v, false, true);
  const ds = b.times(p, b.minus(dp, b.sum(b.times(dp, p), [-1], true)));
  const scaled = b.scale(ds, scale);
  return { dq: b.matmul(scaled, k), dk: b.matmul(scaled, q, true, false), dv, ds };
}

/** The VJP of attention: the streaming backward, or the unfused one where an additive mask needs its gradient (a learned bias). */
export function attentionVjp(b: PrimBuilder, n: PNode, dy: T, wants: readonly boolean[]): (T | undefined)[] {
  const [q, k, v, mask] = n.inputs as [T, T, T, T | undefined];
  const attrs = attentionAttrs(n);
  const pick = (g: readonly T[]): (T | undefined)[] => g.map((x, i) => (wants[i] ? x : undefined));
  if (mask !== undefined && wants[3]) {
    // the mask's gradient is as large as the scores: form them
    const p = attentionWeights(b, q, k, mask, attrs);
    const g = unfusedAttentionGrad(b, q, k, v, p, outputColumns(b, dy), attrs.scale);
    return pick([g.dq, g.dk, g.dv, b.sumTo(g.ds, b.shape(mask))]);
  }
  return pick(unpackAttentionGrad(b, attentionGrad(b, n.id, dy), q, k, v));
}

/**
 * FLOPs of an attention node: Q·Kᵀ and P·V (2 per multiply-add) and ~5 per score for the
 * softmax; its backward recomputes the scores and weights from the saved logsumexp and forms
 * dv, dp, dq and dk (~4 per score elementwise).
 */
export function attentionFlops(n: PNode, shapeOf: (k: number) => readonly number[]): number {
  const { batch, tq, tk, d, dv } = attentionDims(shapeOf(0), shapeOf(1), shapeOf(2));
  const scores = batch * tq * tk;
  if (n.op === "attention") return scores * (2 * d + 2 * dv + 5);
  return scores * (2 * (3 * d + 2 * dv) + 4);
}

/**
 * Where an attention node's mask value for (item t, query i, key j) lives:
 * `item[t] + i·row + j·col` (strides 0 on broadcast axes).
 */
export interface MaskIndex {
  readonly item: Int32Array;
  readonly row: number;
  readonly col: number;
}

export function maskIndex(mask: readonly number[], dims: AttentionDims): MaskIndex {
  const full = [...dims.lead, dims.tq, dims.tk];
  const padded = [...Array<number>(full.length - mask.length).fill(1), ...mask];
  const strides = new Array<number>(full.length);
  let acc = 1;
  for (let a = full.length - 1; a >= 0; a--) {
    strides[a] = padded[a] === 1 ? 0 : acc;
    acc *= padded[a]!;
  }
  const item = new Int32Array(dims.batch);
  for (let t = 0; t < dims.batch; t++) {
    let rest = t;
    let off = 0;
    for (let a = dims.lead.length - 1; a >= 0; a--) {
      off += (rest % dims.lead[a]!) * strides[a]!;
      rest = Math.floor(rest / dims.lead[a]!);
    }
    item[t] = off;
  }
  return { item, row: strides.at(-2)!, col: strides.at(-1)! };
}
