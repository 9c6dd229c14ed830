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
import { EPILOGUE_CASES, ROW_CASES, rowCaseGraph } from "./row-cases.js";

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
