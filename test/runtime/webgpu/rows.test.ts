// Row kernels on the GPU (compiler/codegen/wgsl/rows.ts): softmax, log-softmax with
// cross-entropy, layer and RMS norm, forward and backward, on the WebGPU executor with fusion
// against the CPU executor, with fewer dispatches than unfused; with subgroup reductions where
// the device has them and with the workgroup-memory tree.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commonSubexpressions } from "../../../compiler/passes/cse.ts";
import { liveNodes } from "../../../compiler/passes/dead-code.ts";
import { planFusion } from "../../../compiler/passes/fusion.ts";
import { compile } from "../../../runtime/cpu/executor.ts";
import { releaseGpu, type GpuContext } from "../../../runtime/webgpu/device.ts";
import { compileGpu } from "../../../runtime/webgpu/executor.ts";
import { ROW_CASES, rowCaseGraph } from "../row-cases.ts";
import { expectClose, gpuOrSkip } from "./helpers.ts";

let gpu: GpuContext | undefined;
beforeAll(async () => {
  gpu = await gpuOrSkip();
});
afterAll(releaseGpu);

describe("WebGPU row kernels agree with the CPU executor", () => {
  for (const [name, c] of Object.entries(ROW_CASES)) {
    it(name, async (ctx) => {
      if (!gpu) return ctx.skip();
      const { graph, feeds } = rowCaseGraph(c);
      const live = liveNodes(graph);
      expect(planFusion(graph, live, commonSubexpressions(graph, live)).groups.some((g) => g.kind === "row")).toBe(true);
      const cpu = compile(graph);
      cpu.run(feeds);
      const names = graph.outputs.map((o) => o.name);
      const plain = await compileGpu(graph, { gpu, fuse: false });
      for (const subgroups of [true, false]) {
        const fused = await compileGpu(graph, { gpu, subgroups });
        const values = await fused.run(feeds, { read: names });
        for (const o of names) expectClose(`${o} (subgroups ${subgroups && gpu.features.subgroups})`, "f32", values.get(o)!, cpu.output(o));
        expect(fused.dispatchesPerRun).toBeLessThan(plain.dispatchesPerRun);
        fused.destroy();
      }
      plain.destroy();
    });
  }
});
