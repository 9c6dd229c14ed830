// Synthetic datasets for any model's inputs: deterministic from a seed, and with structure a
// model can learn (labels are a fixed random function of the features), so a training run's
// loss can fall without any real data.
//
// Features: f32 inputs are N(0, 1); i32/i64 inputs uniform integers in [0, high) (token ids,
// class ids, or node indices of an edge list: give high = the vocabulary / node count); bool
// inputs fair coin flips.
// Labels (inputs named labels/label/targets/target/y, or role: "label") come from a fixed
// random "teacher" drawn from the seed alone; `sample` picks the stream the examples (and the
// label noise) are drawn from, so held-out data is new examples labelled by the same teacher:
//   - φ(x): each f32/bool feature projected by a fixed matrix with orthonormal rows to at most
//     16 numbers, and for each integer feature the mean over its positions of a fixed embedding
//     of its ids (up to 8 dims; a bag of tokens); the embedding is centred and orthonormalised
//     so that φ's coordinates are uncorrelated with unit variance;
//   - integer labels (classes = high) are argmax_c (W_e φ)_c with orthonormal class directions
//     W_e per label element, so classes come out about equally often; but where an integer
//     feature has the label's shape (tagging, language models) label[e] = T[id[e]] for a fixed
//     random table T (a per-position lookup);
//   - bool labels are the 2-class case; f32 labels are regression targets
//     (w_e · φ)/√dim φ + 0.1·N(0, 1).

import type { Trainer } from "../trainer.js";
import { orthogonal } from "../init.js";
import { Rng } from "../rng.js";
import { allocBuffer, numelOf, TensorDataset, type BatchBuffer, type InputDType, type InputSpec } from "./dataset.js";

export interface SyntheticInput {
  readonly name: string;
  /** per-example shape */
  readonly shape: readonly number[];
  readonly dtype: InputDType;
  /** exclusive upper bound of integer values (vocabulary, classes, node count); required for i32/i64 */
  readonly high?: number;
  /** default: "label" for names labels/label/targets/target/y, else "feature" */
  readonly role?: "feature" | "label";
}

const LABEL_NAMES = new Set(["labels", "label", "targets", "target", "y"]);
const PROJ_DIM = 16;
const EMBED_DIM = 8;

function isInteger(dtype: InputDType): boolean {
  return dtype === "i32" || dtype === "i64";
}

/**
 * A dataset of `size` examples for inputs `spec`, fully determined by `seed` and `sample`: the
 * teacher that labels them depends on `seed` only, the examples on both (0: training data,
 * another number: held-out data from the same task).
 */
export function synthetic(spec: readonly SyntheticInput[], size: number, seed: number, sample = 0): TensorDataset {
  if (!Number.isInteger(sample) || sample < 0) throw new Error(`synthetic: sample must be a non-negative integer, got ${sample}`);
  if (!Number.isInteger(size) || size < 0) throw new Error(`synthetic: size must be a non-negative integer, got ${size}`);
  const names = new Set<string>();
  for (const s of spec) {
    if (names.has(s.name)) throw new Error(`synthetic: input '${s.name}' is listed twice`);
    names.add(s.name);
    for (const d of s.shape)
      if (!Number.isInteger(d) || d < 1)
        throw new Error(`synthetic: input '${s.name}' has shape [${s.shape.join(", ")}]; dimensions must be positive integers`);
    if (isInteger(s.dtype) && (s.high === undefined || !Number.isInteger(s.high) || s.high < 1 || s.high > 2 ** 31))
      throw new Error(
        `synthetic: integer input '${s.name}' (${s.dtype}) needs high, the exclusive upper bound of its values (an integer ≥ 1), got ${s.high}`,
      );
  }
  const role = (s: SyntheticInput) => s.role ?? (LABEL_NAMES.has(s.name.toLowerCase()) ? "label" : "feature");
  const features = spec.filter((s) => role(s) === "feature");
  const labels = spec.filter((s) => role(s) === "label");

  const root = new Rng(seed);
  const teacher = root.fork(1);
  // sample 0 keeps the streams training data has always used
  const draws = sample === 0 ? root.fork(2) : root.fork(2).fork(sample);
  const noise = sample === 0 ? root.fork(3) : root.fork(3).fork(sample);

  const arrays = new Map<string, BatchBuffer>();
  // features
  for (const s of features) {
    const m = numelOf(s.shape);
    const a = allocBuffer(s.dtype, size * m);
    if (a instanceof Float32Array) draws.normal(a);
    else if (s.dtype === "bool") for (let i = 0; i < a.length; i++) a[i] = draws.nextU32() >>> 31;
    else for (let i = 0; i < a.length; i++) a[i] = draws.int(s.high!);
    arrays.set(s.name, a);
  }

  if (labels.length > 0) {
    // φ(x) for every example, built so that its coordinates are uncorrelated with unit
    // variance: then orthonormal class directions give scores with identity covariance, and
    // argmax labels come out (nearly) balanced.
    const parts: { s: SyntheticInput; m: number; dim: number; proj?: Float32Array; embed?: Float32Array }[] = [];
    for (const s of features) {
      const m = numelOf(s.shape);
      if (isInteger(s.dtype)) {
        const high = s.high!;
        const dim = Math.min(EMBED_DIM, high - 1);
        if (dim === 0) continue; // a constant input carries no information
        parts.push({ s, m, dim, embed: centredOrthonormalColumns(high, dim, Math.sqrt(high * m), teacher) });
      } else {
        // rows orthonormal: Px has identity covariance for x ~ N(0, I) (and for ±1 coin flips)
        const dim = Math.min(m, PROJ_DIM);
        const proj = new Float32Array(dim * m);
        orthogonal(proj, [dim, m], teacher);
        parts.push({ s, m, dim, proj });
      }
    }
    const D = parts.reduce((a, p) => a + p.dim, 0);
    const phi = new Float64Array(size * D);
    let off = 0;
    for (const p of parts) {
      const src = arrays.get(p.s.name)!;
      for (let e = 0; e < size; e++) {
        const base = e * p.m;
        const dst = e * D + off;
        if (p.embed) {
          for (let j = 0; j < p.m; j++) {
            const id = src[base + j]!;
            for (let k = 0; k < p.dim; k++) phi[dst + k]! += p.embed[id * p.dim + k]! / p.m;
          }
        } else {
          const bool = p.s.dtype === "bool";
          for (let k = 0; k < p.dim; k++) {
            let acc = 0;
            for (let j = 0; j < p.m; j++) acc += p.proj![k * p.m + j]! * (bool ? 2 * src[base + j]! - 1 : src[base + j]!);
            phi[dst + k] = acc;
          }
        }
      }
      off += p.dim;
    }

    for (const s of labels) {
      const m = numelOf(s.shape);
      const out = allocBuffer(s.dtype, size * m);
      if (s.dtype === "f32") {
        const w = new Float64Array(m * D);
        teacher.normal(w);
        const scale = D > 0 ? 1 / Math.sqrt(D) : 0;
        for (let e = 0; e < size; e++)
          for (let l = 0; l < m; l++) {
            let acc = 0;
            for (let d = 0; d < D; d++) acc += w[l * D + d]! * phi[e * D + d]!;
            out[e * m + l] = acc * scale + 0.1 * noise.nextNormal();
          }
      } else {
        const classes = s.dtype === "bool" ? 2 : s.high!;
        const aligned = features.find(
          (f) => isInteger(f.dtype) && f.shape.length === s.shape.length && f.shape.every((d, i) => d === s.shape[i]),
        );
        if (aligned) {
          // per-position lookup label[e] = T[id[e]]
          const table = new Int32Array(aligned.high!);
          for (let i = 0; i < table.length; i++) table[i] = teacher.int(classes);
          const ids = arrays.get(aligned.name)!;
          for (let i = 0; i < out.length; i++) out[i] = table[ids[i]!]!;
        } else if (D === 0) {
          // nothing to depend on: uniform labels
          for (let i = 0; i < out.length; i++) out[i] = draws.int(classes);
        } else {
          // orthonormal class directions per label element (orthonormal columns when classes > D)
          const w = new Float64Array(m * classes * D);
          for (let l = 0; l < m; l++) orthogonal(w.subarray(l * classes * D, (l + 1) * classes * D), [classes, D], teacher);
          for (let e = 0; e < size; e++)
            for (let l = 0; l < m; l++) {
              let best = 0;
              let bestV = -Infinity;
              for (let c = 0; c < classes; c++) {
                let acc = 0;
                const row = (l * classes + c) * D;
                for (let d = 0; d < D; d++) acc += w[row + d]! * phi[e * D + d]!;
                if (acc > bestV) {
                  bestV = acc;
                  best = c;
                }
              }
              out[e * m + l] = best;
            }
        }
      }
      arrays.set(s.name, out);
    }
  }

  const shapes = new Map<string, InputSpec>(spec.map((s) => [s.name, { shape: [...s.shape], dtype: s.dtype }]));
  return new TensorDataset(shapes, arrays, size);
}

/** Synthetic training data (16 batches) and held-out data (4 batches: other examples, same teacher) for a trainer's inputs, from its seed. */
export function syntheticSplit(trainer: Pick<Trainer, "batch" | "seed" | "exampleInputs" | "integerRange">): {
  train: TensorDataset;
  test: TensorDataset;
} {
  const spec = trainer.exampleInputs.map((i) => ({
    name: i.name,
    shape: i.shape,
    dtype: i.dtype,
    ...(i.dtype === "i32" ? { high: trainer.integerRange(i.name) } : {}),
  }));
  return { train: synthetic(spec, trainer.batch * 16, trainer.seed), test: synthetic(spec, trainer.batch * 4, trainer.seed, 1) };
}

/**
 * A high×dim embedding table whose columns have zero mean and are orthonormal, times `scale`:
 * the mean of m uniformly drawn rows then has uncorrelated coordinates of variance scale²/(high·m).
 */
function centredOrthonormalColumns(high: number, dim: number, scale: number, rng: Rng): Float32Array {
  const e = new Float64Array(high * dim);
  rng.normal(e);
  for (let k = 0; k < dim; k++) {
    let mean = 0;
    for (let i = 0; i < high; i++) mean += e[i * dim + k]!;
    mean /= high;
    for (let i = 0; i < high; i++) e[i * dim + k]! -= mean;
    // modified Gram–Schmidt against the previous columns (keeps the zero mean)
    for (let p = 0; p < k; p++) {
      let dot = 0;
      for (let i = 0; i < high; i++) dot += e[i * dim + p]! * e[i * dim + k]!;
      for (let i = 0; i < high; i++) e[i * dim + k]! -= dot * e[i * dim + p]!;
    }
    let norm = 0;
    for (let i = 0; i < high; i++) norm += e[i * dim + k]! ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < high; i++) e[i * dim + k]! /= norm;
  }
  return Float32Array.from(e, (v) => v * scale);
}
