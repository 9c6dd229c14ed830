// Training through the real pipeline (source → check → lower → training graph → Trainer):
// checkpoints resume a run bit for bit, a diverging run stops naming the step and the first
// bad tensor and leaves the last checkpoint alone, bad checkpoints give clear errors, and a
// seed fixes everything.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TensorDataset } from "../../runtime/data/dataset.js";
import { synthetic } from "../../runtime/data/synthetic.js";
import { writeSafetensors } from "../../runtime/safetensors.js";
import { NonFiniteError, Trainer, type TrainerOptions } from "../../runtime/trainer.js";
import { loadModel, root, type Loaded } from "./harness.js";

const dir = join(root, "tmp", `pipeline-training-${process.pid}`);
beforeAll(() => mkdirSync(dir, { recursive: true }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// An MLP classifier with dropout (so the per-step randomness must resume too) and Adam (so
// the optimiser state must).
const MLP = `
model MLP(features: int = 8, classes: int = 3) {
  input x: f32[B, features]
  h = x |> linear(16) |> relu |> dropout(0.2)
  output logits = h |> linear(classes) as head
}

train MLP {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = adam(lr: 0.01)
  batch = 8
  epochs = 2
  seed = 3
}
`;

const OTHER = `
model Other {
  input x: f32[B, 8]
  output logits = linear(x, 3) as only
}

train Other {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = adam(lr: 0.01)
  batch = 8
}
`;

const mlp = loadModel(MLP, "MLP", { name: join(root, "tmp", "mlp.dlm") });

// A small image classifier whose training batches are shifted and flipped.
const AUGMENTED = (augment: string): string => `
model Conv {
  input x: f32[B, 1, 8, 8]
  output logits = x |> conv2d(4, 3, padding: 1) |> relu |> flatten |> linear(3)
}

train Conv {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = sgd(lr: 0.05, momentum: 0.9)
  batch = 8
  ${augment}
}
`;

/** Learnable synthetic data for a trainer's inputs (as `dlm train --data synthetic` builds it). */
function dataFor(t: Trainer, size: number, seed: number): TensorDataset {
  return synthetic(
    t.inputs.map((i) => ({
      name: i.name,
      shape: i.shape.slice(1),
      dtype: i.dtype as "f32" | "i32",
      ...(i.dtype === "i32" ? { high: t.integerRange(i.name) } : {}),
    })),
    size,
    seed,
  );
}

const trainer = (l: Loaded, options: TrainerOptions = {}): Trainer => new Trainer(l.graph, l.train!, options);

function snapshot(t: Trainer): Map<string, Uint8Array> {
  return new Map([...t.values].map(([k, v]) => [k, new Uint8Array(v.slice().buffer)]));
}

describe("checkpoints resume a run exactly", () => {
  it("2 epochs straight = 1 epoch, save, a new Trainer, load, 1 epoch (bit-identical parameters)", async () => {
    const straight = trainer(mlp);
    const data = dataFor(straight, 64, 7);
    const l1 = straight.trainEpoch(data);
    const l2 = straight.trainEpoch(data);
    expect(l1.steps).toBe(8);

    const first = trainer(mlp);
    const r1 = first.trainEpoch(data);
    expect(r1.loss).toBe(l1.loss);
    const ckpt = join(dir, "resume.safetensors");
    await first.save(ckpt);

    const resumed = trainer(mlp);
    await resumed.load(ckpt);
    expect(resumed.step).toBe(8);
    expect(resumed.epoch).toBe(1);
    const r2 = resumed.trainEpoch(data);
    expect(r2.loss).toBe(l2.loss);
    expect(r2.epoch).toBe(2);
    const a = snapshot(straight);
    const b = snapshot(resumed);
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [k, v] of a) expect(Buffer.compare(Buffer.from(v), Buffer.from(b.get(k)!)), k).toBe(0);
    // and the run did something: the parameters moved from the initial ones
    expect(Buffer.compare(Buffer.from(snapshot(trainer(mlp)).get("head.weight")!), Buffer.from(a.get("head.weight")!))).not.toBe(0);
  });

  it("a resumed run keeps the checkpoint's seed (its dropout draws), whatever the new Trainer was given", async () => {
    const straight = trainer(mlp, { seed: 21 });
    const data = dataFor(straight, 32, 8);
    straight.trainEpoch(data);
    const ckpt = join(dir, "seeded.safetensors");
    await straight.save(ckpt);
    const l2 = straight.trainEpoch(data);
    const resumed = trainer(mlp, { seed: 22 });
    await resumed.load(ckpt);
    expect(resumed.seed).toBe(21);
    expect(resumed.trainEpoch(data).loss).toBe(l2.loss);
  });

  it("weights-only load restores parameters but not the counters", async () => {
    const t = trainer(mlp);
    t.trainEpoch(dataFor(t, 32, 1));
    const ckpt = join(dir, "weights.safetensors");
    await t.save(ckpt);
    const u = trainer(mlp, { seed: 99 });
    await u.load(ckpt, { weightsOnly: true });
    expect(u.step).toBe(0);
    for (const [k, v] of t.values) expect(Array.from(u.values.get(k)!)).toEqual(Array.from(v));
  });
});

describe("augmentation", () => {
  const augmented = loadModel(AUGMENTED("augment = [random_shift(2), random_flip()]"), "Conv", { name: join(root, "tmp", "conv.dlm") });
  const plain = loadModel(AUGMENTED(""), "Conv", { name: join(root, "tmp", "conv.dlm") });

  it("changes what training sees but not evaluation, and resumes bit for bit from a checkpoint", async () => {
    const a = trainer(augmented);
    const data = dataFor(a, 64, 4);
    const p = trainer(plain);
    // same initial parameters: evaluation is not augmented
    expect(a.evaluate(data).loss).toBe(p.evaluate(data).loss);
    const la = a.trainEpoch(data);
    expect(la.loss).not.toBe(p.trainEpoch(data).loss);

    const ckpt = join(dir, "augmented.safetensors");
    await a.save(ckpt);
    const l2 = a.trainEpoch(data);
    const resumed = trainer(augmented);
    await resumed.load(ckpt);
    expect(resumed.trainEpoch(data).loss).toBe(l2.loss);
    for (const [k, v] of snapshot(a)) expect(Buffer.compare(Buffer.from(v), Buffer.from(snapshot(resumed).get(k)!)), k).toBe(0);
  });
});

describe("a non-finite loss stops the run", () => {
  it("lr 1e30: NonFiniteError names the step and the first bad tensor; the checkpoint saved before is untouched", async () => {
    const t = trainer(mlp, { lr: 1e30 });
    const data = dataFor(t, 64, 2);
    const feeds = new Map<string, Float32Array | Int32Array>([
      ["x", new Float32Array(8 * 8)],
      ["labels", new Int32Array(8)],
    ]);
    data.fillBatch(
      Int32Array.from({ length: 8 }, (_, i) => i),
      feeds,
    );
    expect(Number.isFinite(t.trainStep(feeds))).toBe(true); // step 1 is fine, the update is enormous
    const ckpt = join(dir, "before-divergence.safetensors");
    await t.save(ckpt);
    const bytes = readFileSync(ckpt);
    let err: unknown;
    try {
      for (let i = 0; i < 20; i++) t.trainStep(feeds);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NonFiniteError);
    const e = err as NonFiniteError;
    expect(e.step).toBeGreaterThanOrEqual(2);
    expect(e.message).toContain(`step ${e.step}`);
    expect(e.message).toContain(e.tensor);
    expect(e.tensor).toMatch(/parameter '|the result of /);
    expect(Buffer.compare(readFileSync(ckpt), bytes)).toBe(0);
  });

  it("the log of a negative value: the first bad tensor is the log, with its source line", () => {
    const src = `model NegLog {
  input x: f32[B, 2]
  output y = linear(x, 1) as fc
}

train NegLog {
  input t: f32[B, 1]
  loss = mean(log(y - 1000.0) - t)
  optimizer = sgd(lr: 0.1)
  batch = 4
}
`;
    const l = loadModel(src, "NegLog", { name: "neglog.dlm" });
    const t = trainer(l);
    let err: unknown;
    try {
      t.trainStep(
        new Map([
          ["x", new Float32Array(8).fill(0.5)],
          ["t", new Float32Array(4)],
        ]),
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NonFiniteError);
    const e = err as NonFiniteError;
    expect(e.step).toBe(1);
    expect(e.tensor).toMatch(/log/);
    expect(e.site?.file).toBe("neglog.dlm");
    expect(e.site?.range.start.line).toBe(8);
    // nothing was updated: the step stopped before the optimiser
    expect(t.step).toBe(0);
  });
});

describe("bad checkpoints", () => {
  it("a corrupt file gives a clear error naming the file", async () => {
    const path = join(dir, "corrupt.safetensors");
    writeFileSync(path, Buffer.from("this is not a safetensors file at all"));
    const t = trainer(mlp);
    await expect(t.load(path)).rejects.toThrow(/corrupt\.safetensors.*(header|too short|truncated)/);
    const truncated = join(dir, "truncated.safetensors");
    const good = join(dir, "good.safetensors");
    await t.save(good);
    writeFileSync(truncated, readFileSync(good).subarray(0, 100));
    await expect(t.load(truncated)).rejects.toThrow(/truncated\.safetensors/);
    await expect(t.load(join(dir, "missing.safetensors"))).rejects.toThrow(/missing\.safetensors.*cannot read/);
  });

  it("plain weights are not a checkpoint, and a failed load changes nothing", async () => {
    const t = trainer(mlp);
    const path = join(dir, "plain.safetensors");
    const tensors = new Map(
      [...t.values].map(([k, v]) => [
        k,
        { dtype: "F32" as const, shape: t.params.find((p) => p.name === k)!.shape, data: v.map(() => 0.5) },
      ]),
    );
    await writeSafetensors(path, tensors);
    const before = snapshot(t);
    await expect(t.load(path)).rejects.toThrow(/plain\.safetensors holds weights, not a training checkpoint/);
    for (const [k, v] of snapshot(t)) expect(Buffer.compare(Buffer.from(v), Buffer.from(before.get(k)!)), k).toBe(0);
    await t.load(path, { weightsOnly: true });
    expect(t.values.get("head.weight")![0]).toBe(0.5);
  });

  it("a checkpoint of another model says which parameters do not fit", async () => {
    const other = trainer(loadModel(OTHER, "Other"));
    const path = join(dir, "other.safetensors");
    await other.save(path);
    const t = trainer(mlp);
    const before = snapshot(t);
    await expect(t.load(path)).rejects.toThrow(/does not fit MLP: missing '0\.weight'|does not fit MLP: missing '/);
    await expect(t.load(path)).rejects.toThrow(/head\.weight/);
    // nothing was changed by the failed load
    for (const [k, v] of snapshot(t)) expect(Buffer.compare(Buffer.from(v), Buffer.from(before.get(k)!)), k).toBe(0);
  });

  it("a checkpoint of the same architecture at another width names the shapes", async () => {
    const wide = trainer(loadModel(MLP, "MLP", { params: { classes: 4 } }));
    const path = join(dir, "wide.safetensors");
    await wide.save(path);
    await expect(trainer(mlp).load(path)).rejects.toThrow(/'head\.weight' is \[4, 16\], the model needs \[3, 16\]/);
  });
});

describe("reproducibility", () => {
  const losses = (seed: number): number[] => {
    const t = trainer(mlp, { seed });
    const data = dataFor(t, 64, 5); // the same data for every run: only the trainer's seed varies
    const out: number[] = [];
    for (let e = 0; e < 2; e++) t.trainEpoch(data, (_, loss) => out.push(loss));
    return out;
  };

  it("the same seed gives identical losses; another seed different ones", () => {
    const a = losses(11);
    expect(a).toHaveLength(16);
    expect(a.every(Number.isFinite)).toBe(true);
    expect(losses(11)).toEqual(a);
    const b = losses(12);
    expect(b).not.toEqual(a);
  });

  it("the train section's seed is the default", () => {
    expect(trainer(mlp).seed).toBe(3);
    expect(trainer(mlp, { seed: 4 }).seed).toBe(4);
  });
});
