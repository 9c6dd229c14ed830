// Every fast example (tools/train-examples.ts's FAST list: the example models with a train
// section, at small dims) runs one training step's graph (forward, loss, every gradient) on
// the WebGPU executor and on the CPU executor, from the same initial parameters, fixed batch
// and seed, and every named output agrees: per tensor, |gpu − cpu| ≤ tolerance · (1 + max |cpu|).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compile } from "../../../runtime/cpu/executor.ts";
import { releaseGpu, type GpuContext } from "../../../runtime/webgpu/device.ts";
import { compileGpu } from "../../../runtime/webgpu/executor.ts";
import { FAST, type ExampleRun } from "../../../tools/train-examples.ts";
import { ONE_STEP_RUNS, SLOW_ON_SOFTWARE, exampleStep, gpuOrSkip, stepDisagreements } from "./helpers.ts";

let gpu: GpuContext | undefined;
beforeAll(async () => {
  gpu = await gpuOrSkip();
});
afterAll(releaseGpu);

async function stepParity(run: ExampleRun): Promise<string[]> {
  const { graph, values, feeds } = exampleStep(run);
  const cpu = compile(graph);
  const program = await compileGpu(graph, { gpu: gpu! });
  for (const p of graph.params) {
    cpu.setParam(p.name, values.get(p.name)!);
    program.setParam(p.name, values.get(p.name)!);
  }
  cpu.run(feeds, { seed: 0 });
  const names = graph.outputs.map((o) => o.name);
  const got = await program.run(feeds, { seed: 0, read: names });
  expect(program.counters.submits).toBe(1);
  const failures = stepDisagreements(
    names,
    (name) => got.get(name)!,
    (name) => cpu.output(name),
  );
  program.destroy();
  return failures;
}

describe("one training step of every fast example agrees between WebGPU and CPU", () => {
  it("lists only real models as slow", () => {
    const models = new Set(FAST.map((r) => r.model));
    expect([...SLOW_ON_SOFTWARE].filter((m) => !models.has(m))).toEqual([]);
  });

  it.each(ONE_STEP_RUNS.map((r) => [`${r.file} ${r.model}`, r] as [string, ExampleRun]))("%s", async (_, run) => {
    if (!gpu) return;
    expect(await stepParity(run)).toEqual([]);
  });
});
