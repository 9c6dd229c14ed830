// Every example model with a train section trains: a handful of optimiser steps on one fixed
// small synthetic batch (memorisation), through the real Trainer with the example's own
// optimiser, schedule and phases, and the loss falls (to at most 0.9 × the first loss, every
// phase of a phased train section: the GAN's discriminator and generator). The fast models
// train here; the big ones (seconds per step) in `npm run train:examples`
// (tools/train-examples.ts, which holds both lists and the learning-rate overrides).

import { describe, expect, it } from "vitest";
import { exampleModels, FAST, LONG, learned, trainExample, type ExampleRun } from "../../tools/train-examples.js";

const key = (r: { file: string; model: string }) => `${r.file} ${r.model}`;

describe("every example with a train section is trained", () => {
  const { trained, untrained } = exampleModels();

  it("is in the fast list (npm test) or the long list (npm run train:examples)", () => {
    const listed = new Set([...FAST, ...LONG].map(key));
    expect(trained.map(key).filter((k) => !listed.has(k))).toEqual([]);
    // and the lists name only real, trainable example models, once
    const known = new Set(trained.map(key));
    expect([...FAST, ...LONG].map(key).filter((k) => !known.has(k))).toEqual([]);
    expect(listed.size).toBe(FAST.length + LONG.length);
  });

  it("covers the architectures of the issue in the fast list", () => {
    const fast = new Set(FAST.map((r) => r.model));
    for (const m of ["LSTMLanguageModel", "AttentionSeq2Seq", "GraphTransformer", "GCN", "VAE", "GAN"]) expect(fast).toContain(m);
  });

  it("lists the models without a train section (not trained)", () => {
    expect(untrained.length).toBeGreaterThan(0);
    expect(untrained.map((u) => u.model)).toContain("BERTBase");
  });

  it("keeps the fast runs small", () => {
    for (const r of FAST) {
      expect(r.batch, key(r)).toBeLessThanOrEqual(8);
      expect(r.steps, key(r)).toBeGreaterThanOrEqual(5);
      // sequence lengths and node counts ≤ 32 (edge lists: a few edges a node)
      for (const [d, v] of Object.entries(r.dims ?? {})) expect(v, `${key(r)} ${d}`).toBeLessThanOrEqual(d === "E" ? 128 : 32);
      if (r.lr !== undefined || r.constantLr) expect(r.why, `${key(r)}: say why the lr is overridden`).toBeTruthy();
    }
  });
});

describe("fast examples learn a fixed batch", () => {
  it.each(FAST.map((r) => [key(r), r] as [string, ExampleRun]))("%s", (_, run) => {
    const res = trainExample(run);
    expect(res.losses.every(Number.isFinite)).toBe(true);
    const why = learned(res);
    expect(why, `${key(run)}: ${res.losses.map((l) => l.toPrecision(4)).join(" ")}`).toBeUndefined();
    expect(res.last).toBeLessThanOrEqual((run.ratio ?? 0.9) * res.first);
    // the GAN alternates its two phases, each with its own optimiser, and both losses fall
    if (run.model === "GAN") expect([...res.phaseLosses.keys()]).toEqual(["discriminator", "generator"]);
  });
});
