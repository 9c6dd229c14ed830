// Streaming (flash) attention on the CPU: softmax(q·kᵀ·scale + mask)·v one tile of queries
// against one tile of keys at a time, so the [Tq, Tk] score matrix never exists; only a tile
// of it does (QUERY_TILE × KEY_TILE floats of scratch). The tile products run on the GEMM of
// kernels/matmul.ts (WebAssembly SIMD where available).
//
// Forward (online softmax): each query row keeps its running maximum m and sum l; a new tile
// of scores with a larger maximum rescales the row's accumulated output and sum by
// exp(m_old − m_new) before adding exp(s − m_new)·v. The output is divided by l at the end,
// and m + log l, the row's logsumexp, is written after it (rows of dv + 1 values: see
// compiler/prim/attention.ts).
//
// Backward: D_i = Σ dO_i·O_i, then per tile the weights p = exp(s − lse) from the saved
// logsumexp, and dv += pᵀ·dO, ds = p∘(dO·vᵀ − D)·scale, dq += ds·k, dk += dsᵀ·q.
//
// Causal attention skips the tiles above the diagonal. A row whose keys are all hidden gives
// NaN, as the unfused softmax of a row of −∞ does.

import type { AttentionAttrs, AttentionDims, MaskIndex } from "../../../compiler/prim/attention.js";
import { matmul } from "./matmul.js";

/**
 * Queries and keys per tile: wide enough that each GEMM call amortises its set-up (64 × 64
 * tiles measured ~10% slower), small enough that a tile (64 KiB) stays in cache.
 */
export const QUERY_TILE = 64;
export const KEY_TILE = 256;

export interface AttentionPlan {
  readonly dims: AttentionDims;
  readonly attrs: AttentionAttrs;
  /** the mask's values and where each (item, query, key) finds its one */
  readonly mask?: { readonly data: Float32Array | Uint8Array; readonly index: MaskIndex };
  /** one tile of scores or weights, and one of their cotangents */
  readonly tile: Float32Array;
  readonly tile2: Float32Array;
  /** per query row of one item: the running max (forward); the running sum (forward), D = Σ dO·O (backward) */
  readonly rowA: Float64Array;
  readonly rowB: Float64Array;
}

export function attentionPlan(dims: AttentionDims, attrs: AttentionAttrs, mask?: AttentionPlan["mask"]): AttentionPlan {
  const tile = QUERY_TILE * KEY_TILE;
  return {
    dims,
    attrs,
    ...(mask ? { mask } : {}),
    tile: new Float32Array(tile),
    tile2: new Float32Array(tile),
    rowA: new Float64Array(dims.tq),
    rowB: new Float64Array(dims.tq),
  };
}

/** Keys query rows i0 .. i0+bq−1 may see: all, or up to the last row's diagonal. */
function keyEnd(pl: AttentionPlan, i0: number, bq: number): number {
  return pl.attrs.causal ? Math.min(pl.dims.tk, i0 + bq) : pl.dims.tk;
}

/** Scaled, masked scores of queries i0.. (bq) against keys j0.. (bk) of item t into pl.tile, row-major bq × bk. */
function scoreTile(pl: AttentionPlan, q: Float32Array, k: Float32Array, t: number, i0: number, bq: number, j0: number, bk: number): void {
  const { tq, tk, d } = pl.dims;
  const { scale, causal } = pl.attrs;
  const s = pl.tile;
  matmul(q, k, s, bq, d, bk, { transB: true, offsetA: (t * tq + i0) * d, offsetB: (t * tk + j0) * d });
  const mask = pl.mask;
  const keep = pl.attrs.mask === "keep";
  for (let r = 0; r < bq; r++) {
    const i = i0 + r;
    const base = mask ? mask.index.item[t]! + i * mask.index.row + j0 * mask.index.col : 0;
    for (let c = 0; c < bk; c++) {
      let x = Math.fround(s[r * bk + c]! * scale);
      if (mask) {
        const m = mask.data[base + c * mask.index.col]!;
        if (keep) x = m !== 0 ? x : -Infinity;
        else x = Math.fround(x + m);
      }
      if (causal && j0 + c > i) x = -Infinity;
      s[r * bk + c] = x;
    }
  }
}

/** out [..L, Tq, dv + 1]: each row softmax(q·kᵀ·scale + mask)·v, then its logsumexp. */
export function attentionForward(pl: AttentionPlan, q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array): void {
  const { batch, tq, tk, dv } = pl.dims;
  const ld = dv + 1;
  const m = pl.rowA;
  const l = pl.rowB;
  const s = pl.tile;
  out.fill(0);
  for (let t = 0; t < batch; t++) {
    m.fill(-Infinity);
    l.fill(0);
    for (let i0 = 0; i0 < tq; i0 += QUERY_TILE) {
      const bq = Math.min(QUERY_TILE, tq - i0);
      const end = keyEnd(pl, i0, bq);
      for (let j0 = 0; j0 < end; j0 += KEY_TILE) {
        const bk = Math.min(KEY_TILE, end - j0);
        scoreTile(pl, q, k, t, i0, bq, j0, bk);
        for (let r = 0; r < bq; r++) {
          const i = i0 + r;
          let next = m[i]!;
          for (let c = 0; c < bk; c++) next = Math.max(next, s[r * bk + c]!);
          if (next === -Infinity) {
            s.fill(0, r * bk, (r + 1) * bk); // nothing visible yet: the row adds nothing
            continue;
          }
          const corr = Math.exp(m[i]! - next);
          if (corr !== 1) {
            const o = (t * tq + i) * ld;
            for (let c = 0; c < dv; c++) out[o + c] = out[o + c]! * corr;
          }
          let sum = l[i]! * corr;
          for (let c = 0; c < bk; c++) sum += s[r * bk + c] = Math.exp(s[r * bk + c]! - next);
          l[i] = sum;
          m[i] = next;
        }
        // out rows += p · v rows
        matmul(s, v, out, bq, bk, dv, { accumulate: true, ldc: ld, offsetB: (t * tk + j0) * dv, offsetC: (t * tq + i0) * ld });
      }
    }
    for (let i = 0; i < tq; i++) {
      const o = (t * tq + i) * ld;
      const sum = l[i]!;
      for (let c = 0; c < dv; c++) out[o + c] = out[o + c]! / sum;
      out[o + dv] = m[i]! + Math.log(sum);
    }
  }
}

/** out = [dq | dk | dv] (flattened, packed) for the forward's value a (outputs and logsumexps) and its cotangent dy. */
export function attentionBackward(
  pl: AttentionPlan,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  a: Float32Array,
  dy: Float32Array,
  out: Float32Array,
): void {
  const { batch, tq, tk, d, dv } = pl.dims;
  const ld = dv + 1;
  const dkAt = batch * tq * d;
  const dvAt = dkAt + batch * tk * d;
  const rowDot = pl.rowB;
  const p = pl.tile;
  const ds = pl.tile2;
  const scale = pl.attrs.scale;
  out.fill(0);
  for (let t = 0; t < batch; t++) {
    for (let i = 0; i < tq; i++) {
      const at = (t * tq + i) * ld;
      let sum = 0;
      for (let c = 0; c < dv; c++) sum += dy[at + c]! * a[at + c]!;
      rowDot[i] = sum;
    }
    for (let i0 = 0; i0 < tq; i0 += QUERY_TILE) {
      const bq = Math.min(QUERY_TILE, tq - i0);
      const end = keyEnd(pl, i0, bq);
      const qAt = (t * tq + i0) * d;
      const rowAt = (t * tq + i0) * ld;
      for (let j0 = 0; j0 < end; j0 += KEY_TILE) {
        const bk = Math.min(KEY_TILE, end - j0);
        const kAt = (t * tk + j0) * d;
        const vAt = (t * tk + j0) * dv;
        scoreTile(pl, q, k, t, i0, bq, j0, bk);
        for (let r = 0; r < bq; r++) {
          const lse = a[rowAt + r * ld + dv]!;
          for (let c = 0; c < bk; c++) p[r * bk + c] = Math.exp(p[r * bk + c]! - lse);
        }
        // dv rows += pᵀ · dy rows
        matmul(p, dy, out, bk, bq, dv, { transA: true, accumulate: true, ldb: ld, offsetB: rowAt, offsetC: dvAt + vAt });
        // dp = dy · vᵀ, then ds = p ∘ (dp − D) · scale in place
        matmul(dy, v, ds, bq, dv, bk, { transB: true, lda: ld, offsetA: rowAt, offsetB: vAt });
        for (let r = 0; r < bq; r++) {
          const dot = rowDot[i0 + r]!;
          for (let c = 0; c < bk; c++) ds[r * bk + c] = p[r * bk + c]! * (ds[r * bk + c]! - dot) * scale;
        }
        // dq rows += ds · k rows; dk rows += dsᵀ · q rows
        matmul(ds, k, out, bq, bk, d, { accumulate: true, offsetB: kAt, offsetC: qAt });
        matmul(ds, q, out, bk, bq, d, { transA: true, accumulate: true, offsetB: qAt, offsetC: dkAt + kAt });
      }
    }
  }
}
