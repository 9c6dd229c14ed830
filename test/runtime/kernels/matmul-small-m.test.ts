import { afterEach, describe, expect, it } from "vitest";
import { matmul, setMatmulSmallM, type MatmulBackend } from "../../../runtime/cpu/kernels/matmul.js";
import { emitSmallMModule, wasmSimdSupport } from "../../../runtime/cpu/kernels/wasm-gemm.js";
import { maxAbsDiff, randArray, randInt, rng } from "./helpers.js";

interface Case {
  M: number;
  K: number;
  N: number;
  transA: boolean;
  transB: boolean;
  accumulate: boolean;
  batch: number;
  pad: number;
  offA: number;
  offB: number;
  offC: number;
  broadcastB: boolean;
}

function check(t: Case, backend: MatmulBackend, seed: number): number {
  const r = rng(seed);
  const lda = (t.transA ? t.M : t.K) + t.pad;
  const ldb = (t.transB ? t.K : t.N) + t.pad;
  const ldc = t.N + t.pad;
  const sA = (t.transA ? t.K : t.M) * lda;
  const sB = t.broadcastB ? 0 : (t.transB ? t.N : t.K) * ldb;
  const sC = t.M * ldc;
  const a = randArray(Float32Array, t.offA + t.batch * sA, r);
  const b = randArray(Float32Array, t.offB + (t.broadcastB ? 1 : t.batch) * (t.transB ? t.N : t.K) * ldb, r);
  const c = randArray(Float32Array, t.offC + t.batch * sC, r);
  const ref = Float64Array.from(c);
  for (let q = 0; q < t.batch; q++)
    for (let i = 0; i < t.M; i++)
      for (let j = 0; j < t.N; j++) {
        let s = 0;
        for (let k = 0; k < t.K; k++) {
          const av = a[t.offA + q * sA + (t.transA ? k * lda + i : i * lda + k)]!;
          const bv = b[t.offB + q * sB + (t.transB ? j * ldb + k : k * ldb + j)]!;
          s += av * bv;
        }
        const ci = t.offC + q * sC + i * ldc + j;
        ref[ci] = (t.accumulate ? ref[ci]! : 0) + s;
      }
  matmul(a, b, c, t.M, t.K, t.N, {
    transA: t.transA,
    transB: t.transB,
    accumulate: t.accumulate,
    batch: t.batch,
    lda,
    ldb,
    ldc,
    strideB: sB,
    offsetA: t.offA,
    offsetB: t.offB,
    offsetC: t.offC,
    backend,
  });
  return maxAbsDiff(c, ref) / Math.sqrt(t.K);
}

function cases(count: number, seed: number): Case[] {
  const r = rng(seed);
  const out: Case[] = [];
  for (let i = 0; i < count; i++) {
    out.push({
      M: randInt(r, 1, 16),
      K: randInt(r, 1, 150),
      N: randInt(r, 1, 150),
      transA: r() < 0.3,
      transB: i % 2 === 0,
      accumulate: r() < 0.5,
      batch: r() < 0.2 ? randInt(r, 2, 3) : 1,
      pad: r() < 0.3 ? randInt(r, 1, 5) : 0,
      offA: r() < 0.3 ? randInt(r, 1, 7) : 0,
      offB: r() < 0.3 ? randInt(r, 1, 7) : 0,
      offC: r() < 0.3 ? randInt(r, 1, 7) : 0,
      broadcastB: r() < 0.2,
    });
  }
  // whole-array B (bulk copy into wasm memory), non-multiple-of-4 K and N, the LSTM shapes scaled down
  out.push({
    M: 4,
    K: 65,
    N: 260,
    transA: false,
    transB: true,
    accumulate: false,
    batch: 1,
    pad: 0,
    offA: 0,
    offB: 0,
    offC: 0,
    broadcastB: false,
  });
  out.push({
    M: 4,
    K: 260,
    N: 65,
    transA: false,
    transB: false,
    accumulate: true,
    batch: 1,
    pad: 0,
    offA: 0,
    offB: 0,
    offC: 0,
    broadcastB: false,
  });
  out.push({
    M: 16,
    K: 4,
    N: 4,
    transA: true,
    transB: true,
    accumulate: false,
    batch: 1,
    pad: 0,
    offA: 0,
    offB: 0,
    offC: 0,
    broadcastB: false,
  });
  out.push({
    M: 9,
    K: 3,
    N: 3,
    transA: false,
    transB: false,
    accumulate: true,
    batch: 1,
    pad: 0,
    offA: 0,
    offB: 0,
    offC: 0,
    broadcastB: false,
  });
  // b much bigger than one item's B: B is copied alone (the loop copy), not the whole array
  for (const transB of [true, false])
    out.push({
      M: 3,
      K: 200,
      N: 101,
      transA: false,
      transB,
      accumulate: true,
      batch: 3,
      pad: 1,
      offA: 0,
      offB: 5,
      offC: 2,
      broadcastB: false,
    });
  return out;
}

describe("matmul small-M path", () => {
  let prev: { wasm: number; js: number } | undefined;
  afterEach(() => {
    if (prev) setMatmulSmallM(prev);
  });

  it.runIf(wasmSimdSupport().simd)("wasm small-M kernels validate", () => {
    expect(WebAssembly.validate(emitSmallMModule())).toBe(true);
  });

  for (const backend of ["auto", "wasm", "js"] as const) {
    it(`matches the reference for M in 1..16 (${backend})`, () => {
      prev = setMatmulSmallM({ wasm: 16, js: 16 });
      let worst = 0;
      for (const [n, t] of cases(80, 1234).entries()) {
        const err = check(t, backend, 99 + n);
        if (err > 1e-5) throw new Error(`case ${n} ${JSON.stringify(t)}: err ${err}`);
        worst = Math.max(worst, err);
      }
      expect(worst).toBeLessThan(1e-5);
    });
  }
});
