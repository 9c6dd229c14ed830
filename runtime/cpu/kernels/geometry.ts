// Shared window geometry for convolution and pooling kernels. Every N-d (N = 1, 2, 3) problem is
// normalised to 3-d by prepending unit axes (size 1, kernel 1, stride 1, no padding, dilation 1),
// so the loops are written once.

export interface Window3 {
  /** input spatial size (d, h, w) */
  in: [number, number, number];
  out: [number, number, number];
  kernel: [number, number, number];
  stride: [number, number, number];
  padLo: [number, number, number];
  dilation: [number, number, number];
  inPlane: number;
  outPlane: number;
  taps: number;
}

export interface WindowSpec {
  inSize: number[];
  kernel: number[];
  stride: number[];
  padLo: number[];
  padHi: number[];
  dilation: number[];
  outSize: number[];
}

function lift(xs: number[], fill: number, what: string, rank: number): [number, number, number] {
  if (xs.length !== rank) throw new RangeError(`${what} has ${xs.length} entries for a ${rank}-d window`);
  const r = [fill, fill, fill] as [number, number, number];
  for (let i = 0; i < rank; i++) r[3 - rank + i] = xs[i]!;
  return r;
}

export function window3(g: WindowSpec): Window3 {
  const rank = g.inSize.length;
  if (rank < 1 || rank > 3) throw new RangeError(`only 1-d, 2-d and 3-d windows are supported (got ${rank}-d)`);
  const w: Window3 = {
    in: lift(g.inSize, 1, "inSize", rank),
    out: lift(g.outSize, 1, "outSize", rank),
    kernel: lift(g.kernel, 1, "kernel", rank),
    stride: lift(g.stride, 1, "stride", rank),
    padLo: lift(g.padLo, 0, "padLo", rank),
    dilation: lift(g.dilation, 1, "dilation", rank),
    inPlane: 0,
    outPlane: 0,
    taps: 0,
  };
  lift(g.padHi, 0, "padHi", rank);
  w.inPlane = w.in[0] * w.in[1] * w.in[2];
  w.outPlane = w.out[0] * w.out[1] * w.out[2];
  w.taps = w.kernel[0] * w.kernel[1] * w.kernel[2];
  return w;
}

/**
 * Output positions o in [0, outLen) whose input index o*stride + off lies in [0, inLen):
 * returns [lo, hi) (hi may be <= lo when none).
 */
export function validRange(off: number, stride: number, inLen: number, outLen: number): [number, number] {
  const lo = off >= 0 ? 0 : Math.ceil(-off / stride);
  const last = inLen - 1 - off;
  const hi = last < 0 ? 0 : Math.min(outLen, Math.floor(last / stride) + 1);
  return [Math.min(lo, outLen), hi];
}

/**
 * Output size per axis: floor((in + lo + hi - dilation*(k-1) - 1) / stride) + 1, or with ceilMode
 * the ceiling, where (as in PyTorch) the last window must start inside the input or the low
 * padding.
 */
export function windowOutSize(
  inSize: number[],
  kernel: number[],
  stride: number[],
  padLo: number[],
  padHi: number[],
  dilation: number[],
  ceilMode = false,
): number[] {
  return inSize.map((n, i) => {
    const span = (dilation[i] ?? 1) * (kernel[i]! - 1) + 1;
    const s = stride[i] ?? 1;
    const lo = padLo[i] ?? 0;
    const total = n + lo + (padHi[i] ?? 0) - span;
    if (total < 0) return 0;
    let out = (ceilMode ? Math.ceil(total / s) : Math.floor(total / s)) + 1;
    if (ceilMode && (out - 1) * s >= n + lo) out--;
    return out;
  });
}
