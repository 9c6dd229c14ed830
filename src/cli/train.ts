// `dlm train`: compile a model's training step, feed it real digits, a CSV file or
// synthetic data, and report per epoch; `--report` writes the JSON contract other tools read,
// and a loss-curve picture is written at the end.

import { basename, extname, resolve } from "node:path";
import type { ModelGraph } from "../../compiler/ir/graph.js";
import type { TrainSetup } from "../../compiler/train.js";
import { firstExamples, type Dataset } from "../../runtime/data/dataset.js";
import { loadMnist } from "../../runtime/data/mnist.js";
import { loadCsv } from "../../runtime/data/csv.js";
import { syntheticSplit } from "../../runtime/data/synthetic.js";
import { NonFiniteError, Trainer, type TrainerOptions, type TrainingSession } from "../../runtime/trainer.js";
import { GpuTrainer } from "../../runtime/webgpu/trainer.js";
import { writeFileAtomic } from "../atomic.js";
import { lossCurveSvg, type CurveData } from "./loss-curve.js";
import { Progress } from "./progress.js";
import { describeCheckpointing } from "./format.js";

export interface TrainArgs {
  readonly file: string;
  readonly graph: ModelGraph;
  readonly train: TrainSetup;
  readonly data: string;
  readonly epochs?: number;
  readonly batch?: number;
  readonly lr?: number;
  readonly seed?: number;
  readonly dims: ReadonlyMap<string, number>;
  readonly save?: string;
  readonly resume?: string;
  /** start from these parameters and buffers (dlm's or PyTorch's safetensors, same names) */
  readonly weights?: string;
  readonly report?: string;
  readonly curve?: string;
  /** stop after this many steps per epoch (quick smoke runs) */
  readonly stepsPerEpoch?: number;
  /** compiler passes switched off (-O0, --no-fold, --no-simplify, --no-bn-fold, --no-cse, --no-fuse, --no-plan, --no-checkpoint) */
  readonly passes?: TrainerOptions["passes"];
  /** bytes a training step's planned activation arena may take (--memory-budget): gradient checkpointing fits it */
  readonly memoryBudget?: number;
  /** where the training step runs (default cpu) */
  readonly backend?: "cpu" | "webgpu";
  readonly quiet: boolean;
}

export class TrainUsageError extends Error {}

interface EpochRecord {
  epoch: number;
  loss: number;
  train_accuracy?: number;
  test_loss?: number;
  test_accuracy?: number;
  steps: number;
  seconds: number;
}

export async function runTraining(a: TrainArgs): Promise<number> {
  const options: TrainerOptions = {
    ...(a.batch !== undefined ? { batch: a.batch } : {}),
    ...(a.seed !== undefined ? { seed: a.seed } : {}),
    ...(a.lr !== undefined ? { lr: a.lr } : {}),
    ...(a.passes ? { passes: a.passes } : {}),
    ...(a.memoryBudget !== undefined ? { memoryBudget: a.memoryBudget } : {}),
    dims: a.dims,
  };
  const trainer: TrainingSession =
    a.backend === "webgpu" ? await GpuTrainer.create(a.graph, a.train, options) : new Trainer(a.graph, a.train, options);
  const { train, test } = await loadData(a, trainer);
  if (a.resume) await trainer.load(a.resume);
  if (a.weights) await trainer.load(a.weights, { weightsOnly: true });
  const epochs = a.epochs ?? a.train.epochs ?? 1;
  const log = (s: string): void => {
    if (!a.quiet) process.stderr.write(s + "\n");
  };
  log(
    `training ${a.graph.name} on ${a.data}: ${train.length} examples${test ? `, ${test.length} held out` : ""}, batch ${trainer.batch}, ${epochs} epoch${epochs === 1 ? "" : "s"}`,
  );

  for (const { phase, report } of trainer.checkpointing) {
    const where = trainer.checkpointing.length > 1 ? ` (phase ${phase})` : "";
    log(`checkpointing${where}: ${describeCheckpointing(report)}`);
    if (report.warning) process.stderr.write(`dlm train: warning: ${report.warning}\n`);
  }

  const records: EpochRecord[] = [];
  const stepLoss: number[] = [];
  const started = performance.now();
  const limited = a.stepsPerEpoch !== undefined ? firstExamples(train, a.stepsPerEpoch * trainer.batch) : train;
  try {
    for (let e = trainer.epoch; e < epochs; e++) {
      const t0 = performance.now();
      const bar = new Progress(`epoch ${e + 1}/${epochs}`, a.quiet);
      const r = await trainer.trainEpoch(limited, (step, loss, of) => {
        stepLoss.push(loss);
        bar.update(step, of, `loss ${loss.toFixed(4)}`);
      });
      const ev = test ? await trainer.evaluate(test) : undefined;
      bar.done();
      const rec: EpochRecord = {
        epoch: r.epoch,
        loss: r.loss,
        ...(r.trainAccuracy !== undefined ? { train_accuracy: r.trainAccuracy } : {}),
        ...(ev ? { test_loss: ev.loss } : {}),
        ...(ev?.accuracy !== undefined ? { test_accuracy: ev.accuracy } : {}),
        steps: trainer.step,
        seconds: (performance.now() - t0) / 1000,
      };
      records.push(rec);
      log(formatEpoch(rec, epochs));
      if (a.save) await trainer.save(a.save);
    }
  } catch (e) {
    if (e instanceof NonFiniteError) {
      const where = e.site ? ` (${e.site.file}:${e.site.range.start.line}:${e.site.range.start.column})` : "";
      process.stderr.write(`dlm train: ${e.message}${where}\n`);
      if (a.save) process.stderr.write(`the last good checkpoint is ${a.save}\n`);
      await writeOutputs(a, trainer, records, stepLoss, started, "non-finite loss");
      return 1;
    }
    throw e;
  }
  await writeOutputs(a, trainer, records, stepLoss, started);
  return 0;
}

function formatEpoch(r: EpochRecord, epochs: number): string {
  const pct = (x: number | undefined): string => (x === undefined ? "" : `${(100 * x).toFixed(2)}%`);
  const parts = [`epoch ${r.epoch}/${epochs}`, `loss ${r.loss.toFixed(4)}`];
  if (r.train_accuracy !== undefined) parts.push(`train acc ${pct(r.train_accuracy)}`);
  if (r.test_loss !== undefined) parts.push(`test loss ${r.test_loss.toFixed(4)}`);
  if (r.test_accuracy !== undefined) parts.push(`test acc ${pct(r.test_accuracy)}`);
  parts.push(`${r.seconds.toFixed(1)} s`);
  return parts.join("  ");
}

async function writeOutputs(
  a: TrainArgs,
  trainer: TrainingSession,
  records: EpochRecord[],
  stepLoss: number[],
  started: number,
  stopped?: string,
): Promise<void> {
  const last = records.at(-1);
  if (a.report) {
    const report = {
      model: a.graph.name,
      file: a.file,
      data: a.data,
      batch: trainer.batch,
      seed: trainer.seed,
      ...(trainer.checkpointing.length > 0 ? { checkpointing: trainer.checkpointing[0]!.report } : {}),
      epochs: records,
      final: {
        loss: last?.loss ?? null,
        train_accuracy: last?.train_accuracy ?? null,
        test_accuracy: last?.test_accuracy ?? null,
        test_loss: last?.test_loss ?? null,
        steps: trainer.step,
        seconds: (performance.now() - started) / 1000,
        ...(stopped ? { stopped } : {}),
      },
      ...(trainer instanceof GpuTrainer ? { gpu: trainer.figures() } : {}),
    };
    await writeFileAtomic(a.report, JSON.stringify(report, null, 2) + "\n");
  }
  const curvePath = a.curve ?? `${basename(a.file, extname(a.file))}.loss.svg`;
  const curve: CurveData = {
    title: `${a.graph.name} on ${a.data}`,
    stepLoss,
    epochs: records.map((r) => ({
      step: r.steps,
      loss: r.loss,
      ...(r.test_loss !== undefined ? { testLoss: r.test_loss } : {}),
      ...(r.train_accuracy !== undefined ? { trainAccuracy: r.train_accuracy } : {}),
      ...(r.test_accuracy !== undefined ? { testAccuracy: r.test_accuracy } : {}),
    })),
  };
  await writeFileAtomic(curvePath, lossCurveSvg(curve));
  if (!a.quiet) process.stderr.write(`loss curve: ${curvePath}\n`);
}

/** Training and held-out data for the model's inputs, from --data. */
async function loadData(a: TrainArgs, trainer: TrainingSession): Promise<{ train: Dataset; test?: Dataset }> {
  const inputs = trainer.exampleInputs;
  for (const i of inputs)
    if (!i.batched)
      throw new TrainUsageError(
        `input '${i.name}' has no batch axis B of size ${trainer.batch}; dlm train feeds batches along the first axis`,
      );
  const floats = inputs.filter((i) => i.dtype === "f32");
  const ints = inputs.filter((i) => i.dtype === "i32");
  const describe = (): string => inputs.map((i) => `${i.name}: ${i.dtype}[B${i.shape.map((d) => `, ${d}`).join("")}]`).join(", ");
  if (a.data === "mnist") {
    const image = floats[0];
    const label = ints.find((i) => i.shape.length === 0);
    if (inputs.length !== 2 || !image || !label || image.shape.reduce((p, q) => p * q, 1) !== 784)
      throw new TrainUsageError(
        `--data mnist needs a model with one 784-value image input and integer labels [B]; this one takes ${describe()}`,
      );
    const split = loadMnist({ imageShape: image.shape, imageName: image.name, labelName: label.name });
    return { train: split.train, test: split.test };
  }
  if (a.data === "synthetic") return syntheticSplit(trainer);
  if (extname(a.data).toLowerCase() === ".csv") {
    const image = floats[0];
    const label = ints.find((i) => i.shape.length === 0);
    if (inputs.length !== 2 || !image || !label)
      throw new TrainUsageError(`a CSV file feeds one feature input and integer labels; this model takes ${describe()}`);
    const all = await loadCsv(resolve(a.data), {
      label: label.name,
      inputName: image.name,
      labelName: label.name,
      inputShape: image.shape,
      // a class id outside the model's classes is an error in the file (the loss would silently ignore it)
      ...(trainer.classifier?.labels === label.name ? { classes: trainer.classifier.classes } : {}),
    });
    return { train: all };
  }
  throw new TrainUsageError(`--data expects mnist, synthetic or a .csv file, got '${a.data}'`);
}
