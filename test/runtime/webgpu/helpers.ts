// Shared by the WebGPU tests: the process's device (or a reason to skip when there is no
// adapter at all), and the comparison of GPU values against the CPU executor's.

import { mkdirSync, rmSync } from "node:fs";
import { afterAll, beforeAll, expect } from "vitest";
import type { PDType } from "../../../compiler/prim/ir.ts";
import { NoGpuAdapterError, acquireGpu, releaseGpu, type GpuContext } from "../../../runtime/webgpu/device.ts";
import { join } from "node:path";
import { buildTrainingGraph } from "../../../compiler/training-graph.ts";
import type { PGraph } from "../../../compiler/prim/ir.ts";
import { Trainer } from "../../../runtime/trainer.ts";
import { check } from "../../../src/index.ts";
import { EXAMPLES_DIR, FAST, fixedBatch, type ExampleRun } from "../../../tools/train-examples.ts";

/** The shared device, or undefined (after printing why) when no adapter exists on this machine. */
export async function gpuOrSkip(): Promise<GpuContext | undefined> {
  try {
    return await acquireGpu();
  } catch (e) {
    if (!(e instanceof NoGpuAdapterError)) throw e;
    console.warn(`WebGPU tests skipped: ${e.message}`);
    return undefined;
  }
}

/**
 * A test file's device and scratch folder (under tmp/, named `scratch` and the process id): the
 * device is acquired before the file's tests (`gpu()` is undefined when there is no adapter),
 * released after them, and the folder removed.
 */
export function gpuTestContext(scratch: string): { readonly gpu: () => GpuContext | undefined; readonly dir: string } {
  let gpu: GpuContext | undefined;
  const dir = join(import.meta.dirname, "..", "..", "..", "tmp", `${scratch}-${process.pid}`);
  beforeAll(async () => {
    gpu = await gpuOrSkip();
    mkdirSync(dir, { recursive: true });
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await releaseGpu();
  });
  return { gpu: () => gpu, dir };
}

/** Float tolerance of GPU against CPU float32 values: |gpu − cpu| ≤ F32_TOLERANCE · max(1, |cpu|). */
export const F32_TOLERANCE = 1e-4;

/** Fails with the first element where `got` (GPU) and `want` (CPU) disagree; i32 and bool must be equal. */
export function expectClose(what: string, dtype: PDType, got: ArrayLike<number>, want: ArrayLike<number>, tolerance = F32_TOLERANCE): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const [a, w] = [got[i]!, want[i]!];
    const ok =
      dtype === "f32" ? (Number.isNaN(w) ? Number.isNaN(a) : a === w || Math.abs(a - w) <= tolerance * Math.max(1, Math.abs(w))) : a === w;
    if (!ok) expect.fail(`${what} element ${i}: webgpu ${a}, cpu ${w}`);
  }
}

/**
 * Models whose vocabularies of thousands of tokens take 10–60 s a step on a software adapter:
 * checked by `npm run test:webgpu:long` (DLM_WEBGPU_LONG=1), not in `npm test`.
 */
export const SLOW_ON_SOFTWARE = new Set([
  "LSTMLanguageModel",
  "Seq2Seq",
  "Seq2SeqContext",
  "AttentionSeq2Seq",
  "Siamese",
  "LoRALinear",
  "CBOW",
]);

/** The examples whose training step the WebGPU parity tests run: the fast ones, less the slow ones unless asked. */
export const ONE_STEP_RUNS = FAST.filter((r) => process.env["DLM_WEBGPU_LONG"] === "1" || !SLOW_ON_SOFTWARE.has(r.model));

/** Tolerances of a training step's named outputs, relative to the tensor's largest reference magnitude: outputs and loss, gradients. */
export const STEP_TOLERANCE = { output: 1e-4, gradient: 1e-3 } as const;

/**
 * Where a step's named outputs (`got`) leave `want`'s tolerance: per tensor,
 * |got − want| ≤ tolerance · (1 + max |want|), gradients (`grad:…`) looser. One line per tensor that fails.
 */
export function stepDisagreements(
  names: readonly string[],
  got: (name: string) => ArrayLike<number>,
  want: (name: string) => ArrayLike<number>,
  what = "webgpu",
  reference = "cpu",
): string[] {
  const failures: string[] = [];
  for (const name of names) {
    const [have, w] = [got(name), want(name)];
    let scale = 0;
    for (let i = 0; i < w.length; i++) scale = Math.max(scale, Math.abs(w[i]!));
    const tolerance = (name.startsWith("grad:") ? STEP_TOLERANCE.gradient : STEP_TOLERANCE.output) * (1 + scale);
    let worst = 0;
    let at = -1;
    for (let i = 0; i < w.length; i++) {
      const d = Math.abs(have[i]! - w[i]!);
      if (!(d <= worst)) [worst, at] = [d, i];
    }
    if (have.length !== w.length) failures.push(`${name}: ${have.length} values, ${reference} ${w.length}`);
    else if (!(worst <= tolerance))
      failures.push(`${name}[${at}]: ${what} ${have[at]}, ${reference} ${w[at]} (|d| ${worst} > ${tolerance})`);
  }
  return failures;
}

/** An example's training step graph at its test dims, the trainer's initial parameter values and a fixed batch. */
export function exampleStep(run: ExampleRun): {
  graph: PGraph;
  values: ReadonlyMap<string, Float32Array>;
  feeds: ReturnType<typeof fixedBatch>;
} {
  const m = check(join(EXAMPLES_DIR, run.file)).models.get(run.model)!;
  const dims = new Map([...Object.entries(run.dims ?? {}), ["B", run.batch] as [string, number]]);
  const trainer = new Trainer(m.graph!, m.train!, { batch: run.batch, seed: 0, dims });
  const loss = m.train!.loss ?? m.train!.phases[0]!.loss!;
  return { graph: buildTrainingGraph(m.graph!, loss, dims).model.builder.graph(), values: trainer.values, feeds: fixedBatch(run, trainer) };
}
