// The WebGPU executor with its passes off and on: for every example of the one-step parity set
// (helpers.ts), one training step compiled with common subexpressions, fusion and the memory
// plan all switched off (as -O0 compiles it) and with all of them on computes the same outputs,
// loss and gradients within float32 tolerance; and `dlm train --backend webgpu` runs with -O0
// and with a memory budget (gradient checkpointing before the GPU compiles the step).

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { compileGpu } from "../../../runtime/webgpu/executor.ts";
import { main } from "../../../src/cli/main.ts";
import type { ExampleRun } from "../../../tools/train-examples.ts";
import { ONE_STEP_RUNS, exampleStep, gpuTestContext, stepDisagreements } from "./helpers.ts";

const { gpu: currentGpu, dir } = gpuTestContext("webgpu-passes");
const at = (f: string): string => join(dir, f);

/** Where the optimised program's step leaves the unoptimised one's tolerance (empty: it agrees). */
async function passesParity(run: ExampleRun): Promise<string[]> {
  const { graph, values, feeds } = exampleStep(run);
  const [plain, optimised] = await Promise.all([
    compileGpu(graph, { gpu: currentGpu()!, cse: false, fuse: false, plan: false }),
    compileGpu(graph, { gpu: currentGpu()! }),
  ]);
  const names = graph.outputs.map((o) => o.name);
  const results = [];
  for (const program of [plain, optimised]) {
    for (const p of graph.params) program.setParam(p.name, values.get(p.name)!);
    results.push(await program.run(feeds, { seed: 0, read: names }));
  }
  // fusion and the arena change how a step is dispatched, not what it computes
  expect(optimised.counters.dispatches).toBeLessThanOrEqual(plain.counters.dispatches);
  plain.destroy();
  optimised.destroy();
  const [want, got] = [results[0]!, results[1]!];
  return stepDisagreements(
    names,
    (n) => got.get(n)!,
    (n) => want.get(n)!,
    "optimised",
    "-O0",
  );
}

describe("one training step on WebGPU: all passes off and all on agree", () => {
  it.each(ONE_STEP_RUNS.map((r) => [`${r.file} ${r.model}`, r] as [string, ExampleRun]))("%s", async (_, run) => {
    if (!currentGpu()) return;
    expect(await passesParity(run)).toEqual([]);
  });
});

const MODEL = `
block Residual(hidden: int) {
  input x: f32[B, D]
  output x + (x |> linear(hidden) |> relu |> linear(D))
}
model Deep(depth: int = 4) {
  input x: f32[B, 8]
  h = x |> linear(16)
  for i in 0..depth {
    h = Residual(h, 32) as blocks[i]
  }
  output logits = linear(h, 3)
}
train Deep {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = sgd(lr: 0.05)
  batch = 8
  seed = 1
}
`;

async function train(...argv: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = "";
  vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
  vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  try {
    return { code: await main(["train", at("deep.dlm"), "--epochs", "1", "--steps-per-epoch", "3", "--quiet", ...argv]), stderr };
  } finally {
    vi.restoreAllMocks();
  }
}

describe("dlm train --backend webgpu", () => {
  it("runs with -O0 and with --memory-budget, to the losses of the default run", async () => {
    if (!currentGpu()) return;
    writeFileSync(at("deep.dlm"), MODEL);
    const reports: Record<
      string,
      { final: { loss: number }; gpu: { dispatches_per_step: number }; checkpointing?: { met: boolean; policy: string } }
    > = {};
    for (const [name, flags] of [
      ["default", []],
      ["O0", ["-O0"]],
      ["budget", ["--memory-budget", "9000"]],
    ] as const) {
      const r = await train("--backend", "webgpu", ...flags, "--report", at(`${name}.json`), "--curve", at(`${name}.svg`));
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
      reports[name] = JSON.parse(readFileSync(at(`${name}.json`), "utf8"));
    }
    const loss = reports["default"]!.final.loss;
    for (const name of ["O0", "budget"]) expect(Math.abs(reports[name]!.final.loss - loss), name).toBeLessThan(1e-4 * Math.max(1, loss));
    expect(reports["default"]!.checkpointing).toBeUndefined();
    expect(reports["budget"]!.checkpointing).toMatchObject({ met: true });
    expect(reports["budget"]!.checkpointing!.policy).not.toBe("none");
    // the GPU runs the checkpointed step: the recomputed forward values are extra dispatches
    expect(reports["budget"]!.gpu.dispatches_per_step).toBeGreaterThan(reports["default"]!.gpu.dispatches_per_step);
  });
});
