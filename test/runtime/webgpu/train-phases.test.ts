// The parts of training on WebGPU beyond one optimiser on every batch, against the CPU trainer
// on the same fixed batch and seed: a GAN's alternating phases (each phase's loss, every
// iteration), gradient accumulation, and checkpoints: a run saved on one backend resumes on the
// other and follows the run that never stopped. Tolerances as in train.test.ts (float32 updates
// on the GPU, float64 on the CPU).

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { TrainSetup } from "../../../compiler/train.ts";
import type { BatchBuffer } from "../../../runtime/data/dataset.ts";
import { readSafetensors } from "../../../runtime/safetensors.ts";
import { Trainer } from "../../../runtime/trainer.ts";
import { GpuTrainer } from "../../../runtime/webgpu/trainer.ts";
import { check } from "../../../src/index.ts";
import { EXAMPLES_DIR, fixedBatch, type ExampleRun } from "../../../tools/train-examples.ts";
import { runCli } from "../../cli/capture.ts";
import { gpuTestContext } from "./helpers.ts";

const LOSS_TOLERANCE = 2e-3;
const { gpu: currentGpu, dir } = gpuTestContext("train-phases");

const GAN: ExampleRun = { file: "gan.dlm", model: "GAN", batch: 4, steps: 5 };
const MLP: ExampleRun = { file: "mlp_from_scratch.dlm", model: "ScratchMLP", batch: 8, steps: 12 };

function load(run: ExampleRun) {
  const m = check(join(EXAMPLES_DIR, run.file)).models.get(run.model)!;
  return { graph: m.graph!, train: m.train! };
}

function expectNear(what: string, gpuValue: number, cpuValue: number): void {
  if (!(Math.abs(gpuValue - cpuValue) <= LOSS_TOLERANCE * Math.max(1, Math.abs(cpuValue))))
    expect.fail(`${what}: webgpu ${gpuValue}, cpu ${cpuValue}`);
}

/** Both trainers on one fixed batch. */
async function pair(run: ExampleRun, setup: TrainSetup) {
  const { graph } = load(run);
  const options = { batch: run.batch, seed: 0 };
  const cpu = new Trainer(graph, setup, options);
  const feeds: Map<string, BatchBuffer> = fixedBatch(run, cpu);
  const webgpu = await GpuTrainer.create(graph, setup, options);
  return { cpu, webgpu, feeds, graph, options };
}

describe("training on WebGPU beyond a single optimiser", () => {
  it("a GAN's phases alternate as on the CPU: each phase's loss, every iteration", async () => {
    if (!currentGpu()) return;
    const { cpu, webgpu, feeds } = await pair(GAN, load(GAN).train);
    for (let i = 0; i < GAN.steps; i++) {
      const [c, g] = [cpu.trainStep(feeds), await webgpu.trainStep(feeds)];
      expectNear(`iteration ${i + 1}`, g, c);
      for (const phase of ["discriminator", "generator"])
        expectNear(`iteration ${i + 1}, ${phase}`, webgpu.cpu.phaseLosses.get(phase)!, cpu.phaseLosses.get(phase)!);
    }
    expect(webgpu.step).toBe(cpu.step);
    expect(webgpu.figures().submits_per_step).toBe(2); // one per phase
  });

  it("accumulates gradients over k batches before each optimiser step", async () => {
    if (!currentGpu()) return;
    const { train } = load(MLP);
    const setup: TrainSetup = {
      ...train,
      accumulate: 3,
      optimizer: { ...train.optimizer, name: "adam", args: { lr: 0.01 } },
      schedule: undefined,
    };
    const { cpu, webgpu, feeds } = await pair(MLP, setup);
    const losses = { cpu: [] as number[], gpu: [] as number[] };
    for (let i = 0; i < MLP.steps; i++) {
      losses.cpu.push(cpu.trainStep(feeds));
      losses.gpu.push(await webgpu.trainStep(feeds));
      expectNear(`run ${i + 1}`, losses.gpu[i]!, losses.cpu[i]!);
    }
    // the loss changes only after every third batch (one fixed batch: the same gradients each time)
    expect(losses.cpu[1]).toBe(losses.cpu[0]);
    expect(losses.cpu[3]).not.toBe(losses.cpu[2]);
    expect(cpu.optimizers().get("main")!.stepCount).toBe(MLP.steps / 3);
  });

  for (const [saver, resumer] of [
    ["cpu", "webgpu"],
    ["webgpu", "cpu"],
  ] as const)
    it(`a checkpoint saved on ${saver} resumes on ${resumer}, following the run that went on`, async () => {
      if (!currentGpu()) return;
      const { train } = load(MLP);
      const setup: TrainSetup = { ...train, optimizer: { ...train.optimizer, name: "adam", args: { lr: 0.01 } }, schedule: undefined };
      const { cpu, webgpu, feeds, graph, options } = await pair(MLP, setup);
      const first: Trainer | GpuTrainer = saver === "cpu" ? cpu : webgpu;
      for (let i = 0; i < 5; i++) await first.trainStep(feeds);
      const path = join(dir, `${saver}.safetensors`);
      await first.save(path);
      const file = await readSafetensors(path);
      expect([...file.tensors.keys()]).toContain("optimizer.main.step");
      expect(file.tensors.get("optimizer.main.step")!.data[0]).toBe(5);

      const resumed: Trainer | GpuTrainer =
        resumer === "cpu" ? new Trainer(graph, setup, options) : await GpuTrainer.create(graph, setup, options);
      await resumed.load(path);
      expect(resumed.step).toBe(5);
      for (let i = 0; i < 5; i++) expectNear(`step ${6 + i}`, await resumed.trainStep(feeds), await first.trainStep(feeds));
    });

  it("dlm train --backend webgpu --save, then --resume on the cpu", async () => {
    if (!currentGpu()) return;
    const model = join(dir, "small.dlm");
    writeFileSync(
      model,
      `model Small {
  input x: f32[B, 6]
  output logits = x |> linear(8) |> relu |> linear(3)
}
train Small {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = adam(lr: 0.01)
  batch = 4
  accumulate = 2
}
`,
    );
    const ckpt = join(dir, "small.safetensors");
    const common = ["--steps-per-epoch", "4", "--quiet", "--curve", join(dir, "c.svg")];
    const saved = await runCli("train", model, "--epochs", "1", "--backend", "webgpu", "--save", ckpt, ...common);
    expect(saved.code, saved.stderr).toBe(0);
    const resumed = await runCli("train", model, "--epochs", "2", "--resume", ckpt, ...common);
    expect(resumed.code, resumed.stderr).toBe(0);
  });
});
