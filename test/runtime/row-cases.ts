// Fused-kernel cases, forward and backward, shared by the CPU's fused-kernel test and the WebGPU
// row-kernel and epilogue tests: row groups (softmax, log-softmax with cross-entropy, layer and
// RMS norm) and epilogue groups (matmul and conv with bias, activation, residual, scale).

import { gradients } from "../../compiler/autodiff.js";
import { logSoftmax, softmax } from "../../compiler/ops/lowering.js";
import { PrimBuilder, type T } from "../../compiler/prim/builder.js";
import { numelOf, type PGraph } from "../../compiler/prim/ir.js";
import type { HostArray } from "../../runtime/cpu/reference.js";

/** Deterministic values in [-2, 2) (a linear congruential stream, independent of the code under test). */
export function values(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 48271) % 2147483647) / 2147483647) * 4 - 2);
}

export type Build = (b: PrimBuilder, x: T, w: T) => T;

const layerNorm: Build = (b, x, w) => {
  const last = b.rank(x) - 1;
  const centred = b.minus(x, b.mean(x, [last], true));
  const rstd = b.unary("rsqrt", b.shift(b.mean(b.unary("square", centred), [last], true), 1e-5));
  return b.mean(b.times(b.times(centred, rstd), w));
};

export interface RowCase {
  readonly x: number[];
  readonly w: number[];
  readonly build: Build;
}

export const ROW_CASES: Record<string, RowCase> = {
  softmax: { x: [5, 7], w: [7], build: (b, x, w) => b.mean(b.times(softmax(b, b.plus(x, w), 1), b.unary("sin", x))) },
  "log-softmax + cross-entropy": {
    x: [6, 10],
    w: [10],
    build: (b, x, w) => {
      const target = b.tensor(
        Array.from({ length: 60 }, (_, i) => (i % 10 === Math.floor(i / 10) % 7 ? 1 : 0)),
        [6, 10],
      );
      return b.neg(b.mean(b.sum(b.times(target, logSoftmax(b, b.times(x, w), 1)), [1])));
    },
  },
  "layer norm over the last axis of [2, 3, 16]": { x: [2, 3, 16], w: [16], build: layerNorm },
  "RMS norm": {
    x: [4, 12],
    w: [12],
    build: (b, x, w) => {
      const rms = b.unary("rsqrt", b.shift(b.mean(b.unary("square", x), [1], true), 1e-6));
      return b.mean(b.unary("tanh", b.times(b.times(x, rms), w)));
    },
  },
  "softmax over rows longer than a workgroup": {
    x: [3, 700],
    w: [700],
    build: (b, x, w) => b.mean(b.times(softmax(b, b.plus(x, w), 1), x)),
  },
  "one row (a scalar per row)": { x: [1, 9], w: [9], build: (b, x, w) => b.sum(b.exp(b.minus(b.times(x, w), b.stopGradient(b.max(x))))) },
};

const WINDOW = { stride: [1, 1], padLo: [1, 1], padHi: [1, 1], dilation: [1, 1] };

/** Products whose elementwise work after them must become their epilogue. */
export const EPILOGUE_CASES: Record<string, RowCase> = {
  "linear, bias and ReLU": {
    x: [6, 20],
    w: [12, 20],
    build: (b, x, w) => b.mean(b.unary("sin", b.unary("relu", b.plus(b.matmul(x, w, false, true), b.tensor([...values(12, 3)], [12]))))),
  },
  "linear over [B, T, d] (a reshaped product), bias and GELU-like tanh": {
    x: [2, 3, 8],
    w: [5, 8],
    build: (b, x, w) => b.mean(b.unary("tanh", b.plus(b.matmul(x, w, false, true), b.tensor([...values(5, 9)], [5])))),
  },
  "linear whose raw product is also read later": {
    x: [5, 8],
    w: [8, 8],
    build: (b, x, w) => {
      const h = b.matmul(x, w);
      return b.mean(b.times(b.matmul(b.unary("tanh", h), w), h));
    },
  },
  "conv, channel bias, ReLU, residual add and scale": {
    x: [2, 3, 6, 6],
    w: [3, 3, 3, 3],
    build: (b, x, w) => {
      const c = b.plus(b.conv(x, w, WINDOW, 1), b.tensor([0.1, -0.2, 0.3], [3, 1, 1]));
      return b.mean(b.unary("sin", b.times(b.plus(b.unary("relu", c), x), b.scalar(0.5))));
    },
  },
  // enough channels for the GPU's implicit-GEMM convolution (the 3-channel case takes its direct kernel, without an epilogue)
  "conv over 8 channels, channel bias, ReLU, residual add and scale": {
    x: [2, 8, 5, 5],
    w: [8, 8, 3, 3],
    build: (b, x, w) => {
      const c = b.plus(b.conv(x, w, WINDOW, 1), b.tensor([...values(8, 5)], [8, 1, 1]));
      return b.mean(b.unary("sin", b.times(b.plus(b.unary("relu", c), x), b.scalar(0.5))));
    },
  },
};

/** The case's loss with its gradients for x and w as outputs, and deterministic feeds. */
export function rowCaseGraph(c: RowCase): { graph: PGraph; feeds: Map<string, HostArray> } {
  const b = new PrimBuilder();
  const x = b.input("x", c.x, "f32");
  const w = b.param("w", c.w);
  const loss = c.build(b, x, w);
  const [dx, dw] = gradients(b, loss, [x, w]);
  b.output("loss", loss);
  b.output("dx", dx!);
  b.output("dw", dw!);
  const feeds = new Map<string, HostArray>([
    ["x", values(numelOf(c.x), 7)],
    ["w", values(numelOf(c.w), 11)],
  ]);
  return { graph: b.graph(), feeds };
}
