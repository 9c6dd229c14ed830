// Training on WebGPU: the train section's step (forward, loss, gradients: the training graph
// compiled by runtime/webgpu/executor.ts), its buffer updates and the optimiser's update
// (runtime/webgpu/optim.ts) encoded into one command encoder: one submit per step, reading
// back only the loss (and the classifier's logits, for the accuracy).
//
// The host side is the CPU Trainer's (runtime/trainer.ts), which this class holds: parameter
// initialisation, the data order and augmentation, label checks, and evaluation (on the CPU,
// from the parameters read back at the end of each epoch). Not yet on the GPU: phased train
// sections (a GAN's), gradient accumulation and checkpoints with optimiser state; create()
// says so.

/// <reference types="@webgpu/types" />

import type { ModelGraph } from "../../compiler/ir/graph.js";
import type { TrainSetup } from "../../compiler/train.js";
import { buildTrainingGraph, checkpointedStep } from "../../compiler/training-graph.js";
import type { BatchBuffer, Dataset } from "../data/dataset.js";
import { createSchedule, type Schedule } from "../optim.js";
import {
  NonFiniteError,
  Trainer,
  countCorrect,
  type EpochResult,
  type EvalResult,
  type TrainerOptions,
  type TrainingSession,
} from "../trainer.js";
import { acquireGpu, kernelTarget, type GpuContext } from "./device.js";
import { compileGpu, type GpuProgram } from "./executor.js";
import { createGpuOptimizer, type GpuOptimizer } from "./optim.js";

/** What `dlm train --backend webgpu` reports: per step, and the adapter. */
export interface GpuStepFigures {
  readonly dispatches_per_step: number;
  readonly submits_per_step: number;
  readonly adapter: string;
}

export class GpuTrainer implements TrainingSession {
  private constructor(
    /** the host side: initial values, data order, labels, evaluation */
    readonly cpu: Trainer,
    readonly gpu: GpuContext,
    private readonly program: GpuProgram,
    private readonly optimizer: GpuOptimizer,
    private readonly schedule: Schedule,
    private readonly updates: readonly { readonly from: string; readonly to: string }[],
  ) {}

  static async create(graph: ModelGraph, setup: TrainSetup, options: TrainerOptions = {}): Promise<GpuTrainer> {
    if (setup.phases.length > 1) throw new Error("the webgpu backend does not train phased train sections yet (use --backend cpu)");
    if (setup.accumulate > 1) throw new Error("the webgpu backend does not accumulate gradients yet (use --backend cpu)");
    const gpu = await acquireGpu();
    const cpu = new Trainer(graph, setup, options);
    const phase = setup.phases[0];
    const loss = (phase && "loss" in phase ? phase.loss : undefined) ?? setup.loss;
    if (!loss) throw new Error(`phase '${phase?.name ?? "main"}' has no loss`);
    const prefixes = phase?.params ?? [];
    const dims = new Map(options.dims ?? []);
    dims.set("B", cpu.batch);
    const built = buildTrainingGraph(
      graph,
      loss,
      dims,
      (name) => prefixes.length === 0 || prefixes.some((p) => name === p || name.startsWith(`${p}.`)),
    );
    // checkpointed as the CPU trainer's step is (a graph → graph pass): the same values, fewer kept
    const { training: tg } = checkpointedStep(graph, built, {
      passes: options.passes ?? {},
      ...(options.memoryBudget !== undefined ? { budget: options.memoryBudget } : {}),
    });
    const program = await compileGpu(tg.model.builder.graph(), { gpu, ...options.passes });
    for (const p of tg.model.params) program.setParam(p.name, cpu.values.get(p.name)!);
    const params = [...tg.grads.keys()].map((name) => {
      const p = tg.model.params.find((q) => q.name === name)!;
      return {
        name,
        value: program.location(name),
        grad: program.location(`grad:${name}`),
        ...(p.lrScale !== undefined ? { lrScale: p.lrScale } : {}),
        decay: !p.noDecay,
      };
    });
    const opt = (phase && "optimizer" in phase && phase.optimizer) || setup.optimizer;
    const args: Record<string, number | boolean> = { ...opt.args };
    if (options.lr !== undefined) args["lr"] = options.lr;
    if (setup.weightDecay !== undefined && args["weight_decay"] === undefined) args["weight_decay"] = setup.weightDecay;
    const optimizer = await createGpuOptimizer(gpu.device, kernelTarget(gpu.device), opt.name, params, args, {
      ...(setup.clipValue !== undefined ? { clipValue: setup.clipValue } : {}),
      ...(setup.clipNorm !== undefined ? { clipNorm: setup.clipNorm } : {}),
    });
    const schedule =
      setup.schedule && !options.constantLr ? createSchedule(setup.schedule.name, optimizer.lr, setup.schedule.args) : () => optimizer.lr;
    const updates = tg.model.bufferUpdates.map((u) => ({ from: `update:${u.name}`, to: u.name }));
    return new GpuTrainer(cpu, gpu, program, optimizer, schedule, updates);
  }

  get batch(): number {
    return this.cpu.batch;
  }
  get seed(): number {
    return this.cpu.seed;
  }
  get step(): number {
    return this.cpu.step;
  }
  get epoch(): number {
    return this.cpu.epoch;
  }
  get classifier() {
    return this.cpu.classifier;
  }
  get inputs() {
    return this.cpu.inputs;
  }
  /** what gradient checkpointing chose (the host trainer planned the same step) */
  get checkpointing() {
    return this.cpu.checkpointing;
  }
  get exampleInputs() {
    return this.cpu.exampleInputs;
  }
  integerRange(input: string): number {
    return this.cpu.integerRange(input);
  }

  /** Dispatches and submits per training step (submits measured over the steps so far), and the adapter. */
  figures(): GpuStepFigures {
    const steps = this.program.counters.runs;
    return {
      dispatches_per_step: this.program.dispatchesPerRun + this.optimizer.dispatches,
      submits_per_step: steps ? this.program.counters.submits / steps : 0,
      adapter: this.gpu.description,
    };
  }

  /** One optimiser step on one batch (one submit); returns the loss before the step. */
  async trainStep(feeds: ReadonlyMap<string, BatchBuffer>): Promise<number> {
    return (await this.runStep(feeds, [])).loss;
  }

  private async runStep(feeds: ReadonlyMap<string, BatchBuffer>, extra: readonly string[]) {
    this.cpu.checkLabels(feeds);
    const seed = this.cpu.seed * 1_000_003 + this.cpu.step;
    const values = await this.program.run(feeds, {
      seed,
      read: ["loss", ...extra],
      encodeAfter: (encoder) => {
        for (const u of this.updates) {
          const [from, to] = [this.program.location(u.from), this.program.location(u.to)];
          encoder.copyBufferToBuffer(from.buffer, from.offset, to.buffer, to.offset, to.size);
        }
        this.optimizer.encodeStep(encoder, this.schedule(this.optimizer.stepCount));
      },
    });
    const loss = values.get("loss")![0]!;
    this.cpu.step++;
    if (!Number.isFinite(loss)) throw new NonFiniteError(this.cpu.step, "the loss (run with --backend cpu to find the first bad tensor)");
    return { loss, values };
  }

  async trainEpoch(data: Dataset, onStep?: (step: number, loss: number, of: number) => void): Promise<EpochResult> {
    const c = this.cpu.classifier;
    let lossSum = 0;
    let steps = 0;
    let correct = 0;
    let seen = 0;
    for (const { feeds, size, of } of this.cpu.epochBatches(data)) {
      const { loss, values } = await this.runStep(feeds, c ? [c.output] : []);
      lossSum += loss;
      steps++;
      if (c) {
        correct += countCorrect(values.get(c.output) as Float32Array, feeds.get(c.labels) as Int32Array, size, c.classes);
        seen += size;
      }
      onStep?.(steps, loss, of);
    }
    this.cpu.epoch++;
    return { epoch: this.cpu.epoch, loss: lossSum / steps, steps, ...(c ? { trainAccuracy: correct / seen } : {}) };
  }

  /** Copy the parameters and buffers from the GPU into the host trainer's values. */
  async syncToHost(): Promise<void> {
    for (const [name, v] of this.cpu.values) v.set(await this.program.readParam(name));
  }

  async evaluate(data: Dataset): Promise<EvalResult> {
    await this.syncToHost();
    return this.cpu.evaluate(data);
  }

  async save(path: string): Promise<void> {
    void path;
    throw new Error("the webgpu backend does not write checkpoints yet (use --backend cpu with --save)");
  }

  async load(path: string, options: { weightsOnly?: boolean } = {}): Promise<void> {
    if (!options.weightsOnly) throw new Error("the webgpu backend does not resume checkpoints yet (use --backend cpu with --resume)");
    await this.cpu.load(path, options);
    for (const [name, v] of this.cpu.values) this.program.setParam(name, v);
  }
}
