// Augmentation of training batches: shifts and flips checked against a direct definition,
// draws that depend only on (seed, step, example), and in-place work on the batch only.

import { describe, expect, it } from "vitest";
import { Augmenter, shift } from "../../../runtime/data/augment.js";

/** out[i][j] = in[i − dy][j − dx] or 0, written out directly. */
function shiftedNaive(a: Float32Array, h: number, w: number, dy: number, dx: number): Float32Array {
  const out = new Float32Array(h * w);
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++) {
      const si = i - dy;
      const sj = j - dx;
      if (si >= 0 && si < h && sj >= 0 && sj < w) out[i * w + j] = a[si * w + sj]!;
    }
  return out;
}

const ramp = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => i + 1);

describe("shift", () => {
  it("matches the direct definition for every offset up to the image size, on a non-square plane", () => {
    const h = 5;
    const w = 7;
    for (let dy = -h; dy <= h; dy++)
      for (let dx = -w; dx <= w; dx++) {
        const plane = ramp(h * w);
        shift(plane, h, w, dy, dx, new Float32Array(h * w));
        expect(Array.from(plane), `dy ${dy} dx ${dx}`).toEqual(Array.from(shiftedNaive(ramp(h * w), h, w, dy, dx)));
      }
  });
});

describe("Augmenter", () => {
  const shapes = new Map([["x", [2, 6, 6]]]);
  const batch = (): Map<string, Float32Array> => new Map([["x", ramp(4 * 2 * 36)]]);

  it("random_shift moves every channel of an example by the same offset, within the bound, and examples differently", () => {
    const aug = new Augmenter([{ name: "random_shift", input: "x", pixels: 2 }], shapes);
    const offsets = new Set<string>();
    for (let step = 0; step < 20; step++) {
      const feeds = batch();
      aug.apply(feeds, 4, 0, step);
      const x = feeds.get("x")!;
      for (let b = 0; b < 4; b++) {
        const original = ramp(4 * 2 * 36).subarray(b * 72, b * 72 + 72);
        // find the offset that explains channel 0, then check channel 1 moved the same way
        let found: [number, number] | undefined;
        for (let dy = -2; dy <= 2 && !found; dy++)
          for (let dx = -2; dx <= 2 && !found; dx++)
            if (shiftedNaive(original.subarray(0, 36), 6, 6, dy, dx).every((v, i) => v === x[b * 72 + i])) found = [dy, dx];
        expect(found, `step ${step} example ${b}`).toBeDefined();
        const [dy, dx] = found!;
        expect(Array.from(x.subarray(b * 72 + 36, b * 72 + 72))).toEqual(Array.from(shiftedNaive(original.subarray(36), 6, 6, dy, dx)));
        offsets.add(`${dy},${dx}`);
      }
    }
    expect(offsets.size).toBeGreaterThan(15); // 80 draws over 25 offsets
  });

  it("random_flip mirrors rows or leaves the example alone, about half the time", () => {
    const aug = new Augmenter([{ name: "random_flip", input: "x", pixels: 0 }], shapes);
    let flipped = 0;
    for (let step = 0; step < 50; step++) {
      const feeds = batch();
      aug.apply(feeds, 4, 1, step);
      const x = feeds.get("x")!;
      const original = ramp(4 * 72);
      for (let b = 0; b < 4; b++) {
        const same = x.subarray(b * 72, b * 72 + 72).every((v, i) => v === original[b * 72 + i]);
        if (!same) {
          flipped++;
          for (let r = 0; r < 12; r++)
            expect(Array.from(x.subarray(b * 72 + r * 6, b * 72 + r * 6 + 6))).toEqual(
              Array.from(original.subarray(b * 72 + r * 6, b * 72 + r * 6 + 6)).reverse(),
            );
        }
      }
    }
    expect(flipped).toBeGreaterThan(70);
    expect(flipped).toBeLessThan(130);
  });

  it("draws depend only on seed, step and example: the same call twice agrees, another seed or step differs", () => {
    const aug = new Augmenter([{ name: "random_shift", input: "x", pixels: 3 }], shapes);
    const run = (seed: number, step: number): number[] => {
      const feeds = batch();
      aug.apply(feeds, 4, seed, step);
      return Array.from(feeds.get("x")!);
    };
    expect(run(5, 9)).toEqual(run(5, 9));
    expect(run(5, 9)).not.toEqual(run(6, 9));
    expect(run(5, 9)).not.toEqual(run(5, 10));
  });

  it("touches only the first n examples (a short last batch)", () => {
    const aug = new Augmenter([{ name: "random_shift", input: "x", pixels: 2 }], shapes);
    const feeds = batch();
    aug.apply(feeds, 1, 0, 0);
    expect(Array.from(feeds.get("x")!.subarray(72))).toEqual(Array.from(ramp(4 * 72).subarray(72)));
  });

  it("refuses an input that is not an image batch", () => {
    expect(() => new Augmenter([{ name: "random_flip", input: "v", pixels: 0 }], new Map([["v", [8]]]))).toThrow(/not an image batch/);
  });
});
