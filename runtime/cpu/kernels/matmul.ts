// Dense matrix multiply for the CPU backend: C[M,N] = op(A)·op(B) (+ C when accumulating), over
// flat typed arrays, optionally batched.
//
// Layouts (all row-major; lda/ldb/ldc are row strides in elements):
//   A: [M, K] with row stride lda (default K), or, with transA, stored as [K, M] (default lda M);
//   B: [K, N] with row stride ldb (default N), or, with transB, stored as [N, K] (default ldb K);
//   C: [M, N] with row stride ldc (default N).
//   Batch item t uses A at offsetA + t*strideA, B at offsetB + t*strideB, C at offsetC +
//   t*strideC; the default strides are the dense matrix sizes. A stride of 0 broadcasts.
//   C must not overlap A or B.
//
// Float32Array paths (GotoBLAS structure: B packed into kc×nc panels of NR-column strips, A
// into mc×kc panels of MR-row strips, a register-tiled micro-kernel over them):
//   - "wasm": operands staged into the wasm kernel heap, packed and multiplied there by the
//     WebAssembly SIMD128 kernels of wasm-gemm.ts (a 4x8 register tile, 8 f32x4 accumulators),
//     split into tasks that run on the kernel threads (threads.ts) when the product is big
//     enough; used by "auto" when the host validates SIMD modules;
//   - "js": the same blocking with a 4x4 scalar micro-kernel in plain JS;
//   - "naive": a simple i-k-j loop, used by "auto" for small products.
//   - small M (≤ SMALL_M rows of op(A), "auto"/"wasm", B contiguous along k or n): B is not
//     packed but staged whole in wasm memory and streamed once per 4/8 rows of A by the wasm
//     SIMD dot/axpy kernels of wasm-gemm.ts (recurrent models: batch rows × big weights).
//     The JS small-M loops exist as a fallback but are off by default (slower than packing).
// Float64Array (gradient checks): the simple loop, accumulating in float64.
// Epilogue (an option): C is not written; each finished stretch of a row of C goes to
// epilogue(values, s, o, n) instead (values[s .. s+n) are C's elements at flat index o .. o+n),
// o = offsetC + t·strideC + i·ldc + j): on the wasm paths straight from the kernel heap where
// the product is copied out, elsewhere from a scratch row block. The sums are the same as
// without it. Not with `accumulate` or Float64.
// No allocation per call: packing buffers come from the grow-only scratch pool and the wasm
// memory only grows (bulk copies into it reuse cached views, scratch.ts rangeView).

import { copyF32, copyRange, rangeView, scratchF32 } from "./scratch.js";
import { wasmSmallM, type GemmKernelShape, type WasmSmallM } from "./wasm-gemm.js";
import { createKernelHeap, FN, type KernelHeap } from "./wasm-heap.js";

export type FloatArray = Float32Array | Float64Array;

/** Takes the finished products values[s .. s+n), C's elements at flat index o .. o+n) (see the epilogue above). */
export type Epilogue = (values: Float32Array, s: number, o: number, n: number) => void;
export type MatmulBackend = "auto" | "wasm" | "js" | "naive";

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  /** C += op(A)·op(B) instead of C = op(A)·op(B). */
  accumulate?: boolean;
  batch?: number;
  strideA?: number;
  strideB?: number;
  strideC?: number;
  offsetA?: number;
  offsetB?: number;
  offsetC?: number;
  lda?: number;
  ldb?: number;
  ldc?: number;
  /** Float32 implementation; default "auto". */
  backend?: MatmulBackend;
  /** C's finished values go here instead of into C (see the epilogue above). */
  epilogue?: Epilogue;
}

/** Products with M·N·K below this use the simple loop under "auto". */
const SMALL = 24 * 24 * 24;

export function matmul(a: FloatArray, b: FloatArray, c: FloatArray, M: number, K: number, N: number, opts: MatmulOptions = {}): void {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const accumulate = opts.accumulate ?? false;
  const batch = opts.batch ?? 1;
  const lda = opts.lda ?? (transA ? M : K);
  const ldb = opts.ldb ?? (transB ? K : N);
  const ldc = opts.ldc ?? N;
  const strideA = opts.strideA ?? (transA ? K : M) * lda;
  const strideB = opts.strideB ?? (transB ? N : K) * ldb;
  const strideC = opts.strideC ?? M * ldc;
  const offA = opts.offsetA ?? 0;
  const offB = opts.offsetB ?? 0;
  const offC = opts.offsetC ?? 0;
  // element (i,k) of op(A) is a[offA + i*rsA + k*csA]; (k,j) of op(B) is b[offB + k*rsB + j*csB]
  const rsA = transA ? 1 : lda;
  const csA = transA ? lda : 1;
  const rsB = transB ? 1 : ldb;
  const csB = transB ? ldb : 1;
  if (M === 0 || N === 0 || batch === 0) return;
  const f64 = c instanceof Float64Array;
  if (a instanceof Float64Array !== f64 || b instanceof Float64Array !== f64) {
    throw new TypeError("matmul: a, b and c must share an element type");
  }
  const epilogue = opts.epilogue;
  if (epilogue && (accumulate || f64)) throw new TypeError("matmul: an epilogue takes neither accumulate nor Float64");
  let backend = opts.backend ?? "auto";
  if (f64 || K === 0) backend = "naive";
  else if (backend === "auto") backend = M * N * K < SMALL ? "naive" : kernelHeap() ? "wasm" : "js";
  else if (backend === "wasm" && !kernelHeap()) backend = "js";

  for (let t = 0; t < batch; t++) {
    const oa = offA + t * strideA;
    const ob = offB + t * strideB;
    const oc = offC + t * strideC;
    if (backend !== "naive" && (rsB === 1 || csB === 1) && smallMWasm(backend, M, K, N, rsB))
      gemmSmallMWasm(
        wasmSmallM()!,
        a as Float32Array,
        oa,
        rsA,
        csA,
        b as Float32Array,
        ob,
        rsB,
        csB,
        c as Float32Array,
        oc,
        ldc,
        M,
        K,
        N,
        accumulate,
        epilogue,
      );
    else if (backend === "wasm" && !(M <= SMALL_M_JS && (rsB === 1 || csB === 1)))
      gemmWasm(
        kernelHeap()!,
        a as Float32Array,
        oa,
        rsA,
        csA,
        b as Float32Array,
        ob,
        rsB,
        csB,
        c as Float32Array,
        oc,
        ldc,
        M,
        K,
        N,
        accumulate,
        epilogue,
      );
    else if (epilogue) {
      // the other paths write C: into a scratch block, then through the epilogue row by row
      const block = scratchF32("matmul.epilogue", M * N);
      gemmOther(backend, a, oa, rsA, csA, b, ob, rsB, csB, block, 0, N, M, K, N, false);
      for (let i = 0; i < M; i++) epilogue(block, i * N, oc + i * ldc, N);
    } else gemmOther(backend, a, oa, rsA, csA, b, ob, rsB, csB, c, oc, ldc, M, K, N, accumulate);
  }
}

/** The products the wasm paths do not take: the small-M JS loops, the simple loop and the blocked JS path. */
function gemmOther(
  backend: MatmulBackend,
  a: FloatArray,
  oa: number,
  rsA: number,
  csA: number,
  b: FloatArray,
  ob: number,
  rsB: number,
  csB: number,
  c: FloatArray,
  oc: number,
  ldc: number,
  M: number,
  K: number,
  N: number,
  accumulate: boolean,
): void {
  if (backend !== "naive" && M <= SMALL_M_JS && (rsB === 1 || csB === 1))
    gemmSmallM(a as Float32Array, oa, rsA, csA, b as Float32Array, ob, rsB, csB, c as Float32Array, oc, ldc, M, K, N, accumulate);
  else if (backend === "naive") gemmSimple(a, oa, rsA, csA, b, ob, rsB, csB, c, oc, ldc, M, K, N, accumulate);
  else gemmJs(a as Float32Array, oa, rsA, csA, b as Float32Array, ob, rsB, csB, c as Float32Array, oc, ldc, M, K, N, accumulate);
}

/** Which Float32 path "auto" takes for large products on this host. */
export function matmulBackend(): "wasm" | "js" {
  return kernelHeap() ? "wasm" : "js";
}

// ---------------------------------------------------------------------------------------------
// simple loop (small products, Float64)

function gemmSimple(
  a: FloatArray,
  oa: number,
  rsA: number,
  csA: number,
  b: FloatArray,
  ob: number,
  rsB: number,
  csB: number,
  c: FloatArray,
  oc: number,
  ldc: number,
  M: number,
  K: number,
  N: number,
  accumulate: boolean,
): void {
  if (csB === 1) {
    for (let i = 0; i < M; i++) {
      const cr = oc + i * ldc;
      if (!accumulate) c.fill(0, cr, cr + N);
      const ar = oa + i * rsA;
      for (let k = 0; k < K; k++) {
        const aik = a[ar + k * csA]!;
        const br = ob + k * rsB;
        for (let j = 0; j < N; j++) c[cr + j] += aik * b[br + j]!;
      }
    }
  } else {
    for (let i = 0; i < M; i++) {
      const cr = oc + i * ldc;
      const ar = oa + i * rsA;
      for (let j = 0; j < N; j++) {
        const bc = ob + j * csB;
        let s = 0;
        for (let k = 0; k < K; k++) s += a[ar + k * csA]! * b[bc + k * rsB]!;
        c[cr + j] = accumulate ? c[cr + j]! + s : s;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// small-M path (recurrent models: a few batch rows against a big weight). B is not packed: it
// is streamed once, all M rows of A (copied contiguous into scratch) against each row of B.
//   transB-like (rsB = 1, B rows contiguous along k): C[i, j] = dot(A[i, :], B[j, :]), four
//     rows of A per B row, k unrolled by 2;
//   otherwise (csB = 1, B rows contiguous along n): C[i, :] += A[i, k]·B[k, :], four rows of A
//     and two B rows per pass over n.

/** Rows of op(A) up to which the small-M (no B packing) path is used by every Float32 backend. */
let SMALL_M = 16;
/** The JS small-M loops measured slower than the packed JS path, so they are off by default. */
let SMALL_M_JS = 0;

/** Benchmarks/tuning/tests: small-M thresholds (0 disables a path); returns the previous ones. */
export function setMatmulSmallM(t: { wasm?: number; js?: number }): { wasm: number; js: number } {
  const prev = { wasm: SMALL_M, js: SMALL_M_JS };
  if (t.wasm !== undefined) SMALL_M = t.wasm;
  if (t.js !== undefined) SMALL_M_JS = t.js;
  return prev;
}

function smallMWasm(backend: MatmulBackend, M: number, K: number, N: number, rsB: number): boolean {
  if (M > SMALL_M || (backend !== "wasm" && backend !== "auto")) return false;
  if (rsB === 1 ? K < 4 : N < 4) return false;
  return wasmSmallM() !== null;
}

let smallView: Float32Array | null = null;

function smallHeap(k: WasmSmallM, floats: number): Float32Array {
  const mem = k.memory;
  const bytes = floats * 4;
  if (mem.buffer.byteLength < bytes) mem.grow(Math.ceil((bytes - mem.buffer.byteLength) / 65536));
  if (smallView === null || smallView.buffer !== mem.buffer) smallView = new Float32Array(mem.buffer);
  return smallView;
}

/**
 * Stages B = b[s .. s+n) in the small-M heap after float offset `end` and returns where it
 * starts. When b is not much bigger than B, all of b goes in with one bulk `heap.set` (memcpy
 * speed, no subarray object) and B starts at end + s; otherwise a plain Float32 loop copies B
 * only (several times slower per element).
 */
function stageB(kern: WasmSmallM, end: number, b: Float32Array, s: number, n: number): number {
  if (b.length <= 2 * n + 16384) {
    smallHeap(kern, end + b.length).set(b, end);
    return end + s;
  }
  copyF32(smallHeap(kern, end + n), end, b, s, n);
  return end;
}

function gemmSmallMWasm(
  kern: WasmSmallM,
  a: Float32Array,
  oa: number,
  rsA: number,
  csA: number,
  b: Float32Array,
  ob: number,
  rsB: number,
  csB: number,
  c: Float32Array,
  oc: number,
  ldc: number,
  M: number,
  K: number,
  N: number,
  accumulate: boolean,
  epilogue: Epilogue | undefined,
): void {
  const R = M <= 4 ? 4 : 8;
  if (rsB === 1) {
    // C[i, j] = A[i, :]·B[j, :]; B rows at stride ldb = csB, the first K4 columns in wasm
    const ldb = csB;
    const K4 = K & ~3;
    const aOff = 0;
    const ctOff = roundUp(aOff + R * K4, 4);
    const bOff = stageB(kern, roundUp(ctOff + N * R, 4), b, ob, (N - 1) * ldb + K);
    const heap = smallView!;
    const dot = kern.dot[R]!;
    const row = epilogue ? scratchF32("matmul.epilogue", N) : null;
    for (let g = 0; g < M; g += R) {
      const rows = Math.min(R, M - g);
      for (let r = 0; r < R; r++) {
        const d = aOff + r * K4;
        if (r >= rows) heap.fill(0, d, d + K4);
        else {
          const src = oa + (g + r) * rsA;
          if (csA === 1) copyRange(heap, d, a, src, K4);
          else for (let k = 0; k < K4; k++) heap[d + k] = a[src + k * csA]!;
        }
      }
      dot(aOff * 4, bOff * 4, ctOff * 4, N, K4 * 4, K4 * 4, ldb * 4);
      for (let r = 0; r < rows; r++) {
        const ar = oa + (g + r) * rsA;
        const cr = oc + (g + r) * ldc;
        // the row's products, into C or a scratch row for the epilogue
        const dst = epilogue ? row! : c;
        const d0 = epilogue ? 0 : cr;
        for (let j = 0; j < N; j++) {
          let s = heap[ctOff + j * R + r]!;
          for (let k = K4; k < K; k++) s += a[ar + k * csA]! * b[ob + j * ldb + k]!;
          dst[d0 + j] = accumulate ? c[cr + j]! + s : s;
        }
        if (epilogue) epilogue(row!, 0, cr, N);
      }
    }
  } else {
    // C[i, :] += A[i, k]·B[k, :]; B rows at stride ldb = rsB, the first N4 columns in wasm
    const ldb = rsB;
    const N4 = N & ~3;
    const aOff = 0;
    const cOff = roundUp(aOff + K * R, 4);
    const bOff = stageB(kern, roundUp(cOff + R * N4, 4), b, ob, (K - 1) * ldb + N);
    const heap = smallView!;
    const axpy = kern.axpy[R]!;
    const row = epilogue && N4 !== N ? scratchF32("matmul.epilogue", N) : null;
    for (let g = 0; g < M; g += R) {
      const rows = Math.min(R, M - g);
      for (let r = 0; r < R; r++) {
        if (r >= rows) for (let k = 0; k < K; k++) heap[aOff + k * R + r] = 0;
        else {
          const src = oa + (g + r) * rsA;
          for (let k = 0; k < K; k++) heap[aOff + k * R + r] = a[src + k * csA]!;
        }
        const d = cOff + r * N4;
        if (accumulate && r < rows) copyRange(heap, d, c, oc + (g + r) * ldc, N4);
        else heap.fill(0, d, d + N4);
      }
      axpy(aOff * 4, bOff * 4, cOff * 4, K, N4 * 4, ldb * 4, N4 * 4);
      for (let r = 0; r < rows; r++) {
        const ar = oa + (g + r) * rsA;
        const cr = oc + (g + r) * ldc;
        if (epilogue && N4 === N) {
          epilogue(heap, cOff + r * N4, cr, N);
          continue;
        }
        // the row's products, into C or a scratch row for the epilogue
        const dst = epilogue ? row! : c;
        const d0 = epilogue ? 0 : cr;
        copyRange(dst, d0, heap, cOff + r * N4, N4);
        for (let j = N4; j < N; j++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += a[ar + k * csA]! * b[ob + k * ldb + j]!;
          dst[d0 + j] = accumulate ? c[cr + j]! + s : s;
        }
        if (epilogue) epilogue(row!, 0, cr, N);
      }
    }
  }
}

function gemmSmallM(
  a: Float32Array,
  oa: number,
  rsA: number,
  csA: number,
  b: Float32Array,
  ob: number,
  rsB: number,
  csB: number,
  c: Float32Array,
  oc: number,
  ldc: number,
  M: number,
  K: number,
  N: number,
  accumulate: boolean,
): void {
  // A → contiguous [M, K] scratch (small)
  const pa = scratchF32("matmul.smallM.A", M * K);
  for (let i = 0; i < M; i++) {
    const src = oa + i * rsA;
    const dst = i * K;
    if (csA === 1) copyRange(pa, dst, a, src, K);
    else for (let k = 0; k < K; k++) pa[dst + k] = a[src + k * csA]!;
  }
  if (rsB === 1) smallMDot(pa, b, ob, csB, c, oc, ldc, M, K, N, accumulate);
  else smallMAxpy(pa, b, ob, rsB, c, oc, ldc, M, K, N, accumulate);
}

function smallMDot(
  pa: Float32Array,
  b: Float32Array,
  ob: number,
  ldb: number,
  c: Float32Array,
  oc: number,
  ldc: number,
  M: number,
  K: number,
  N: number,
  accumulate: boolean,
): void {
  const K2 = K & ~1;
  let i = 0;
  for (; i + 4 <= M; i += 4) {
    const a0 = i * K,
      a1 = a0 + K,
      a2 = a1 + K,
      a3 = a2 + K;
    const c0 = oc + i * ldc,
      c1 = c0 + ldc,
      c2 = c1 + ldc,
      c3 = c2 + ldc;
    for (let j = 0; j < N; j++) {
      const br = ob + j * ldb;
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0,
        t0 = 0,
        t1 = 0,
        t2 = 0,
        t3 = 0;
      let k = 0;
      for (; k < K2; k += 2) {
        const bk = b[br + k]!,
          bk1 = b[br + k + 1]!;
        s0 += pa[a0 + k]! * bk;
        t0 += pa[a0 + k + 1]! * bk1;
        s1 += pa[a1 + k]! * bk;
        t1 += pa[a1 + k + 1]! * bk1;
        s2 += pa[a2 + k]! * bk;
        t2 += pa[a2 + k + 1]! * bk1;
        s3 += pa[a3 + k]! * bk;
        t3 += pa[a3 + k + 1]! * bk1;
      }
      if (k < K) {
        const bk = b[br + k]!;
        s0 += pa[a0 + k]! * bk;
        s1 += pa[a1 + k]! * bk;
        s2 += pa[a2 + k]! * bk;
        s3 += pa[a3 + k]! * bk;
      }
      if (accumulate) {
        c[c0 + j] += s0 + t0;
        c[c1 + j] += s1 + t1;
        c[c2 + j] += s2 + t2;
        c[c3 + j] += s3 + t3;
      } else {
        c[c0 + j] = s0 + t0;
        c[c1 + j] = s1 + t1;
        c[c2 + j] = s2 + t2;
        c[c3 + j] = s3 + t3;
      }
    }
  }
  for (; i < M; i++) {
    const a0 = i * K;
    const c0 = oc + i * ldc;
    for (let j = 0; j < N; j++) {
      const br = ob + j * ldb;
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0;
      let k = 0;
      for (; k + 4 <= K; k += 4) {
        s0 += pa[a0 + k]! * b[br + k]!;
        s1 += pa[a0 + k + 1]! * b[br + k + 1]!;
        s2 += pa[a0 + k + 2]! * b[br + k + 2]!;
        s3 += pa[a0 + k + 3]! * b[br + k + 3]!;
      }
      for (; k < K; k++) s0 += pa[a0 + k]! * b[br + k]!;
      const s = s0 + s1 + (s2 + s3);
      c[c0 + j] = accumulate ? c[c0 + j]! + s : s;
    }
  }
}

function smallMAxpy(
  pa: Float32Array,
  b: Float32Array,
  ob: number,
  ldb: number,
  c: Float32Array,
  oc: number,
  ldc: number,
  M: number,
  K: number,
  N: number,
  accumulate: boolean,
): void {
  if (!accumulate) for (let i = 0; i < M; i++) c.fill(0, oc + i * ldc, oc + i * ldc + N);
  const K2 = K & ~1;
  let i = 0;
  for (; i + 4 <= M; i += 4) {
    const a0 = i * K,
      a1 = a0 + K,
      a2 = a1 + K,
      a3 = a2 + K;
    const c0 = oc + i * ldc,
      c1 = c0 + ldc,
      c2 = c1 + ldc,
      c3 = c2 + ldc;
    let k = 0;
    for (; k < K2; k += 2) {
      const x0 = pa[a0 + k]!,
        y0 = pa[a0 + k + 1]!,
        x1 = pa[a1 + k]!,
        y1 = pa[a1 + k + 1]!,
        x2 = pa[a2 + k]!,
        y2 = pa[a2 + k + 1]!,
        x3 = pa[a3 + k]!,
        y3 = pa[a3 + k + 1]!;
      const br = ob + k * ldb,
        br1 = br + ldb;
      for (let j = 0; j < N; j++) {
        const u = b[br + j]!,
          v = b[br1 + j]!;
        c[c0 + j] += x0 * u + y0 * v;
        c[c1 + j] += x1 * u + y1 * v;
        c[c2 + j] += x2 * u + y2 * v;
        c[c3 + j] += x3 * u + y3 * v;
      }
    }
    if (k < K) {
      const x0 = pa[a0 + k]!,
        x1 = pa[a1 + k]!,
        x2 = pa[a2 + k]!,
        x3 = pa[a3 + k]!;
      const br = ob + k * ldb;
      for (let j = 0; j < N; j++) {
        const u = b[br + j]!;
        c[c0 + j] += x0 * u;
        c[c1 + j] += x1 * u;
        c[c2 + j] += x2 * u;
        c[c3 + j] += x3 * u;
      }
    }
  }
  for (; i < M; i++) {
    const a0 = i * K;
    const c0 = oc + i * ldc;
    let k = 0;
    for (; k < K2; k += 2) {
      const x = pa[a0 + k]!,
        y = pa[a0 + k + 1]!;
      const br = ob + k * ldb,
        br1 = br + ldb;
      for (let j = 0; j < N; j++) c[c0 + j] += x * b[br + j]! + y * b[br1 + j]!;
    }
    if (k < K) {
      const x = pa[a0 + k]!;
      const br = ob + k * ldb;
      for (let j = 0; j < N; j++) c[c0 + j] += x * b[br + j]!;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// packing (shared by the JS and wasm paths)

/** Packs op(A)[i0.., k0..] (mc×kc) as MR-row strips, each kcp steps of MR values, zero-padded. */
function packA(
  dst: Float32Array,
  d: number,
  a: Float32Array,
  base: number,
  rsA: number,
  csA: number,
  mc: number,
  kc: number,
  kcp: number,
  mr: number,
): void {
  for (let ip = 0; ip < mc; ip += mr) {
    const rows = Math.min(mr, mc - ip);
    const strip = base + ip * rsA;
    if (rows === 4 && mr === 4) {
      const r1 = rsA,
        r2 = 2 * rsA,
        r3 = 3 * rsA;
      for (let k = 0, s = strip; k < kc; k++, s += csA) {
        dst[d] = a[s]!;
        dst[d + 1] = a[s + r1]!;
        dst[d + 2] = a[s + r2]!;
        dst[d + 3] = a[s + r3]!;
        d += 4;
      }
    } else {
      for (let k = 0; k < kc; k++) {
        const s = strip + k * csA;
        let r = 0;
        for (; r < rows; r++) dst[d++] = a[s + r * rsA]!;
        for (; r < mr; r++) dst[d++] = 0;
      }
    }
    const pad = (kcp - kc) * mr;
    if (pad > 0) {
      dst.fill(0, d, d + pad);
      d += pad;
    }
  }
}

/** Packs op(B)[k0.., j0..] (kc×nc) as NR-column strips, each kcp steps of NR values, zero-padded. */
function packB(
  dst: Float32Array,
  d: number,
  b: Float32Array,
  base: number,
  rsB: number,
  csB: number,
  kc: number,
  kcp: number,
  nc: number,
  nr: number,
): void {
  for (let jp = 0; jp < nc; jp += nr) {
    const cols = Math.min(nr, nc - jp);
    const strip = base + jp * csB;
    if (cols === nr && csB === 1) {
      for (let k = 0; k < kc; k++) {
        const s = strip + k * rsB;
        for (let j = 0; j < nr; j++) dst[d + j] = b[s + j]!;
        d += nr;
      }
    } else {
      for (let k = 0; k < kc; k++) {
        const s = strip + k * rsB;
        let j = 0;
        for (; j < cols; j++) dst[d++] = b[s + j * csB]!;
        for (; j < nr; j++) dst[d++] = 0;
      }
    }
    const pad = (kcp - kc) * nr;
    if (pad > 0) {
      dst.fill(0, d, d + pad);
      d += pad;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// plain JS blocked path: 4x4 register tile

const JS_MC = 64;
const JS_KC = 256;
const JS_NC = 2048;
const JS_MR = 4;
const JS_NR = 4;

function gemmJs(
  a: Float32Array,
  oa: number,
  rsA: number,
  csA: number,
  b: Float32Array,
  ob: number,
  rsB: number,
  csB: number,
  c: Float32Array,
  oc: number,
  ldc: number,
  M: number,
  K: number,
  N: number,
  accumulate: boolean,
): void {
  if (!accumulate) for (let i = 0; i < M; i++) c.fill(0, oc + i * ldc, oc + i * ldc + N);
  const pa = scratchF32("matmul.js.A", JS_MC * JS_KC);
  const pb = scratchF32("matmul.js.B", JS_KC * JS_NC);
  for (let jc = 0; jc < N; jc += JS_NC) {
    const nc = Math.min(JS_NC, N - jc);
    for (let pc = 0; pc < K; pc += JS_KC) {
      const kc = Math.min(JS_KC, K - pc);
      packB(pb, 0, b, ob + pc * rsB + jc * csB, rsB, csB, kc, kc, nc, JS_NR);
      for (let ic = 0; ic < M; ic += JS_MC) {
        const mc = Math.min(JS_MC, M - ic);
        packA(pa, 0, a, oa + ic * rsA + pc * csA, rsA, csA, mc, kc, kc, JS_MR);
        macroJs(pa, pb, c, oc + ic * ldc + jc, ldc, mc, nc, kc);
      }
    }
  }
}

function macroJs(pa: Float32Array, pb: Float32Array, c: Float32Array, oc: number, ldc: number, mc: number, nc: number, kc: number): void {
  for (let jr = 0; jr < nc; jr += 4) {
    const nr = Math.min(4, nc - jr);
    const bBase = jr * kc;
    for (let ir = 0; ir < mc; ir += 4) {
      const mr = Math.min(4, mc - ir);
      let ai = ir * kc;
      let bi = bBase;
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0,
        c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0,
        c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0,
        c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      for (let k = 0; k < kc; k++) {
        const a0 = pa[ai]!,
          a1 = pa[ai + 1]!,
          a2 = pa[ai + 2]!,
          a3 = pa[ai + 3]!;
        const b0 = pb[bi]!,
          b1 = pb[bi + 1]!,
          b2 = pb[bi + 2]!,
          b3 = pb[bi + 3]!;
        c00 += a0 * b0;
        c01 += a0 * b1;
        c02 += a0 * b2;
        c03 += a0 * b3;
        c10 += a1 * b0;
        c11 += a1 * b1;
        c12 += a1 * b2;
        c13 += a1 * b3;
        c20 += a2 * b0;
        c21 += a2 * b1;
        c22 += a2 * b2;
        c23 += a2 * b3;
        c30 += a3 * b0;
        c31 += a3 * b1;
        c32 += a3 * b2;
        c33 += a3 * b3;
        ai += 4;
        bi += 4;
      }
      const r0 = oc + ir * ldc + jr;
      if (mr === 4 && nr === 4) {
        const r1 = r0 + ldc,
          r2 = r1 + ldc,
          r3 = r2 + ldc;
        c[r0] += c00;
        c[r0 + 1] += c01;
        c[r0 + 2] += c02;
        c[r0 + 3] += c03;
        c[r1] += c10;
        c[r1 + 1] += c11;
        c[r1 + 2] += c12;
        c[r1 + 3] += c13;
        c[r2] += c20;
        c[r2 + 1] += c21;
        c[r2 + 2] += c22;
        c[r2 + 3] += c23;
        c[r3] += c30;
        c[r3 + 1] += c31;
        c[r3 + 2] += c32;
        c[r3 + 3] += c33;
      } else {
        const t = EDGE;
        t[0] = c00;
        t[1] = c01;
        t[2] = c02;
        t[3] = c03;
        t[4] = c10;
        t[5] = c11;
        t[6] = c12;
        t[7] = c13;
        t[8] = c20;
        t[9] = c21;
        t[10] = c22;
        t[11] = c23;
        t[12] = c30;
        t[13] = c31;
        t[14] = c32;
        t[15] = c33;
        for (let i = 0; i < mr; i++) for (let j = 0; j < nr; j++) c[r0 + i * ldc + j] += t[i * 4 + j]!;
      }
    }
  }
}

const EDGE = new Float64Array(16);

// ---------------------------------------------------------------------------------------------
// WebAssembly SIMD path (kernels in wasm-gemm.ts, heap and threads in wasm-heap.ts/threads.ts)
//
// Per chunk of C (the whole of C unless its operands exceed HEAP_BUDGET): op(A)'s rows and
// op(B)'s columns of the chunk are staged into the kernel heap (bulk copies), then two jobs run:
//   1. pack: op(A) into MR-row strips and op(B) into NR-column strips, per KC-deep block of k,
//      split into tasks by rows and columns;
//   2. compute: one task per (row block, column block) of C, calling the macro-kernel for each
//      k block in turn (the first stores, the rest add).
// and C is copied back. Tasks write disjoint memory and each element of C goes through the same
// instructions whichever thread runs its task, so results do not depend on the thread count.

let WASM_SHAPE: GemmKernelShape = { mr: 4, nr: 8, unroll: 1, fma: false };
/** Depth of a packed k block at most (K is cut into equal blocks). */
const KC = 256;
/** Rows × columns of C per compute task, at most (multiples of MR and NR). */
const TASK_ROWS = 128;
const TASK_COLS = 512;
/** Heap floats one chunk may use; bigger products are split into chunks of C. */
const HEAP_BUDGET = 1 << 24;
/**
 * Work below this many flops (about 50 µs on one thread) runs on the calling thread. With the
 * operands in the heap, splitting the MLP's 64-row products of 4 MFLOP made its training step
 * 1.48x faster on two threads than one, against 1.34x at the earlier bound of 8 MFLOP; 0.25
 * MFLOP measured about the same (LeNet slightly slower).
 */
let PARALLEL_MIN_FLOPS = 1 << 20;

let heapState: KernelHeap | null | undefined;

/** Benchmarks/tuning: picks the wasm register tile (relaxed-SIMD FMA is used when it validates). */
export function setMatmulWasmTile(tile: { mr: number; nr: number; unroll: number }): boolean {
  WASM_SHAPE = { ...tile, fma: false };
  heapState?.jobs.dispose();
  heapState = undefined;
  return kernelHeap() !== null;
}

/** Tests/tuning: the smallest product (2·M·N·K flops) split across threads; returns the previous one. */
export function setMatmulParallelMinFlops(flops: number): number {
  const prev = PARALLEL_MIN_FLOPS;
  PARALLEL_MIN_FLOPS = flops;
  return prev;
}

/** Whether work of this many flops is split across threads (the rest runs on the calling thread). */
export function parallelWorthIt(flops: number): boolean {
  return flops >= PARALLEL_MIN_FLOPS;
}

/** The kernel heap with the GEMM (and direct convolution) kernels; null without SIMD128. */
export function kernelHeap(): KernelHeap | null {
  if (heapState === undefined) heapState = createKernelHeap({ ...WASM_SHAPE, fma: true }) ?? createKernelHeap(WASM_SHAPE);
  return heapState;
}

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** How a [rows, cols] operand (element (i, j) at base + i*rs + j*cs) is staged in the heap. */
function stagedFloats(rows: number, cols: number, rs: number, cs: number): number {
  const span = (rows - 1) * rs + (cols - 1) * cs + 1;
  return span <= 2 * rows * cols + 1024 ? span : rows * cols;
}

/**
 * Copies a [rows, cols] operand into the heap at float offset dst: its whole span at once when
 * that is not much larger than the operand, else line by line. Returns the staged strides.
 */
function stage(
  heap: Float32Array,
  dst: number,
  src: Float32Array,
  base: number,
  rows: number,
  cols: number,
  rs: number,
  cs: number,
): [number, number] {
  const span = (rows - 1) * rs + (cols - 1) * cs + 1;
  if (span <= 2 * rows * cols + 1024) {
    heap.set(rangeView(src, base, span), dst);
    return [rs, cs];
  }
  if (rs === 1) {
    for (let j = 0; j < cols; j++) copyF32(heap, dst + j * rows, src, base + j * cs, rows);
    return [1, rows];
  }
  for (let i = 0; i < rows; i++) {
    if (cs === 1) copyF32(heap, dst + i * cols, src, base + i * rs, cols);
    else for (let j = 0; j < cols; j++) heap[dst + i * cols + j] = src[base + i * rs + j * cs]!;
  }
  return [cols, 1];
}

/** Splits n into parts of at most `max` (a multiple of `unit`), about `parts` of them. */
function partSize(n: number, parts: number, unit: number, max: number): number {
  return Math.max(unit, Math.min(max, roundUp(Math.ceil(n / parts), unit)));
}

/** Whether two views of one memory share bytes. */
function overlap(x: Float32Array, y: Float32Array): boolean {
  return x.byteOffset < y.byteOffset + y.byteLength && y.byteOffset < x.byteOffset + x.byteLength;
}

function gemmWasm(
  kh: KernelHeap,
  a: Float32Array,
  oa: number,
  rsA: number,
  csA: number,
  b: Float32Array,
  ob: number,
  rsB: number,
  csB: number,
  c: Float32Array,
  oc: number,
  ldc: number,
  M: number,
  K: number,
  N: number,
  accumulate: boolean,
  epilogue: Epilogue | undefined,
): void {
  const { mr, nr, unroll } = kh.shape;
  // operands already in the heap are read where they lie, and C written there when nothing else reads it
  const aHeld = kh.holds(a);
  const bHeld = kh.holds(b);
  const cHeld = !epilogue && kh.holds(c) && !(aHeld && overlap(a, c)) && !(bHeld && overlap(b, c));
  // k blocks of equal depth (no short last block), at most KC deep
  const kb = roundUp(Math.ceil(K / Math.ceil(K / KC)), unroll);
  const Kp = Math.ceil(K / kb) * kb;
  // the chunk of C: halve its longer side until its operands fit the budget
  const need = (rows: number, cols: number) =>
    (aHeld ? 0 : stagedFloats(rows, K, rsA, csA)) +
    (bHeld ? 0 : stagedFloats(K, cols, rsB, csB)) +
    (roundUp(rows, mr) + roundUp(cols, nr)) * Kp +
    (cHeld ? 0 : rows * cols);
  let rowsC = M;
  let colsC = N;
  while (need(rowsC, colsC) > HEAP_BUDGET && (rowsC > mr || colsC > nr)) {
    if (colsC >= rowsC && colsC > nr) colsC = roundUp(Math.ceil(colsC / 2), nr);
    else rowsC = roundUp(Math.ceil(rowsC / 2), mr);
  }
  const bStage = 0;
  const bPack = roundUp(bStage + (bHeld ? 0 : stagedFloats(K, colsC, rsB, csB)), 4);
  const aStage = bPack + roundUp(colsC, nr) * Kp;
  const aPack = roundUp(aStage + (aHeld ? 0 : stagedFloats(rowsC, K, rsA, csA)), 4);
  const cOff = aPack + roundUp(rowsC, mr) * Kp;
  const heap = kh.view(cOff + (cHeld ? 0 : rowsC * colsC) + 4);
  const S = kh.scratch;
  const jobs = kh.jobs;
  const parallel = parallelWorthIt(2 * M * N * K);
  const threads = parallel ? jobs.threads() : 1;
  for (let n0 = 0; n0 < N; n0 += colsC) {
    const cols = Math.min(colsC, N - n0);
    const colsP = roundUp(cols, nr);
    // op(B)'s chunk: its byte address and strides (floats)
    let bAt = b.byteOffset + (ob + n0 * csB) * 4;
    let [brs, bcs] = [rsB, csB];
    if (!bHeld) {
      [brs, bcs] = stage(heap, bStage, b, ob + n0 * csB, K, cols, rsB, csB);
      bAt = S + bStage * 4;
    }
    for (let m0 = 0; m0 < M; m0 += rowsC) {
      const rows = Math.min(rowsC, M - m0);
      const rowsP = roundUp(rows, mr);
      let aAt = a.byteOffset + (oa + m0 * rsA) * 4;
      let [ars, acs] = [rsA, csA];
      if (!aHeld) {
        [ars, acs] = stage(heap, aStage, a, oa + m0 * rsA, rows, K, rsA, csA);
        aAt = S + aStage * 4;
      }
      // C's chunk: in place, or in the scratch region with row stride cols
      const cAt = cHeld ? c.byteOffset + (oc + m0 * ldc + n0) * 4 : S + cOff * 4;
      const cStride = cHeld ? ldc : cols;
      if (accumulate && !cHeld) for (let i = 0; i < rows; i++) copyF32(heap, cOff + i * cols, c, oc + (m0 + i) * ldc + n0, cols);
      // 1. pack
      const rowPart = partSize(rows, 2 * threads, mr, rowsP);
      const colPart = partSize(cols, 2 * threads, nr, colsP);
      jobs.begin(parallel);
      for (let pc = 0, p = 0; pc < K; pc += kb, p++) {
        const kc = Math.min(kb, K - pc);
        const kcp = roundUp(kc, unroll);
        for (let r0 = 0; r0 < rows; r0 += rowPart) {
          const src = aAt + (r0 * ars + pc * acs) * 4;
          jobs.call(FN.packA, src, ars * 4, acs * 4, S + (aPack + p * rowsP * kb + r0 * kcp) * 4, Math.min(rowPart, rows - r0), kc, kcp);
          jobs.endTask();
        }
        for (let c0 = 0; c0 < cols; c0 += colPart) {
          const src = bAt + (pc * brs + c0 * bcs) * 4;
          jobs.call(FN.packB, src, brs * 4, bcs * 4, S + (bPack + p * colsP * kb + c0 * kcp) * 4, Math.min(colPart, cols - c0), kc, kcp);
          jobs.endTask();
        }
      }
      jobs.run();
      // 2. compute: about four tasks per thread, within the cache-sized maximum
      let taskRows = Math.min(TASK_ROWS, rowsP);
      let taskCols = Math.min(TASK_COLS, colsP);
      while (Math.ceil(rows / taskRows) * Math.ceil(cols / taskCols) < 4 * threads && (taskRows > 4 * mr || taskCols > 4 * nr)) {
        if (taskCols / nr >= taskRows / mr) taskCols = roundUp(taskCols / 2, nr);
        else taskRows = roundUp(taskRows / 2, mr);
      }
      jobs.begin(parallel);
      for (let c0 = 0; c0 < cols; c0 += taskCols)
        for (let r0 = 0; r0 < rows; r0 += taskRows) {
          for (let pc = 0, p = 0; pc < K; pc += kb, p++) {
            const kcp = roundUp(Math.min(kb, K - pc), unroll);
            jobs.call(
              FN.macro,
              S + (aPack + p * rowsP * kb + r0 * kcp) * 4,
              S + (bPack + p * colsP * kb + c0 * kcp) * 4,
              cAt + (r0 * cStride + c0) * 4,
              Math.min(taskRows, rows - r0),
              Math.min(taskCols, cols - c0),
              kcp,
              cStride * 4,
              accumulate || p > 0 ? 1 : 0,
            );
          }
          jobs.endTask();
        }
      jobs.run();
      // copy the chunk out, or hand it to the epilogue while it is in the heap
      if (cHeld) continue;
      if (epilogue) for (let i = 0; i < rows; i++) epilogue(heap, cOff + i * cols, oc + (m0 + i) * ldc + n0, cols);
      else if (ldc === cols && n0 === 0) c.set(rangeView(heap, cOff, rows * cols), oc + m0 * ldc);
      else for (let i = 0; i < rows; i++) copyF32(c, oc + (m0 + i) * ldc + n0, heap, cOff + i * cols, cols);
    }
  }
}
