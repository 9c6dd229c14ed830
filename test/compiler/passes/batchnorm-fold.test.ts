// Batch-norm folding: an eval-mode batch norm (running mean and variance, gamma, beta) after a
// convolution, with or without the conv's own bias, becomes one convolution with scaled
// weights and a per-channel bias; the result agrees with the unfolded program within float32
// rounding (1e-5 relative) and with the float64 reference; a conv whose output something else
// reads is left alone.

import { describe, expect, it } from "vitest";
import { foldBatchNorm } from "../../../compiler/passes/batchnorm-fold.js";
import { optimise } from "../../../compiler/passes/pipeline.js";
import { PrimBuilder, type T } from "../../../compiler/prim/builder.js";
import { evaluate } from "../../../runtime/cpu/reference.js";
import { expectWellFormed, feedsFor, runWith } from "./helpers.js";

const win = { stride: [1, 1], padLo: [1, 1], padHi: [0, 0], dilation: [1, 1] };
const spread = (n: number, seed: number): Float32Array => {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 48271) % 2147483647) / 2147483647) * 1.5 + 0.1); // positive: variances among them
};

/** conv (+ bias) → eval batch norm → relu; returns the builder and the conv's output */
function convBn(bias: boolean, extraReader: boolean): { b: PrimBuilder; conv: T } {
  const b = new PrimBuilder();
  const x = b.input("x", [2, 3, 6, 6], "f32");
  const w = b.param("w", [4, 3, 3, 3]);
  const chan = (name: string): T => b.reshape(b.param(name, [4]), [4, 1, 1]);
  let conv = b.conv(x, w, win, 1);
  if (bias) conv = b.plus(conv, chan("bias"));
  const rstd = b.unary("rsqrt", b.shift(chan("running_var"), 1e-5));
  const y = b.plus(b.times(b.times(b.minus(conv, chan("running_mean")), rstd), chan("gamma")), chan("beta"));
  b.output("y", b.relu(y));
  if (extraReader) b.output("pre", b.exp(conv));
  return { b, conv };
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want[i]!)));
}

describe("foldBatchNorm", () => {
  it.each([false, true])("folds conv (bias: %s) → batch norm into one conv plus a per-channel bias", (bias) => {
    const { b } = convBn(bias, false);
    const g = b.graph();
    const r = foldBatchNorm(g);
    expectWellFormed(g, r);
    // what runs: one conv, its bias add and the relu on activations; the rest is channel- or weight-sized
    const { graph, live } = optimise(g, { fold: false, cse: false, fuse: false });
    const activations = graph.nodes.filter((n) => live[n.id] && n.shape.length === 4 && n.shape[0] === 2);
    expect(activations.map((n) => n.op)).toEqual(["input", "conv", "add", "relu"]);
    const feeds = feedsFor(g, spread);
    const folded = runWith(r.graph, {}, feeds).get("y")!;
    expectClose(folded, runWith(g, {}, feeds).get("y")!, 1e-5);
    expectClose(folded, evaluate(g, feeds).get(g.outputs[0]!.node)!.data, 1e-5);
  });

  it("leaves a conv whose output something else reads", () => {
    const { b } = convBn(false, true);
    const g = b.graph();
    const r = foldBatchNorm(g);
    expectWellFormed(g, r);
    expect(r.graph.nodes.filter((n) => n.op === "conv")).toHaveLength(1);
    expect(r.graph.nodes.length).toBe(g.nodes.length);
  });
});
