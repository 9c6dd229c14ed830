// Datasets and batching for the training loop.
//
// A Dataset is indexable examples with named inputs of fixed per-example shape. The loop
// allocates one buffer per input for a whole batch once (allocBatch) and asks the dataset to
// fill it for a list of example indices (fillBatch), so an epoch allocates nothing.
//
// Buffer types follow the CPU runtime's host tensors (runtime/cpu/reference.ts): floats in
// Float32Array, i32 and i64 values in Int32Array (ids, labels and node indices fit in 32 bits),
// bools in Uint8Array (0/1). Example k of a batch occupies [k·numel, (k+1)·numel) of its buffer.

import type { Rng } from "../rng.js";

export type InputDType = "f32" | "i32" | "i64" | "bool";

export interface InputSpec {
  /** per-example shape (no batch axis) */
  readonly shape: readonly number[];
  readonly dtype: InputDType;
}

export type BatchBuffer = Float32Array | Int32Array | Uint8Array;

export interface Dataset {
  /** number of examples */
  readonly length: number;
  /** the inputs every example provides, by name */
  readonly shapes: ReadonlyMap<string, InputSpec>;
  /**
   * Write examples indices[0..n) into rows 0..n of each buffer in `out` (one per input name;
   * inputs without a buffer in `out` are skipped). Buffers must hold at least n examples.
   */
  fillBatch(indices: Int32Array, out: ReadonlyMap<string, BatchBuffer>): void;
}

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The buffer type for an input dtype. */
export function allocBuffer(dtype: InputDType, n: number): BatchBuffer {
  switch (dtype) {
    case "f32":
      return new Float32Array(n);
    case "i32":
    case "i64":
      return new Int32Array(n);
    case "bool":
      return new Uint8Array(n);
  }
}

/** One buffer per input of `dataset`, sized for `batchSize` examples. */
export function allocBatch(dataset: Pick<Dataset, "shapes">, batchSize: number): Map<string, BatchBuffer> {
  const out = new Map<string, BatchBuffer>();
  for (const [name, spec] of dataset.shapes) out.set(name, allocBuffer(spec.dtype, batchSize * numelOf(spec.shape)));
  return out;
}

function checkSpec(name: string, spec: InputSpec): void {
  for (const d of spec.shape)
    if (!Number.isInteger(d) || d < 1)
      throw new Error(`input '${name}': shape [${spec.shape.join(", ")}] must have positive integer dimensions`);
}

/**
 * An in-memory dataset: per input, one array holding every example's values back to back.
 * `rows` (optional) maps dataset index → row of the arrays, so subsets share storage.
 */
/** The first `n` examples of a dataset (short runs: a fixed number of steps per epoch). */
export function firstExamples(d: Dataset, n: number): Dataset {
  if (n >= d.length) return d;
  return { length: n, shapes: d.shapes, fillBatch: (idx, out) => d.fillBatch(idx, out) };
}

export class TensorDataset implements Dataset {
  readonly length: number;
  readonly shapes: ReadonlyMap<string, InputSpec>;
  private readonly numels: Map<string, number>;
  private readonly names: string[];

  constructor(
    shapes: ReadonlyMap<string, InputSpec>,
    readonly arrays: ReadonlyMap<string, BatchBuffer>,
    private readonly rowCount: number,
    private readonly rows?: Int32Array,
  ) {
    this.shapes = shapes;
    this.numels = new Map();
    this.names = [...shapes.keys()];
    for (const [name, spec] of shapes) {
      checkSpec(name, spec);
      const a = arrays.get(name);
      if (!a) throw new Error(`input '${name}' has no data`);
      const numel = numelOf(spec.shape);
      if (a.length !== rowCount * numel)
        throw new Error(
          `input '${name}': ${a.length} values for ${rowCount} examples of shape [${spec.shape.join(", ")}] (expected ${rowCount * numel})`,
        );
      this.numels.set(name, numel);
    }
    if (rows) for (const r of rows) if (r < 0 || r >= rowCount) throw new Error(`subset row ${r} out of range [0, ${rowCount})`);
    this.length = rows ? rows.length : rowCount;
  }

  fillBatch(indices: Int32Array, out: ReadonlyMap<string, BatchBuffer>): void {
    const n = indices.length;
    for (let k = 0; k < n; k++) {
      const i = indices[k]!;
      if (i < 0 || i >= this.length) throw new Error(`example index ${i} out of range [0, ${this.length})`);
    }
    // iterate over a fixed name list (Map iteration allocates) and copy with monomorphic
    // loops (set(subarray()) would allocate a view per example)
    const names = this.names;
    for (let q = 0; q < names.length; q++) {
      const name = names[q]!;
      const buf = out.get(name);
      if (!buf) continue;
      const src = this.arrays.get(name)!;
      const numel = this.numels.get(name)!;
      if (buf.length < n * numel)
        throw new Error(`batch buffer '${name}' holds ${Math.floor(buf.length / numel)} examples, batch has ${n}`);
      if (src instanceof Float32Array && buf instanceof Float32Array) copyRowsF32(src, buf, indices, this.rows, numel);
      else if (src instanceof Int32Array && buf instanceof Int32Array) copyRowsI32(src, buf, indices, this.rows, numel);
      else copyRowsAny(src, buf, indices, this.rows, numel);
    }
  }

  /** The examples at `indices` (dataset indices), sharing storage with this dataset. */
  subset(indices: Int32Array): TensorDataset {
    const rows = new Int32Array(indices.length);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k]!;
      if (i < 0 || i >= this.length) throw new Error(`subset index ${i} out of range [0, ${this.length})`);
      rows[k] = this.rows ? this.rows[i]! : i;
    }
    return new TensorDataset(this.shapes, this.arrays, this.rowCount, rows);
  }

  /** The same examples with an input renamed (to match a model's input names). */
  rename(from: string, to: string): TensorDataset {
    if (!this.shapes.has(from)) throw new Error(`no input '${from}'; inputs: ${[...this.shapes.keys()].join(", ")}`);
    const re = <V>(m: ReadonlyMap<string, V>) => new Map([...m].map(([k, v]) => [k === from ? to : k, v] as const));
    return new TensorDataset(re(this.shapes), re(this.arrays), this.rowCount, this.rows);
  }

  /** The same examples with input `name` viewed under another per-example shape of equal size ([784] ↔ [1, 28, 28]). */
  reshape(name: string, shape: readonly number[]): TensorDataset {
    const spec = this.shapes.get(name);
    if (!spec) throw new Error(`no input '${name}'; inputs: ${[...this.shapes.keys()].join(", ")}`);
    if (numelOf(shape) !== numelOf(spec.shape))
      throw new Error(
        `input '${name}' has ${numelOf(spec.shape)} values per example ([${spec.shape.join(", ")}]); shape [${shape.join(", ")}] has ${numelOf(shape)}`,
      );
    const shapes = new Map(this.shapes);
    shapes.set(name, { shape: [...shape], dtype: spec.dtype });
    return new TensorDataset(shapes, this.arrays, this.rowCount, this.rows);
  }
}

function copyRowsF32(src: Float32Array, dst: Float32Array, indices: Int32Array, rows: Int32Array | undefined, numel: number): void {
  for (let k = 0; k < indices.length; k++) {
    const from = (rows ? rows[indices[k]!]! : indices[k]!) * numel;
    const to = k * numel;
    for (let j = 0; j < numel; j++) dst[to + j] = src[from + j]!;
  }
}

function copyRowsI32(src: Int32Array, dst: Int32Array, indices: Int32Array, rows: Int32Array | undefined, numel: number): void {
  for (let k = 0; k < indices.length; k++) {
    const from = (rows ? rows[indices[k]!]! : indices[k]!) * numel;
    const to = k * numel;
    for (let j = 0; j < numel; j++) dst[to + j] = src[from + j]!;
  }
}

function copyRowsAny(src: BatchBuffer, dst: BatchBuffer, indices: Int32Array, rows: Int32Array | undefined, numel: number): void {
  for (let k = 0; k < indices.length; k++) {
    const from = (rows ? rows[indices[k]!]! : indices[k]!) * numel;
    const to = k * numel;
    for (let j = 0; j < numel; j++) dst[to + j] = src[from + j]!;
  }
}

/**
 * Yields batches of example indices, reshuffled with `rng` at the start of every epoch
 * (shuffle = false keeps the order 0..n−1). dropLast drops the final short batch, as
 * torch's DataLoader(drop_last=True). next() allocates nothing: it returns one of two
 * preallocated arrays (full batches, and the short last one), valid until the next call.
 */
export class Batcher {
  /** epochs started so far (1 during the first) */
  epoch = 0;
  private readonly perm: Int32Array;
  private readonly full: Int32Array;
  private readonly tail: Int32Array;
  private cursor = 0;
  /** true before the first epoch and after an epoch's end was reported */
  private needStart = true;
  /** rng state at the current epoch's start */
  private epochState: Uint32Array | undefined;

  constructor(
    readonly size: number,
    readonly batchSize: number,
    private rng: Rng,
    private readonly options: { shuffle?: boolean; dropLast?: boolean } = {},
  ) {
    if (!Number.isInteger(size) || size < 0) throw new Error(`dataset size must be a non-negative integer, got ${size}`);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batch size must be a positive integer, got ${batchSize}`);
    this.perm = new Int32Array(size);
    this.full = new Int32Array(batchSize);
    this.tail = new Int32Array(size % batchSize);
  }

  /** Batches per epoch. */
  get batchesPerEpoch(): number {
    return this.options.dropLast ? Math.floor(this.size / this.batchSize) : Math.ceil(this.size / this.batchSize);
  }

  private startEpoch(): void {
    this.epoch++;
    this.epochState = this.rng.state();
    for (let i = 0; i < this.size; i++) this.perm[i] = i;
    // the permutation depends only on the rng state at the epoch's start (for resuming)
    if (this.options.shuffle ?? true) this.rng.shuffle(this.perm);
    this.cursor = 0;
    this.needStart = false;
  }

  /**
   * The next batch of indices, or undefined once at the end of each epoch (the call after
   * that starts the next epoch). Loop: `for (let b = batcher.next(); b; b = batcher.next()) …`.
   */
  next(): Int32Array | undefined {
    if (this.needStart) this.startEpoch();
    const remaining = this.size - this.cursor;
    if (remaining === 0 || (this.options.dropLast && remaining < this.batchSize)) {
      this.needStart = true;
      return undefined;
    }
    const n = remaining < this.batchSize ? remaining : this.batchSize;
    const out = n === this.batchSize ? this.full : this.tail;
    for (let k = 0; k < n; k++) out[k] = this.perm[this.cursor + k]!;
    this.cursor += n;
    return out;
  }

  /** The rest of the current epoch's batches, or a whole new epoch; each yielded array is reused by the next one. */
  *epochBatches(): Generator<Int32Array> {
    for (let b = this.next(); b; b = this.next()) yield b;
  }

  /** [epoch, position in the epoch, between epochs (0/1), rng state (7 words) at the epoch's start]: enough to resume. */
  state(): number[] {
    return [this.epoch, this.cursor, this.needStart ? 1 : 0, ...(this.epoch > 0 ? this.epochState! : this.rng.state())];
  }

  /** Resume from state(): the same remaining batches and, afterwards, the same later epochs. */
  loadState(s: readonly number[], makeRng: (state: Uint32Array) => Rng): void {
    if (s.length < 4) throw new Error("Batcher state is too short");
    const [epoch, cursor, between] = s as [number, number, number];
    if (cursor < 0 || cursor > this.size) throw new Error(`Batcher state position ${cursor} is outside [0, ${this.size}]`);
    this.rng = makeRng(Uint32Array.from(s.slice(3)));
    if (epoch === 0) {
      this.epoch = 0;
      this.needStart = true;
      return;
    }
    this.epoch = epoch - 1;
    this.startEpoch(); // replays the epoch's shuffle, leaving the rng where it was
    this.cursor = cursor;
    this.needStart = between === 1;
  }
}
