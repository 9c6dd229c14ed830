// Fused kernels on the CPU: the row kernels of softmax, log-softmax with cross-entropy, layer
// norm and RMS norm, and the epilogues of matmuls and convolutions (bias, activation, residual,
// scale), forward and backward, give the unfused program's results bit for bit (each member
// rounds as its own kernel's store would, sums run in the reduce kernel's order), launch fewer
// kernels, and agree with the float64 reference interpreter.

import { describe, expect, it } from "vitest";
import { gradients } from "../../compiler/autodiff.js";
import { logSoftmax, softmax } from "../../compiler/ops/lowering.js";
import { commonSubexpressions } from "../../compiler/passes/cse.js";
import { liveNodes } from "../../compiler/passes/dead-code.js";
import { planFusion } from "../../compiler/passes/fusion.js";
import { PrimBuilder, type T } from "../../compiler/prim/builder.js";
import { numelOf } from "../../compiler/prim/ir.js";
import { compile } from "../../runtime/cpu/executor.js";
import { evaluate, type HostArray } from "../../runtime/cpu/reference.js";

/** Deterministic values in [-2, 2) (a linear congruential stream, independent of the code under test). */
function values(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 48271) % 2147483647) / 2147483647) * 4 - 2);
}

type Build = (b: PrimBuilder, x: T, w: T) => T;

const layerNorm: Build = (b, x, w) => {
  const last = b.rank(x) - 1;
  const centred = b.minus(x, b.mean(x, [last], true));
  const rstd = b.unary("rsqrt", b.shift(b.mean(b.unary("square", centred), [last], true), 1e-5));
  return b.mean(b.times(b.times(centred, rstd), w));
};

interface Case {
  x: number[];
  w: number[];
  build: Build;
  /** the kind of group the case must produce */
  kind?: "row" | "epilogue";
}

const CASES: Record<string, Case> = {
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
  "one row (a scalar per row)": { x: [1, 9], w: [9], build: (b, x, w) => b.sum(b.exp(b.minus(b.times(x, w), b.stopGradient(b.max(x))))) },
};

const WINDOW = { stride: [1, 1], padLo: [1, 1], padHi: [1, 1], dilation: [1, 1] };

const EPILOGUES: Record<string, Case> = {
  "linear, bias and ReLU": {
    x: [6, 20],
    w: [12, 20],
    kind: "epilogue",
    build: (b, x, w) => b.mean(b.unary("sin", b.unary("relu", b.plus(b.matmul(x, w, false, true), b.tensor([...values(12, 3)], [12]))))),
  },
  "linear over [B, T, d] (a reshaped product), bias and GELU-like tanh": {
    x: [2, 3, 8],
    w: [5, 8],
    kind: "epilogue",
    build: (b, x, w) => b.mean(b.unary("tanh", b.plus(b.matmul(x, w, false, true), b.tensor([...values(5, 9)], [5])))),
  },
  "linear whose raw product is also read later": {
    x: [5, 8],
    w: [8, 8],
    kind: "epilogue",
    build: (b, x, w) => {
      const h = b.matmul(x, w);
      return b.mean(b.times(b.matmul(b.unary("tanh", h), w), h));
    },
  },
  "conv, channel bias, ReLU, residual add and scale": {
    x: [2, 3, 6, 6],
    w: [3, 3, 3, 3],
    kind: "epilogue",
    build: (b, x, w) => {
      const c = b.plus(b.conv(x, w, WINDOW, 1), b.tensor([0.1, -0.2, 0.3], [3, 1, 1]));
      return b.mean(b.unary("sin", b.times(b.plus(b.unary("relu", c), x), b.scalar(0.5))));
    },
  },
};

describe.each(Object.entries({ ...CASES, ...EPILOGUES }))("%s, forward and backward", (_, c) => {
  const b = new PrimBuilder();
  const x = b.input("x", c.x, "f32");
  const w = b.param("w", c.w);
  const loss = c.build(b, x, w);
  const [dx, dw] = gradients(b, loss, [x, w]);
  b.output("loss", loss);
  b.output("dx", dx!);
  b.output("dw", dw!);
  const graph = b.graph();
  const feeds = new Map<string, HostArray>([
    ["x", values(numelOf(c.x), 7)],
    ["w", values(numelOf(c.w), 11)],
  ]);
  const run = (fuse: boolean) => {
    const p = compile(graph, { fuse, poisonArena: true });
    p.run(feeds);
    return p;
  };
  const [plain, fused] = [run(false), run(true)];

  it(`runs as ${c.kind ?? "row"} kernels, fewer kernels than unfused`, () => {
    const live = liveNodes(graph);
    const groups = planFusion(graph, live, commonSubexpressions(graph, live)).groups.filter((g) => g.kind === (c.kind ?? "row"));
    expect(groups.length).toBeGreaterThanOrEqual(1);
    expect(fused.kernelCount).toBeLessThan(plain.kernelCount);
  });

  it("gives the unfused results bit for bit", () => {
    for (const o of graph.outputs) expect(Array.from(fused.output(o.name)), o.name).toEqual(Array.from(plain.output(o.name)));
  });

  it("agrees with the float64 reference", () => {
    const ref = evaluate(graph, feeds);
    for (const o of graph.outputs) {
      const want = ref.get(o.node)!.data;
      const got = fused.output(o.name);
      for (let i = 0; i < want.length; i++)
        expect(Math.abs(got[i]! - want[i]!), o.name).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want[i]!)));
    }
  });
});
