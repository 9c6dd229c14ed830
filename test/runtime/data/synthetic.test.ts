import { describe, expect, it } from "vitest";
import { allocBatch, type BatchBuffer, type Dataset } from "../../../runtime/data/dataset.js";
import { synthetic, syntheticSplit } from "../../../runtime/data/synthetic.js";

function all(ds: Dataset): Map<string, BatchBuffer> {
  const out = allocBatch(ds, ds.length);
  ds.fillBatch(
    Int32Array.from({ length: ds.length }, (_, i) => i),
    out,
  );
  return out;
}

/** accuracy of the nearest-class-mean classifier fitted on the first half, tested on the second */
function nearestMeanAccuracy(x: ArrayLike<number>, dim: number, y: ArrayLike<number>, classes: number): number {
  const n = y.length;
  const half = n >> 1;
  const means = new Float64Array(classes * dim);
  const counts = new Float64Array(classes);
  for (let i = 0; i < half; i++) {
    counts[y[i]!]!++;
    for (let d = 0; d < dim; d++) means[y[i]! * dim + d]! += x[i * dim + d]!;
  }
  for (let c = 0; c < classes; c++) for (let d = 0; d < dim; d++) means[c * dim + d]! /= Math.max(1, counts[c]!);
  let right = 0;
  for (let i = half; i < n; i++) {
    let best = -1,
      bestD = Infinity;
    for (let c = 0; c < classes; c++) {
      if (counts[c] === 0) continue;
      let dist = 0;
      for (let d = 0; d < dim; d++) dist += (x[i * dim + d]! - means[c * dim + d]!) ** 2;
      if (dist < bestD) {
        bestD = dist;
        best = c;
      }
    }
    if (best === y[i]) right++;
  }
  return right / (n - half);
}

describe("synthetic", () => {
  it("is deterministic per seed and fills each dtype in range", () => {
    const spec = [
      { name: "x", shape: [3, 4], dtype: "f32" as const, batched: true },
      { name: "tokens", shape: [5], dtype: "i64" as const, high: 7 },
      { name: "edges", shape: [2, 6], dtype: "i64" as const, high: 4 },
      { name: "mask", shape: [5], dtype: "bool" as const },
      { name: "labels", shape: [], dtype: "i64" as const, high: 3 },
    ];
    const a = all(synthetic(spec, 500, 1));
    const b = all(synthetic(spec, 500, 1));
    const c = all(synthetic(spec, 500, 2));
    for (const k of a.keys()) expect(a.get(k)).toEqual(b.get(k));
    expect(a.get("x")).not.toEqual(c.get("x"));
    const inRange = (arr: BatchBuffer, lo: number, hi: number) => [...arr].every((v) => Number.isInteger(v) && v >= lo && v < hi);
    expect(inRange(a.get("tokens")!, 0, 7)).toBe(true);
    expect(inRange(a.get("edges")!, 0, 4)).toBe(true); // valid node indices
    expect(inRange(a.get("mask")!, 0, 2)).toBe(true);
    expect(inRange(a.get("labels")!, 0, 3)).toBe(true);
    // every value of a small range occurs
    expect(new Set(a.get("tokens")).size).toBe(7);
    expect(new Set(a.get("labels")).size).toBe(3);
    // float features ~ N(0, 1)
    const x = a.get("x")!;
    const mean = [...x].reduce((s, v) => s + v, 0) / x.length;
    const variance = [...x].reduce((s, v) => s + (v - mean) ** 2, 0) / x.length;
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(variance - 1)).toBeLessThan(0.06);
  });

  it("class labels depend learnably on float features (a linear classifier beats chance by far)", () => {
    const ds = synthetic(
      [
        { name: "x", shape: [8], dtype: "f32" },
        { name: "labels", shape: [], dtype: "i64", high: 4 },
      ],
      4000,
      3,
    );
    const d = all(ds);
    const acc = nearestMeanAccuracy(d.get("x")!, 8, d.get("labels")!, 4);
    expect(acc).toBeGreaterThan(0.6); // chance: ~0.25
    const counts = [0, 0, 0, 0];
    for (const v of d.get("labels")!) counts[v]!++;
    for (const c of counts) expect(c).toBeGreaterThan(300);
  });

  it("held-out data is new examples labelled by the training data's teacher", () => {
    // a trainer-shaped spec: x and class labels; the held-out split must be the same task
    const trainer = {
      batch: 250,
      seed: 7,
      exampleInputs: [
        { name: "x", shape: [8], dtype: "f32" as const, batched: true },
        { name: "labels", shape: [], dtype: "i32" as const, batched: true },
      ],
      integerRange: () => 4,
    };
    const { train, test } = syntheticSplit(trainer);
    const tr = all(train);
    const te = all(test);
    expect(te.get("x")!.subarray(0, 8)).not.toEqual(tr.get("x")!.subarray(0, 8));
    // nearest class means fitted on the training split classify the held-out split (the helper
    // fits on the first half and tests on the second: put the training data first)
    const n = 1000; // 4 held-out batches; as many training examples
    const x = new Float32Array(2 * n * 8);
    x.set(tr.get("x")!.subarray(0, n * 8));
    x.set(te.get("x")!.subarray(0, n * 8), n * 8);
    const y = new Int32Array(2 * n);
    y.set(tr.get("labels")!.subarray(0, n));
    y.set(te.get("labels")!.subarray(0, n), n);
    expect(nearestMeanAccuracy(x, 8, y, 4)).toBeGreaterThan(0.6); // another teacher: ~0.25

    // per-position lookups: the same table on both splits
    const seq = {
      ...trainer,
      exampleInputs: [
        { name: "tokens", shape: [6], dtype: "i32" as const, batched: true },
        { name: "targets", shape: [6], dtype: "i32" as const, batched: true },
      ],
      integerRange: () => 20,
    };
    const s = syntheticSplit(seq);
    const table = new Map<number, number>();
    const [a, b] = [all(s.train), all(s.test)];
    for (const d of [a, b])
      for (let i = 0; i < d.get("tokens")!.length; i++) {
        const t = d.get("tokens")![i]!;
        const want = table.get(t);
        if (want !== undefined) expect(d.get("targets")![i]).toBe(want);
        table.set(t, d.get("targets")![i]!);
      }
  });

  it("labels of token sequences depend on the bag of tokens", () => {
    const d = all(
      synthetic(
        [
          { name: "tokens", shape: [12], dtype: "i32", high: 10 },
          { name: "labels", shape: [], dtype: "i64", high: 2 },
        ],
        4000,
        4,
      ),
    );
    const tok = d.get("tokens")!;
    const bag = new Float64Array(4000 * 10);
    for (let e = 0; e < 4000; e++) for (let j = 0; j < 12; j++) bag[e * 10 + tok[e * 12 + j]!]!++;
    expect(nearestMeanAccuracy(bag, 10, d.get("labels")!, 2)).toBeGreaterThan(0.7);
  });

  it("per-position labels (same shape as the tokens) are a fixed function of each token", () => {
    const d = all(
      synthetic(
        [
          { name: "tokens", shape: [6], dtype: "i64", high: 20 },
          { name: "targets", shape: [6], dtype: "i64", high: 20 },
        ],
        300,
        5,
      ),
    );
    const map = new Map<number, number>();
    const tok = d.get("tokens")!;
    const tgt = d.get("targets")!;
    for (let i = 0; i < tok.length; i++) {
      const prev = map.get(tok[i]!);
      if (prev !== undefined) expect(tgt[i]).toBe(prev);
      map.set(tok[i]!, tgt[i]!);
    }
    expect(new Set(map.values()).size).toBeGreaterThan(5);
  });

  it("regression targets are mostly explained by the features", () => {
    const d = all(
      synthetic(
        [
          { name: "x", shape: [3], dtype: "f32" },
          { name: "y", shape: [], dtype: "f32" },
        ],
        2000,
        6,
      ),
    );
    // least squares y ≈ Xw (3×3 normal equations by Cramer's rule)
    const x = d.get("x")!;
    const y = d.get("y")!;
    const A = [0, 0, 0, 0, 0, 0, 0, 0, 0];
    const b = [0, 0, 0];
    for (let i = 0; i < 2000; i++)
      for (let r = 0; r < 3; r++) {
        b[r]! += x[i * 3 + r]! * y[i]!;
        for (let c = 0; c < 3; c++) A[r * 3 + c]! += x[i * 3 + r]! * x[i * 3 + c]!;
      }
    const det = (m: number[]) =>
      m[0]! * (m[4]! * m[8]! - m[5]! * m[7]!) - m[1]! * (m[3]! * m[8]! - m[5]! * m[6]!) + m[2]! * (m[3]! * m[7]! - m[4]! * m[6]!);
    const D = det(A);
    const w = [0, 1, 2].map((k) => det(A.map((v, idx) => (idx % 3 === k ? b[Math.floor(idx / 3)]! : v))) / D);
    let ssRes = 0,
      ssTot = 0;
    for (let i = 0; i < 2000; i++) {
      const pred = w[0]! * x[i * 3]! + w[1]! * x[i * 3 + 1]! + w[2]! * x[i * 3 + 2]!;
      ssRes += (y[i]! - pred) ** 2;
      ssTot += y[i]! ** 2;
    }
    expect(1 - ssRes / ssTot).toBeGreaterThan(0.9);
  });

  it("rejects integer inputs without high and bad shapes", () => {
    expect(() => synthetic([{ name: "ids", shape: [3], dtype: "i64" }], 10, 0)).toThrow(/integer input 'ids' \(i64\) needs high/);
    expect(() => synthetic([{ name: "x", shape: [0], dtype: "f32" }], 10, 0)).toThrow(/positive integers/);
  });
});
