// Shared helpers for the CPU kernel tests: a seeded RNG, N-d index utilities and shared convolution geometries.

import { convGeometry, type ConvGeometry } from "../../../runtime/cpu/kernels/conv.js";

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

export function randInt(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

export function randArray<T extends Float32Array | Float64Array>(ctor: new (n: number) => T, n: number, r: () => number): T {
  const a = new ctor(n);
  for (let i = 0; i < n; i++) a[i] = r() * 2 - 1;
  return a;
}

export const prod = (xs: number[]) => xs.reduce((a, b) => a * b, 1);

/** Row-major coordinates of flat index i in shape. */
export function unravel(i: number, shape: number[]): number[] {
  const c = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    c[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return c;
}

export function ravel(c: number[], shape: number[]): number {
  let i = 0;
  for (let d = 0; d < shape.length; d++) i = i * shape[d]! + c[d]!;
  return i;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i]! - b[i]!));
  return e;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Stride-1 layers with few input channels, which take the direct convolution kernels (shared by the conv and thread tests). */
export const DIRECT_CONV_CASES: readonly ConvGeometry[] = [
  // dense output rows (width a multiple of the tile), channels not a multiple of the tile
  convGeometry({ batch: 3, inChannels: 3, outChannels: 10, inSize: [16, 24], kernel: [3, 3], padLo: [1, 1] }),
  // the padded grid (width 28), LeNet's first layer
  convGeometry({ batch: 4, inChannels: 1, outChannels: 6, inSize: [28, 28], kernel: [5, 5], padLo: [2, 2] }),
  // dilation, uneven padding, 1-d and 3-d
  convGeometry({
    batch: 2,
    inChannels: 2,
    outChannels: 5,
    inSize: [19, 21],
    kernel: [3, 2],
    padLo: [2, 0],
    padHi: [1, 3],
    dilation: [2, 3],
  }),
  convGeometry({ batch: 2, inChannels: 4, outChannels: 7, inSize: [50], kernel: [5], padLo: [2] }),
  convGeometry({ batch: 2, inChannels: 2, outChannels: 4, inSize: [6, 9, 10], kernel: [2, 3, 3], padLo: [1, 1, 1] }),
];
