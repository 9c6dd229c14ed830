// The kernel heap's persistent blocks, and the kernels that read operands where they lie in it:
// the GEMM (operands and C in the heap give the same bits as copied ones) and the optimiser
// updates (against float64 references of torch's formulas, in place and copied).

import { describe, expect, it } from "vitest";
import { kernelHeap, matmul, setMatmulParallelMinFlops } from "../../../runtime/cpu/kernels/matmul.js";
import { adamUpdate, sgdMomentumUpdate, sgdUpdate } from "../../../runtime/cpu/kernels/update.js";
import { BlockAllocator } from "../../../runtime/cpu/kernels/wasm-heap.js";
import { randArray, rng } from "./helpers.js";

const kh = kernelHeap()!;

/** A Float32Array of n floats in its own heap block (freed by the returned function). */
function held(n: number): { a: Float32Array; free: () => void } {
  const at = kh.alloc(n * 4);
  expect(at).toBeGreaterThanOrEqual(0);
  return { a: new Float32Array(kh.memory.buffer, at, n), free: () => kh.free(at) };
}

describe("BlockAllocator", () => {
  it("places first fit, merges freed neighbours and gives the top back", () => {
    const b = new BlockAllocator();
    const x = b.alloc(64);
    const y = b.alloc(128);
    const z = b.alloc(64);
    expect([x, y, z, b.top]).toEqual([0, 64, 192, 256]);
    b.free(y);
    expect(b.alloc(64)).toBe(64); // first fit, splitting the 128-byte hole
    b.free(64);
    b.free(x); // merges with the hole after it: [0, 192)
    expect(b.alloc(192)).toBe(0);
    b.free(0);
    b.free(z); // everything free: the top falls to 0
    expect(b.top).toBe(0);
    expect(() => b.free(z)).toThrow(/no block/);
  });

  it("the heap's scratch region moves above its blocks and back", () => {
    const before = kh.scratch;
    const { a, free } = held(1000);
    expect(kh.holds(a)).toBe(true);
    expect(kh.holds(new Float32Array(4))).toBe(false);
    expect(kh.scratch).toBeGreaterThanOrEqual(a.byteOffset + a.byteLength);
    a.fill(7);
    kh.view(1 << 16).fill(-1); // scratch use leaves the block alone
    expect(a.every((v) => v === 7)).toBe(true);
    free();
    expect(kh.scratch).toBe(before);
  });
});

describe("GEMM with operands in the kernel heap", () => {
  const cases = [
    { M: 64, K: 784, N: 256, transA: false, accumulate: false },
    { M: 784, K: 64, N: 256, transA: true, accumulate: false },
    { M: 37, K: 300, N: 75, transA: false, accumulate: true },
  ];
  for (const parallel of [false, true])
    for (const t of cases)
      it(`${t.M}x${t.K}x${t.N}${t.transA ? " transA" : ""}${t.accumulate ? " accumulate" : ""}${parallel ? ", split across threads" : ""}: the same bits as copied operands`, () => {
        const prev = setMatmulParallelMinFlops(parallel ? 0 : Infinity);
        try {
          const r = rng(t.M + t.K);
          const a = randArray(Float32Array, t.M * t.K, r);
          const b = randArray(Float32Array, t.K * t.N, r);
          const c0 = randArray(Float32Array, t.M * t.N, r);
          const want = c0.slice();
          matmul(a, b, want, t.M, t.K, t.N, { transA: t.transA, accumulate: t.accumulate, backend: "wasm" });
          const [ha, hb, hc] = [held(a.length), held(b.length), held(c0.length)];
          try {
            ha.a.set(a);
            hb.a.set(b);
            hc.a.set(c0);
            matmul(ha.a, hb.a, hc.a, t.M, t.K, t.N, { transA: t.transA, accumulate: t.accumulate, backend: "wasm" });
            expect(hc.a).toEqual(want);
          } finally {
            for (const h of [ha, hb, hc]) h.free();
          }
        } finally {
          setMatmulParallelMinFlops(prev);
        }
      });

  it("C overlapping an operand in the heap is computed out of place", () => {
    // C = A·B with C over A's first rows: the product must come from A's values before the call
    const [M, K, N] = [16, 16, 16];
    const r = rng(3);
    const a = randArray(Float32Array, M * K, r);
    const b = randArray(Float32Array, K * N, r);
    const want = new Float32Array(M * N);
    matmul(a, b, want, M, K, N, { backend: "wasm" });
    const h = held(M * K + 8);
    try {
      h.a.set(a);
      const c = new Float32Array(kh.memory.buffer, h.a.byteOffset, M * N);
      matmul(h.a.subarray(0, M * K), b, c, M, K, N, { backend: "wasm" });
      expect(c).toEqual(want);
    } finally {
      h.free();
    }
  });
});

/** torch's update formulas in float64, one element at a time (the reference). */
const reference = {
  sgd(w: number[], g: ArrayLike<number>, lr: number, wd: number) {
    return w.map((x, j) => x - lr * (g[j]! + wd * x));
  },
  momentum(
    w: number[],
    g: ArrayLike<number>,
    buf: number[],
    lr: number,
    wd: number,
    mu: number,
    damp: number,
    first: boolean,
    nesterov: boolean,
  ) {
    return w.map((x, j) => {
      const gj = g[j]! + wd * x;
      const v = first ? gj : mu * buf[j]! + damp * gj;
      buf[j] = v;
      return x - lr * (nesterov ? gj + mu * v : v);
    });
  },
  adam(w: number[], g: ArrayLike<number>, m: number[], v: number[], t: number, lr: number, wd: number, decoupled: boolean) {
    const [b1, b2, eps] = [0.9, 0.999, 1e-8];
    return w.map((x, j) => {
      const xs = decoupled ? x * (1 - lr * wd) : x;
      const gj = g[j]! + (decoupled ? 0 : wd) * xs;
      m[j] = b1 * m[j]! + (1 - b1) * gj;
      v[j] = b2 * v[j]! + (1 - b2) * gj * gj;
      return xs - ((lr / (1 - b1 ** t)) * m[j]!) / (Math.sqrt(v[j]!) / Math.sqrt(1 - b2 ** t) + eps);
    });
  },
};

/** Largest difference of float32 results from a float64 reference (values of order 1, so a few float32 ulps are about 1e-7 each). */
function maxErr(got: Float32Array, want: number[]): number {
  let e = 0;
  got.forEach((x, j) => (e = Math.max(e, Math.abs(x - want[j]!))));
  return e;
}

describe("optimiser updates in wasm", () => {
  // 1027: a tail past the last f32x4; 70001: several copy chunks and tasks across threads
  for (const n of [1027, 70001])
    for (const place of ["copied", "in the heap"] as const) {
      const arrays = (k: number, seed: number) => {
        const r = rng(seed);
        const vals = Array.from({ length: k }, () => randArray(Float32Array, n, r));
        if (place === "copied") return { arrays: vals, free: () => {} };
        const hs = vals.map((v) => {
          const h = held(n);
          h.a.set(v);
          return h;
        });
        return { arrays: hs.map((h) => h.a), free: () => hs.forEach((h) => h.free()) };
      };

      it(`sgd, ${n} floats ${place}`, () => {
        const {
          arrays: [w, g],
          free,
        } = arrays(2, n);
        try {
          let want = [...w!];
          for (let s = 0; s < 3; s++) {
            want = reference.sgd(want, g!, 0.1, 0.01);
            expect(sgdUpdate(w!, g!, 0.1, 0.01)).toBe(true);
          }
          expect(maxErr(w!, want)).toBeLessThan(1e-6);
        } finally {
          free();
        }
      });

      for (const nesterov of [false, true])
        it(`sgd with momentum${nesterov ? " (nesterov)" : ""}, ${n} floats ${place}`, () => {
          const {
            arrays: [w, g, buf],
            free,
          } = arrays(3, n + 1);
          try {
            buf!.fill(0);
            let want = [...w!];
            const refBuf = new Array<number>(n).fill(0);
            for (let s = 0; s < 3; s++) {
              want = reference.momentum(want, g!, refBuf, 0.1, 0.01, 0.9, nesterov ? 1 : 0.8, s === 0, nesterov);
              expect(sgdMomentumUpdate(w!, g!, buf!, 0.1, 0.01, 0.9, nesterov ? 1 : 0.8, s === 0, nesterov)).toBe(true);
            }
            expect(maxErr(w!, want)).toBeLessThan(1e-6);
            expect(maxErr(buf!, refBuf)).toBeLessThan(1e-6);
          } finally {
            free();
          }
        });

      for (const decoupled of [false, true])
        it(`${decoupled ? "adamw" : "adam"}, ${n} floats ${place}`, () => {
          const {
            arrays: [w, g, m, v],
            free,
          } = arrays(4, n + 2);
          try {
            m!.fill(0);
            v!.fill(0);
            let want = [...w!];
            const [rm, rv] = [new Array<number>(n).fill(0), new Array<number>(n).fill(0)];
            for (let t = 1; t <= 3; t++) {
              want = reference.adam(want, g!, rm, rv, t, 0.01, 0.1, decoupled);
              const shrink = decoupled ? 1 - 0.01 * 0.1 : 1;
              const coefs = {
                shrink,
                l2: decoupled ? 0 : 0.1,
                beta1: 0.9,
                beta2: 0.999,
                stepSize: 0.01 / (1 - 0.9 ** t),
                sqrtBc2: Math.sqrt(1 - 0.999 ** t),
                eps: 1e-8,
              };
              expect(adamUpdate(w!, g!, m!, v!, coefs)).toBe(true);
            }
            expect(maxErr(w!, want)).toBeLessThan(1e-6);
            expect(maxErr(m!, rm)).toBeLessThan(1e-6);
            expect(maxErr(v!, rv)).toBeLessThan(1e-6);
          } finally {
            free();
          }
        });
    }

  it("arrays too short to gain are left to the JS loop", () => {
    expect(sgdUpdate(new Float32Array(8), new Float32Array(8), 0.1, 0)).toBe(false);
  });
});
