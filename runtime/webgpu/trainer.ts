// Training on WebGPU: the train section's step (forward, loss, gradients: the training graph
// compiled by runtime/webgpu/executor.ts), its buffer updates and the optimiser's update
// (runtime/webgpu/optim.ts) encoded into one command encoder: one submit per step, reading
// back only the loss (and the classifier's logits, for the accuracy).
//
// The host side is the CPU Trainer's (runtime/trainer.ts), which this class holds: parameter
// initialisation, the data order and augmentation, label checks, evaluation (on the CPU,
// from the parameters read back at the end of each epoch) and checkpoints: save reads the
// parameters and the optimisers' state back into it and writes its file, load reads a file
// into it and uploads the result, so a checkpoint of either backend resumes on the other.
//
// A phased train section (a GAN's discriminator and generator) compiles one program and one
// optimiser per phase, as the CPU trainer does; each program holds its own copy of the
// parameters, so a phase's run first copies in (in the same command encoder) those whose
// current value another phase's program holds. Gradient accumulation is runtime/webgpu/step.ts's.

/// <reference types="@webgpu/types" />

import type { ModelGraph } from "../../compiler/ir/graph.js";
import type { TrainSetup } from "../../compiler/train.js";
import { buildTrainingGraph, checkpointedStep } from "../../compiler/training-graph.js";
import type { HostArray } from "../cpu/reference.js";
import type { BatchBuffer, Dataset } from "../data/dataset.js";
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
import { createGpuStep, gpuStepSpec, type GpuStep } from "./step.js";

/** What `dlm train --backend webgpu` reports: per step, and the adapter. */
export interface GpuStepFigures {
  readonly dispatches_per_step: number;
  readonly submits_per_step: number;
  readonly adapter: string;
}

/** One phase of the train section on the GPU: its program and step. */
interface GpuPhase {
  readonly name: string;
  readonly steps: number;
  readonly program: GpuProgram;
  readonly step: GpuStep;
  readonly params: readonly string[];
}

export class GpuTrainer implements TrainingSession {
  /** the phase whose program holds each parameter's current value (its latest run with it) */
  private readonly owner = new Map<string, number>();

  private constructor(
    /** the host side: initial values, data order, labels, evaluation, checkpoint files */
    readonly cpu: Trainer,
    readonly gpu: GpuContext,
    private readonly phases: readonly GpuPhase[],
  ) {}

  static async create(graph: ModelGraph, setup: TrainSetup, options: TrainerOptions = {}): Promise<GpuTrainer> {
    const gpu = await acquireGpu();
    const cpu = new Trainer(graph, setup, options);
    const dims = new Map(options.dims ?? []);
    dims.set("B", cpu.batch);
    const phases: GpuPhase[] = [];
    for (const phase of setup.phases.length > 0 ? setup.phases : [undefined]) {
      const loss = phase?.loss ?? setup.loss;
      if (!loss) throw new Error(`phase '${phase?.name ?? "main"}' has no loss`);
      const prefixes = phase?.params ?? [];
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
      const step = await createGpuStep(program, kernelTarget(gpu.device), gpuStepSpec(tg, setup, phase, options));
      phases.push({ name: phase?.name ?? "main", steps: phase?.steps ?? 1, program, step, params: tg.model.params.map((p) => p.name) });
    }
    return new GpuTrainer(cpu, gpu, phases);
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
    const runs = this.phases.reduce((n, p) => n + p.program.counters.runs, 0);
    const submits = this.phases.reduce((n, p) => n + p.program.counters.submits, 0);
    const steps = runs / this.phases.reduce((n, p) => n + p.steps, 0);
    return {
      dispatches_per_step: this.phases.reduce((n, p) => n + p.steps * p.step.dispatches, 0),
      submits_per_step: steps ? submits / steps : 0,
      adapter: this.gpu.description,
    };
  }

  /** One training iteration on one batch: each phase's steps in turn, a submit each. Returns the first phase's loss. */
  async trainStep(feeds: ReadonlyMap<string, BatchBuffer>): Promise<number> {
    return (await this.runStep(feeds, [])).loss;
  }

  private async runStep(feeds: ReadonlyMap<string, BatchBuffer>, extra: readonly string[]) {
    this.cpu.checkLabels(feeds);
    let first: { loss: number; values: Map<string, HostArray> } | undefined;
    for (const [k, phase] of this.phases.entries())
      for (let s = 0; s < phase.steps; s++) {
        const seed = this.cpu.seed * 1_000_003 + this.cpu.step;
        const stale = phase.params.filter((name) => (this.owner.get(name) ?? k) !== k);
        const values = await phase.step.run(feeds, {
          seed,
          read: ["loss", ...(first ? [] : extra)],
          ...(stale.length ? { encodeBefore: (encoder: GPUCommandEncoder) => this.copyIn(encoder, stale, phase) } : {}),
        });
        for (const name of phase.params) this.owner.set(name, k);
        const loss = values.get("loss")![0]!;
        this.cpu.step++;
        if (!Number.isFinite(loss))
          throw new NonFiniteError(this.cpu.step, "the loss (run with --backend cpu to find the first bad tensor)");
        if (s === 0) this.cpu.phaseLosses.set(phase.name, loss);
        first ??= { loss, values };
      }
    return first!;
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

  /** Encode copies of `names` into the program of `to` from the programs that hold their current values. */
  private copyIn(encoder: GPUCommandEncoder, names: readonly string[], to: GpuPhase): void {
    for (const name of names) {
      const [a, b] = [this.phases[this.owner.get(name)!]!.program.location(name), to.program.location(name)];
      encoder.copyBufferToBuffer(a.buffer, a.offset, b.buffer, b.offset, b.size);
    }
  }

  /** Copy the parameters and buffers from the GPU into the host trainer's values. */
  async syncToHost(): Promise<void> {
    for (const [name, v] of this.cpu.values) {
      const holder = this.phases[this.owner.get(name) ?? this.phases.findIndex((p) => p.program.hasParam(name))];
      if (holder) v.set(await holder.program.readParam(name));
    }
  }

  async evaluate(data: Dataset): Promise<EvalResult> {
    await this.syncToHost();
    return this.cpu.evaluate(data);
  }

  /** A checkpoint in the CPU trainer's format (runtime/trainer.ts): parameters, each phase's optimiser state, counters. */
  async save(path: string): Promise<void> {
    await this.syncToHost();
    const host = this.cpu.optimizers();
    for (const p of this.phases) host.get(p.name)!.loadState(await p.step.optimizer.stateTensors());
    await this.cpu.save(path);
  }

  /** Restore a checkpoint of either backend (or, with weightsOnly, weights), checked by the CPU trainer first. */
  async load(path: string, options: { weightsOnly?: boolean } = {}): Promise<void> {
    await this.cpu.load(path, options);
    this.owner.clear(); // every program gets the loaded values
    const host = this.cpu.optimizers();
    for (const p of this.phases) {
      for (const name of p.params) p.program.setParam(name, this.cpu.values.get(name)!);
      if (!options.weightsOnly) p.step.optimizer.loadState(host.get(p.name)!.stateTensors());
    }
  }
}
