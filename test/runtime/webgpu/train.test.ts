// Training on WebGPU against training on the CPU: the same example, initial parameters, fixed
// batch and seed, 20 steps, for every optimiser (with weight decay, and clipping by value and
// by norm), and the losses agree step by step within LOSS_TOLERANCE (relative): the GPU's
// update is float32 where the CPU's is float64, so they drift apart slowly. A step of the
// MLP is one submit.

import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TrainSetup } from "../../../compiler/train.ts";
import type { BatchBuffer } from "../../../runtime/data/dataset.ts";
import { Trainer } from "../../../runtime/trainer.ts";
import { releaseGpu, type GpuContext } from "../../../runtime/webgpu/device.ts";
import { GpuTrainer } from "../../../runtime/webgpu/trainer.ts";
import { check } from "../../../src/index.ts";
import { EXAMPLES_DIR, fixedBatch, type ExampleRun } from "../../../tools/train-examples.ts";
import { gpuOrSkip } from "./helpers.ts";

const LOSS_TOLERANCE = 2e-3;
const STEPS = 20;

let gpu: GpuContext | undefined;
beforeAll(async () => {
  gpu = await gpuOrSkip();
});
afterAll(releaseGpu);

/** The MLP (784-512-512-10), and a small one (784-10-10) for the 20-step curves. */
const MLP: ExampleRun = { file: "mlp_mnist.dlm", model: "NeuralNetwork", batch: 8, steps: STEPS };
const SMALL_MLP: ExampleRun = { file: "mlp_from_scratch.dlm", model: "ScratchMLP", batch: 8, steps: STEPS };

function load(run: ExampleRun) {
  const m = check(join(EXAMPLES_DIR, run.file)).models.get(run.model)!;
  return { graph: m.graph!, train: m.train! };
}

/** The losses of `steps` steps on one fixed batch, on the CPU and on WebGPU. */
async function losses(run: ExampleRun, setup: TrainSetup, steps: number): Promise<{ cpu: number[]; gpu: number[]; trainer: GpuTrainer }> {
  const { graph } = load(run);
  const options = { batch: run.batch, seed: 0, dims: new Map(Object.entries(run.dims ?? {})) };
  const cpuTrainer = new Trainer(graph, setup, options);
  const feeds: Map<string, BatchBuffer> = fixedBatch(run, cpuTrainer);
  const cpu = Array.from({ length: steps }, () => cpuTrainer.trainStep(feeds));
  const trainer = await GpuTrainer.create(graph, setup, options);
  const gpuLosses: number[] = [];
  for (let s = 0; s < steps; s++) gpuLosses.push(await trainer.trainStep(feeds));
  return { cpu, gpu: gpuLosses, trainer };
}

function expectSameCurve(cpu: readonly number[], gpu: readonly number[]): void {
  cpu.forEach((c, s) => {
    const g = gpu[s]!;
    if (!(Math.abs(g - c) <= LOSS_TOLERANCE * Math.max(1, Math.abs(c)))) expect.fail(`step ${s + 1}: webgpu loss ${g}, cpu ${c}`);
  });
}

const OPTIMIZERS: readonly [string, Record<string, number | boolean>][] = [
  ["sgd", { lr: 0.05 }],
  ["sgd", { lr: 0.05, momentum: 0.9, weight_decay: 1e-3, nesterov: true }],
  ["momentum", { lr: 0.05, dampening: 0.1 }],
  ["nesterov", { lr: 0.01 }],
  ["adagrad", { lr: 0.05, lr_decay: 0.01, initial_accumulator: 0.1 }],
  ["rmsprop", { lr: 3e-4, momentum: 0.5, centered: true, weight_decay: 1e-3 }],
  ["rmsprop", { lr: 0.003 }],
  ["adam", { lr: 0.003, weight_decay: 1e-3 }],
  ["adam", { lr: 0.003, amsgrad: true }],
  ["adamw", { lr: 0.003 }],
];

describe("training on WebGPU follows training on the CPU", () => {
  it.each(OPTIMIZERS.map(([name, args]) => [`${name} ${JSON.stringify(args)}`, name, args] as const))(
    "%s: 20 steps of an MLP",
    async (_, name, args) => {
      if (!gpu) return;
      const { train } = load(SMALL_MLP);
      const setup: TrainSetup = { ...train, optimizer: { ...train.optimizer, name, args }, schedule: undefined };
      const r = await losses(SMALL_MLP, setup, STEPS);
      expectSameCurve(r.cpu, r.gpu);
      expect(r.cpu.at(-1)!).toBeLessThan(r.cpu[0]!); // it learns, so the comparison means something
    },
  );

  it("clips by value and by norm, with the example's cosine schedule", async () => {
    if (!gpu) return;
    const { train } = load(MLP);
    const r = await losses(MLP, { ...train, clipValue: 0.01, clipNorm: 0.5 }, 5);
    expectSameCurve(r.cpu, r.gpu);
  });

  it("a step of the MLP is one submit", async () => {
    if (!gpu) return;
    const { train } = load(MLP);
    const r = await losses(MLP, train, 3);
    const f = r.trainer.figures();
    expect(f.submits_per_step).toBe(1);
    expect(f.dispatches_per_step).toBeGreaterThan(4);
    expect(f.adapter).toBe(gpu.description);
  });

  it("trains the LeNet5 example (convolutions, pooling) and the GRU classifier like the CPU", async () => {
    if (!gpu) return;
    for (const run of [
      { file: "lenet5.dlm", model: "LeNet5MNIST", batch: 4, steps: 5 },
      { file: "gru.dlm", model: "GRUClassifier", batch: 4, steps: 5, dims: { T: 8 } },
    ]) {
      const r = await losses(run, load(run).train, run.steps);
      expectSameCurve(r.cpu, r.gpu);
    }
  });
});
