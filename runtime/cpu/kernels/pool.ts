// N-d (1-d/2-d/3-d) max and average pooling for the CPU backend, forward and backward.
//
// Layouts (dense, row-major):  x, dx [batch, channels, ...inSize];  y, dy, argmax
// [batch, channels, ...outSize].
// Window of output position p along an axis: input indices p*stride - padLo + t*dilation,
// t < kernel. outSize is given by the caller (use poolOutSize, with ceilMode for ceil-mode
// sizes); windows may run past the input into the padding, whose positions never win a max and
// count toward an average only with countIncludePad.
// Max: argmax[i] is the absolute index into x of the winning element (first maximum; NaN wins
// and propagates), or -1 when a window holds no input element (then y = -Infinity). Backward
// routes dy[i] to dx[argmax[i]].
// Average: divisor = number of window taps inside [−padLo, in + padHi) per axis, multiplied
// (countIncludePad, PyTorch's count_include_pad=True, default) or the number inside the input
// (countIncludePad false); with dilation 1 this is PyTorch's rule, including ceil-mode windows.

import type { FloatArray } from "./matmul.js";
import { window3, windowOutSize, type Window3 } from "./geometry.js";

export interface PoolGeometry {
  batch: number;
  channels: number;
  inSize: number[];
  kernel: number[];
  stride: number[];
  padLo: number[];
  padHi: number[];
  dilation: number[];
  outSize: number[];
}

export interface AvgPoolOptions {
  /** Divide by the window size including padding (default true). */
  countIncludePad?: boolean;
}

/** Output sizes; ceilMode rounds up but keeps the last window starting inside input or padLo. */
export function poolOutSize(
  inSize: number[],
  kernel: number[],
  stride: number[],
  padLo: number[],
  padHi: number[],
  dilation: number[],
  ceilMode = false,
): number[] {
  return windowOutSize(inSize, kernel, stride, padLo, padHi, dilation, ceilMode);
}

/** Builds a PoolGeometry (stride defaults to kernel, padding 0, dilation 1). */
export function poolGeometry(p: {
  batch: number;
  channels: number;
  inSize: number[];
  kernel: number[];
  stride?: number[];
  padLo?: number[];
  padHi?: number[];
  dilation?: number[];
  ceilMode?: boolean;
}): PoolGeometry {
  const r = p.inSize.length;
  const g: PoolGeometry = {
    batch: p.batch,
    channels: p.channels,
    inSize: [...p.inSize],
    kernel: [...p.kernel],
    stride: p.stride ? [...p.stride] : [...p.kernel],
    padLo: p.padLo ? [...p.padLo] : new Array<number>(r).fill(0),
    padHi: p.padHi ? [...p.padHi] : p.padLo ? [...p.padLo] : new Array<number>(r).fill(0),
    dilation: p.dilation ? [...p.dilation] : new Array<number>(r).fill(1),
    outSize: [],
  };
  g.outSize = poolOutSize(g.inSize, g.kernel, g.stride, g.padLo, g.padHi, g.dilation, p.ceilMode ?? false);
  return g;
}

/** Taps [lo, hi) of the window starting at `start` (step d, k taps) that land in [0, n). */
function tapRange(start: number, d: number, k: number, n: number): [number, number] {
  const lo = start >= 0 ? 0 : Math.ceil(-start / d);
  const last = n - 1 - start;
  const hi = last < 0 ? 0 : Math.min(k, Math.floor(last / d) + 1);
  return [lo, Math.max(lo, hi)];
}

function planes(g: PoolGeometry): { w: Window3; count: number; padHi3: number[] } {
  const w = window3(g);
  const r = g.inSize.length;
  const padHi3 = [0, 0, 0];
  for (let i = 0; i < r; i++) padHi3[3 - r + i] = g.padHi[i]!;
  return { w, count: g.batch * g.channels, padHi3 };
}

/** Whether every tap of every window lies inside the input (no padding reached). */
function windowsInside(w: Window3): boolean {
  for (let a = 0; a < 3; a++) {
    const last = (w.out[a]! - 1) * w.stride[a]! - w.padLo[a]! + (w.kernel[a]! - 1) * w.dilation[a]!;
    if (w.out[a]! > 0 && (w.padLo[a]! > 0 || last >= w.in[a]!)) return false;
  }
  return w.taps > 0;
}

/** maxPoolForward when every window lies inside the input: tap offsets precomputed, no range checks. */
function maxPoolInside(x: FloatArray, y: FloatArray, argmax: Int32Array | null, w: Window3, count: number): void {
  const [, H, W] = w.in;
  const [od, oh, ow] = w.out;
  const [kd, kh, kw] = w.kernel;
  const [sd, sh, sw] = w.stride;
  const [dd, dh, dw] = w.dilation;
  const taps = w.taps;
  const offs = new Int32Array(taps);
  let t = 0;
  for (let tz = 0; tz < kd; tz++)
    for (let ty = 0; ty < kh; ty++) for (let tx = 0; tx < kw; tx++) offs[t++] = (tz * dd * H + ty * dh) * W + tx * dw;
  let o = 0;
  for (let pl = 0; pl < count; pl++) {
    const xb = pl * w.inPlane;
    for (let oz = 0; oz < od; oz++)
      for (let oy = 0; oy < oh; oy++) {
        const row = xb + (oz * sd * H + oy * sh) * W;
        for (let ox = 0; ox < ow; ox++, o++) {
          const base = row + ox * sw;
          let arg = base + offs[0]!;
          let best = x[arg]!;
          for (let k = 1; k < taps; k++) {
            const i = base + offs[k]!;
            const v = x[i]!;
            // first maximum wins; a NaN wins and stays
            if (v > best || (v !== v && best === best)) {
              best = v;
              arg = i;
            }
          }
          y[o] = best;
          if (argmax) argmax[o] = arg;
        }
      }
  }
}

/** y = max over each window; argmax (if given) receives the winners' absolute indices into x. */
export function maxPoolForward(x: FloatArray, y: FloatArray, argmax: Int32Array | null, g: PoolGeometry): void {
  const { w, count } = planes(g);
  if (windowsInside(w)) {
    maxPoolInside(x, y, argmax, w, count);
    return;
  }
  const [D, H, W] = w.in;
  const [od, oh, ow] = w.out;
  const [kd, kh, kw] = w.kernel;
  const [sd, sh, sw] = w.stride;
  const [pd, ph, pw] = w.padLo;
  const [dd, dh, dw] = w.dilation;
  let o = 0;
  for (let pl = 0; pl < count; pl++) {
    const xb = pl * w.inPlane;
    for (let oz = 0; oz < od; oz++) {
      const z0 = oz * sd - pd;
      const [zl, zh] = tapRange(z0, dd, kd, D);
      for (let oy = 0; oy < oh; oy++) {
        const y0 = oy * sh - ph;
        const [yl, yh] = tapRange(y0, dh, kh, H);
        for (let ox = 0; ox < ow; ox++, o++) {
          const x0 = ox * sw - pw;
          const [xl, xh] = tapRange(x0, dw, kw, W);
          let best = -Infinity;
          let arg = -1;
          for (let tz = zl; tz < zh; tz++)
            for (let ty = yl; ty < yh; ty++) {
              const row = xb + ((z0 + tz * dd) * H + y0 + ty * dh) * W + x0;
              for (let tx = xl; tx < xh; tx++) {
                const i = row + tx * dw;
                const v = x[i]!;
                if (v > best || (arg < 0 && v === best) || (v !== v && best === best)) {
                  best = v;
                  arg = i;
                }
              }
            }
          y[o] = best;
          if (argmax) argmax[o] = arg;
        }
      }
    }
  }
}

/** dx[argmax[i]] += dy[i] (dx is cleared first unless accumulate). */
export function maxPoolBackward(
  dy: FloatArray,
  argmax: Int32Array,
  dx: FloatArray,
  g: PoolGeometry,
  opts: { accumulate?: boolean } = {},
): void {
  const inTotal = g.batch * g.channels * g.inSize.reduce((a, b) => a * b, 1);
  const outTotal = g.batch * g.channels * g.outSize.reduce((a, b) => a * b, 1);
  if (!(opts.accumulate ?? false)) dx.fill(0, 0, inTotal);
  for (let i = 0; i < outTotal; i++) {
    const a = argmax[i]!;
    if (a >= 0) dx[a] += dy[i]!;
  }
}

/** Per-axis divisor factor: taps inside the padded extent, or inside the input. */
function axisCount(start: number, d: number, k: number, n: number, padLo: number, padHi: number, includePad: boolean): number {
  if (!includePad) {
    const [lo, hi] = tapRange(start, d, k, n);
    return hi - lo;
  }
  const [lo, hi] = tapRange(start + padLo, d, k, n + padLo + padHi);
  return hi - lo;
}

function avgPool(mode: "forward" | "backward", src: FloatArray, dst: FloatArray, g: PoolGeometry, includePad: boolean): void {
  const { w, count, padHi3 } = planes(g);
  const [D, H, W] = w.in;
  const [od, oh, ow] = w.out;
  const [kd, kh, kw] = w.kernel;
  const [sd, sh, sw] = w.stride;
  const [pd, ph, pw] = w.padLo;
  const [dd, dh, dw] = w.dilation;
  let o = 0;
  for (let pl = 0; pl < count; pl++) {
    const xb = pl * w.inPlane;
    for (let oz = 0; oz < od; oz++) {
      const z0 = oz * sd - pd;
      const [zl, zh] = tapRange(z0, dd, kd, D);
      const cz = axisCount(z0, dd, kd, D, pd, padHi3[0]!, includePad);
      for (let oy = 0; oy < oh; oy++) {
        const y0 = oy * sh - ph;
        const [yl, yh] = tapRange(y0, dh, kh, H);
        const cy = axisCount(y0, dh, kh, H, ph, padHi3[1]!, includePad);
        for (let ox = 0; ox < ow; ox++, o++) {
          const x0 = ox * sw - pw;
          const [xl, xh] = tapRange(x0, dw, kw, W);
          const div = cz * cy * axisCount(x0, dw, kw, W, pw, padHi3[2]!, includePad);
          if (mode === "forward") {
            let s = 0;
            for (let tz = zl; tz < zh; tz++)
              for (let ty = yl; ty < yh; ty++) {
                const row = xb + ((z0 + tz * dd) * H + y0 + ty * dh) * W + x0;
                for (let tx = xl; tx < xh; tx++) s += src[row + tx * dw]!;
              }
            dst[o] = div > 0 ? s / div : 0;
          } else {
            if (div === 0) continue;
            const v = src[o]! / div;
            for (let tz = zl; tz < zh; tz++)
              for (let ty = yl; ty < yh; ty++) {
                const row = xb + ((z0 + tz * dd) * H + y0 + ty * dh) * W + x0;
                for (let tx = xl; tx < xh; tx++) dst[row + tx * dw] += v;
              }
          }
        }
      }
    }
  }
}

/** y = mean over each window (see the divisor rule above). */
export function avgPoolForward(x: FloatArray, y: FloatArray, g: PoolGeometry, opts: AvgPoolOptions = {}): void {
  avgPool("forward", x, y, g, opts.countIncludePad ?? true);
}

/** dx += dy / divisor spread over each window (dx is cleared first unless accumulate). */
export function avgPoolBackward(
  dy: FloatArray,
  dx: FloatArray,
  g: PoolGeometry,
  opts: AvgPoolOptions & { accumulate?: boolean } = {},
): void {
  const inTotal = g.batch * g.channels * g.inSize.reduce((a, b) => a * b, 1);
  if (!(opts.accumulate ?? false)) dx.fill(0, 0, inTotal);
  avgPool("backward", dy, dx, g, opts.countIncludePad ?? true);
}
