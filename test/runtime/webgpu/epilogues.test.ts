// Epilogue kernels on the GPU (compiler/codegen/wgsl/epilogue.ts): a matmul's or an
// implicit-GEMM convolution's kernel applying the elementwise work after it (bias, activation,
// residual, scale; forward and backward) agrees with the CPU executor, the plan holds epilogue
// kernels and dispatches fewer kernels than unfused; a convolution on the direct kernel forms
// no epilogue group, and a group needing more storage bindings than the device has is left unfused.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PORTABLE_LIMITS, PORTABLE_TARGET } from "../../../compiler/codegen/wgsl-module.ts";
import { compile } from "../../../runtime/cpu/executor.ts";
import { releaseGpu, type GpuContext } from "../../../runtime/webgpu/device.ts";
import { compileGpu } from "../../../runtime/webgpu/executor.ts";
import { planGpu } from "../../../runtime/webgpu/plan.ts";
import { EPILOGUE_CASES, rowCaseGraph } from "../row-cases.ts";
import { expectClose, gpuOrSkip } from "./helpers.ts";

/** The 3-channel convolution takes the direct kernel on the GPU, which carries no epilogue. */
const DIRECT = "conv, channel bias, ReLU, residual add and scale";

let gpu: GpuContext | undefined;
beforeAll(async () => {
  gpu = await gpuOrSkip();
});
afterAll(releaseGpu);

describe("WebGPU epilogue kernels", () => {
  for (const [name, c] of Object.entries(EPILOGUE_CASES)) {
    const { graph, feeds } = rowCaseGraph(c);

    it(`${name}: the plan ${name === DIRECT ? "has no" : "has"} epilogue kernels`, () => {
      const labels = planGpu(graph, PORTABLE_LIMITS, PORTABLE_TARGET).kernels.map((k) => k.label);
      const epilogues = labels.filter((l) => l.includes(", epilogue "));
      if (name === DIRECT) expect(epilogues).toEqual([]);
      else expect(epilogues.length, labels.join("\n")).toBeGreaterThanOrEqual(1);
    });

    if (name !== DIRECT)
      it(`${name}: every kernel within a device limit of 7 storage bindings`, () => {
        // the anchor's operands count too: a group fitting only without them must not form
        const { kernels } = planGpu(graph, { ...PORTABLE_LIMITS, maxStorageBuffersPerShaderStage: 7 }, PORTABLE_TARGET);
        for (const k of kernels) expect(k.bindings.length, k.label).toBeLessThanOrEqual(7);
      });

    it(`${name}: agrees with the CPU executor, fewer dispatches than unfused`, async (ctx) => {
      if (!gpu) return ctx.skip();
      const cpu = compile(graph);
      cpu.run(feeds);
      const names = graph.outputs.map((o) => o.name);
      const [fused, plain] = [await compileGpu(graph, { gpu }), await compileGpu(graph, { gpu, fuse: false })];
      const values = await fused.run(feeds, { read: names });
      for (const o of names) expectClose(o, "f32", values.get(o)!, cpu.output(o));
      expect(fused.dispatchesPerRun).toBeLessThan(plain.dispatchesPerRun);
      fused.destroy();
      plain.destroy();
    });
  }
});
