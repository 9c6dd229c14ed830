// The float64 reference of the attention primitives (compiler/prim/attention.ts): for each
// query row the whole row of scores, its softmax in two passes (max, then sum) and the
// products, written the textbook way: the yardstick for the streaming CPU kernel.

import { attentionAttrs, attentionDims, maskIndex, type AttentionAttrs, type AttentionDims } from "../../compiler/prim/attention.js";
import type { PNode } from "../../compiler/prim/ir.js";
import type { HostArray, HostTensor } from "./reference.js";

interface Row {
  /** softmax weights of the row's keys */
  readonly p: Float64Array;
  /** log Σ exp of the row's scores */
  readonly lse: number;
}

/** The softmax weights of query i of item t. */
function weights(
  q: HostArray,
  k: HostArray,
  mask: HostTensor | undefined,
  attrs: AttentionAttrs,
  dims: AttentionDims,
  at: ReturnType<typeof maskIndex> | undefined,
  t: number,
  i: number,
): Row {
  const { tq, tk, d } = dims;
  const s = new Float64Array(tk);
  for (let j = 0; j < tk; j++) {
    let dot = 0;
    for (let c = 0; c < d; c++) dot += q[(t * tq + i) * d + c]! * k[(t * tk + j) * d + c]!;
    let score = dot * attrs.scale;
    if (mask && at) {
      const m = mask.data[at.item[t]! + i * at.row + j * at.col]!;
      if (attrs.mask === "keep") score = m !== 0 ? score : -Infinity;
      else score += m;
    }
    if (attrs.causal && j > i) score = -Infinity;
    s[j] = score;
  }
  let max = -Infinity;
  for (let j = 0; j < tk; j++) max = Math.max(max, s[j]!);
  let sum = 0;
  for (let j = 0; j < tk; j++) sum += s[j] = Math.exp(s[j]! - max);
  for (let j = 0; j < tk; j++) s[j] = s[j]! / sum;
  return { p: s, lse: Math.log(sum) + max };
}

function setup(n: PNode, xs: readonly HostTensor[]) {
  const dims = attentionDims(xs[0]!.shape, xs[1]!.shape, xs[2]!.shape);
  const attrs = attentionAttrs(n);
  const mask = attrs.mask === "none" ? undefined : xs[3]!;
  const at = mask ? maskIndex(mask.shape, dims) : undefined;
  return { dims, attrs, mask, at };
}

/** Each query row: its output, then its logsumexp ([..L, Tq, dv + 1]). */
export function attentionReference(n: PNode, xs: readonly HostTensor[], out: HostArray): void {
  const { dims, attrs, mask, at } = setup(n, xs);
  const [q, k, v] = [xs[0]!.data, xs[1]!.data, xs[2]!.data];
  const { batch, tq, tk, dv } = dims;
  for (let t = 0; t < batch; t++)
    for (let i = 0; i < tq; i++) {
      const { p, lse } = weights(q, k, mask, attrs, dims, at, t, i);
      const row = (t * tq + i) * (dv + 1);
      for (let c = 0; c < dv; c++) {
        let acc = 0;
        for (let j = 0; j < tk; j++) acc += p[j]! * v[(t * tk + j) * dv + c]!;
        out[row + c] = acc;
      }
      out[row + dv] = lse;
    }
}

/** Packed [dq | dk | dv]; inputs q, k, v, (mask), the attention value, its cotangent (whose logsumexp column is ignored). */
export function attentionGradReference(n: PNode, xs: readonly HostTensor[], out: HostArray): void {
  const { dims, attrs, mask, at } = setup(n, xs);
  const [q, k, v] = [xs[0]!.data, xs[1]!.data, xs[2]!.data];
  const dy = xs.at(-1)!.data;
  const { batch, tq, tk, d, dv } = dims;
  const dkAt = batch * tq * d;
  const dvAt = dkAt + batch * tk * d;
  out.fill(0);
  const dp = new Float64Array(tk);
  for (let t = 0; t < batch; t++)
    for (let i = 0; i < tq; i++) {
      const { p } = weights(q, k, mask, attrs, dims, at, t, i);
      const row = (t * tq + i) * (dv + 1);
      let rowDot = 0;
      for (let j = 0; j < tk; j++) {
        let s = 0;
        for (let c = 0; c < dv; c++) s += dy[row + c]! * v[(t * tk + j) * dv + c]!;
        dp[j] = s;
        rowDot += s * p[j]!;
      }
      for (let j = 0; j < tk; j++) {
        const ds = p[j]! * (dp[j]! - rowDot) * attrs.scale;
        for (let c = 0; c < d; c++) {
          out[(t * tq + i) * d + c] = out[(t * tq + i) * d + c]! + ds * k[(t * tk + j) * d + c]!;
          out[dkAt + (t * tk + j) * d + c] = out[dkAt + (t * tk + j) * d + c]! + ds * q[(t * tq + i) * d + c]!;
        }
        for (let c = 0; c < dv; c++) out[dvAt + (t * tk + j) * dv + c] = out[dvAt + (t * tk + j) * dv + c]! + p[j]! * dy[row + c]!;
      }
    }
}
