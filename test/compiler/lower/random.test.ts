// Lowerings of the random ops. The reference interpreter draws from one seeded stream in
// node order, so a graph with a single draw sees the same numbers as rand_like / randn_like
// of the same shape and seed: the tests recompute each op from those draws with PyTorch's
// formulas, and check the statistics on large samples.

import { describe, expect, it } from "vitest";
import { ops } from "../../../compiler/ops/random.js";
import type { Attrs } from "../ops/rule-harness.js";
import { gradients } from "../../../compiler/autodiff.js";
import { evaluate } from "../../../runtime/cpu/reference.js";
import { lowerOp, run } from "./harness.js";

/** Evaluate `name` on f32 inputs (shape, data) pairs. */
function apply(
  name: string,
  inputs: { shape: number[]; data: number[] }[],
  attrs: Attrs = {},
  training = true,
  seed = 7,
): { shape: readonly number[]; data: number[] } {
  const l = lowerOp(
    ops,
    name,
    inputs.map((x) => ({ dtype: "f32", shape: x.shape })),
    attrs,
    training,
  );
  const [y] = run(l, Object.fromEntries(inputs.map((x, i) => [`x${i}`, x.data])), seed);
  return { shape: y!.shape, data: Array.from(y!.data) };
}

/** The draws a single random node of `shape` sees under `seed`. */
function draws(kind: "rand_like" | "randn_like", shape: number[], seed = 7): number[] {
  return apply(kind, [{ shape, data: Array(shape.reduce((a, b) => a * b, 1)).fill(0) }], {}, true, seed).data;
}

function near(got: readonly number[], want: readonly number[], tol = 1e-12): void {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => {
    if (Math.abs(got[i]! - w) > tol * Math.max(1, Math.abs(w))) expect.fail(`element ${i}: got ${got[i]}, want ${w}`);
  });
}

const stats = (xs: readonly number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean: m, var: xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length };
};
const ramp = (n: number) => Array.from({ length: n }, (_, i) => Math.sin(i) + 0.1 * i);

describe("dropout", () => {
  it("scales survivors by 1/(1-p): the oracle's [0.3342, 0.8208, 0.3765, 0.1820] at p = 0.5", () => {
    const x = [0.3342, 0.8208, 0.3765, 0.182];
    const u = draws("rand_like", [4]);
    const y = apply("dropout", [{ shape: [4], data: x }], { p: 0.5 });
    near(
      y.data,
      x.map((v, i) => (u[i]! >= 0.5 ? 2 * v : 0)),
    );
    // whatever the mask, each element is dropped or exactly doubled (1.6416 = 2 · 0.8208)
    y.data.forEach((v, i) => expect([0, 2 * x[i]!]).toContain(v));
  });

  it("drops about p of a large tensor and keeps the mean", () => {
    const y = apply("dropout", [{ shape: [20000], data: Array(20000).fill(1) }], { p: 0.3 });
    const kept = y.data.filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 1 / 0.7) < 1e-12)).toBe(true);
    expect(kept.length / 20000).toBeCloseTo(0.7, 1);
    expect(stats(y.data).mean).toBeCloseTo(1, 1);
  });

  it("is the identity in eval mode (and for p = 0)", () => {
    const x = ramp(6);
    for (const name of ["dropout", "dropout2d", "alpha_dropout", "gaussian_noise"]) {
      const shape = name === "dropout2d" ? [1, 2, 3] : [6];
      near(apply(name, [{ shape, data: x }], {}, false).data, x);
    }
    near(apply("dropout", [{ shape: [6], data: x }], { p: 0 }).data, x);
  });

  it("dropout2d drops whole channels of [B, C, H, W]", () => {
    const shape = [2, 3, 2, 2];
    const x = ramp(24).map((v) => v + 5);
    const u = draws("rand_like", [2, 3, 1, 1]);
    const y = apply("dropout2d", [{ shape, data: x }], { p: 0.4 });
    near(
      y.data,
      x.map((v, i) => (u[Math.floor(i / 4)]! >= 0.4 ? v / 0.6 : 0)),
    );
  });

  it("alpha_dropout follows PyTorch's affine correction and keeps zero mean, unit variance", () => {
    const p = 0.2;
    const alpha = 1.7580993408473766;
    const a = 1 / Math.sqrt((alpha * alpha * p + 1) * (1 - p));
    const x = ramp(5);
    const u = draws("rand_like", [5]);
    near(
      apply("alpha_dropout", [{ shape: [5], data: x }], { p }).data,
      x.map((v, i) => (u[i]! >= p ? a * v + alpha * a * p : -alpha * a + alpha * a * p)),
    );
    const z = draws("randn_like", [20000], 3);
    const s = stats(apply("alpha_dropout", [{ shape: [20000], data: z }], { p }, true, 11).data);
    expect(s.mean).toBeCloseTo(0, 1);
    expect(s.var).toBeCloseTo(1, 1);
  });
});

describe("noise and samples", () => {
  it("gaussian_noise adds std·N(0, 1)", () => {
    const x = ramp(4);
    const e = draws("randn_like", [4]);
    near(
      apply("gaussian_noise", [{ shape: [4], data: x }], { std: 0.3 }).data,
      x.map((v, i) => v + 0.3 * e[i]!),
    );
  });

  it("randn_like / rand_like / randn / rand have the right shape and distribution", () => {
    const n = draws("randn_like", [100, 100]);
    expect(stats(n).mean).toBeCloseTo(0, 1);
    expect(stats(n).var).toBeCloseTo(1, 1);
    const u = draws("rand_like", [100, 100]);
    expect(u.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(stats(u).mean).toBeCloseTo(0.5, 1);
    const r = apply("randn", [], { shape: [3, 4] });
    expect(r.shape).toEqual([3, 4]);
    near(r.data, draws("randn_like", [3, 4]));
    near(apply("rand", [], { shape: [5] }).data, draws("rand_like", [5]));
  });

  it("reparameterize: mu + exp(0.5·logvar)·eps, in eval mode too", () => {
    const mu = [0.5, -1, 2];
    const lv = [0, Math.log(4), -2];
    const e = draws("randn_like", [3]);
    const y = apply(
      "reparameterize",
      [
        { shape: [3], data: mu },
        { shape: [3], data: lv },
      ],
      {},
      false,
    );
    near(
      y.data,
      mu.map((m, i) => m + Math.exp(0.5 * lv[i]!) * e[i]!),
    );
  });
});

describe("gumbel_softmax", () => {
  const logits = [1, 2, 0.5, -1, 0, 0, 3, 1];
  /** softmax((x + g)/tau) over rows of 4, g = -log(-log u) */
  const soft = (tau: number, u: number[]) =>
    [0, 1].flatMap((r) => {
      const z = [0, 1, 2, 3].map((k) => (logits[r * 4 + k]! - Math.log(-Math.log(u[r * 4 + k]!))) / tau);
      const m = Math.max(...z);
      const e = z.map((v) => Math.exp(v - m));
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / s);
    });

  it("soft samples: softmax((logits + Gumbel noise) / tau)", () => {
    const u = draws("rand_like", [2, 4]);
    near(apply("gumbel_softmax", [{ shape: [2, 4], data: logits }], { tau: 0.5 }).data, soft(0.5, u), 1e-10);
  });

  it("hard samples are one-hot at the soft sample's argmax, along any axis", () => {
    const u = draws("rand_like", [2, 4]);
    const y = soft(1, u);
    const hot = [0, 1].flatMap((r) => {
      const row = y.slice(r * 4, r * 4 + 4);
      const k = row.indexOf(Math.max(...row));
      return row.map((_, j) => (j === k ? 1 : 0));
    });
    near(apply("gumbel_softmax", [{ shape: [2, 4], data: logits }], { hard: true }).data, hot, 1e-12);
    // axis 0 of the transposed logits: the same samples, transposed
    const t = [0, 1, 2, 3].flatMap((k) => [logits[k]!, logits[4 + k]!]);
    const ut = draws("rand_like", [4, 2]);
    const byCol = apply("gumbel_softmax", [{ shape: [4, 2], data: t }], { hard: true, axis: 0 }).data;
    const colSums = [0, 1].map((c) => [0, 1, 2, 3].reduce((a, k) => a + byCol[k * 2 + c]!, 0));
    expect(colSums).toEqual([1, 1]);
    [0, 1].forEach((c) => {
      const z = [0, 1, 2, 3].map((k) => t[k * 2 + c]! - Math.log(-Math.log(ut[k * 2 + c]!)));
      expect(byCol[z.indexOf(Math.max(...z)) * 2 + c]).toBe(1);
    });
  });
});

describe("gumbel_softmax gradient", () => {
  it("hard samples pass the soft sample's gradient straight through", () => {
    const grad = (hard: boolean) => {
      const l = lowerOp(ops, "gumbel_softmax", [{ dtype: "f32", shape: [2, 4] }], { hard, tau: 0.7 });
      const weights = l.b.tensor([1, -2, 3, 0.5, 2, 0, -1, 1], [2, 4]);
      const [g] = gradients(l.b, l.b.sum(l.b.times(l.outputs[0]!, weights)), [l.b.inputs[0]!.node]);
      return Array.from(
        evaluate(l.b.graph(), new Map([["x0", Float64Array.from([1, 2, 0.5, -1, 0, 0, 3, 1])]]), { seed: 5 }).get(g!)!.data,
      );
    };
    const soft = grad(false);
    expect(soft.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    near(grad(true), soft, 1e-12);
  });
});
