// Module-level grow-only scratch buffers for the CPU kernels. A kernel takes a named slot, uses
// it for the duration of one call and never holds it across calls; kernels that call each other
// use distinct slot names. Buffers only grow (to the next power of two), so steady-state calls
// allocate nothing. Not re-entrant across threads (each worker has its own module instance).

const f32 = new Map<string, Float32Array>();
const f64 = new Map<string, Float64Array>();

function roundUp(n: number): number {
  let size = 1024;
  while (size < n) size *= 2;
  return size;
}

export function scratchF32(slot: string, n: number): Float32Array {
  let buf = f32.get(slot);
  if (buf === undefined || buf.length < n) {
    buf = new Float32Array(roundUp(n));
    f32.set(slot, buf);
  }
  return buf;
}

export function scratchF64(slot: string, n: number): Float64Array {
  let buf = f64.get(slot);
  if (buf === undefined || buf.length < n) {
    buf = new Float64Array(roundUp(n));
    f64.set(slot, buf);
  }
  return buf;
}

/** A scratch buffer of the same element type as `like`. */
export function scratchLike<T extends Float32Array | Float64Array>(like: T, slot: string, n: number): T {
  return (like instanceof Float64Array ? scratchF64(slot, n) : scratchF32(slot, n)) as T;
}

/** Frees every scratch buffer (tests, or after a large one-off call). */
export function releaseScratch(): void {
  f32.clear();
  f64.clear();
}

/**
 * dst[dOff .. dOff+n) = src[sOff .. sOff+n). A plain loop rather than set(subarray(...)):
 * a subarray is a new typed-array object per call, and the hot paths must allocate nothing.
 */
export function copyRange(dst: Float32Array | Float64Array, dOff: number, src: Float32Array | Float64Array, sOff: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dOff + i] = src[sOff + i]!;
}

/** copyRange for Float32Array only: monomorphic, so several times faster in the hot paths. */
export function copyF32(dst: Float32Array, d: number, src: Float32Array, s: number, n: number): void {
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    dst[d + i] = src[s + i]!;
    dst[d + i + 1] = src[s + i + 1]!;
    dst[d + i + 2] = src[s + i + 2]!;
    dst[d + i + 3] = src[s + i + 3]!;
  }
  for (; i < n; i++) dst[d + i] = src[s + i]!;
}

/** Cached views src.subarray(lo, lo + n), by source array: bulk copies (`set`) without a new view per call. */
const views = new WeakMap<Float32Array, Map<number, Map<number, Float32Array>>>();
/** Distinct start offsets cached per source array; past it, views are made per call. */
const MAX_CACHED_STARTS = 64;

/** src[lo .. lo + n) as a Float32Array: src itself when that is all of it, else a cached view. */
export function rangeView(src: Float32Array, lo: number, n: number): Float32Array {
  if (lo === 0 && n === src.length) return src;
  let byStart = views.get(src);
  if (byStart === undefined) views.set(src, (byStart = new Map()));
  let byLength = byStart.get(lo);
  if (byLength === undefined) {
    if (byStart.size >= MAX_CACHED_STARTS) return src.subarray(lo, lo + n);
    byStart.set(lo, (byLength = new Map()));
  }
  let view = byLength.get(n);
  if (view === undefined) byLength.set(n, (view = src.subarray(lo, lo + n)));
  return view;
}
