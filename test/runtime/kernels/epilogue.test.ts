// Matmul and convolution epilogues: on every path (simple loop, blocked JS, wasm packed GEMM,
// wasm small-M dot and axpy, chunked products; direct, dense, depthwise and im2col
// convolutions) the epilogue receives each element of the output exactly once, at its flat
// index, with the bits the plain kernel writes, and the plain kernel's output is never touched.

import { afterEach, describe, expect, it } from "vitest";
import { convForward, convGeometry, type ConvGeometry } from "../../../runtime/cpu/kernels/conv.js";
import { kernelHeap, matmul, setMatmulParallelMinFlops, type MatmulOptions } from "../../../runtime/cpu/kernels/matmul.js";
import { setKernelThreads } from "../../../runtime/cpu/kernels/threads.js";
import { prod, randArray, rng } from "./helpers.js";

const bits = (a: Float32Array) => [...new Uint32Array(a.buffer, a.byteOffset, a.length)];

/** An epilogue that copies what it is handed to `into[o ..]`, counting how often each index comes. */
function recorder(size: number): {
  into: Float32Array;
  seen: Uint8Array;
  epilogue: (v: Float32Array, s: number, o: number, n: number) => void;
} {
  const into = new Float32Array(size);
  const seen = new Uint8Array(size);
  return {
    into,
    seen,
    epilogue: (v, s, o, n) => {
      for (let e = 0; e < n; e++) {
        into[o + e] = v[s + e]!;
        seen[o + e]!++;
      }
    },
  };
}

interface Case {
  name: string;
  M: number;
  K: number;
  N: number;
  opts: MatmulOptions;
}

const wasm = kernelHeap() !== null;
const CASES: Case[] = [
  { name: "simple loop", M: 5, K: 7, N: 6, opts: {} },
  { name: "blocked JS", M: 70, K: 40, N: 33, opts: { backend: "js" } },
  ...((wasm
    ? [
        { name: "wasm packed GEMM", M: 64, K: 300, N: 130, opts: { backend: "wasm" } },
        { name: "wasm packed, transposed, strided C", M: 37, K: 50, N: 75, opts: { backend: "wasm", transA: true, transB: true, ldc: 80 } },
        { name: "wasm small-M dot (B rows along k)", M: 6, K: 90, N: 21, opts: { backend: "wasm", transB: true } },
        { name: "wasm small-M axpy, N a multiple of 4", M: 9, K: 30, N: 64, opts: { backend: "wasm" } },
        { name: "wasm small-M axpy, a tail of columns", M: 9, K: 30, N: 67, opts: { backend: "wasm" } },
        { name: "wasm batched", M: 20, K: 33, N: 40, opts: { backend: "wasm", batch: 3 } },
      ]
    : []) satisfies Case[]),
];

afterEach(() => setKernelThreads(1));

describe("matmul epilogue", () => {
  it.each(CASES.map((c) => [c.name, c] as const))("%s: every element once, the plain kernel's bits", (_, { M, K, N, opts }) => {
    const r = rng(M * 1000 + N);
    const batch = opts.batch ?? 1;
    const ldc = opts.ldc ?? N;
    const a = randArray(Float32Array, batch * M * K, r);
    const b = randArray(Float32Array, batch * K * N, r);
    const size = batch * M * ldc;
    const plain = new Float32Array(size);
    matmul(a, b, plain, M, K, N, opts);
    const { into, seen, epilogue } = recorder(size);
    const untouched = new Float32Array(size).fill(7);
    matmul(a, b, untouched, M, K, N, { ...opts, epilogue });
    expect(untouched.every((v) => v === 7)).toBe(true);
    for (let t = 0; t < batch; t++)
      for (let i = 0; i < M; i++) for (let j = 0; j < ldc; j++) expect(seen[t * M * ldc + i * ldc + j]).toBe(j < N ? 1 : 0);
    expect(bits(into)).toEqual(bits(plain));
  });

  it.runIf(wasm)("the same bits when the product is split across threads", () => {
    const [M, K, N] = [96, 200, 160];
    const r = rng(5);
    const a = randArray(Float32Array, M * K, r);
    const b = randArray(Float32Array, K * N, r);
    const plain = new Float32Array(M * N);
    matmul(a, b, plain, M, K, N, { backend: "wasm" });
    const prev = setMatmulParallelMinFlops(0);
    try {
      setKernelThreads(4);
      const { into, seen, epilogue } = recorder(M * N);
      matmul(a, b, new Float32Array(0), M, K, N, { backend: "wasm", epilogue });
      expect(seen.every((s) => s === 1)).toBe(true);
      expect(bits(into)).toEqual(bits(plain));
    } finally {
      setMatmulParallelMinFlops(prev);
    }
  });

  it("refuses accumulate and Float64", () => {
    const e = () => {};
    expect(() => matmul(new Float32Array(4), new Float32Array(4), new Float32Array(4), 2, 2, 2, { accumulate: true, epilogue: e })).toThrow(
      /epilogue/,
    );
    expect(() => matmul(new Float64Array(4), new Float64Array(4), new Float64Array(4), 2, 2, 2, { epilogue: e })).toThrow(/epilogue/);
  });
});

const CONVS: [string, ConvGeometry][] = [
  ["direct 2-d, padded", convGeometry({ batch: 2, inChannels: 3, outChannels: 6, inSize: [12, 12], kernel: [3, 3], padLo: [1, 1] })],
  ["direct, rows a multiple of the tile", convGeometry({ batch: 3, inChannels: 2, outChannels: 8, inSize: [10, 20], kernel: [5, 5] })],
  ["dense (window covers the input)", convGeometry({ batch: 4, inChannels: 5, outChannels: 7, inSize: [4, 4], kernel: [4, 4] })],
  ["depthwise", convGeometry({ batch: 2, inChannels: 4, outChannels: 8, groups: 4, inSize: [7, 7], kernel: [3, 3] })],
  [
    "strided im2col, groups",
    convGeometry({ batch: 3, inChannels: 4, outChannels: 6, groups: 2, inSize: [9, 9], kernel: [3, 3], stride: [2, 2] }),
  ],
  ["1-d", convGeometry({ batch: 2, inChannels: 3, outChannels: 5, inSize: [17], kernel: [4] })],
];

describe("conv epilogue", () => {
  it.each(CONVS)("%s: every element once, the plain kernel's bits", (_, g) => {
    const r = rng(g.outChannels * 31 + g.batch);
    const x = randArray(Float32Array, g.batch * g.inChannels * prod(g.inSize), r);
    const w = randArray(Float32Array, (g.outChannels * g.inChannels * prod(g.kernel)) / g.groups, r);
    const size = g.batch * g.outChannels * prod(g.outSize);
    const plain = new Float32Array(size);
    convForward(x, w, null, plain, g);
    const { into, seen, epilogue } = recorder(size);
    convForward(x, w, null, new Float32Array(0), g, { epilogue });
    expect(seen.every((s) => s === 1)).toBe(true);
    expect(bits(into)).toEqual(bits(plain));
  });
});
