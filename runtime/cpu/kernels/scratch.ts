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
