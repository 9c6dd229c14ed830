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
// Forward, float32 with the wasm kernels, stride 1, one group (the common case): the direct
//   kernel of wasm-conv.ts over zero-padded input planes staged in the kernel heap, bias
//   included, no im2col; split into tasks over (item, output rows) on the kernel threads.
// Forward otherwise: the batch is cut into chunks of `nb` items (sized so the scratch stays within a few
//   MB); per (chunk, group) one im2col writes a wide column matrix col [Cg·taps, nb·outPlane]
//   (item j's columns at j·outPlane), one GEMM W_g[Coutg, Cg·taps] · col gives [Coutg,
//   nb·outPlane], which is scattered into NCHW. A chunk of one item skips the scatter (the GEMM
//   writes y directly) and 1x1/stride-1/unpadded convolutions then skip im2col too. When the
//   window covers the whole (unpadded) input with one output position ("dense", e.g. LeNet's C5)
//   the convolution is a plain matrix product over the batch: Y[n, o] = X[n, :] · W[o, :]ᵀ, no
//   im2col at all. Depthwise convolutions (groups > 1 with one input channel per group, any
//   channel multiplier) use a direct tap-by-tap loop instead.
// convBackwardInput: per chunk dcol = W_gᵀ · dY_g (dY gathered to [Coutg, nb·outPlane]) then
//   col2im (scatter-add). This is also the transposed convolution ("deconvolution") of dy with
//   w, w read in PyTorch's ConvTranspose layout [in, out/groups, ...kernel] where "in" = this
//   geometry's outChannels.
// convBackwardWeight: per chunk dW_g += dY_g[Coutg, nb·outPlane] · colT (one GEMM, long K), with
//   the columns written transposed ("im2row", colT [nb·outPlane, Cg·taps]) so the GEMM reads
//   both operands row-contiguously.
// Works on Float32Array (fast matmul) and Float64Array (gradient checks). Scratch comes from the
// grow-only pool; nothing is allocated per call.

import { kernelHeap, matmul, parallelWorthIt, type Epilogue, type FloatArray, type MatmulBackend } from "./matmul.js";
import { copyF32, rangeView, scratchLike } from "./scratch.js";
import { MAX_CALLS } from "./threads.js";
import { WGRAD_TAPS } from "./wasm-conv.js";
import { FN, type KernelHeap } from "./wasm-heap.js";
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
  /** Batch items per im2col chunk (tests, tuning); default: as many as the scratch budget allows. */
  chunk?: number;
  /**
   * Forward only: y is not written; each finished stretch of it goes to the epilogue instead
   * (values[s .. s+n) are y's elements at flat index o .. o+n), see matmul.ts): from the kernel
   * heap on the direct path, else from a scratch copy of y. Not with `accumulate`.
   */
  epilogue?: Epilogue;
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
  /** 1x1, stride 1, unpadded: col of one item is x itself */
  pointwise: boolean;
  /** one output position whose window is the whole unpadded input: col of an item is its x row */
  dense: boolean;
  /** groups > 1 with one input channel each: the direct loop */
  depthwise: boolean;
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
  const unpadded = w3.padLo.every((p) => p === 0);
  const pointwise = w3.taps === 1 && w3.stride.every((s) => s === 1) && unpadded && w3.outPlane === w3.inPlane;
  const dense = w3.outPlane === 1 && unpadded && w3.dilation.every((d) => d === 1) && w3.kernel.every((k, i) => k === w3.in[i]);
  return { w3, cg, og: cout / groups, kk: cg * w3.taps, pointwise, dense, depthwise: cg === 1 && groups > 1 };
}

function checkLen(what: string, arr: FloatArray, n: number): void {
  if (arr.length < n) throw new RangeError(`conv: ${what} has ${arr.length} elements, needs ${n}`);
}

/** Scratch budget of one chunk (col plus the gathered/scattered output), in elements: 8 MB of f32. */
const CHUNK_ELEMS = 2 * 1024 * 1024;
/** Chunks stop growing once their GEMMs are this wide (wider ones gain nothing, the scatter costs). */
const CHUNK_COLS = 4096;

/** Batch items per chunk: opts.chunk, or the most that fit the budget up to CHUNK_COLS columns. */
function chunkItems(p: Prepared, batch: number, opts: ConvOptions): number {
  const outP = p.w3.outPlane;
  let n = opts.chunk ?? Math.min(Math.floor(CHUNK_ELEMS / Math.max(1, (p.kk + p.og) * outP)), Math.ceil(CHUNK_COLS / Math.max(1, outP)));
  if (!(n >= 1)) n = 1;
  return Math.min(Math.floor(n), Math.max(1, batch));
}

// ---------------------------------------------------------------------------------------------
// im2col / col2im over the 3-d normalised window

/** First output index o >= 0 with o*stride + off >= 0 (clamped to outLen). */
function lowOut(off: number, stride: number, outLen: number): number {
  return off >= 0 ? 0 : Math.min(outLen, Math.ceil(-off / stride));
}

/** One past the last output index o < outLen with o*stride + off < inLen (may be 0). */
function highOut(off: number, stride: number, inLen: number, outLen: number): number {
  const last = inLen - 1 - off;
  return last < 0 ? 0 : Math.min(outLen, Math.floor(last / stride) + 1);
}

/**
 * col[(c*taps + t), p] = x[xOff + c*inPlane + input position of (p, t)] or 0, for c < channels.
 * col is [channels*taps, outPlane] with row stride ld (default outPlane), written from colOff.
 */
export function im2col(x: FloatArray, xOff: number, channels: number, w: Window3, col: FloatArray, colOff: number, ld = w.outPlane): void {
  im2colItems(x, xOff, 0, 1, channels, w, col, colOff, ld);
}

/** The adjoint of im2col: x[...] += col[...] (x is not cleared). */
export function col2im(col: FloatArray, colOff: number, channels: number, w: Window3, x: FloatArray, xOff: number, ld = w.outPlane): void {
  col2imItems(col, colOff, ld, 1, channels, w, x, xOff, 0);
}

/**
 * im2col of `items` batch items at once: item j reads x from xOff + j*xStride and fills the
 * columns [j*outPlane, (j+1)*outPlane) of every row (row stride ld).
 */
function im2colItems(
  x: FloatArray,
  xOff: number,
  xStride: number,
  items: number,
  channels: number,
  w: Window3,
  col: FloatArray,
  colOff: number,
  ld: number,
): void {
  const [D, H, W] = w.in;
  const [od, oh, ow] = w.out;
  const [kd, kh, kw] = w.kernel;
  const [sd, sh, sw] = w.stride;
  const [pd, ph, pw] = w.padLo;
  const [dd, dh, dw] = w.dilation;
  const outP = w.outPlane;
  const ohw = oh * ow;
  let r = colOff;
  for (let c = 0; c < channels; c++) {
    const xc = xOff + c * w.inPlane;
    for (let kz = 0; kz < kd; kz++) {
      const offZ = kz * dd - pd;
      const zlo = lowOut(offZ, sd, od);
      const zhi = highOut(offZ, sd, D, od);
      for (let ky = 0; ky < kh; ky++) {
        const offY = ky * dh - ph;
        const ylo = lowOut(offY, sh, oh);
        const yhi = highOut(offY, sh, H, oh);
        for (let kx = 0; kx < kw; kx++, r += ld) {
          const offX = kx * dw - pw;
          const xlo = lowOut(offX, sw, ow);
          const xhi = highOut(offX, sw, W, ow);
          if (zhi <= zlo || yhi <= ylo || xhi <= xlo) {
            col.fill(0, r, r + items * outP);
            continue;
          }
          const full = xlo === 0 && xhi === ow;
          for (let j = 0; j < items; j++) {
            const xj = xc + j * xStride;
            const base = r + j * outP;
            if (zlo > 0) col.fill(0, base, base + zlo * ohw);
            for (let oz = zlo; oz < zhi; oz++) {
              const plane = base + oz * ohw;
              if (ylo > 0) col.fill(0, plane, plane + ylo * ow);
              const xz = xj + (oz * sd + offZ) * H * W + offX;
              if (full && sw === 1) {
                for (let oy = ylo; oy < yhi; oy++) {
                  const d = plane + oy * ow;
                  const s = xz + (oy * sh + offY) * W;
                  for (let ox = 0; ox < ow; ox++) col[d + ox] = x[s + ox]!;
                }
              } else {
                for (let oy = ylo; oy < yhi; oy++) {
                  const d = plane + oy * ow;
                  const s = xz + (oy * sh + offY) * W;
                  for (let ox = 0; ox < xlo; ox++) col[d + ox] = 0;
                  if (sw === 1) for (let ox = xlo; ox < xhi; ox++) col[d + ox] = x[s + ox]!;
                  else for (let ox = xlo; ox < xhi; ox++) col[d + ox] = x[s + ox * sw]!;
                  for (let ox = xhi; ox < ow; ox++) col[d + ox] = 0;
                }
              }
              if (yhi < oh) col.fill(0, plane + yhi * ow, plane + ohw);
            }
            if (zhi < od) col.fill(0, base + zhi * ohw, base + outP);
          }
        }
      }
    }
  }
}

/** The adjoint of im2colItems: x[...] += col[...] over every valid position (x is not cleared). */
function col2imItems(
  col: FloatArray,
  colOff: number,
  ld: number,
  items: number,
  channels: number,
  w: Window3,
  x: FloatArray,
  xOff: number,
  xStride: number,
): void {
  const [D, H, W] = w.in;
  const [od, oh, ow] = w.out;
  const [kd, kh, kw] = w.kernel;
  const [sd, sh, sw] = w.stride;
  const [pd, ph, pw] = w.padLo;
  const [dd, dh, dw] = w.dilation;
  const outP = w.outPlane;
  const ohw = oh * ow;
  let r = colOff;
  for (let c = 0; c < channels; c++) {
    const xc = xOff + c * w.inPlane;
    for (let kz = 0; kz < kd; kz++) {
      const offZ = kz * dd - pd;
      const zlo = lowOut(offZ, sd, od);
      const zhi = highOut(offZ, sd, D, od);
      for (let ky = 0; ky < kh; ky++) {
        const offY = ky * dh - ph;
        const ylo = lowOut(offY, sh, oh);
        const yhi = highOut(offY, sh, H, oh);
        for (let kx = 0; kx < kw; kx++, r += ld) {
          const offX = kx * dw - pw;
          const xlo = lowOut(offX, sw, ow);
          const xhi = highOut(offX, sw, W, ow);
          if (zhi <= zlo || yhi <= ylo || xhi <= xlo) continue;
          for (let j = 0; j < items; j++) {
            const xj = xc + j * xStride;
            const base = r + j * outP;
            for (let oz = zlo; oz < zhi; oz++) {
              const plane = base + oz * ohw;
              const xz = xj + (oz * sd + offZ) * H * W + offX;
              for (let oy = ylo; oy < yhi; oy++) {
                const d = plane + oy * ow;
                const s = xz + (oy * sh + offY) * W;
                if (sw === 1) for (let ox = xlo; ox < xhi; ox++) x[s + ox] += col[d + ox]!;
                else for (let ox = xlo; ox < xhi; ox++) x[s + ox * sw] += col[d + ox]!;
              }
            }
          }
        }
      }
    }
  }
}

/**
 * The transposed layout ("im2row"): colT[(j*outPlane + p)*ld + c*taps + t] for item j (x at
 * xOff + j*xStride), ld >= channels*taps; positions outside the input are zero.
 */
function im2rowItems(
  x: FloatArray,
  xOff: number,
  xStride: number,
  items: number,
  channels: number,
  w: Window3,
  colT: FloatArray,
  ld: number,
): void {
  const [D, H, W] = w.in;
  const [od, oh, ow] = w.out;
  const [kd, kh, kw] = w.kernel;
  const [sd, sh, sw] = w.stride;
  const [pd, ph, pw] = w.padLo;
  const [dd, dh, dw] = w.dilation;
  const outP = w.outPlane;
  const ohw = oh * ow;
  // every window position inside the input (no padding reached): no zeroing needed
  const inside = (k: number, d: number, s: number, p: number, n: number, o: number) =>
    lowOut(-p, s, o) === 0 && highOut((k - 1) * d - p, s, n, o) === o;
  if (!(inside(kd, dd, sd, pd, D, od) && inside(kh, dh, sh, ph, H, oh) && inside(kw, dw, sw, pw, W, ow)))
    colT.fill(0, 0, items * outP * ld);
  let r = 0;
  for (let c = 0; c < channels; c++) {
    const xc = xOff + c * w.inPlane;
    for (let kz = 0; kz < kd; kz++) {
      const offZ = kz * dd - pd;
      const zlo = lowOut(offZ, sd, od);
      const zhi = highOut(offZ, sd, D, od);
      for (let ky = 0; ky < kh; ky++) {
        const offY = ky * dh - ph;
        const ylo = lowOut(offY, sh, oh);
        const yhi = highOut(offY, sh, H, oh);
        for (let kx = 0; kx < kw; kx++, r++) {
          const offX = kx * dw - pw;
          const xlo = lowOut(offX, sw, ow);
          const xhi = highOut(offX, sw, W, ow);
          if (zhi <= zlo || yhi <= ylo || xhi <= xlo) continue;
          for (let j = 0; j < items; j++) {
            const xj = xc + j * xStride;
            const base = j * outP * ld + r;
            for (let oz = zlo; oz < zhi; oz++) {
              const xz = xj + (oz * sd + offZ) * H * W + offX;
              for (let oy = ylo; oy < yhi; oy++) {
                let d = base + (oz * ohw + oy * ow + xlo) * ld;
                let q = xz + (oy * sh + offY) * W + xlo * sw;
                for (let ox = xlo; ox < xhi; ox++, d += ld, q += sw) colT[d] = x[q]!;
              }
            }
          }
        }
      }
    }
  }
}

/**
 * Moves a GEMM result t [rows, items*outP] (item j's columns at j*outP) into NCHW: row o of item
 * j goes to y[dst + j*yStride + o*outP ...]; added when accumulating.
 */
function scatterRows(
  t: FloatArray,
  rows: number,
  items: number,
  outP: number,
  y: FloatArray,
  dst: number,
  yStride: number,
  add: boolean,
): void {
  const ld = items * outP;
  for (let o = 0; o < rows; o++)
    for (let j = 0; j < items; j++) {
      const s = o * ld + j * outP;
      const d = dst + j * yStride + o * outP;
      if (add) for (let i = 0; i < outP; i++) y[d + i] += t[s + i]!;
      else for (let i = 0; i < outP; i++) y[d + i] = t[s + i]!;
    }
}

/** The inverse move: t[o, j*outP + i] = y[src + j*yStride + o*outP + i]. */
function gatherRows(y: FloatArray, src: number, yStride: number, rows: number, items: number, outP: number, t: FloatArray): void {
  const ld = items * outP;
  for (let o = 0; o < rows; o++)
    for (let j = 0; j < items; j++) {
      const d = o * ld + j * outP;
      const s = src + j * yStride + o * outP;
      for (let i = 0; i < outP; i++) t[d + i] = y[s + i]!;
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
// direct wasm kernel for stride-1 convolutions with few taps per output (see wasm-conv.ts)

/** K = inChannels·taps up to which the direct kernel runs instead of im2col + GEMM (it won every case measured, K = 16 to 2304). */
let DIRECT_MAX_K = 4096;

/** Benchmarks/tuning: the largest K = inChannels·taps for the direct kernel (0: never); returns the previous one. */
export function setConvDirectMaxK(k: number): number {
  const prev = DIRECT_MAX_K;
  DIRECT_MAX_K = k;
  return prev;
}
/** Positions the direct kernel computes per output position at most (its padded grid's extra columns). */
const DIRECT_MAX_WASTE = 1.5;
/** Heap floats one chunk of batch items may use. */
const DIRECT_BUDGET = 1 << 24;
/** Output strips (NR positions each) per task, at most. */
const DIRECT_TASK_STRIPS = 128;

/** The kernel heap where the direct kernels may run: float32 data and the wasm matmul backend. */
function directHeap(data: FloatArray, backend: MatmulBackend | undefined): KernelHeap | null {
  return data instanceof Float32Array && backend !== "js" && backend !== "naive" ? kernelHeap() : null;
}

/** The zero-padded input grid of the direct kernels (see wasm-conv.ts), per batch item. */
interface DirectGrid {
  /** padded input size (d, h, w): exactly out + (kernel - 1)·dilation with stride 1 */
  padded: [number, number, number];
  /** grid positions up to the last output position */
  span: number;
  /** padded plane of one input channel */
  plane: number;
}

/** The padded grid of the direct kernels, or null where they do not apply. */
function directGrid(g: ConvGeometry, p: Prepared, nr: number): DirectGrid | null {
  const { w3 } = p;
  if (g.groups !== 1 || p.kk > DIRECT_MAX_K || w3.stride.some((s) => s !== 1)) return null;
  // with stride 1 the padded input is exactly out + (kernel - 1)·dilation along each axis
  const padded = w3.out.map((o, i) => o + (w3.kernel[i]! - 1) * w3.dilation[i]!) as [number, number, number];
  const [od, oh, ow] = w3.out;
  const span = ((od - 1) * padded[1] + oh - 1) * padded[2] + ow;
  if (roundUpTo(span, nr) > DIRECT_MAX_WASTE * w3.outPlane) return null;
  return { padded, span, plane: padded[0] * padded[1] * padded[2] };
}

/** offsets[at + t] = the byte offset of tap t = (c, kz, ky, kx) on the grid, for c < channels. */
function writeTapOffsets(offsets: Int32Array, at: number, channels: number, w3: Window3, grid: DirectGrid): void {
  const [, Hp, Wp] = grid.padded;
  let t = at;
  for (let c = 0; c < channels; c++)
    for (let kz = 0; kz < w3.kernel[0]; kz++)
      for (let ky = 0; ky < w3.kernel[1]; ky++)
        for (let kx = 0; kx < w3.kernel[2]; kx++)
          offsets[t++] = (c * grid.plane + (kz * w3.dilation[0] * Hp + ky * w3.dilation[1]) * Wp + kx * w3.dilation[2]) * 4;
}

/**
 * Stages `items` batch items of x (from item n0) zero-padded on the grid from heap offset 0,
 * followed by `slack` zeros (read past the last item's plane).
 */
function stagePaddedInputs(
  heap: Float32Array,
  x: Float32Array,
  n0: number,
  items: number,
  channels: number,
  w3: Window3,
  grid: DirectGrid,
  slack: number,
): void {
  const [D, H, W] = w3.in;
  const [, Hp, Wp] = grid.padded;
  const [pd, ph, pw] = w3.padLo;
  const itemIn = channels * grid.plane;
  heap.fill(0, 0, items * itemIn + slack);
  for (let n = 0; n < items; n++)
    for (let c = 0; c < channels; c++)
      for (let z = 0; z < D; z++)
        for (let yy = 0; yy < H; yy++)
          copyF32(
            heap,
            n * itemIn + c * grid.plane + ((z + pd) * Hp + yy + ph) * Wp + pw,
            x,
            (((n0 + n) * channels + c) * D + z) * H * W + yy * W,
            W,
          );
}

const roundUpTo = (n: number, m: number) => Math.ceil(n / m) * m;

/** y = conv(x, w) + bias through the direct kernel, batch items in chunks that fit the heap. */
function convForwardDirect(
  kh: KernelHeap,
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  y: Float32Array,
  g: ConvGeometry,
  p: Prepared,
  grid: DirectGrid,
  accumulate: boolean,
  epilogue: Epilogue | undefined,
): void {
  const { mr, nr } = kh.shape;
  const { w3, kk } = p;
  const { inChannels: cin, outChannels: cout, batch } = g;
  const [od, oh, ow] = w3.out;
  const [, Hp, Wp] = grid.padded;
  const outP = w3.outPlane;
  const itemIn = cin * grid.plane;
  // dense rows when strips tile the output rows exactly, else the whole padded grid
  const dense = od === 1 && ow % nr === 0;
  const rowStrips = dense ? ow / nr : Infinity;
  const strips = dense ? oh * rowStrips : Math.ceil(grid.span / nr);
  const ldq = strips * nr;
  const blocks = Math.ceil(cout / mr);
  const coutP = blocks * mr;
  const items = Math.max(1, Math.min(batch, Math.floor(DIRECT_BUDGET / (itemIn + coutP * ldq))));
  // heap layout (in 4-byte elements): padded inputs (+ nr zeros read past the last), tap
  // offsets, packed weights, biases, outputs
  const tab = items * itemIn + nr;
  const wpk = tab + kk;
  const bp = wpk + blocks * kk * mr;
  const out = roundUpTo(bp + coutP, 4);
  const heap = kh.view(out + items * coutP * ldq);
  writeTapOffsets(kh.viewI32(tab + kk), tab, cin, w3, grid);
  const S = kh.scratch; // view offsets to kernel pointers
  for (let blk = 0; blk < blocks; blk++)
    for (let k = 0; k < kk; k++)
      for (let r = 0; r < mr; r++) {
        const o = blk * mr + r;
        heap[wpk + (blk * kk + k) * mr + r] = o < cout ? w[o * kk + k]! : 0;
      }
  for (let o = 0; o < coutP; o++) heap[bp + o] = bias !== null && o < cout ? bias[o]! : 0;
  const jobs = kh.jobs;
  const parallel = parallelWorthIt(2 * batch * cout * kk * outP);
  // tasks: a range of strips (whole rows when dense) of one item, every channel block
  let stripPart = Math.min(strips, DIRECT_TASK_STRIPS);
  const wanted = Math.ceil((4 * (parallel ? jobs.threads() : 1)) / Math.min(items, batch));
  if (Math.ceil(strips / stripPart) < wanted) stripPart = Math.ceil(strips / wanted);
  if (dense) stripPart = roundUpTo(stripPart, rowStrips);
  for (let n0 = 0; n0 < batch; n0 += items) {
    const chunk = Math.min(items, batch - n0);
    stagePaddedInputs(heap, x, n0, chunk, cin, w3, grid, nr);
    jobs.begin(parallel);
    for (let n = 0; n < chunk; n++)
      for (let s0 = 0; s0 < strips; s0 += stripPart) {
        const x0 = dense ? (s0 / rowStrips) * Wp : s0 * nr;
        for (let blk = 0; blk < blocks; blk++)
          jobs.call(
            FN.conv,
            S + (n * itemIn + x0) * 4,
            S + tab * 4,
            S + (wpk + blk * kk * mr) * 4,
            S + (bp + blk * mr) * 4,
            S + (out + (n * coutP + blk * mr) * ldq + s0 * nr) * 4,
            Math.min(stripPart, strips - s0),
            kk,
            ldq * 4,
            dense ? rowStrips : strips + 1,
            dense ? (Wp - ow) * 4 : 0,
          );
        jobs.endTask();
      }
    jobs.run();
    const yOff = n0 * cout * outP;
    // copy the chunk out, or hand it to the epilogue while it is in the heap
    if (dense && coutP === cout && !accumulate) {
      if (epilogue) epilogue(heap, out, yOff, chunk * cout * outP);
      else y.set(rangeView(heap, out, chunk * cout * outP), yOff);
    } else
      for (let n = 0; n < chunk; n++)
        for (let o = 0; o < cout; o++)
          for (let row = 0; row < od * oh; row++) {
            const src = out + (n * coutP + o) * ldq + (dense ? row * ow : (Math.floor(row / oh) * Hp + (row % oh)) * Wp);
            const dst = yOff + (n * cout + o) * outP + row * ow;
            if (epilogue) epilogue(heap, src, dst, ow);
            else if (accumulate) for (let i = 0; i < ow; i++) y[dst + i] += heap[src + i]!;
            else copyF32(y, dst, heap, src, ow);
          }
  }
}

/** dW = Σ over the batch of the weight gradient (overwritten unless accumulating), by the direct weight-gradient kernel. */
function convBackwardWeightDirect(
  kh: KernelHeap,
  x: Float32Array,
  dy: Float32Array,
  dw: Float32Array,
  g: ConvGeometry,
  p: Prepared,
  grid: DirectGrid,
  accumulate: boolean,
): void {
  const { mr } = kh.shape;
  const { w3, kk } = p;
  const { inChannels: cin, outChannels: cout, batch } = g;
  const [od, oh, ow] = w3.out;
  const [, Hp, Wp] = grid.padded;
  const outP = w3.outPlane;
  const itemIn = cin * grid.plane;
  const ldq = roundUpTo(grid.span, 4); // grid positions per dy row, whole f32x4 vectors
  const blocks = Math.ceil(cout / mr);
  const coutP = blocks * mr;
  const kkP = roundUpTo(kk, WGRAD_TAPS);
  const tapBlocks = kkP / WGRAD_TAPS;
  const jobs = kh.jobs;
  const parallel = parallelWorthIt(2 * batch * cout * kk * outP);
  // tasks: one output-channel block and a range of tap blocks, over every item in turn (so each
  // sum runs in item order whatever the thread); about four per thread
  const tapParts = Math.min(tapBlocks, Math.ceil((4 * (parallel ? jobs.threads() : 1)) / blocks));
  const blocksPerPart = Math.ceil(tapBlocks / tapParts);
  const items = Math.max(
    1,
    Math.min(batch, Math.floor(DIRECT_BUDGET / (itemIn + coutP * ldq)), Math.floor(MAX_CALLS / (blocks * tapParts))),
  );
  // heap layout (4-byte elements): padded inputs (+ 4 zeros), tap offsets (padded with 0), dy on
  // the grid, dW [coutP, kkP]
  const tab = items * itemIn + 4;
  const dys = roundUpTo(tab + kkP, 4);
  const dW = dys + items * coutP * ldq;
  const heap = kh.view(dW + coutP * kkP);
  const offsets = kh.viewI32(tab + kkP);
  const S = kh.scratch; // view offsets to kernel pointers
  writeTapOffsets(offsets, tab, cin, w3, grid);
  offsets.fill(0, tab + kk, tab + kkP);
  heap.fill(0, dW, dW + coutP * kkP);
  if (accumulate) for (let o = 0; o < cout; o++) copyF32(heap, dW + o * kkP, dw, o * kk, kk);
  for (let n0 = 0; n0 < batch; n0 += items) {
    const chunk = Math.min(items, batch - n0);
    stagePaddedInputs(heap, x, n0, chunk, cin, w3, grid, 4);
    heap.fill(0, dys, dys + chunk * coutP * ldq);
    for (let n = 0; n < chunk; n++)
      for (let o = 0; o < cout; o++)
        for (let row = 0; row < od * oh; row++)
          copyF32(
            heap,
            dys + (n * coutP + o) * ldq + (Math.floor(row / oh) * Hp + (row % oh)) * Wp,
            dy,
            ((n0 + n) * cout + o) * outP + row * ow,
            ow,
          );
    jobs.begin(parallel);
    for (let blk = 0; blk < blocks; blk++)
      for (let b0 = 0; b0 < tapBlocks; b0 += blocksPerPart) {
        for (let n = 0; n < chunk; n++)
          jobs.call(
            FN.convWeightGrad,
            S + (dys + (n * coutP + blk * mr) * ldq) * 4,
            ldq * 4,
            S + n * itemIn * 4,
            S + (tab + b0 * WGRAD_TAPS) * 4,
            Math.min(blocksPerPart, tapBlocks - b0),
            S + (dW + blk * mr * kkP + b0 * WGRAD_TAPS) * 4,
            kkP * 4,
            ldq / 4,
          );
        jobs.endTask();
      }
    jobs.run();
  }
  for (let o = 0; o < cout; o++) copyF32(dw, o * kk, heap, dW + o * kkP, kk);
}

/**
 * The geometry, weights and padded grid of the input gradient of a stride-1 convolution as a
 * forward convolution of dy: dx[n, c, p] = Σ_{o, t} w[o, c, t]·dy[n, o, p + padLo − t·dilation],
 * i.e. dy convolved with w transposed ([in, out, ...kernel]) and flipped along every axis, with
 * padding (kernel − 1)·dilation − pad. Null where that padding would be negative or the direct
 * kernel does not apply.
 */
function inputGradAsForward(g: ConvGeometry, p: Prepared, nr: number): { g: ConvGeometry; p: Prepared; grid: DirectGrid } | null {
  if (g.groups !== 1 || p.w3.stride.some((s) => s !== 1)) return null;
  const reach = g.kernel.map((k, i) => (k - 1) * g.dilation[i]!);
  const padLo = reach.map((r, i) => r - g.padLo[i]!);
  const padHi = reach.map((r, i) => r - g.padHi[i]!);
  if (padLo.some((v) => v < 0) || padHi.some((v) => v < 0)) return null;
  const t = convGeometry({
    batch: g.batch,
    inChannels: g.outChannels,
    outChannels: g.inChannels,
    inSize: g.outSize,
    kernel: g.kernel,
    padLo,
    padHi,
    dilation: g.dilation,
  });
  const tp = prepare(t);
  const grid = directGrid(t, tp, nr);
  return grid ? { g: t, p: tp, grid } : null;
}

/** w transposed to [in, out, ...kernel] and flipped along every spatial axis, into a scratch buffer. */
function flippedTransposedWeights(w: Float32Array, g: ConvGeometry, taps: number): Float32Array {
  const { inChannels: cin, outChannels: cout } = g;
  const out = scratchLike(w, "conv.flipped", cin * cout * taps);
  for (let o = 0; o < cout; o++)
    for (let c = 0; c < cin; c++) {
      const src = (o * cin + c) * taps;
      const dst = (c * cout + o) * taps + taps - 1;
      for (let t = 0; t < taps; t++) out[dst - t] = w[src + t]!;
    }
  return out;
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
  const accumulate = opts.accumulate ?? false;
  const epilogue = opts.epilogue;
  if (epilogue && (accumulate || !(x instanceof Float32Array)))
    throw new TypeError("convForward: an epilogue takes neither accumulate nor Float64");
  if (!epilogue) checkLen("y", y, nb * cout * outP);
  const backend = opts.backend;
  const kh = directHeap(x, backend);
  const grid = kh && !p.depthwise && !p.dense ? directGrid(g, p, kh.shape.nr) : null;
  if (grid) {
    if (bias) checkLen("bias", bias, cout);
    convForwardDirect(
      kh!,
      x as Float32Array,
      w as Float32Array,
      bias as Float32Array | null,
      y as Float32Array,
      g,
      p,
      grid,
      accumulate,
      epilogue,
    );
    return;
  }
  if (epilogue) {
    // the other paths write y: into scratch, then through the epilogue
    const t = scratchLike(x, "conv.epilogue", nb * cout * outP) as Float32Array;
    convForward(x, w, bias, t, g, { ...opts, epilogue: undefined });
    epilogue(t, 0, 0, nb * cout * outP);
    return;
  }
  if (p.depthwise) {
    if (!accumulate) y.fill(0, 0, nb * cout * outP);
    for (let n = 0; n < nb; n++)
      for (let o = 0; o < cout; o++) {
        const c = Math.floor(o / og);
        directPlane(Mode.Forward, x, (n * cin + c) * inP, y, (n * cout + o) * outP, w, o * w3.taps, w3);
      }
  } else if (p.dense) {
    // Y[n, g·og + o] = Σ_k X[n, g·kk + k] · W[g·og + o, k]
    for (let gi = 0; gi < groups; gi++)
      matmul(x, w, y, nb, kk, og, {
        transB: true,
        lda: cin * inP,
        offsetA: gi * kk,
        offsetB: gi * og * kk,
        ldc: cout,
        offsetC: gi * og,
        accumulate,
        backend,
      });
  } else {
    const chunk = chunkItems(p, nb, opts);
    const col = p.pointwise && chunk === 1 ? null : scratchLike(x, "conv.col", kk * chunk * outP);
    const out = chunk > 1 ? scratchLike(y, "conv.out", og * chunk * outP) : null;
    for (let n0 = 0; n0 < nb; n0 += chunk) {
      const items = Math.min(chunk, nb - n0);
      const cols = items * outP;
      for (let gi = 0; gi < groups; gi++) {
        const xOff = (n0 * cin + gi * cg) * inP;
        const yOff = (n0 * cout + gi * og) * outP;
        if (col) im2colItems(x, xOff, cin * inP, items, cg, w3, col, 0, cols);
        if (out && items > 1) {
          matmul(w, col!, out, og, kk, cols, { offsetA: gi * og * kk, backend });
          scatterRows(out, og, items, outP, y, yOff, cout * outP, accumulate);
        } else {
          matmul(w, col ?? x, y, og, kk, outP, { offsetA: gi * og * kk, offsetB: col ? 0 : xOff, offsetC: yOff, accumulate, backend });
        }
      }
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
  const backend = opts.backend;
  const kh = directHeap(dy, backend);
  const asForward = kh && !p.depthwise && !p.dense ? inputGradAsForward(g, p, kh.shape.nr) : null;
  if (asForward) {
    const wt = flippedTransposedWeights(w as Float32Array, g, w3.taps);
    convForwardDirect(
      kh!,
      dy as Float32Array,
      wt,
      null,
      dx as Float32Array,
      asForward.g,
      asForward.p,
      asForward.grid,
      opts.accumulate ?? false,
      undefined,
    );
    return;
  }
  if (p.dense) {
    // dX[n, g·kk + k] = Σ_o dY[n, g·og + o] · W[g·og + o, k]: every element of dx written once
    for (let gi = 0; gi < groups; gi++)
      matmul(dy, w, dx, nb, og, kk, {
        lda: cout,
        offsetA: gi * og,
        offsetB: gi * og * kk,
        ldc: cin * inP,
        offsetC: gi * kk,
        accumulate: opts.accumulate ?? false,
        backend,
      });
    return;
  }
  if (!(opts.accumulate ?? false)) dx.fill(0, 0, nb * cin * inP);
  if (p.depthwise) {
    for (let n = 0; n < nb; n++)
      for (let o = 0; o < cout; o++) {
        const c = Math.floor(o / og);
        directPlane(Mode.BackInput, dx, (n * cin + c) * inP, dy, (n * cout + o) * outP, w, o * w3.taps, w3);
      }
    return;
  }
  const chunk = chunkItems(p, nb, opts);
  const col = p.pointwise && chunk === 1 ? null : scratchLike(dy, "conv.col", kk * chunk * outP);
  const dyc = chunk > 1 ? scratchLike(dy, "conv.out", og * chunk * outP) : null;
  for (let n0 = 0; n0 < nb; n0 += chunk) {
    const items = Math.min(chunk, nb - n0);
    const cols = items * outP;
    for (let gi = 0; gi < groups; gi++) {
      const xOff = (n0 * cin + gi * cg) * inP;
      let b = dy;
      let bOff = (n0 * cout + gi * og) * outP;
      if (dyc && items > 1) {
        gatherRows(dy, bOff, cout * outP, og, items, outP, dyc);
        b = dyc;
        bOff = 0;
      }
      // dcol[kk, cols] = W_gᵀ · dY_g  (W_g stored [og, kk])
      matmul(w, b, col ?? dx, kk, og, cols, {
        transA: true,
        offsetA: gi * og * kk,
        offsetB: bOff,
        offsetC: col ? 0 : xOff,
        accumulate: col === null,
        backend,
      });
      if (col) col2imItems(col, 0, cols, items, cg, w3, dx, xOff, cin * inP);
    }
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
  const backend = opts.backend;
  const kh = directHeap(x, backend);
  const grid = kh && !p.depthwise && !p.dense ? directGrid(g, p, kh.shape.nr) : null;
  if (grid) {
    convBackwardWeightDirect(kh!, x as Float32Array, dy as Float32Array, dw as Float32Array, g, p, grid, opts.accumulate ?? false);
    return;
  }
  if (p.dense) {
    // dW[g·og + o, k] = Σ_n dY[n, g·og + o] · X[n, g·kk + k]: one product per group, K = batch
    for (let gi = 0; gi < groups; gi++)
      matmul(dy, x, dw, og, nb, kk, {
        transA: true,
        lda: cout,
        offsetA: gi * og,
        ldb: cin * inP,
        offsetB: gi * kk,
        offsetC: gi * og * kk,
        accumulate: opts.accumulate ?? false,
        backend,
      });
    return;
  }
  if (!(opts.accumulate ?? false)) dw.fill(0, 0, cout * kk);
  if (p.depthwise) {
    for (let n = 0; n < nb; n++)
      for (let o = 0; o < cout; o++) {
        const c = Math.floor(o / og);
        directPlane(Mode.BackWeight, x, (n * cin + c) * inP, dy, (n * cout + o) * outP, dw, o * w3.taps, w3);
      }
    return;
  }
  const chunk = chunkItems(p, nb, opts);
  const colT = p.pointwise && chunk === 1 ? null : scratchLike(x, "conv.col", kk * chunk * outP);
  const dyc = chunk > 1 ? scratchLike(dy, "conv.out", og * chunk * outP) : null;
  for (let n0 = 0; n0 < nb; n0 += chunk) {
    const items = Math.min(chunk, nb - n0);
    const cols = items * outP;
    for (let gi = 0; gi < groups; gi++) {
      const xOff = (n0 * cin + gi * cg) * inP;
      let a = dy;
      let aOff = (n0 * cout + gi * og) * outP;
      if (dyc && items > 1) {
        gatherRows(dy, aOff, cout * outP, og, items, outP, dyc);
        a = dyc;
        aOff = 0;
      }
      if (colT) {
        // dW_g[og, kk] += dY_g[og, cols] · colT[cols, kk]
        im2rowItems(x, xOff, cin * inP, items, cg, w3, colT, kk);
        matmul(a, colT, dw, og, cols, kk, { offsetA: aOff, offsetC: gi * og * kk, accumulate: true, backend });
      } else {
        // pointwise, one item: col is x itself ([kk, outP])
        matmul(a, x, dw, og, cols, kk, { transB: true, offsetA: aOff, offsetB: xOff, offsetC: gi * og * kk, accumulate: true, backend });
      }
    }
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
