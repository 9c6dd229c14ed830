// Pooling for the float32 executor (a simple, correct stand-in until kernels/pool.ts lands), over
// the trailing kernel.length axes of x, every leading axis being a batch of planes. Windows come
// from a [pos][tap] table of input offsets planned once (-1 = padding, which never wins a max and
// counts in an average's divisor only with countPad).

import { numelOf } from "../../compiler/prim/ir.js";
import { windowTable, type WindowAttrs } from "./ops-conv.js";

export interface PoolPlan {
  /** planes (product of the leading axes), input and output plane sizes, taps */
  readonly L: number;
  readonly S: number;
  readonly P: number;
  readonly Kn: number;
  readonly pos: Int32Array;
  /** 1 / divisor per output position (average pooling) */
  readonly inv: Float64Array;
}

export function poolPlan(xShape: readonly number[], yShape: readonly number[], w: WindowAttrs, countPad: boolean): PoolPlan {
  const nd = w.kernel.length;
  const lead = xShape.length - nd;
  const inSize = xShape.slice(lead);
  const outSize = yShape.slice(lead);
  const P = numelOf(outSize);
  const Kn = numelOf(w.kernel);
  const pos = windowTable(inSize, outSize, w, false);
  const inv = new Float64Array(P);
  for (let p = 0; p < P; p++) {
    let n = 0;
    for (let k = 0; k < Kn; k++) if (pos[p * Kn + k]! >= 0) n++;
    inv[p] = 1 / (countPad ? Kn : n);
  }
  return { L: numelOf(xShape.slice(0, lead)), S: numelOf(inSize), P, Kn, pos, inv };
}

export function maxPool(pl: PoolPlan, x: Float32Array, y: Float32Array): void {
  const { L, S, P, Kn, pos } = pl;
  for (let l = 0; l < L; l++) {
    const xb = l * S;
    for (let p = 0; p < P; p++) {
      let m = -Infinity;
      const tb = p * Kn;
      for (let k = 0; k < Kn; k++) {
        const q = pos[tb + k]!;
        if (q >= 0) m = Math.max(m, x[xb + q]!);
      }
      y[l * P + p] = m;
    }
  }
}

export function maxPoolGrad(pl: PoolPlan, x: Float32Array, dy: Float32Array, dx: Float32Array): void {
  const { L, S, P, Kn, pos } = pl;
  dx.fill(0);
  for (let l = 0; l < L; l++) {
    const xb = l * S;
    for (let p = 0; p < P; p++) {
      let at = -1;
      let best = 0;
      const tb = p * Kn;
      for (let k = 0; k < Kn; k++) {
        const q = pos[tb + k]!;
        if (q >= 0 && (at < 0 || x[xb + q]! > best)) {
          at = q;
          best = x[xb + q]!;
        }
      }
      if (at >= 0) dx[xb + at] += dy[l * P + p]!;
    }
  }
}

export function avgPool(pl: PoolPlan, x: Float32Array, y: Float32Array): void {
  const { L, S, P, Kn, pos, inv } = pl;
  for (let l = 0; l < L; l++) {
    const xb = l * S;
    for (let p = 0; p < P; p++) {
      let s = 0;
      const tb = p * Kn;
      for (let k = 0; k < Kn; k++) {
        const q = pos[tb + k]!;
        if (q >= 0) s += x[xb + q]!;
      }
      y[l * P + p] = s * inv[p]!;
    }
  }
}

export function avgPoolGrad(pl: PoolPlan, dy: Float32Array, dx: Float32Array): void {
  const { L, S, P, Kn, pos, inv } = pl;
  dx.fill(0);
  for (let l = 0; l < L; l++) {
    const xb = l * S;
    for (let p = 0; p < P; p++) {
      const share = dy[l * P + p]! * inv[p]!;
      const tb = p * Kn;
      for (let k = 0; k < Kn; k++) {
        const q = pos[tb + k]!;
        if (q >= 0) dx[xb + q] += share;
      }
    }
  }
}
