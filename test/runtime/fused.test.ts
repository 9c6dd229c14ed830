// Fused kernels on the CPU: the row kernels of softmax, log-softmax with cross-entropy, layer
// norm and RMS norm, and the epilogues of matmuls and convolutions (bias, activation, residual,
// scale), forward and backward, give the unfused program's results bit for bit (each member
// rounds as its own kernel's store would, sums run in the reduce kernel's order), launch fewer
// kernels, and agree with the float64 reference interpreter.

import { describe, expect, it } from "vitest";
import { commonSubexpressions } from "../../compiler/passes/cse.js";
import { liveNodes } from "../../compiler/passes/dead-code.js";
import { planFusion } from "../../compiler/passes/fusion.js";
import { compile } from "../../runtime/cpu/executor.js";
import { evaluate } from "../../runtime/cpu/reference.js";
import { ROW_CASES, rowCaseGraph, values, type RowCase } from "./row-cases.js";

const WINDOW = { stride: [1, 1], padLo: [1, 1], padHi: [1, 1], dilation: [1, 1] };

/** Products whose elementwise work after them must become their epilogue. */
const EPILOGUE_CASES: Record<string, RowCase> = {
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
};

const CASES = [
  ...Object.entries(ROW_CASES).map(([name, c]) => [name, c, "row"] as const),
  ...Object.entries(EPILOGUE_CASES).map(([name, c]) => [name, c, "epilogue"] as const),
];

describe.each(CASES)("%s, forward and backward", (_, c, kind) => {
  const { graph, feeds } = rowCaseGraph(c);
  const run = (fuse: boolean) => {
    const p = compile(graph, { fuse, poisonArena: true });
    p.run(feeds);
    return p;
  };
  const [plain, fused] = [run(false), run(true)];

  it(`runs as ${kind} kernels, fewer kernels than unfused`, () => {
    const live = liveNodes(graph);
    const groups = planFusion(graph, live, commonSubexpressions(graph, live)).groups.filter((g) => g.kind === kind);
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
