// Data augmentation of training batches, in place on the batch buffers: random shifts
// (zero fill) and left-right flips of image inputs [B, …, H, W]. The random draws are
// counter-based (Philox keyed by the run's seed, counted by step and example), so a resumed
// run augments exactly as the uninterrupted one would, with no state to checkpoint; the
// scratch plane is allocated once.

import type { AugmentSetup } from "../../compiler/train.js";
import type { BatchBuffer } from "./dataset.js";
import { philox4x32_10 } from "../rng.js";

/** Philox key word that separates augmentation draws from every other stream of a run. */
const AUGMENT_STREAM = 0x617567;

export class Augmenter {
  private readonly scratch: Float32Array;
  private readonly ctr = new Uint32Array(4);
  private readonly key = new Uint32Array(2);
  private readonly bits = new Uint32Array(4);

  /** `shapes`: each input's per-example shape (without the batch axis). */
  constructor(
    private readonly list: readonly AugmentSetup[],
    private readonly shapes: ReadonlyMap<string, readonly number[]>,
  ) {
    let plane = 0;
    for (const a of list) {
      const s = shapes.get(a.input);
      if (!s || s.length < 2) throw new Error(`augmentation ${a.name}: input '${a.input}' is not an image batch [B, …, H, W]`);
      plane = Math.max(plane, s.at(-2)! * s.at(-1)!);
    }
    this.scratch = new Float32Array(plane);
  }

  get active(): boolean {
    return this.list.length > 0;
  }

  /** Augment the first `n` examples of `feeds` for training step `step` of a run seeded `seed`. */
  apply(feeds: ReadonlyMap<string, BatchBuffer>, n: number, seed: number, step: number): void {
    this.key[0] = seed >>> 0;
    this.key[1] = AUGMENT_STREAM;
    for (const [k, a] of this.list.entries()) {
      const data = feeds.get(a.input);
      if (!(data instanceof Float32Array)) throw new Error(`augmentation ${a.name}: input '${a.input}' is not a float32 batch`);
      const shape = this.shapes.get(a.input)!;
      const h = shape.at(-2)!;
      const w = shape.at(-1)!;
      const planes = shape.slice(0, -2).reduce((p, d) => p * d, 1);
      for (let b = 0; b < n; b++) {
        this.ctr[0] = step >>> 0;
        this.ctr[1] = b;
        this.ctr[2] = k;
        this.ctr[3] = 0;
        philox4x32_10(this.ctr, this.key, this.bits);
        const example = data.subarray(b * planes * h * w, (b + 1) * planes * h * w);
        if (a.name === "random_flip") {
          if (this.bits[0]! & 1) for (let p = 0; p < planes; p++) flipRows(example.subarray(p * h * w, (p + 1) * h * w), h, w);
        } else {
          const span = 2 * a.pixels + 1;
          const dy = (this.bits[0]! % span) - a.pixels;
          const dx = (this.bits[1]! % span) - a.pixels;
          if (dx !== 0 || dy !== 0)
            for (let p = 0; p < planes; p++) shift(example.subarray(p * h * w, (p + 1) * h * w), h, w, dy, dx, this.scratch);
        }
      }
    }
  }
}

/** out[i][j] = in[i − dy][j − dx], zero outside the image. */
export function shift(plane: Float32Array, h: number, w: number, dy: number, dx: number, scratch: Float32Array): void {
  const out = scratch.subarray(0, h * w);
  out.fill(0);
  const j0 = Math.max(0, dx);
  const j1 = Math.min(w, w + dx);
  for (let i = Math.max(0, dy); i < Math.min(h, h + dy); i++) {
    const src = (i - dy) * w - dx;
    out.set(plane.subarray(src + j0, src + j1), i * w + j0);
  }
  plane.set(out);
}

function flipRows(plane: Float32Array, h: number, w: number): void {
  for (let i = 0; i < h; i++) plane.subarray(i * w, (i + 1) * w).reverse();
}
