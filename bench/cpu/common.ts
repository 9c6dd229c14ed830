// Shared pieces of the CPU benchmark (bench/cpu/run.ts): the cases, deterministic data,
// the timing loop, and loading the peer libraries from bench/node_modules.
//
// Every implementation computes the same thing at the same shapes:
//   matmul-256, matmul-1024   C = A·B, f32, both operands inputs              (GFLOP/s, 2·n³)
//   conv2d-fwd                x[8,3,64,64] → 64 maps, 3x3, pad 1, stride 1, with bias
//                                                                           (GFLOP/s, 2·MACs)
//   mlp-train                 784-256-128-10, ReLU, softmax cross-entropy (mean over the
//                             batch), plain SGD (lr 0.01, no momentum), batch 64  (steps/s)
//   lenet-train               LeNet-5 on 1x28x28 (MNIST variant): conv 6@5x5 pad 2, ReLU,
//                             maxpool 2 → conv 16@5x5, ReLU, maxpool 2 → conv 120@5x5, ReLU →
//                             linear 84, ReLU → linear 10; same loss/optimizer, batch 64 (steps/s)
// A training step is forward + loss + backward + the SGD update, and reads the loss back.

import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export type Unit = "GFLOP/s" | "steps/s";

export interface CaseSpec {
  readonly name: string;
  readonly unit: Unit;
  /** floating-point operations per iteration (GFLOP/s cases) */
  readonly flops?: number;
  readonly what: string;
}

export const BATCH = 64;
export const LR = 0.01;
export const CONV = { batch: 8, cin: 3, cout: 64, k: 3, h: 64, w: 64, pad: 1 } as const;

export const CASES: readonly CaseSpec[] = [
  { name: "matmul-256", unit: "GFLOP/s", flops: 2 * 256 ** 3, what: "f32 matmul 256x256x256" },
  { name: "matmul-1024", unit: "GFLOP/s", flops: 2 * 1024 ** 3, what: "f32 matmul 1024x1024x1024" },
  {
    name: "conv2d-fwd",
    unit: "GFLOP/s",
    flops: 2 * CONV.batch * CONV.cout * CONV.cin * CONV.k * CONV.k * CONV.h * CONV.w,
    what: "conv2d forward b8 3→64 3x3 64x64 pad 1 (+bias)",
  },
  { name: "mlp-train", unit: "steps/s", what: "MLP 784-256-128-10 SGD step, batch 64" },
  { name: "lenet-train", unit: "steps/s", what: "LeNet-5 1x28x28 SGD step, batch 64" },
];

export interface Row {
  case: string;
  impl: string;
  /** null where the implementation cannot run the case (see note) */
  value: number | null;
  unit: Unit;
  note?: string;
}

/** One implementation's way to run a case: build once, then `step` is timed. */
export interface Prepared {
  step(): void | Promise<void>;
  dispose?(): void;
}
export type Impl = (caseName: string) => Promise<Prepared | { na: string }>;

// ---------------------------------------------------------------------------
// Deterministic data (the same values for every implementation)

/** Uniform values in [lo, hi) from a fixed seed (mulberry32). */
export function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

/** He-uniform weights for a layer with `fanIn` inputs. */
export function heUniform(n: number, fanIn: number, seed: number): Float32Array {
  const b = Math.sqrt(6 / fanIn);
  return uniform(n, seed, -b, b);
}

export function labels(n: number, classes = 10): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => (i * 7) % classes);
}

export function oneHot(lbl: Int32Array, classes = 10): Float32Array {
  const out = new Float32Array(lbl.length * classes);
  lbl.forEach((c, i) => (out[i * classes + c] = 1));
  return out;
}

/** The MLP's layers: [fanIn, fanOut]. */
export const MLP_LAYERS: readonly (readonly [number, number])[] = [
  [784, 256],
  [256, 128],
  [128, 10],
];

/**
 * LeNet's parameters in the layouts the peers take: convolution weights OIHW (ONNX, jax-js)
 * or HWIO (tfjs), dense weights [in, out]; biases per output.
 */
export const LENET_CONVS = [
  { cin: 1, cout: 6, k: 5, pad: 2 },
  { cin: 6, cout: 16, k: 5, pad: 0 },
  { cin: 16, cout: 120, k: 5, pad: 0 },
] as const;
export const LENET_DENSE: readonly (readonly [number, number])[] = [
  [120, 84],
  [84, 10],
];

export function oihwToHwio(w: Float32Array, o: number, i: number, kh: number, kw: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) out[((y * kw + x) * i + b) * o + a] = w[((a * i + b) * kh + y) * kw + x]!;
  return out;
}

/** NCHW → NHWC */
export function nchwToNhwc(x: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++) for (let z = 0; z < w; z++) out[((b * h + y) * w + z) * c + ch] = x[((b * c + ch) * h + y) * w + z]!;
  return out;
}

// ---------------------------------------------------------------------------
// Timing

export interface Timing {
  /** median seconds per iteration */
  readonly median: number;
  readonly iters: number;
}

/**
 * Warm up (3 calls, or as many as fit in ~1 s, at least one), then time single calls until at
 * least `minMs` of timed work and 3 calls have passed; the median call time.
 */
export async function measure(fn: () => void | Promise<void>, minMs = 1000): Promise<Timing> {
  let t0 = performance.now();
  for (let i = 0; i < 3 && (i === 0 || performance.now() - t0 < minMs); i++) await fn();
  const times: number[] = [];
  t0 = performance.now();
  while (times.length < 3 || performance.now() - t0 < minMs) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
    if (times.length >= 100_000) break;
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  const median = (times.length % 2 ? times[mid]! : (times[mid - 1]! + times[mid]!) / 2) / 1000;
  return { median, iters: times.length };
}

// ---------------------------------------------------------------------------
// Peer libraries live in bench/node_modules (bench/package.json), out of the main install.

export const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
const benchRequire = createRequire(join(BENCH_DIR, "package.json"));

/** The installed directory of a peer package. */
export function peerDir(name: string): string {
  return dirname(benchRequire.resolve(`${name}/package.json`));
}

/**
 * Import a peer package (resolved from this folder, so from bench/node_modules). The peers are
 * loosely typed on purpose: they are not installed for `npm run typecheck`, so no static import
 * may name them.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loose = any;
export async function peer(name: string): Promise<Loose> {
  return (await import(name)) as Loose;
}
