// Every fast example (tools/train-examples.ts's FAST list: the example models with a train
// section, at small dims) runs one training step's graph (forward, loss, every gradient) on
// the WebGPU executor and on the CPU executor, from the same initial parameters, fixed batch
// and seed, and every named output agrees: per tensor, |gpu − cpu| ≤ tolerance · (1 + max |cpu|).

import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTrainingGraph } from "../../../compiler/training-graph.ts";
import { compile } from "../../../runtime/cpu/executor.ts";
import { Trainer } from "../../../runtime/trainer.ts";
import { releaseGpu, type GpuContext } from "../../../runtime/webgpu/device.ts";
import { compileGpu } from "../../../runtime/webgpu/executor.ts";
import { check } from "../../../src/index.ts";
import { EXAMPLES_DIR, FAST, fixedBatch, type ExampleRun } from "../../../tools/train-examples.ts";
import { gpuOrSkip } from "./helpers.ts";

/** Tolerances relative to the tensor's largest CPU magnitude: outputs and loss, gradients. */
const OUTPUT_TOLERANCE = 1e-4;
const GRADIENT_TOLERANCE = 1e-3;

let gpu: GpuContext | undefined;
beforeAll(async () => {
  gpu = await gpuOrSkip();
});
afterAll(releaseGpu);

async function stepParity(run: ExampleRun): Promise<string[]> {
  const m = check(join(EXAMPLES_DIR, run.file)).models.get(run.model)!;
  const dims = new Map([...Object.entries(run.dims ?? {}), ["B", run.batch] as [string, number]]);
  const trainer = new Trainer(m.graph!, m.train!, { batch: run.batch, seed: 0, dims });
  const feeds = fixedBatch(run, trainer);
  const loss = m.train!.loss ?? m.train!.phases[0]!.loss!;
  const graph = buildTrainingGraph(m.graph!, loss, dims).model.builder.graph();
  const cpu = compile(graph);
  const program = await compileGpu(graph, { gpu: gpu! });
  for (const p of graph.params) {
    cpu.setParam(p.name, trainer.values.get(p.name)!);
    program.setParam(p.name, trainer.values.get(p.name)!);
  }
  cpu.run(feeds, { seed: 0 });
  const names = graph.outputs.map((o) => o.name);
  const got = await program.run(feeds, { seed: 0, read: names });
  expect(program.counters.submits).toBe(1);
  const failures: string[] = [];
  for (const name of names) {
    const want = cpu.output(name);
    const have = got.get(name)!;
    let scale = 0;
    for (const v of want) scale = Math.max(scale, Math.abs(v));
    const tolerance = (name.startsWith("grad:") ? GRADIENT_TOLERANCE : OUTPUT_TOLERANCE) * (1 + scale);
    let worst = 0;
    let at = -1;
    for (let i = 0; i < want.length; i++) {
      const d = Math.abs(have[i]! - want[i]!);
      if (!(d <= worst)) [worst, at] = [d, i];
    }
    if (!(worst <= tolerance)) failures.push(`${name}[${at}]: webgpu ${have[at]}, cpu ${want[at]} (|d| ${worst} > ${tolerance})`);
  }
  program.destroy();
  return failures;
}

/**
 * Models whose vocabularies of thousands of tokens take 10–60 s a step on a software adapter:
 * checked by `npm run test:webgpu:long` (DLM_WEBGPU_LONG=1), not in `npm test`.
 */
const SLOW_ON_SOFTWARE = new Set(["LSTMLanguageModel", "Seq2Seq", "Seq2SeqContext", "AttentionSeq2Seq", "Siamese", "LoRALinear", "CBOW"]);
const runs = FAST.filter((r) => process.env["DLM_WEBGPU_LONG"] === "1" || !SLOW_ON_SOFTWARE.has(r.model));

describe("one training step of every fast example agrees between WebGPU and CPU", () => {
  it("lists only real models as slow", () => {
    const models = new Set(FAST.map((r) => r.model));
    expect([...SLOW_ON_SOFTWARE].filter((m) => !models.has(m))).toEqual([]);
  });

  it.each(runs.map((r) => [`${r.file} ${r.model}`, r] as [string, ExampleRun]))("%s", async (_, run) => {
    if (!gpu) return;
    expect(await stepParity(run)).toEqual([]);
  });
});
