// Convolution for the float32 executor (a simple, correct stand-in until kernels/conv.ts lands):
// im2col into a scratch buffer planned once, then a GEMM from kernels/matmul.ts. Any number of
// spatial axes, groups, stride, dilation and asymmetric padding.
//   conv:             y[b, g·Og + o, p] = Σ_{c, k} w[g·Og + o, c, k] · col_b,g[c·Kn + k, p]
//   conv_input_grad:  col = w_gᵀ · dy_b,g, then col2im adds it back onto dx
//   conv_weight_grad: dw_g = Σ_b dy_b,g · col_b,gᵀ
// where col_b,g[c·Kn + k, p] = x[b, g·Cg + c, p·stride − padLo + k·dilation] (0 in padding).

import { numelOf } from "../../compiler/prim/ir.js";
import { matmul, type MatmulOptions } from "./kernels/matmul.js";

export interface WindowAttrs {
  readonly kernel: readonly number[];
  readonly stride: readonly number[];
  readonly padLo: readonly number[];
  readonly dilation: readonly number[];
}

/**
 * Input spatial offset of every (kernel tap, output position), or -1 in padding; laid out
 * [tap][pos] when `tapMajor`, else [pos][tap].
 */
export function windowTable(inSize: readonly number[], outSize: readonly number[], w: WindowAttrs, tapMajor: boolean): Int32Array {
  const P = numelOf(outSize);
  const Kn = numelOf(w.kernel);
  const nd = inSize.length;
  const table = new Int32Array(P * Kn);
  const p = outSize.map(() => 0);
  for (let pi = 0; pi < P; pi++) {
    const k = w.kernel.map(() => 0);
    for (let ki = 0; ki < Kn; ki++) {
      let off = 0;
      for (let d = 0; d < nd; d++) {
        const q = p[d]! * w.stride[d]! - w.padLo[d]! + k[d]! * w.dilation[d]!;
        if (q < 0 || q >= inSize[d]! || off < 0) off = -1;
        else off = off * inSize[d]! + q;
      }
      table[tapMajor ? ki * P + pi : pi * Kn + ki] = off;
      for (let d = nd - 1; d >= 0; d--) {
        if (++k[d]! < w.kernel[d]!) break;
        k[d] = 0;
      }
    }
    for (let d = nd - 1; d >= 0; d--) {
      if (++p[d]! < outSize[d]!) break;
      p[d] = 0;
    }
  }
  return table;
}

export interface ConvPlan {
  readonly B: number;
  readonly C: number;
  readonly O: number;
  readonly groups: number;
  readonly Cg: number;
  readonly Og: number;
  /** output and input spatial sizes (numel) and kernel taps */
  readonly P: number;
  readonly S: number;
  readonly Kn: number;
  /** [tap][pos] input offsets, -1 in padding */
  readonly pos: Int32Array;
  /** the table is the identity (1x1 kernel, stride 1, no padding): x itself is the column matrix */
  readonly identity: boolean;
  readonly col: Float32Array;
  readonly opts: MatmulOptions;
}

/** x [B, C, *in], w [O, C/groups, *K], y [B, O, *out]. */
export function convPlan(
  xShape: readonly number[],
  wShape: readonly number[],
  yShape: readonly number[],
  w: WindowAttrs,
  groups: number,
): ConvPlan {
  const inSize = xShape.slice(2);
  const outSize = yShape.slice(2);
  const P = numelOf(outSize);
  const S = numelOf(inSize);
  const Kn = numelOf(w.kernel);
  const pos = windowTable(inSize, outSize, w, true);
  const identity = Kn === 1 && P === S && pos.every((v, i) => v === i);
  const Cg = wShape[1]!;
  return {
    B: xShape[0]!,
    C: xShape[1]!,
    O: wShape[0]!,
    groups,
    Cg,
    Og: wShape[0]! / groups,
    P,
    S,
    Kn,
    pos,
    identity,
    col: new Float32Array(identity ? 0 : Cg * Kn * P),
    opts: {},
  };
}

function im2col(pl: ConvPlan, x: Float32Array, b: number, g: number): void {
  const { P, S, Kn, Cg, pos, col } = pl;
  for (let c = 0; c < Cg; c++) {
    const xb = (b * pl.C + g * Cg + c) * S;
    for (let k = 0; k < Kn; k++) {
      const row = (c * Kn + k) * P;
      const tb = k * P;
      for (let p = 0; p < P; p++) {
        const q = pos[tb + p]!;
        col[row + p] = q >= 0 ? x[xb + q]! : 0;
      }
    }
  }
}

function setOpts(
  o: MatmulOptions,
  transA: boolean,
  transB: boolean,
  accumulate: boolean,
  offsetA: number,
  offsetB: number,
  offsetC: number,
): MatmulOptions {
  o.transA = transA;
  o.transB = transB;
  o.accumulate = accumulate;
  o.offsetA = offsetA;
  o.offsetB = offsetB;
  o.offsetC = offsetC;
  return o;
}

export function convForward(pl: ConvPlan, x: Float32Array, w: Float32Array, y: Float32Array): void {
  const { B, O, Og, Cg, Kn, P, groups } = pl;
  for (let b = 0; b < B; b++)
    for (let g = 0; g < groups; g++) {
      const wOff = g * Og * Cg * Kn;
      const yOff = (b * O + g * Og) * P;
      if (pl.identity) matmul(w, x, y, Og, Cg, P, setOpts(pl.opts, false, false, false, wOff, (b * pl.C + g * Cg) * P, yOff));
      else {
        im2col(pl, x, b, g);
        matmul(w, pl.col, y, Og, Cg * Kn, P, setOpts(pl.opts, false, false, false, wOff, 0, yOff));
      }
    }
}

export function convInputGrad(pl: ConvPlan, dy: Float32Array, w: Float32Array, dx: Float32Array): void {
  const { B, O, Og, Cg, Kn, P, S, groups, pos } = pl;
  if (pl.identity) {
    for (let b = 0; b < B; b++)
      for (let g = 0; g < groups; g++)
        matmul(w, dy, dx, Cg, Og, P, setOpts(pl.opts, true, false, false, g * Og * Cg, (b * O + g * Og) * P, (b * pl.C + g * Cg) * S));
    return;
  }
  dx.fill(0);
  const col = pl.col;
  for (let b = 0; b < B; b++)
    for (let g = 0; g < groups; g++) {
      matmul(w, dy, col, Cg * Kn, Og, P, setOpts(pl.opts, true, false, false, g * Og * Cg * Kn, (b * O + g * Og) * P, 0));
      for (let c = 0; c < Cg; c++) {
        const xb = (b * pl.C + g * Cg + c) * S;
        for (let k = 0; k < Kn; k++) {
          const row = (c * Kn + k) * P;
          const tb = k * P;
          for (let p = 0; p < P; p++) {
            const q = pos[tb + p]!;
            if (q >= 0) dx[xb + q] += col[row + p]!;
          }
        }
      }
    }
}

export function convWeightGrad(pl: ConvPlan, x: Float32Array, dy: Float32Array, dw: Float32Array): void {
  const { B, O, Og, Cg, Kn, P, groups } = pl;
  if (B === 0) dw.fill(0);
  for (let g = 0; g < groups; g++)
    for (let b = 0; b < B; b++) {
      const dyOff = (b * O + g * Og) * P;
      const dwOff = g * Og * Cg * Kn;
      if (pl.identity) matmul(dy, x, dw, Og, P, Cg, setOpts(pl.opts, false, true, b > 0, dyOff, (b * pl.C + g * Cg) * P, dwOff));
      else {
        im2col(pl, x, b, g);
        matmul(dy, pl.col, dw, Og, P, Cg * Kn, setOpts(pl.opts, false, true, b > 0, dyOff, 0, dwOff));
      }
    }
}
