import { describe, expect, it } from "vitest";
import { allocBatch, Batcher, TensorDataset, type BatchBuffer, type InputSpec } from "../../../runtime/data/dataset.js";
import { Rng } from "../../../runtime/rng.js";

function toy(n: number): TensorDataset {
  // example i: x = [i, 10i], label = i % 3, mask = i % 2
  const x = new Float32Array(n * 2);
  const y = new Int32Array(n);
  const m = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x[2 * i] = i;
    x[2 * i + 1] = 10 * i;
    y[i] = i % 3;
    m[i] = i % 2;
  }
  const shapes = new Map<string, InputSpec>([
    ["x", { shape: [2], dtype: "f32" }],
    ["labels", { shape: [], dtype: "i64" }],
    ["mask", { shape: [], dtype: "bool" }],
  ]);
  return new TensorDataset(
    shapes,
    new Map<string, BatchBuffer>([
      ["x", x],
      ["labels", y],
      ["mask", m],
    ]),
    n,
  );
}

describe("TensorDataset", () => {
  it("fills preallocated batch buffers row by row", () => {
    const ds = toy(10);
    const out = allocBatch(ds, 4);
    expect(out.get("x")).toBeInstanceOf(Float32Array);
    expect(out.get("labels")).toBeInstanceOf(Int32Array);
    expect(out.get("mask")).toBeInstanceOf(Uint8Array);
    ds.fillBatch(Int32Array.of(7, 2, 5), out);
    expect([...out.get("x")!.subarray(0, 6)]).toEqual([7, 70, 2, 20, 5, 50]);
    expect([...out.get("labels")!.subarray(0, 3)]).toEqual([1, 2, 2]);
    expect([...out.get("mask")!.subarray(0, 3)]).toEqual([1, 0, 1]);
  });

  it("subsets share storage and index through their rows; reshape and rename", () => {
    const ds = toy(10)
      .subset(Int32Array.of(9, 3, 4))
      .subset(Int32Array.of(2, 0));
    expect(ds.length).toBe(2);
    const out = allocBatch(ds, 2);
    ds.fillBatch(Int32Array.of(0, 1), out);
    expect([...out.get("x")!]).toEqual([4, 40, 9, 90]);
    const r = ds.reshape("x", [1, 2]).rename("x", "image");
    expect(r.shapes.get("image")).toEqual({ shape: [1, 2], dtype: "f32" });
    expect(() => ds.reshape("x", [3])).toThrow(/2 values per example/);
  });

  it("rejects bad indices and small buffers", () => {
    const ds = toy(5);
    expect(() => ds.fillBatch(Int32Array.of(5), allocBatch(ds, 1))).toThrow(/index 5 out of range \[0, 5\)/);
    expect(() => ds.fillBatch(Int32Array.of(0, 1), allocBatch(ds, 1))).toThrow(/holds 1 examples, batch has 2/);
  });
});

describe("Batcher", () => {
  it("covers every index once per epoch, in batches of the right sizes, then signals the epoch's end", () => {
    const b = new Batcher(10, 4, new Rng(1));
    expect(b.batchesPerEpoch).toBe(3);
    for (let epoch = 1; epoch <= 3; epoch++) {
      const seen: number[] = [];
      const sizes: number[] = [];
      for (let batch = b.next(); batch; batch = b.next()) {
        sizes.push(batch.length);
        seen.push(...batch);
      }
      expect(b.epoch).toBe(epoch);
      expect(sizes).toEqual([4, 4, 2]);
      expect([...seen].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
  });

  it("reshuffles each epoch, deterministically per seed; shuffle false keeps order", () => {
    const epochs = (seed: number) => {
      const b = new Batcher(20, 20, new Rng(seed));
      const e1 = [...b.next()!];
      b.next();
      const e2 = [...b.next()!];
      return [e1, e2];
    };
    const [a1, a2] = epochs(5);
    expect(a1).not.toEqual(a2);
    expect(epochs(5)).toEqual([a1, a2]);
    expect(epochs(6)[0]).not.toEqual(a1);
    const plain = new Batcher(5, 2, new Rng(0), { shuffle: false });
    expect([[...plain.next()!], [...plain.next()!], [...plain.next()!]]).toEqual([[0, 1], [2, 3], [4]]);
  });

  it("drop_last drops the short batch", () => {
    const b = new Batcher(10, 4, new Rng(1), { dropLast: true });
    expect(b.batchesPerEpoch).toBe(2);
    const sizes: number[] = [];
    for (const batch of b.epochBatches()) sizes.push(batch.length);
    expect(sizes).toEqual([4, 4]);
    const tiny = new Batcher(3, 4, new Rng(1), { dropLast: true });
    expect(tiny.next()).toBeUndefined();
  });

  it("resumes mid-epoch from its state with the same batches, now and in later epochs", () => {
    const a = new Batcher(11, 3, new Rng(42));
    a.next();
    a.next();
    const s = a.state();
    const rest = (b: Batcher) => {
      const out: number[][] = [];
      for (let i = 0; i < 10; i++) out.push([...(b.next() ?? [-1])]);
      return out;
    };
    const b = new Batcher(11, 3, new Rng(999));
    b.loadState(s, (st) => Rng.fromState(st));
    expect(rest(b)).toEqual(rest(a));
    // at an epoch boundary too
    const c = new Batcher(11, 3, new Rng(7));
    for (let i = 0; i < 5; i++) c.next(); // 4 batches + the end marker
    const d = new Batcher(11, 3, new Rng(0));
    d.loadState(c.state(), (st) => Rng.fromState(st));
    expect(rest(d)).toEqual(rest(c));
  });
});
