// Every example model with a train section trains: a few optimiser steps on one fixed small
// synthetic batch (the same batch every step, so the loss must fall by memorisation), through
// the real Trainer (its optimisers, schedules, phases). The fast models are trained by
// test/examples/train.test.ts in `npm test`; the big ones (seconds or more per step on a CPU)
// here, by `npm run train:examples`, which trains every one of them and prints a table
// model | steps | first loss | last loss | s/step, exiting 1 when one does not learn.
//
// `npm run train:examples`               every example (fast and long lists)
// `npm run train:examples -- --long`     only the long list
// `npm run train:examples -- resnet`     those whose file or model name contains "resnet"

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { check, renderDiagnostic } from "../src/index.js";
import { allocBatch, type BatchBuffer } from "../runtime/data/dataset.js";
import { synthetic, type SyntheticInput } from "../runtime/data/synthetic.js";
import { Trainer, type TrainerOptions } from "../runtime/trainer.js";

export const EXAMPLES_DIR = join(import.meta.dirname, "..", "examples");

export interface ExampleRun {
  readonly file: string;
  readonly model: string;
  /** examples in the fixed batch (2–8) */
  readonly batch: number;
  /** optimiser steps (each phase's steps for a phased train section) */
  readonly steps: number;
  /** symbolic dims other than B (sequence length T, node count N, ...) */
  readonly dims?: Readonly<Record<string, number>>;
  /** a learning rate overriding the train section's, with the reason */
  readonly lr?: number;
  /** skip the train section's schedule (a warmup of thousands of steps), with the reason */
  readonly constantLr?: boolean;
  readonly why?: string;
  /** the loss after training must be at most ratio × the first loss (default 0.9) */
  readonly ratio?: number;
  /**
   * f32 inputs the synthetic N(0, 1) values do not suit: "binary" (1 where the value is
   * positive, else 0: the 0/1 labels of a logistic or contrastive loss, binarised images for
   * a Bernoulli reconstruction loss, whose floor is then 0), "unit" (the value through a
   * sigmoid: targets in (0, 1)); for bool keep-masks [B, S], "prefix" (each row a run of
   * trues from the start, as many as the coin flips gave, at least one: real tokens then
   * padding, so that no query of a causal decoder sees only padding)
   */
  readonly data?: Readonly<Record<string, "binary" | "unit" | "prefix">>;
}

export interface RunResult {
  readonly run: ExampleRun;
  /** the first phase's loss before each step, then the loss after the last step */
  readonly losses: readonly number[];
  /** every phase's loss after training (a GAN's discriminator and generator) */
  readonly phaseLosses: ReadonlyMap<string, { readonly first: number; readonly last: number }>;
  readonly first: number;
  readonly last: number;
  readonly secondsPerStep: number;
  readonly compileSeconds: number;
  /** parameter and buffer values after training */
  readonly values: ReadonlyMap<string, Float32Array>;
}

const WARMUP = "the schedule's warmup of thousands of steps keeps the lr near 0 for a few";

/**
 * Fast enough for `npm test`: well under a second a step, but for the sequence models of
 * realistic vocabularies (10,000 and 8,000 tokens: ~1.5 s a step at any T, the output layer
 * and the optimiser over 15–20M parameters), kept to 5 steps.
 */
export const FAST: readonly ExampleRun[] = [
  // MLPs and linear models
  { file: "perceptron.dlm", model: "Perceptron", batch: 8, steps: 20 },
  { file: "logistic_regression.dlm", model: "LogisticRegression", batch: 8, steps: 20, data: { y: "binary" } },
  { file: "softmax_regression.dlm", model: "SoftmaxRegression", batch: 8, steps: 20 },
  { file: "maxout_mlp.dlm", model: "MaxoutMLP", batch: 8, steps: 10 },
  { file: "mlp_mnist.dlm", model: "NeuralNetwork", batch: 8, steps: 10 },
  { file: "residual_mlp_100.dlm", model: "ResidualMLP", batch: 4, steps: 5 },
  { file: "mlp_from_scratch.dlm", model: "ScratchMLP", batch: 8, steps: 20 },
  { file: "sparse_example_1_3.dlm", model: "Example13", batch: 8, steps: 20 },
  {
    file: "mlp_example_1_4.dlm",
    model: "Example14",
    batch: 8,
    steps: 20,
    lr: 0.1,
    why: "lr 0.01 is the notes' one worked GD step; 20 steps of it barely move a 2-2-2 net",
    data: { t: "unit" }, // ReLU outputs: non-negative targets, as the notes' (2, 4)
  },
  // small CNNs
  {
    file: "lenet5.dlm",
    model: "LeNet5",
    batch: 8,
    steps: 15,
    lr: 0.05,
    why: "tanh units and average pooling start slowly: SGD 0.01 needs ~30 steps",
  },
  { file: "lenet5.dlm", model: "LeNet5MNIST", batch: 8, steps: 10 },
  {
    file: "lenet_seed002.dlm",
    model: "LeNet",
    batch: 8,
    steps: 15,
    lr: 0.01,
    why: "the tutorial's lr 0.001 is for 2 epochs of 12,500 steps",
  },
  // recurrent and sequence models
  {
    file: "rnn.dlm",
    model: "ElmanRNN",
    batch: 4,
    steps: 15,
    dims: { T: 8 },
    lr: 0.1,
    why: "SGD 0.01 under clip_norm 1 moves the weights by at most 0.01 a step",
  },
  { file: "stacked_birnn.dlm", model: "StackedBiRNN", batch: 4, steps: 15, dims: { T: 8 } },
  { file: "lstm_lm.dlm", model: "LSTMLanguageModel", batch: 2, steps: 5, dims: { T: 4 } },
  { file: "gru.dlm", model: "GRUClassifier", batch: 4, steps: 15, dims: { T: 8 } },
  { file: "kalman_estimator.dlm", model: "KalmanEstimator", batch: 4, steps: 20, dims: { T: 8 } },
  { file: "seq2seq.dlm", model: "Seq2Seq", batch: 2, steps: 5, dims: { S: 4, T: 4 } },
  { file: "seq2seq.dlm", model: "Seq2SeqContext", batch: 2, steps: 5, dims: { S: 4, T: 4 } },
  { file: "seq2seq_attention.dlm", model: "AttentionSeq2Seq", batch: 2, steps: 5, dims: { S: 4, T: 4 } },
  // graph models
  { file: "gcn.dlm", model: "GCN", batch: 1, steps: 40, dims: { N: 24 } },
  { file: "message_passing.dlm", model: "MPNN", batch: 1, steps: 15, dims: { N: 24, E: 64 } },
  { file: "graph_readout.dlm", model: "GraphClassifier", batch: 1, steps: 15, dims: { G: 4, N: 24, E: 64 } },
  { file: "graph_transformer.dlm", model: "GraphTransformer", batch: 2, steps: 10, dims: { N: 16 } },
  // generative models and other techniques
  {
    file: "linear_autoencoder.dlm",
    model: "LinearAutoencoder",
    batch: 8,
    steps: 20,
    lr: 1e-4,
    why: "a summed loss over 784 N(0, 1) features (curvature ~2‖x‖² ≈ 1,600, MNIST pixels ~200) diverges at 1e-3 with momentum 0.9",
  },
  { file: "denoising_autoencoder.dlm", model: "DenoisingAutoencoder", batch: 8, steps: 20, data: { x: "binary" } },
  { file: "vae.dlm", model: "VAE", batch: 8, steps: 20, data: { x: "binary" } },
  { file: "gan.dlm", model: "GAN", batch: 8, steps: 10 },
  { file: "cbow.dlm", model: "CBOW", batch: 8, steps: 10 },
  { file: "siamese.dlm", model: "Siamese", batch: 4, steps: 10, data: { same: "binary" } },
  {
    file: "lora.dlm",
    model: "LoRALinear",
    batch: 2,
    steps: 10,
    dims: { T: 4 },
    lr: 3e-3,
    why: "the fine-tuning lr 1e-4 needs hundreds of steps to move a zero-initialised low-rank update",
  },
];

/** Seconds or more per step on a CPU: trained by `npm run train:examples` only. */
export const LONG: readonly ExampleRun[] = [
  // cheapest first (s/step at batch 2 on one CPU core in brackets)
  {
    file: "transformer_encoder.dlm",
    model: "TransformerEncoderClassifier",
    batch: 2,
    steps: 8,
    dims: { T: 16 },
    lr: 1e-3,
    constantLr: true,
    why: WARMUP,
    data: { keep: "prefix" },
  },
  { file: "transformer_decoder.dlm", model: "CaptionDecoder", batch: 2, steps: 8, dims: { S: 16, T: 16 }, constantLr: true, why: WARMUP },
  { file: "tiny_gpt_12.dlm", model: "TinyGPT12", batch: 2, steps: 10 },
  {
    file: "transformer_seq2seq.dlm",
    model: "Transformer",
    batch: 2,
    steps: 8,
    dims: { S: 16, T: 16 },
    constantLr: true,
    why: WARMUP,
    data: { src_keep: "prefix", tgt_keep: "prefix" },
  },
  { file: "prompt_tuning.dlm", model: "PromptTuning", batch: 2, steps: 8, dims: { T: 16 }, data: { keep: "prefix" } },
  { file: "gpt2_small.dlm", model: "GPT2Small", batch: 2, steps: 6, dims: { T: 16 }, constantLr: true, why: WARMUP },
  // image models at their standard input size
  { file: "nin.dlm", model: "NiN", batch: 2, steps: 10 }, // [3]
  { file: "alexnet.dlm", model: "AlexNet", batch: 2, steps: 10 }, // [5]
  { file: "mobilenet_v2.dlm", model: "MobileNetV2", batch: 2, steps: 5 },
  { file: "resnet18.dlm", model: "ResNet18", batch: 2, steps: 5 },
  { file: "googlenet.dlm", model: "GoogLeNet", batch: 2, steps: 5 }, // [14]
  { file: "densenet121.dlm", model: "DenseNet121", batch: 2, steps: 5 },
  { file: "resnet50.dlm", model: "ResNet50", batch: 2, steps: 5, constantLr: true, why: WARMUP },
  { file: "convnext.dlm", model: "ConvNeXtT", batch: 2, steps: 5, constantLr: true, why: WARMUP },
  { file: "vgg16.dlm", model: "VGG", batch: 2, steps: 8 }, // [89]
  { file: "vit_b16.dlm", model: "ViTB16", batch: 2, steps: 5, constantLr: true, why: WARMUP },
  { file: "unet.dlm", model: "UNet", batch: 2, steps: 5 }, // 572×572 input: minutes a step
];

/** Every model of the examples that has a train section, and those that have none. */
export function exampleModels(): { trained: { file: string; model: string }[]; untrained: { file: string; model: string }[] } {
  const trained: { file: string; model: string }[] = [];
  const untrained: { file: string; model: string }[] = [];
  for (const file of readdirSync(EXAMPLES_DIR)
    .filter((f) => f.endsWith(".dlm"))
    .sort()) {
    const r = check(join(EXAMPLES_DIR, file));
    for (const [model, m] of r.models) (m.train ? trained : untrained).push({ file, model });
  }
  return { trained, untrained };
}

/** Train one example on a fixed synthetic batch; the losses it went through. `passes` switches compiler passes off. */
export function trainExample(run: ExampleRun, options: Pick<TrainerOptions, "passes"> = {}): RunResult {
  const r = check(join(EXAMPLES_DIR, run.file));
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new Error(errors.map((d) => renderDiagnostic(d, undefined)).join("\n"));
  const m = r.models.get(run.model);
  if (!m?.graph) throw new Error(`${run.file} has no model ${run.model}`);
  if (!m.train) throw new Error(`${run.file}: ${run.model} has no train section`);
  const t0 = performance.now();
  const trainer = new Trainer(m.graph, m.train, {
    batch: run.batch,
    seed: 0,
    dims: new Map(Object.entries(run.dims ?? {})),
    ...(run.lr !== undefined ? { lr: run.lr } : {}),
    ...(run.constantLr ? { constantLr: true } : {}),
    ...options,
  });
  const compileSeconds = (performance.now() - t0) / 1000;

  const feeds = fixedBatch(run, trainer);

  const losses: number[] = [];
  const firstPhase = new Map<string, number>();
  const t1 = performance.now();
  for (let s = 0; s < run.steps; s++) {
    losses.push(trainer.trainStep(feeds));
    if (s === 0) for (const [k, v] of trainer.phaseLosses) firstPhase.set(k, v);
  }
  const secondsPerStep = (performance.now() - t1) / 1000 / run.steps;
  const after = trainer.losses(feeds);
  losses.push(after.values().next().value!);
  const phaseLosses = new Map([...after].map(([k, v]) => [k, { first: firstPhase.get(k)!, last: v }]));
  return {
    run,
    losses,
    phaseLosses,
    first: losses[0]!,
    last: losses[losses.length - 1]!,
    secondsPerStep,
    compileSeconds,
    values: trainer.values,
  };
}

/**
 * The run's one fixed synthetic batch. Inputs with a batch axis get `run.batch` examples; a
 * model without one (a single graph) is fed one example holding every input whole.
 */
export function fixedBatch(run: ExampleRun, trainer: Trainer): Map<string, BatchBuffer> {
  const batched = trainer.inputs.every((i) => i.shape[0] === run.batch);
  const spec: SyntheticInput[] = trainer.inputs.map((i) => ({
    name: i.name,
    shape: batched ? i.shape.slice(1) : i.shape,
    dtype: i.dtype as SyntheticInput["dtype"],
    ...(i.dtype === "i32" || i.dtype === "i64" ? { high: trainer.integerRange(i.name) } : {}),
  }));
  const size = batched ? run.batch : 1;
  const data = synthetic(spec, size, 1);
  const feeds = allocBatch(data, size);
  data.fillBatch(
    Int32Array.from({ length: size }, (_, i) => i),
    feeds,
  );
  for (const [name, kind] of Object.entries(run.data ?? {})) {
    const buf = feeds.get(name);
    if (kind === "prefix") {
      const n = trainer.inputs.find((i) => i.name === name)?.shape.at(-1);
      if (!(buf instanceof Uint8Array) || !n) throw new Error(`${run.model}: data.${name} names no bool input`);
      for (let r = 0; r < buf.length; r += n) {
        const row = buf.subarray(r, r + n);
        const len = Math.max(
          1,
          row.reduce((a, v) => a + v, 0),
        );
        row.fill(1, 0, len).fill(0, len);
      }
      continue;
    }
    if (!(buf instanceof Float32Array)) throw new Error(`${run.model}: data.${name} names no f32 input`);
    for (let i = 0; i < buf.length; i++) buf[i] = kind === "binary" ? (buf[i]! > 0 ? 1 : 0) : 1 / (1 + Math.exp(-buf[i]!));
  }
  return feeds;
}

/** Whether a run learned: finite losses, and each phase's last loss at most ratio × its first. */
export function learned(res: RunResult): string | undefined {
  const ratio = res.run.ratio ?? 0.9;
  if (!res.losses.every(Number.isFinite)) return `a non-finite loss: ${res.losses.join(", ")}`;
  for (const [phase, { first, last }] of res.phaseLosses) {
    if (!Number.isFinite(first) || !Number.isFinite(last)) return `phase ${phase}: a non-finite loss`;
    if (!(last <= ratio * first)) return `${phase} loss ${fmt(first)} → ${fmt(last)}, not below ${ratio} × the first`;
  }
  return undefined;
}

function fmt(x: number): string {
  return Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(3) : x.toFixed(4);
}

function main(argv: readonly string[]): number {
  const longOnly = argv.includes("--long");
  const filters = argv.filter((a) => !a.startsWith("--"));
  const runs = (longOnly ? LONG : [...FAST, ...LONG]).filter(
    (r) => filters.length === 0 || filters.some((f) => r.file.includes(f) || r.model.toLowerCase().includes(f.toLowerCase())),
  );
  let failed = 0;
  const { trained, untrained } = exampleModels();
  const listed = new Set([...FAST, ...LONG].map((r) => `${r.file}:${r.model}`));
  for (const t of trained)
    if (!listed.has(`${t.file}:${t.model}`)) {
      console.log(`FAIL ${t.file} ${t.model}: has a train section but is in neither the fast nor the long list`);
      failed++;
    }
  console.log(`not trained (no train section): ${untrained.map((u) => u.model).join(", ")}\n`);
  const header = ["model", "file", "batch", "dims", "steps", "first loss", "last loss", "s/step", "compile s", ""];
  const rows: string[][] = [];
  const print = (cells: string[]) => console.log(`| ${cells.join(" | ")} |`);
  print(header);
  print(header.map(() => "---"));
  for (const run of runs) {
    let cells: string[];
    try {
      const res = trainExample(run);
      const why = learned(res);
      if (why) failed++;
      const phases =
        res.phaseLosses.size > 1 ? ` (${[...res.phaseLosses].map(([k, v]) => `${k} ${fmt(v.first)} → ${fmt(v.last)}`).join("; ")})` : "";
      cells = [
        run.model,
        run.file,
        String(run.batch),
        Object.entries(run.dims ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(" "),
        String(run.steps),
        fmt(res.first),
        fmt(res.last),
        res.secondsPerStep.toFixed(3),
        res.compileSeconds.toFixed(1),
        (why ? `FAIL: ${why}` : "ok") + phases,
      ];
    } catch (e) {
      failed++;
      cells = [
        run.model,
        run.file,
        String(run.batch),
        "",
        String(run.steps),
        "",
        "",
        "",
        "",
        `FAIL: ${(e as Error).message.split("\n")[0]}`,
      ];
    }
    rows.push(cells);
    print(cells);
  }
  console.log(failed ? `\n${failed} failed` : `\nall ${runs.length} trained`);
  return failed ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2));
