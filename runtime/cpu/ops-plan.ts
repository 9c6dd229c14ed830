// Index plans for the float32 executor, computed once at compile time: a walk over an N-d
// output is reduced to `rows` runs of `n` elements; operand t reads (or writes) element j of
// row r at offs[t][r] + j * inner[t]. Adjacent axes that every operand steps through
// contiguously are merged first and unit axes dropped, so the common cases collapse to one row
// (same shapes) or to a few long rows (bias broadcast, slices of the last axis).

import { numelOf, stridesOf } from "../../compiler/prim/ir.js";

export interface RowPlan {
  readonly rows: number;
  readonly n: number;
  /** per operand: the offset of each row */
  readonly offs: readonly Int32Array[];
  /** per operand: the step along a row */
  readonly inner: readonly number[];
}

/**
 * A plan over `shape` for operands with the given element strides (0 broadcasts) and base
 * offsets.
 */
export function rowPlan(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  bases: readonly number[] = strides.map(() => 0),
): RowPlan {
  const k = strides.length;
  // drop unit axes
  const dims: number[] = [];
  const st: number[][] = strides.map(() => []);
  shape.forEach((d, i) => {
    if (d === 1) return;
    dims.push(d);
    for (let t = 0; t < k; t++) st[t]!.push(strides[t]![i]!);
  });
  // merge axis i into i+1 when every operand steps through both as one
  for (let i = dims.length - 2; i >= 0; i--) {
    if (st.every((s) => s[i] === s[i + 1]! * dims[i + 1]!)) {
      dims[i + 1] = dims[i]! * dims[i + 1]!;
      dims.splice(i, 1);
      for (const s of st) s.splice(i, 1);
    }
  }
  if (numelOf(shape) === 0) return { rows: 0, n: 0, offs: strides.map(() => new Int32Array(0)), inner: strides.map(() => 0) };
  if (dims.length === 0) return { rows: 1, n: 1, offs: bases.map((b) => Int32Array.of(b)), inner: strides.map(() => 0) };
  const n = dims.at(-1)!;
  const outer = dims.slice(0, -1);
  const rows = numelOf(outer);
  const offs = bases.map(() => new Int32Array(rows));
  const idx = outer.map(() => 0);
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < k; t++) {
      let o = bases[t]!;
      for (let d = 0; d < outer.length; d++) o += idx[d]! * st[t]![d]!;
      offs[t]![r] = o;
    }
    for (let d = outer.length - 1; d >= 0; d--) {
      if (++idx[d]! < outer[d]!) break;
      idx[d] = 0;
    }
  }
  return { rows, n, offs, inner: st.map((s) => s.at(-1)!) };
}

/** Strides of `from` seen from a broadcast `to` (NumPy rules; 0 on broadcast axes). */
export function broadcastStrides(from: readonly number[], to: readonly number[]): number[] {
  const s = stridesOf(from);
  const lead = to.length - from.length;
  return to.map((d, i) => (i < lead || (from[i - lead] === 1 && d !== 1) ? 0 : s[i - lead]!));
}

/** dst[...] = src[...] over a plan with operands (dst, src). */
export function copyRows(p: RowPlan, dst: { [i: number]: number }, src: ArrayLike<number>): void {
  const dOffs = p.offs[0]!;
  const sOffs = p.offs[1]!;
  const ds = p.inner[0]!;
  const ss = p.inner[1]!;
  const n = p.n;
  for (let r = 0; r < p.rows; r++) {
    const d = dOffs[r]!;
    const s = sOffs[r]!;
    if (ds === 1 && ss === 1) for (let j = 0; j < n; j++) dst[d + j] = src[s + j]!;
    else if (ds === 1 && ss === 0) {
      const v = src[s]!;
      for (let j = 0; j < n; j++) dst[d + j] = v;
    } else for (let j = 0; j < n; j++) dst[d + j * ds] = src[s + j * ss]!;
  }
}
