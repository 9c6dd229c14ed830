// Optimiser updates through the wasm kernels of wasm-optim.ts. Arrays that lie in the kernel
// heap (a program compiled with `kernelHeap`: its parameters and gradients) are updated where
// they lie, split across the kernel threads when long; others are copied into the heap a chunk
// at a time (bulk copies), updated there and the changed ones copied back. Each function
// returns false where there is no kernel heap (no SIMD128) or the arrays are too short to gain;
// the caller then runs its JS loop.

import { kernelHeap, parallelWorthIt } from "./matmul.js";
import { rangeView } from "./scratch.js";
import { FN, type KernelHeap } from "./wasm-heap.js";

/** Floats per array per chunk when copying: a chunk's arrays stay in the core's L2 between the copies and the update. */
const CHUNK = 8192;
/** Chunks per array at most: scratch.ts caches the views of this many, so longer arrays take longer chunks rather than new views. */
const MAX_CHUNKS = 48;
/** Floats reserved for the coefficients at the scratch region's start. */
const COEFS = 16;
/** Arrays shorter than this update in JS: the calls and copies cost more than they save. */
const MIN_LENGTH = 256;
/** Floats per task of an in-place update split across threads, at least. */
const TASK_FLOATS = 16384;

/**
 * Runs kernel `fn` over `arrays` (all of one length): its arguments are the arrays' pointers,
 * the float count, the coefficients' pointer, then `flags`. The arrays at the indices in
 * `written` are the ones it changes.
 */
function update(
  fn: number,
  arrays: readonly Float32Array[],
  written: readonly number[],
  coefs: readonly number[],
  flags: readonly number[] = [],
): boolean {
  const n = arrays[0]!.length;
  if (n < MIN_LENGTH) return false;
  const kh = kernelHeap();
  if (!kh) return false;
  const inPlace = arrays.every((a) => kh.holds(a));
  const chunk = inPlace ? 4 : Math.max(CHUNK, (Math.ceil(n / MAX_CHUNKS) + 3) & ~3);
  const heap = kh.view(COEFS + arrays.length * chunk);
  for (let k = 0; k < coefs.length; k++) heap[k] = coefs[k]!;
  let done = 0;
  if (inPlace) {
    done = n & ~3;
    inPlaceUpdate(kh, fn, arrays, done, flags);
  }
  // the rest (all of it, or the last n % 4 floats), through the scratch region
  const slot = (a: number) => COEFS + a * chunk;
  for (let lo = done; lo < n; lo += chunk) {
    const len = Math.min(chunk, n - lo);
    for (let a = 0; a < arrays.length; a++) heap.set(rangeView(arrays[a]!, lo, len), slot(a));
    // lanes past len compute on stale floats and are not copied back
    call(kh, fn, [...arrays.map((_, a) => kh.scratch + slot(a) * 4), (len + 3) & ~3, kh.scratch, ...flags]);
    for (const a of written) arrays[a]!.set(rangeView(heap, slot(a), len), lo);
  }
  return true;
}

function call(kh: KernelHeap, fn: number, args: readonly number[]): void {
  kh.jobs.call(fn, args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7], args[8], args[9]);
}

/** The first `count` floats (a multiple of 4) of arrays held by the heap, where they lie. */
function inPlaceUpdate(kh: KernelHeap, fn: number, arrays: readonly Float32Array[], count: number, flags: readonly number[]): void {
  if (count === 0) return;
  // a float of an update takes about as long as 16 flops of GEMM (0.3 ns against 25 ps measured), so the GEMM's bound applies
  const parallel = parallelWorthIt(16 * count);
  const parts = parallel ? Math.min(4 * kh.jobs.threads(), Math.ceil(count / TASK_FLOATS)) : 1;
  const part = (Math.ceil(count / parts) + 3) & ~3;
  kh.jobs.begin(parallel);
  for (let lo = 0; lo < count; lo += part) {
    call(kh, fn, [...arrays.map((a) => a.byteOffset + lo * 4), Math.min(part, count - lo), kh.scratch, ...flags]);
    kh.jobs.endTask();
  }
  kh.jobs.run();
}

/** w ← w − lr·(g + wd·w), in float32. */
export function sgdUpdate(w: Float32Array, g: Float32Array, lr: number, wd: number): boolean {
  return update(FN.sgd, [w, g], [0], [lr, wd]);
}

/** torch's SGD with momentum μ (see Sgd in runtime/optim.ts), in float32; `damp` is 1 − dampening. */
export function sgdMomentumUpdate(
  w: Float32Array,
  g: Float32Array,
  buf: Float32Array,
  lr: number,
  wd: number,
  mu: number,
  damp: number,
  first: boolean,
  nesterov: boolean,
): boolean {
  return update(FN.sgdMomentum, [w, g, buf], [0, 2], [lr, wd, mu, damp], [first ? 1 : 0, nesterov ? 1 : 0]);
}

/** The coefficients of one Adam step (see Adam in runtime/optim.ts). */
export interface AdamCoefficients {
  shrink: number;
  l2: number;
  beta1: number;
  beta2: number;
  stepSize: number;
  sqrtBc2: number;
  eps: number;
}

/** torch's Adam/AdamW without amsgrad, in float32. */
export function adamUpdate(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, k: AdamCoefficients): boolean {
  const coefs = [k.shrink, k.l2, k.beta1, 1 - k.beta1, k.beta2, 1 - k.beta2, k.stepSize, k.sqrtBc2, k.eps];
  return update(FN.adam, [w, g, m, v], [0, 2, 3], coefs);
}
