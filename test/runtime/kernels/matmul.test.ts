import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { matmul, matmulBackend, type MatmulBackend } from "../../../runtime/cpu/kernels/matmul.js";
import { emitGemmModule, wasmSimdSupport } from "../../../runtime/cpu/kernels/wasm-gemm.js";
import { maxAbsDiff, randArray, randInt, rng } from "./helpers.js";

interface Case {
  M: number;
  K: number;
  N: number;
  transA: boolean;
  transB: boolean;
  batch: number;
  accumulate: boolean;
  pad: number; // extra leading-dimension padding
  broadcastB: boolean;
}

/** Reference in float64 with explicit index math, following the documented layouts. */
function reference(a: ArrayLike<number>, b: ArrayLike<number>, c0: ArrayLike<number>, t: Case) {
  const { M, K, N, transA, transB, batch, accumulate, pad } = t;
  const lda = (transA ? M : K) + pad;
  const ldb = (transB ? K : N) + pad;
  const ldc = N + pad;
  const sA = (transA ? K : M) * lda;
  const sB = t.broadcastB ? 0 : (transB ? N : K) * ldb;
  const sC = M * ldc;
  const c = Float64Array.from(c0);
  for (let q = 0; q < batch; q++)
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = a[q * sA + (transA ? k * lda + i : i * lda + k)]!;
          const bv = b[q * sB + (transB ? j * ldb + k : k * ldb + j)]!;
          s += av * bv;
        }
        const ci = q * sC + i * ldc + j;
        c[ci] = (accumulate ? c[ci]! : 0) + s;
      }
  return { c, lda, ldb, ldc, sA, sB, sC };
}

function run(t: Case, backend: MatmulBackend, f64: boolean, seed: number) {
  const r = rng(seed);
  const ctor: new (n: number) => Float32Array | Float64Array = f64 ? Float64Array : Float32Array;
  const lda = (t.transA ? t.M : t.K) + t.pad;
  const ldb = (t.transB ? t.K : t.N) + t.pad;
  const aLen = t.batch * (t.transA ? t.K : t.M) * lda;
  const bLen = (t.broadcastB ? 1 : t.batch) * (t.transB ? t.N : t.K) * ldb;
  const cLen = t.batch * t.M * (t.N + t.pad);
  const a = randArray(ctor, aLen, r);
  const b = randArray(ctor, bLen, r);
  const c = randArray(ctor, cLen, r);
  const ref = reference(a, b, c, t);
  matmul(a, b, c, t.M, t.K, t.N, {
    transA: t.transA,
    transB: t.transB,
    accumulate: t.accumulate,
    batch: t.batch,
    lda: ref.lda,
    ldb: ref.ldb,
    ldc: ref.ldc,
    strideB: ref.sB,
    backend,
  });
  // padding columns of C must be untouched
  return { err: maxAbsDiff(c, ref.c), K: t.K };
}

function randomCases(count: number, seed: number, big: boolean): Case[] {
  const r = rng(seed);
  const cases: Case[] = [];
  const hi = big ? 300 : 40;
  for (let i = 0; i < count; i++) {
    cases.push({
      M: randInt(r, 1, hi),
      K: randInt(r, 1, hi),
      N: randInt(r, 1, hi),
      transA: r() < 0.5,
      transB: r() < 0.5,
      batch: randInt(r, 1, 3),
      accumulate: r() < 0.5,
      pad: r() < 0.5 ? 0 : randInt(r, 1, 5),
      broadcastB: r() < 0.25,
    });
  }
  return cases;
}

describe("matmul", () => {
  it("has a SIMD kernel on this host (Node ≥ 20 validates SIMD128)", () => {
    expect(wasmSimdSupport().simd).toBe(true);
    expect(matmulBackend()).toBe("wasm");
    const bytes = emitGemmModule({ mr: 4, nr: 8, unroll: 1, fma: false });
    expect(WebAssembly.validate(bytes)).toBe(true);
  });

  for (const backend of ["naive", "js", "wasm", "auto"] as const) {
    it(`float32 ${backend} matches the reference on random shapes, transposes, batches, strides`, () => {
      const cases = [...randomCases(30, 11, false), ...randomCases(6, 12, true)];
      cases.push({ M: 1, K: 1, N: 1, transA: false, transB: false, batch: 1, accumulate: false, pad: 0, broadcastB: false });
      cases.push({ M: 129, K: 257, N: 9, transA: true, transB: true, batch: 2, accumulate: true, pad: 3, broadcastB: false });
      cases.push({ M: 3, K: 600, N: 2050, transA: false, transB: true, batch: 1, accumulate: false, pad: 0, broadcastB: false });
      cases.forEach((t, i) => {
        const { err, K } = run(t, backend, false, 100 + i);
        expect(err, JSON.stringify(t)).toBeLessThan(2e-6 * K + 1e-6);
      });
    });
  }

  it("float64 path is exact to rounding", () => {
    randomCases(20, 21, false).forEach((t, i) => {
      const { err } = run(t, "auto", true, 300 + i);
      expect(err, JSON.stringify(t)).toBeLessThan(1e-12);
    });
  });

  it("K = 0 gives zeros (or leaves C when accumulating)", () => {
    const c = new Float32Array([1, 2, 3, 4]);
    matmul(new Float32Array(0), new Float32Array(0), c, 2, 0, 2, { accumulate: true });
    expect([...c]).toEqual([1, 2, 3, 4]);
    matmul(new Float32Array(0), new Float32Array(0), c, 2, 0, 2);
    expect([...c]).toEqual([0, 0, 0, 0]);
  });

  it("large wasm products span several row chunks and column blocks", () => {
    const t: Case = { M: 1030, K: 40, N: 2060, transA: false, transB: false, batch: 1, accumulate: true, pad: 1, broadcastB: false };
    const { err } = run(t, "wasm", false, 7);
    expect(err).toBeLessThan(1e-4);
  });

  it("uses relaxed-SIMD FMA where the host enables it, with the same results up to rounding", () => {
    // Node 20 enables relaxed SIMD behind a flag: a child process with it checks matmul and the
    // direct convolution against float64 sums
    const dir = mkdtempSync(join(tmpdir(), "dlm-fma-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const script = join(dir, "fma.mts");
    const url = (p: string) => JSON.stringify(pathToFileURL(resolve(import.meta.dirname, "../../..", p)).href);
    writeFileSync(
      script,
      `import { kernelHeap, matmul } from ${url("runtime/cpu/kernels/matmul.ts")};
import { convForward, convGeometry } from ${url("runtime/cpu/kernels/conv.ts")};
const r = (n) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);
const [M, K, N] = [37, 300, 75];
const a = r(M * K), b = r(K * N), c = new Float32Array(M * N);
matmul(a, b, c, M, K, N, { backend: "wasm" });
let mm = 0;
for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
  let s = 0;
  for (let k = 0; k < K; k++) s += a[i * K + k] * b[k * N + j];
  mm = Math.max(mm, Math.abs(s - c[i * N + j]));
}
const g = convGeometry({ batch: 1, inChannels: 2, outChannels: 5, inSize: [9, 16], kernel: [3, 3], padLo: [1, 1] });
const x = r(2 * 144), w = r(5 * 18), y = new Float32Array(5 * 144);
convForward(x, w, null, y, g);
let cv = 0;
for (let o = 0; o < 5; o++) for (let p = 0; p < 144; p++) {
  let s = 0;
  for (let ci = 0; ci < 2; ci++) for (let t = 0; t < 9; t++) {
    const yy = Math.floor(p / 16) + Math.floor(t / 3) - 1, xx = (p % 16) + (t % 3) - 1;
    if (yy >= 0 && yy < 9 && xx >= 0 && xx < 16) s += w[(o * 2 + ci) * 9 + t] * x[ci * 144 + yy * 16 + xx];
  }
  cv = Math.max(cv, Math.abs(s - y[o * 144 + p]));
}
console.log(JSON.stringify({ fma: kernelHeap().shape.fma, mm, cv }));
`,
    );
    const p = spawnSync(process.execPath, ["--experimental-wasm-relaxed-simd", "--import", "tsx", script], { encoding: "utf8" });
    expect(p.status, p.stderr).toBe(0);
    const got = JSON.parse(p.stdout.trim().split("\n").pop()!) as { fma: boolean; mm: number; cv: number };
    expect(got.fma).toBe(true);
    expect(got.mm).toBeLessThan(1e-4);
    expect(got.cv).toBeLessThan(1e-5);
  });

  it("rejects mixed element types", () => {
    expect(() => matmul(new Float32Array(4), new Float64Array(4), new Float32Array(4), 2, 2, 2)).toThrow(TypeError);
  });
});
