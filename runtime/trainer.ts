// Training and evaluation of a compiled model on the CPU: one compiled program per
// training phase (forward + loss + gradients, buffers allocated once), evaluation programs
// per batch size, the optimiser and schedule of the train section, gradient clipping,
// non-finite detection that names the first bad tensor, and checkpoints that resume a run
// exactly (parameters, optimiser state, step counters and the data order's RNG).

import type { ModelGraph, SourceSite } from "../compiler/ir/graph.js";
import type { LoweredModel, LoweredParam } from "../compiler/lower.js";
import type { CheckpointReport } from "../compiler/passes/checkpoint.js";
import { buildEvalGraph, buildTrainingGraph, checkpointedStep, type StepPassOptions } from "../compiler/training-graph.js";
import type { TrainSetup } from "../compiler/train.js";
import { NO_PASSES } from "../compiler/passes/pipeline.js";
import { compile, type Program } from "./cpu/executor.js";
import type { BatchBuffer, Dataset } from "./data/dataset.js";
import { Augmenter } from "./data/augment.js";
import { allocBatch, Batcher } from "./data/dataset.js";
import { initialize } from "./init.js";
import {
  clipGradNorm,
  clipGradValue,
  createOptimizer,
  createSchedule,
  gradNorm,
  type Optimizer,
  type ParamBuffer,
  type Schedule,
} from "./optim.js";
import { Rng } from "./rng.js";
import { readSafetensors, writeSafetensors, type SafeTensor } from "./safetensors.js";
import { matchWeights } from "./weights.js";

export interface TrainerOptions {
  /** examples per optimiser step (default: the train section's batch, else 32) */
  readonly batch?: number;
  /** values of other symbolic dims (sequence lengths) */
  readonly dims?: ReadonlyMap<string, number>;
  /** seeds parameter initialisation, dropout and the data order (default: the train section's seed, else 0) */
  readonly seed?: number;
  /** overrides the optimiser's learning rate */
  readonly lr?: number;
  /** ignore the train section's schedule: every step at the (base) lr (short checks that would sit in a warmup) */
  readonly constantLr?: boolean;
  /**
   * compiler passes of the step programs, each on by default (NO_PASSES of
   * compiler/passes/pipeline.ts plus `checkpoint: false` is -O0); `checkpoint: false` ignores
   * `@checkpoint` and the memory budget
   */
  readonly passes?: StepPassOptions;
  /** bytes the planned activation arena of a training step may take: gradient checkpointing chooses what to recompute */
  readonly memoryBudget?: number;
  /** keep the step programs' buffers in the wasm kernel heap (default true; see CompileOptions.kernelHeap) */
  readonly kernelHeap?: boolean;
}

/** A NaN or infinity in training: which step, and the first tensor that went bad. */
export class NonFiniteError extends Error {
  constructor(
    readonly step: number,
    readonly tensor: string,
    readonly site?: SourceSite,
  ) {
    super(`the loss became non-finite at step ${step}; the first bad tensor is ${tensor}`);
  }
}

interface Phase {
  readonly name: string;
  readonly program: Program;
  readonly lowered: LoweredModel;
  readonly optimizer: Optimizer;
  readonly schedule: Schedule;
  readonly params: readonly ParamBuffer[];
  readonly steps: number;
  /** gradient accumulation (`accumulate = k`): running sums of k micro-batches' gradients */
  readonly accumulated?: readonly Float32Array[];
}

export interface EpochResult {
  readonly epoch: number;
  readonly loss: number;
  readonly trainAccuracy?: number;
  readonly steps: number;
}

export interface EvalResult {
  readonly loss: number;
  readonly accuracy?: number;
}

/** One input of the model as a dataset sees it: per example, without the batch axis. */
export interface ExampleInput {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: "f32" | "i32" | "bool";
  readonly batched: boolean;
}

/** The output and integer train input that make a classification (for accuracy). */
export interface Classifier {
  readonly output: string;
  readonly labels: string;
  readonly classes: number;
}

/**
 * What the command line drives, whichever backend trains: the CPU's Trainer (synchronous) or
 * the WebGPU trainer (runtime/webgpu/trainer.ts: asynchronous).
 */
export interface TrainingSession {
  readonly batch: number;
  readonly seed: number;
  readonly step: number;
  readonly epoch: number;
  readonly classifier?: Classifier;
  readonly inputs: readonly { name: string; shape: readonly number[]; dtype: string }[];
  /** the model's inputs per example (see exampleInputsOf) */
  readonly exampleInputs: readonly ExampleInput[];
  /** what gradient checkpointing chose, per phase (empty where it did not run) */
  readonly checkpointing: readonly { readonly phase: string; readonly report: CheckpointReport }[];
  integerRange(input: string): number;
  trainEpoch(data: Dataset, onStep?: (step: number, loss: number, of: number) => void): EpochResult | Promise<EpochResult>;
  evaluate(data: Dataset): EvalResult | Promise<EvalResult>;
  save(path: string): Promise<void>;
  load(path: string, options?: { weightsOnly?: boolean }): Promise<void>;
}

/** A session's inputs per example (the batch axis dropped); `batched` is false for one whose first axis is not the batch. */
export function exampleInputsOf(s: Pick<TrainingSession, "inputs" | "batch">): ExampleInput[] {
  return s.inputs.map((i) => ({
    name: i.name,
    shape: i.shape.slice(1),
    dtype: i.dtype as ExampleInput["dtype"],
    batched: i.shape[0] === s.batch,
  }));
}

export class Trainer implements TrainingSession {
  readonly batch: number;
  /** the run's seed; loading a checkpoint adopts the checkpoint's, so a resumed run draws what the original would have */
  seed: number;
  /** persistent parameter and buffer values, shared by every program */
  readonly values = new Map<string, Float32Array>();
  readonly params: readonly LoweredParam[];
  readonly classifier?: Classifier;
  /** training iterations run (over all phases; with `accumulate = k`, k per optimiser step) */
  step = 0;
  /** micro-batches seen per phase, for gradient accumulation */
  private readonly micro = new Map<string, number>();
  epoch = 0;
  /** each phase's loss at its first step of the last trainStep (a GAN's discriminator and generator losses) */
  readonly phaseLosses = new Map<string, number>();
  private readonly phases: Phase[] = [];
  /** what gradient checkpointing chose for each phase's step (empty when it is switched off) */
  readonly checkpointing: { readonly phase: string; readonly report: CheckpointReport }[] = [];
  private readonly evalPrograms = new Map<number, { program: Program; lowered: LoweredModel; feeds: Map<string, BatchBuffer> }>();
  private readonly dims: Map<string, number>;
  private dataRng: Rng;
  /** the train section's `augment`, applied to training batches only */
  private readonly augmenter: Augmenter;

  constructor(
    private readonly graph: ModelGraph,
    private readonly setup: TrainSetup,
    options: TrainerOptions = {},
  ) {
    this.batch = options.batch ?? setup.batch ?? 32;
    this.seed = options.seed ?? setup.seed ?? 0;
    this.dims = new Map(options.dims ?? []);
    this.dims.set("B", this.batch);
    this.dataRng = new Rng(this.seed).fork(1);

    const phaseSetups = setup.phases.length > 0 ? setup.phases : [{ name: "main", params: [], steps: 1 }];
    for (const ps of phaseSetups) {
      const loss = ("loss" in ps ? ps.loss : undefined) ?? setup.loss;
      if (!loss) throw new Error(`phase '${ps.name}' has no loss`);
      const prefixes = ps.params;
      const built = buildTrainingGraph(
        graph,
        loss,
        this.dims,
        (name) => prefixes.length === 0 || prefixes.some((p) => name === p || name.startsWith(`${p}.`)),
      );
      const passes = options.passes ?? {};
      const stepOptions = { passes, ...(options.memoryBudget !== undefined ? { budget: options.memoryBudget } : {}) };
      const { training: tg, report } = checkpointedStep(graph, built, stepOptions);
      if (report) this.checkpointing.push({ phase: ps.name, report });
      // in the kernel heap: the GEMMs and the optimiser then work on parameters and gradients where they lie
      const program = compile(tg.model.builder.graph(), { ...passes, kernelHeap: options.kernelHeap ?? true });
      if (this.phases.length === 0) this.initValues(tg.model.params);
      for (const p of tg.model.params) program.setParam(p.name, this.values.get(p.name)!);
      const params: ParamBuffer[] = [...tg.grads].map(([name, node]) => {
        const p = tg.model.params.find((q) => q.name === name)!;
        return {
          name,
          value: program.param(name) as Float32Array,
          grad: program.buffer(node) as Float32Array,
          lrScale: p.lrScale,
          decay: !p.noDecay,
        };
      });
      const opt = ("optimizer" in ps && ps.optimizer) || setup.optimizer;
      const args: Record<string, number | boolean> = { ...opt.args };
      if (options.lr !== undefined) args.lr = options.lr;
      if (setup.weightDecay !== undefined && args.weight_decay === undefined) args.weight_decay = setup.weightDecay;
      const optimizer = createOptimizer(opt.name, params, args);
      const schedule =
        setup.schedule && !options.constantLr ? createSchedule(setup.schedule.name, optimizer.lr, setup.schedule.args) : () => optimizer.lr;
      const accumulated = setup.accumulate > 1 ? params.map((p) => new Float32Array(p.grad.length)) : undefined;
      this.phases.push({
        name: ps.name,
        program,
        lowered: tg.model,
        optimizer,
        schedule,
        params,
        steps: ps.steps,
        ...(accumulated ? { accumulated } : {}),
      });
    }
    // Every phase program reads and updates the same parameter values.
    this.params = this.phases[0]!.lowered.params;
    for (const p of this.params) this.values.set(p.name, this.phases[0]!.program.param(p.name) as Float32Array);
    const classifier = findClassifier(this.phases[0]!.lowered, graph);
    if (classifier) this.classifier = classifier;
    this.augmenter = new Augmenter(setup.augment ?? [], new Map(this.inputs.map((i) => [i.name, i.shape.slice(1)])));
  }

  private initValues(params: readonly LoweredParam[]): void {
    const rng = new Rng(this.seed).fork(0);
    params.forEach((p, i) => {
      const data = new Float32Array(p.shape.reduce((a, b) => a * b, 1));
      initialize(p.init, p.shape, data, rng.fork(i), p.initArgs ?? {});
      this.values.set(p.name, data);
    });
  }

  /** Names and shapes of the inputs a training step needs (model inputs and train inputs). */
  get inputs(): readonly { name: string; shape: readonly number[]; dtype: string }[] {
    return this.phases[0]!.lowered.inputs;
  }

  /** The model's inputs per example (the batch axis dropped); `batched` is false for one whose first axis is not the batch. */
  get exampleInputs(): readonly ExampleInput[] {
    return exampleInputsOf(this);
  }

  /**
   * The exclusive upper bound of an integer input's values, read off what consumes it (an
   * embedding table's rows, a one-hot depth, the class count of a classification, the
   * segment count of a graph aggregation), for
   * synthetic data; 2 when nothing says.
   */
  integerRange(input: string): number {
    const m = this.phases[0]!.lowered;
    const b = m.builder;
    const node = m.inputs.find((i) => i.name === input)?.node;
    if (node === undefined) return 2;
    if (this.classifier?.labels === input) return this.classifier.classes;
    const aliases = new Set([node]);
    for (const n of b.nodes) {
      if (!n.inputs.some((i) => aliases.has(i))) continue;
      if (n.op === "reshape" || n.op === "cast" || n.op === "broadcast_to") aliases.add(n.id);
      else if (n.op === "gather" && aliases.has(n.inputs[1]!)) return b.shape(n.inputs[0]!)[n.attrs.axis as number]!;
      else if (n.op === "one_hot") return n.attrs.depth as number;
      else if (n.op === "scatter_add" && aliases.has(n.inputs[1]!)) return n.attrs.size as number;
    }
    return 2;
  }

  /** One epoch over `data`: shuffled full batches; returns the mean loss and train accuracy. */
  trainEpoch(data: Dataset, onStep?: (step: number, loss: number, of: number) => void): EpochResult {
    let lossSum = 0;
    let steps = 0;
    let correct = 0;
    let seen = 0;
    for (const { feeds, size, of } of this.epochBatches(data)) {
      const loss = this.trainStep(feeds);
      lossSum += loss;
      steps++;
      if (this.classifier) {
        correct += countCorrect(
          this.phases[0]!.program.output(this.classifier.output) as Float32Array,
          feeds.get(this.classifier.labels) as Int32Array,
          size,
          this.classifier.classes,
        );
        seen += size;
      }
      onStep?.(steps, loss, of);
    }
    this.epoch++;
    return { epoch: this.epoch, loss: lossSum / steps, steps, ...(this.classifier ? { trainAccuracy: correct / seen } : {}) };
  }

  /**
   * The training batches of one epoch over `data`, shuffled with the run's data order and
   * augmented, each filled into the same feed buffers: what every backend's epoch loop steps over.
   */
  *epochBatches(data: Dataset): Generator<{ feeds: Map<string, BatchBuffer>; size: number; of: number }> {
    const batcher = new Batcher(data.length, this.batch, this.dataRng, { dropLast: true });
    if (batcher.batchesPerEpoch === 0) throw new Error(`the dataset has ${data.length} examples, fewer than one batch of ${this.batch}`);
    const feeds = allocBatch(data, this.batch);
    for (let idx = batcher.next(); idx; idx = batcher.next()) {
      data.fillBatch(idx, feeds);
      if (this.augmenter.active) this.augmenter.apply(feeds, idx.length, this.seed, this.step);
      yield { feeds, size: idx.length, of: batcher.batchesPerEpoch };
    }
  }

  /**
   * The phase's step run again on a program with a buffer per value (the planned program's
   * intermediates share bytes, so they no longer hold their values after a run), with the same
   * parameters, feeds and seed: the same numbers, all of them readable.
   */
  private replayUnplanned(phase: Phase, feeds: ReadonlyMap<string, BatchBuffer>, seed: number): Program {
    const replay = compile(phase.program.graph, NO_PASSES);
    for (const p of phase.lowered.params) replay.setParam(p.name, phase.program.param(p.name));
    replay.run(feeds, { seed });
    return replay;
  }

  /** One training iteration on one batch: each phase's steps in turn. Returns the first phase's loss. */
  trainStep(feeds: ReadonlyMap<string, BatchBuffer>): number {
    this.checkLabels(feeds);
    let first = NaN;
    for (const [k, phase] of this.phases.entries()) {
      for (let s = 0; s < phase.steps; s++) {
        const seed = this.seed * 1_000_003 + this.step;
        phase.program.run(feeds, { seed });
        const loss = (phase.program.output("loss") as Float32Array)[0]!;
        if (!Number.isFinite(loss)) {
          const bad = firstNonFinite(this.replayUnplanned(phase, feeds, seed), phase.lowered);
          throw new NonFiniteError(this.step + 1, bad.what, bad.site);
        }
        if (k === 0 && s === 0) first = loss;
        if (s === 0) this.phaseLosses.set(phase.name, loss);
        for (const u of phase.lowered.bufferUpdates) this.values.get(u.name)!.set(phase.program.output(`update:${u.name}`));
        if (phase.accumulated && !this.accumulate(phase)) {
          this.syncFrom(phase);
          this.step++;
          continue;
        }
        if (this.setup.clipValue !== undefined) clipGradValue(phase.params, this.setup.clipValue);
        if (this.setup.clipNorm !== undefined) clipGradNorm(phase.params, this.setup.clipNorm);
        phase.optimizer.step(phase.schedule(phase.optimizer.stepCount));
        this.syncFrom(phase);
        this.step++;
      }
    }
    return first;
  }

  /**
   * Each phase's loss on one batch at the current parameters, in training mode with the
   * randomness the next step would draw, without updating anything.
   */
  losses(feeds: ReadonlyMap<string, BatchBuffer>): Map<string, number> {
    const out = new Map<string, number>();
    for (const phase of this.phases) {
      phase.program.run(feeds, { seed: this.seed * 1_000_003 + this.step });
      out.set(phase.name, (phase.program.output("loss") as Float32Array)[0]!);
    }
    return out;
  }

  /**
   * Add this micro-batch's gradients to the running sums; on every `accumulate`-th one, put
   * their mean in the gradient buffers and say the optimiser may step.
   */
  private accumulate(phase: Phase): boolean {
    const k = this.setup.accumulate;
    const sums = phase.accumulated!;
    const seen = (this.micro.get(phase.name) ?? 0) + 1;
    this.micro.set(phase.name, seen);
    phase.params.forEach((p, i) => {
      const acc = sums[i]!;
      for (let j = 0; j < acc.length; j++) acc[j]! += p.grad[j]!;
    });
    if (seen % k !== 0) return false;
    phase.params.forEach((p, i) => {
      const acc = sums[i]!;
      for (let j = 0; j < acc.length; j++) {
        p.grad[j] = acc[j]! / k;
        acc[j] = 0;
      }
    });
    return true;
  }

  /** Class ids must lie in [0, classes) (or be -100, the default ignore_index): PyTorch raises on others, and so do we. */
  checkLabels(feeds: ReadonlyMap<string, BatchBuffer>): void {
    const c = this.classifier;
    const labels = c ? feeds.get(c.labels) : undefined;
    if (!c || !labels) return;
    for (let i = 0; i < labels.length; i++) {
      const v = labels[i]!;
      if (v >= c.classes || (v < 0 && v !== -100))
        throw new Error(`label ${v} in '${c.labels}' (example ${i} of the batch) is not a class id of the model's ${c.classes} classes`);
    }
  }

  /** Other phases' programs hold their own parameter buffers: copy the updated values over. */
  private syncFrom(phase: Phase): void {
    if (this.phases.length === 1) return;
    for (const other of this.phases)
      if (other !== phase) for (const p of this.params) other.program.param(p.name).set(phase.program.param(p.name));
  }

  /** Each phase's optimiser, by phase name ("main" without phases): a GPU trainer mirrors its state here for checkpoints. */
  optimizers(): Map<string, Optimizer> {
    return new Map(this.phases.map((p) => [p.name, p.optimizer]));
  }

  /** The gradient norm of the last step of the first phase. */
  gradNorm(): number {
    return gradNorm(this.phases[0]!.params);
  }

  /** Loss and accuracy over every example of `data` in evaluation mode. */
  evaluate(data: Dataset): EvalResult {
    let lossSum = 0;
    let correct = 0;
    const order = new Int32Array(data.length).map((_, i) => i);
    for (let start = 0; start < data.length; start += this.batch) {
      const idx = order.subarray(start, Math.min(start + this.batch, data.length));
      const { program, feeds } = this.evalProgram(idx.length, data);
      data.fillBatch(idx, feeds);
      program.run(feeds, { seed: this.seed });
      lossSum += (program.output("loss") as Float32Array)[0]! * idx.length;
      if (this.classifier)
        correct += countCorrect(
          program.output(this.classifier.output) as Float32Array,
          feeds.get(this.classifier.labels) as Int32Array,
          idx.length,
          this.classifier.classes,
        );
    }
    return { loss: lossSum / data.length, ...(this.classifier ? { accuracy: correct / data.length } : {}) };
  }

  /** An evaluation program (and its batch buffers) for batches of `n`, made once per size, fed the current values. */
  private evalProgram(n: number, data: Dataset): { program: Program; lowered: LoweredModel; feeds: Map<string, BatchBuffer> } {
    let e = this.evalPrograms.get(n);
    if (!e) {
      const dims = new Map(this.dims);
      dims.set("B", n);
      const lowered = buildEvalGraph(this.graph, dims, this.setup);
      e = { program: compile(lowered.builder.graph()), lowered, feeds: allocBatch(data, n) };
      this.evalPrograms.set(n, e);
    }
    for (const p of e.lowered.params) e.program.setParam(p.name, this.values.get(p.name)!);
    return e;
  }

  // ---------------------------------------------------------------------------
  // Checkpoints

  /** Parameters, buffers, optimiser state and counters, in one safetensors file (written atomically). */
  async save(path: string): Promise<void> {
    const tensors = new Map<string, SafeTensor>();
    for (const p of this.params) tensors.set(p.name, { dtype: "F32", shape: p.shape, data: this.values.get(p.name)! });
    for (const phase of this.phases)
      for (const [k, v] of phase.optimizer.stateTensors())
        tensors.set(`optimizer.${phase.name}.${k}`, { dtype: "F32", shape: [v.length], data: v });
    await writeSafetensors(path, tensors, {
      format: "dlm-checkpoint-1",
      model: this.graph.name,
      step: String(this.step),
      epoch: String(this.epoch),
      seed: String(this.seed),
      data_rng: JSON.stringify([...this.dataRng.state()]),
    });
  }

  /**
   * Restore a checkpoint written by save, or with `weightsOnly` plain weights (parameters and
   * buffers only: dlm's, or PyTorch's under the same names, see runtime/weights.ts).
   */
  async load(path: string, options: { weightsOnly?: boolean } = {}): Promise<void> {
    const file = await readSafetensors(path);
    // every parameter and buffer, by name and shape (also from a file PyTorch wrote)
    const weights = matchWeights(file, this.params, { path, model: this.graph.name });
    // Everything is checked before anything is changed: a failed load leaves the trainer as it was.
    let counters: { step: number; epoch: number; seed: number; dataRng: Rng } | undefined;
    if (!options.weightsOnly) {
      if (file.metadata.format !== "dlm-checkpoint-1")
        throw new Error(`${path} holds weights, not a training checkpoint (no optimiser state)`);
      const m = file.metadata;
      const int = (v: string | undefined): number => (v !== undefined && /^\d+$/.test(v) ? Number(v) : NaN);
      const [step, epoch, seed] = [int(m.step), int(m.epoch), int(m.seed)];
      let dataRng: Rng;
      try {
        if (Number.isNaN(step + epoch + seed)) throw new Error("step, epoch or seed is not a count");
        dataRng = Rng.fromState(JSON.parse(m.data_rng ?? "null") as number[]);
      } catch (e) {
        throw new Error(`${path}: the checkpoint's counters are missing or corrupt (${(e as Error).message})`);
      }
      counters = { step, epoch, seed, dataRng };
      for (const phase of this.phases) {
        const prefix = `optimizer.${phase.name}.`;
        const state = new Map<string, Float32Array>();
        for (const [k, t] of file.tensors) if (k.startsWith(prefix)) state.set(k.slice(prefix.length), t.data as Float32Array);
        try {
          phase.optimizer.loadState(state);
        } catch (e) {
          throw new Error(`${path}: ${(e as Error).message}`);
        }
      }
    }
    for (const p of this.params) this.values.get(p.name)!.set(weights.get(p.name)!);
    for (const phase of this.phases) for (const p of this.params) phase.program.param(p.name).set(this.values.get(p.name)!);
    if (!counters) return;
    this.step = counters.step;
    this.epoch = counters.epoch;
    // the run continues with the checkpoint's seed (dropout and other per-step randomness derive from it)
    this.seed = counters.seed;
    this.dataRng = counters.dataRng;
  }
}

/** Examples of a batch whose largest logit is at their label. */
export function countCorrect(logits: Float32Array, labels: Int32Array, n: number, classes: number): number {
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[i * classes + c]! > logits[i * classes + best]!) best = c;
    if (best === labels[i]) correct++;
  }
  return correct;
}

/** A model output [B, C] and an integer train input [B]: accuracy is argmax agreement. */
function findClassifier(m: LoweredModel, g: ModelGraph): Classifier | undefined {
  const b = m.builder;
  const labels = m.inputs.find((i) => i.dtype === "i32" && i.shape.length === 1);
  if (!labels) return undefined;
  for (const o of g.outputs) {
    const out = m.outputs.find((x) => x.name === o.name);
    if (!out) continue;
    const s = b.shape(out.node);
    if (s.length === 2 && s[0] === labels.shape[0] && s[1]! > 1) return { output: o.name, labels: labels.name, classes: s[1]! };
  }
  return undefined;
}

/**
 * The first tensor (in execution order) that went bad: holding a NaN, or an infinity that none
 * of its inputs holds. Infinities can be meant (a −∞ constant that masks attention scores, the
 * masked scores), so constants and tensors that only pass an input's infinities on are skipped.
 */
function firstNonFinite(program: Program, m: LoweredModel): { what: string; site?: SourceSite } {
  const paramNames = new Map(m.params.map((p) => [p.node, p.name]));
  const infinite = new Set<number>();
  for (const n of program.graph.nodes) {
    if (n.dtype !== "f32" || !program.computed(n.id)) continue;
    const buf = program.buffer(n.id) as Float32Array;
    let nan = false;
    let inf = false;
    for (let i = 0; i < buf.length && !nan; i++) {
      const v = buf[i]!;
      if (v !== v) nan = true;
      else if (v === Infinity || v === -Infinity) inf = true;
    }
    if (inf) infinite.add(n.id);
    if (nan || (inf && n.op !== "const" && !n.inputs.some((i) => infinite.has(i)))) {
      const name = paramNames.get(n.id);
      const what = name
        ? `the parameter '${name}'`
        : `the result of ${n.op}${n.instance ? ` in '${n.instance}'` : ""} (shape [${n.shape.join(", ")}])`;
      return { what, ...(n.origin ? { site: n.origin } : {}) };
    }
  }
  return { what: "the loss" };
}
