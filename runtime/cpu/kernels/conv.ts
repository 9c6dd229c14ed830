// N-d convolution (cross-correlation, no kernel flip) for the CPU backend, 1-d/2-d/3-d, with
// stride, per-side padding, dilation and groups, plus its two gradients.
//
// Layouts (NC + spatial, row-major, dense):
//   x  [batch, inChannels, ...inSize]
//   w  [outChannels, inChannels/groups, ...kernel]
//   b  [outChannels]                                  (optional bias)
//   y  [batch, outChannels, ...outSize]
// y[n, o, p] = b[o] + Σ_{c in group(o), t} w[o, c, t] · x[n, c, p*stride - padLo + t*dilation]
// (out-of-range input positions read as zero).
//
// Forward: per (batch item, group) im2col into a scratch `col` [Cg·prod(kernel), prod(outSize)]
// then one matmul W_g[Coutg, Cg·taps] · col; 1x1/stride-1/unpadded convolutions skip im2col;
// when each group has a single input channel (depthwise, any channel multiplier) a direct
// tap-by-tap loop is used instead.
// convBackwardInput: dcol = W_gᵀ · dY_g then col2im (scatter-add). This is also the transposed
//   convolution ("deconvolution") of dy with w, w read in PyTorch's ConvTranspose layout
//   [in, out/groups, ...kernel] where "in" = this geometry's outChannels.
// convBackwardWeight: dW_g += dY_g · col_gᵀ summed over the batch.
// Works on Float32Array (fast matmul) and Float64Array (gradient checks). Scratch comes from the
// grow-only pool; nothing is allocated per call.

import { matmul, type FloatArray, type MatmulBackend } from "./matmul.js";
import { scratchLike } from "./scratch.js";
import { validRange, window3, windowOutSize, type Window3 } from "./geometry.js";

export interface ConvGeometry {
  batch: number;
  inChannels: number;
  outChannels: number;
  groups: number;
  inSize: number[];
  kernel: number[];
  stride: number[];
  padLo: number[];
  padHi: number[];
  dilation: number[];
  outSize: number[];
}

export interface ConvOptions {
  /** Add into the output buffer instead of overwriting it. */
  accumulate?: boolean;
  /** Float32 matmul implementation (see matmul.ts). */
  backend?: MatmulBackend;
}

/** floor((in + padLo + padHi - dilation·(kernel-1) - 1) / stride) + 1 per spatial axis. */
export function convOutSize(
  inSize: number[],
  kernel: number[],
  stride: number[],
  padLo: number[],
  padHi: number[],
  dilation: number[],
): number[] {
  return windowOutSize(inSize, kernel, stride, padLo, padHi, dilation, false);
}

/** Builds a ConvGeometry with defaults (groups 1, stride 1, no padding, dilation 1) and outSize. */
export function convGeometry(p: {
  batch: number;
  inChannels: number;
  outChannels: number;
  inSize: number[];
  kernel: number[];
  groups?: number;
  stride?: number[];
  padLo?: number[];
  padHi?: number[];
  dilation?: number[];
}): ConvGeometry {
  const r = p.inSize.length;
  const ones = new Array<number>(r).fill(1);
  const zeros = new Array<number>(r).fill(0);
  const g: ConvGeometry = {
    batch: p.batch,
    inChannels: p.inChannels,
    outChannels: p.outChannels,
    groups: p.groups ?? 1,
    inSize: [...p.inSize],
    kernel: [...p.kernel],
    stride: p.stride ? [...p.stride] : ones,
    padLo: p.padLo ? [...p.padLo] : zeros,
    padHi: p.padHi ? [...p.padHi] : p.padLo ? [...p.padLo] : [...zeros],
    dilation: p.dilation ? [...p.dilation] : [...ones],
    outSize: [],
  };
  g.outSize = convOutSize(g.inSize, g.kernel, g.stride, g.padLo, g.padHi, g.dilation);
  return g;
}

interface Prepared {
  w3: Window3;
  cg: number;
  og: number;
  /** rows of col: cg * taps */
  kk: number;
  pointwise: boolean;
}

function prepare(g: ConvGeometry): Prepared {
  const { inChannels: cin, outChannels: cout, groups } = g;
  if (groups < 1 || cin % groups !== 0 || cout % groups !== 0) {
    throw new RangeError(`conv: groups ${groups} must divide inChannels ${cin} and outChannels ${cout}`);
  }
  const expect = convOutSize(g.inSize, g.kernel, g.stride, g.padLo, g.padHi, g.dilation);
  if (expect.some((n, i) => n !== g.outSize[i])) {
    throw new RangeError(`conv: outSize [${g.outSize}] does not match the geometry (expected [${expect}])`);
  }
  const w3 = window3(g);
  const cg = cin / groups;
  const pointwise = w3.taps === 1 && w3.stride.every((s) => s === 1) && w3.padLo.every((p) => p === 0) && w3.outPlane === w3.inPlane;
  return { w3, cg, og: cout / groups, kk: cg * w3.taps, pointwise };
}

function checkLen(what: string, arr: FloatArray, n: number): void {
  if (arr.length < n) throw new RangeError(`conv: ${what} has ${arr.length} elements, needs ${n}`);
}

// ---------------------------------------------------------------------------------------------
// im2col / col2im over the 3-d normalised window

/**
 * col[(c*taps + t), p] = x[xOff + c*inPlane + input position of (p, t)] or 0, for c < channels.
 * col is [channels*taps, outPlane] with row stride outPlane, written from colOff.
 */
export function im2col(x: FloatArray, xOff: number, channels: number, w: Window3, col: FloatArray, colOff: number): void {
  const [D, H, W] = w.in;
  const [od, oh, ow] = w.out;
  const [kd, kh, kw] = w.kernel;
  const [sd, sh, sw] = w.stride;
  const [pd, ph, pw] = w.padLo;
  const [dd, dh, dw] = w.dilation;
  let dst = colOff;
  for (let c = 0; c < channels; c++) {
    const xc = xOff + c * w.inPlane;
    for (let kz = 0; kz < kd; kz++)
      for (let ky = 0; ky < kh; ky++)
        for (let kx = 0; kx < kw; kx++) {
          const offX = kx * dw - pw;
          const [xlo, xhi] = validRange(offX, sw, W, ow);
          for (let oz = 0; oz < od; oz++) {
            const iz = oz * sd - pd + kz * dd;
            if (iz < 0 || iz >= D) {
              col.fill(0, dst, dst + oh * ow);
              dst += oh * ow;
              continue;
            }
            for (let oy = 0; oy < oh; oy++) {
              const iy = oy * sh - ph + ky * dh;
              if (iy < 0 || iy >= H || xhi <= xlo) {
                col.fill(0, dst, dst + ow);
                dst += ow;
                continue;
              }
              const row = xc + (iz * H + iy) * W + offX;
              let ox = 0;
              for (; ox < xlo; ox++) col[dst++] = 0;
              if (sw === 1) {
                for (; ox < xhi; ox++) col[dst++] = x[row + ox]!;
              } else {
                for (; ox < xhi; ox++) col[dst++] = x[row + ox * sw]!;
              }
              for (; ox < ow; ox++) col[dst++] = 0;
            }
          }
        }
  }
}

/** The adjoint of im2col: x[...] += col[...] (x is not cleared). */
export function col2im(col: FloatArray, colOff: number, channels: number, w: Window3, x: FloatArray, xOff: number): void {
  const [D, H, W] = w.in;
  const [od, oh, ow] = w.out;
  const [kd, kh, kw] = w.kernel;
  const [sd, sh, sw] = w.stride;
  const [pd, ph, pw] = w.padLo;
  const [dd, dh, dw] = w.dilation;
  let src = colOff;
  for (let c = 0; c < channels; c++) {
    const xc = xOff + c * w.inPlane;
    for (let kz = 0; kz < kd; kz++)
      for (let ky = 0; ky < kh; ky++)
        for (let kx = 0; kx < kw; kx++) {
          const offX = kx * dw - pw;
          const [xlo, xhi] = validRange(offX, sw, W, ow);
          for (let oz = 0; oz < od; oz++) {
            const iz = oz * sd - pd + kz * dd;
            if (iz < 0 || iz >= D) {
              src += oh * ow;
              continue;
            }
            for (let oy = 0; oy < oh; oy++) {
              const iy = oy * sh - ph + ky * dh;
              if (iy < 0 || iy >= H) {
                src += ow;
                continue;
              }
              const row = xc + (iz * H + iy) * W + offX;
              for (let ox = xlo; ox < xhi; ox++) x[row + ox * sw] += col[src + ox]!;
              src += ow;
            }
          }
        }
  }
}

// ---------------------------------------------------------------------------------------------
// direct kernel for groups with one input channel (depthwise)

const enum Mode {
  Forward,
  BackInput,
  BackWeight,
}

/**
 * For one (input plane, output plane, kernel) triple, walks every tap and every valid output row
 * segment:  Forward: y += w[t]·x;  BackInput: x += w[t]·y;  BackWeight: w[t] += Σ y·x.
 */
function directPlane(mode: Mode, x: FloatArray, xOff: number, y: FloatArray, yOff: number, wt: FloatArray, wOff: number, w: Window3): void {
  const [D, H, W] = w.in;
  const [od, oh, ow] = w.out;
  const [kd, kh, kw] = w.kernel;
  const [sd, sh, sw] = w.stride;
  const [pd, ph, pw] = w.padLo;
  const [dd, dh, dw] = w.dilation;
  let t = wOff;
  for (let kz = 0; kz < kd; kz++)
    for (let ky = 0; ky < kh; ky++)
      for (let kx = 0; kx < kw; kx++, t++) {
        const offX = kx * dw - pw;
        const [xlo, xhi] = validRange(offX, sw, W, ow);
        if (xhi <= xlo) continue;
        const wv = wt[t]!;
        let acc = 0;
        for (let oz = 0; oz < od; oz++) {
          const iz = oz * sd - pd + kz * dd;
          if (iz < 0 || iz >= D) continue;
          for (let oy = 0; oy < oh; oy++) {
            const iy = oy * sh - ph + ky * dh;
            if (iy < 0 || iy >= H) continue;
            const xr = xOff + (iz * H + iy) * W + offX;
            const yr = yOff + (oz * oh + oy) * ow;
            if (mode === Mode.Forward) {
              for (let ox = xlo; ox < xhi; ox++) y[yr + ox] += wv * x[xr + ox * sw]!;
            } else if (mode === Mode.BackInput) {
              for (let ox = xlo; ox < xhi; ox++) x[xr + ox * sw] += wv * y[yr + ox]!;
            } else {
              for (let ox = xlo; ox < xhi; ox++) acc += y[yr + ox]! * x[xr + ox * sw]!;
            }
          }
        }
        if (mode === Mode.BackWeight) wt[t] += acc;
      }
}

// ---------------------------------------------------------------------------------------------
// public kernels

/** y = conv(x, w) (+ bias). See the layouts at the top of this file. */
export function convForward(
  x: FloatArray,
  w: FloatArray,
  bias: FloatArray | null,
  y: FloatArray,
  g: ConvGeometry,
  opts: ConvOptions = {},
): void {
  const p = prepare(g);
  const { w3, cg, og, kk } = p;
  const { batch: nb, inChannels: cin, outChannels: cout, groups } = g;
  const inP = w3.inPlane;
  const outP = w3.outPlane;
  checkLen("x", x, nb * cin * inP);
  checkLen("w", w, cout * kk);
  checkLen("y", y, nb * cout * outP);
  const accumulate = opts.accumulate ?? false;
  if (cg === 1) {
    if (!accumulate) y.fill(0, 0, nb * cout * outP);
    for (let n = 0; n < nb; n++)
      for (let o = 0; o < cout; o++) {
        const c = Math.floor(o / og);
        directPlane(Mode.Forward, x, (n * cin + c) * inP, y, (n * cout + o) * outP, w, o * w3.taps, w3);
      }
  } else {
    const col = p.pointwise ? null : scratchLike(x, "conv.col", kk * outP);
    for (let n = 0; n < nb; n++)
      for (let gi = 0; gi < groups; gi++) {
        const xOff = (n * cin + gi * cg) * inP;
        if (col) im2col(x, xOff, cg, w3, col, 0);
        matmul(w, col ?? x, y, og, kk, outP, {
          offsetA: gi * og * kk,
          offsetB: col ? 0 : xOff,
          offsetC: (n * cout + gi * og) * outP,
          accumulate,
          backend: opts.backend,
        });
      }
  }
  if (bias) {
    checkLen("bias", bias, cout);
    for (let n = 0; n < nb; n++)
      for (let o = 0; o < cout; o++) {
        const bv = bias[o]!;
        const base = (n * cout + o) * outP;
        for (let i = 0; i < outP; i++) y[base + i] += bv;
      }
  }
}

/**
 * dx = ∂L/∂x given dy = ∂L/∂y (overwrites dx unless accumulate). Equivalently the transposed
 * convolution of dy with w (PyTorch ConvTranspose weight layout [outChannels, inChannels/groups,
 * ...kernel] of this geometry).
 */
export function convBackwardInput(dy: FloatArray, w: FloatArray, dx: FloatArray, g: ConvGeometry, opts: ConvOptions = {}): void {
  const p = prepare(g);
  const { w3, cg, og, kk } = p;
  const { batch: nb, inChannels: cin, outChannels: cout, groups } = g;
  const inP = w3.inPlane;
  const outP = w3.outPlane;
  checkLen("dy", dy, nb * cout * outP);
  checkLen("w", w, cout * kk);
  checkLen("dx", dx, nb * cin * inP);
  if (!(opts.accumulate ?? false)) dx.fill(0, 0, nb * cin * inP);
  if (cg === 1) {
    for (let n = 0; n < nb; n++)
      for (let o = 0; o < cout; o++) {
        const c = Math.floor(o / og);
        directPlane(Mode.BackInput, dx, (n * cin + c) * inP, dy, (n * cout + o) * outP, w, o * w3.taps, w3);
      }
    return;
  }
  const col = p.pointwise ? null : scratchLike(dy, "conv.col", kk * outP);
  for (let n = 0; n < nb; n++)
    for (let gi = 0; gi < groups; gi++) {
      const xOff = (n * cin + gi * cg) * inP;
      // dcol[kk, outP] = W_gᵀ · dY_g  (W_g stored [og, kk])
      matmul(w, dy, col ?? dx, kk, og, outP, {
        transA: true,
        offsetA: gi * og * kk,
        offsetB: (n * cout + gi * og) * outP,
        offsetC: col ? 0 : xOff,
        accumulate: col === null,
        backend: opts.backend,
      });
      if (col) col2im(col, 0, cg, w3, dx, xOff);
    }
}

/** dw = ∂L/∂w summed over the batch (overwrites dw unless accumulate). */
export function convBackwardWeight(x: FloatArray, dy: FloatArray, dw: FloatArray, g: ConvGeometry, opts: ConvOptions = {}): void {
  const p = prepare(g);
  const { w3, cg, og, kk } = p;
  const { batch: nb, inChannels: cin, outChannels: cout, groups } = g;
  const inP = w3.inPlane;
  const outP = w3.outPlane;
  checkLen("x", x, nb * cin * inP);
  checkLen("dy", dy, nb * cout * outP);
  checkLen("dw", dw, cout * kk);
  if (!(opts.accumulate ?? false)) dw.fill(0, 0, cout * kk);
  if (cg === 1) {
    for (let n = 0; n < nb; n++)
      for (let o = 0; o < cout; o++) {
        const c = Math.floor(o / og);
        directPlane(Mode.BackWeight, x, (n * cin + c) * inP, dy, (n * cout + o) * outP, dw, o * w3.taps, w3);
      }
    return;
  }
  const col = p.pointwise ? null : scratchLike(x, "conv.col", kk * outP);
  for (let n = 0; n < nb; n++)
    for (let gi = 0; gi < groups; gi++) {
      const xOff = (n * cin + gi * cg) * inP;
      if (col) im2col(x, xOff, cg, w3, col, 0);
      // dW_g[og, kk] += dY_g[og, outP] · colᵀ  (col stored [kk, outP])
      matmul(dy, col ?? x, dw, og, outP, kk, {
        transB: true,
        offsetA: (n * cout + gi * og) * outP,
        offsetB: col ? 0 : xOff,
        offsetC: gi * og * kk,
        accumulate: true,
        backend: opts.backend,
      });
    }
}

/** db[o] = Σ_{n, p} dy[n, o, p] (overwrites db unless accumulate). */
export function convBackwardBias(dy: FloatArray, db: FloatArray, g: ConvGeometry, opts: { accumulate?: boolean } = {}): void {
  const outP = g.outSize.reduce((a, b) => a * b, 1);
  const cout = g.outChannels;
  if (!(opts.accumulate ?? false)) db.fill(0, 0, cout);
  for (let n = 0; n < g.batch; n++)
    for (let o = 0; o < cout; o++) {
      const base = (n * cout + o) * outP;
      let s = 0;
      for (let i = 0; i < outP; i++) s += dy[base + i]!;
      db[o] += s;
    }
}
