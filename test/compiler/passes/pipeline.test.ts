// The pass pipeline on the examples: every rewrite leaves a well-formed graph (the IR
// verifier after each one), the examples meet every kind of fusion group (so the comparisons
// below cover them), and each pass alone, and all of them together, compute what the
// unoptimised program (-O0) computes: the training step's outputs and every gradient bit for
// bit (the passes a training step meets are exact, but for one), and an eval graph with batch
// norms folded into its convolutions within float32 rounding. The exception: streaming
// attention sums the softmax in another order, so where a model has attention, fusion with
// flash attention (and all passes) agree with -O0 within 1e-5 of each output's range and 1e-4
// of each gradient's. (memory-plan.test.ts adds training runs of a few examples with and
// without the planner; this file is where every example is compared.)

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hasAttention } from "../../../compiler/passes/attention.js";
import { flashAttentionOn, NO_PASSES, optimise, REWRITES, type PassOptions } from "../../../compiler/passes/pipeline.js";
import type { PGraph } from "../../../compiler/prim/ir.js";
import { verifyGraph } from "../../../compiler/prim/verify.js";
import { buildEvalGraph, buildTrainingGraph } from "../../../compiler/training-graph.js";
import { check } from "../../../src/index.js";
import { EXAMPLES_DIR, FAST } from "../../../tools/train-examples.js";
import { expectSameBits, feedsFor, runWith } from "./helpers.js";

/** Small values of both signs, as initialised weights and normalised data are. */
const spread = (n: number, seed: number): Float32Array => {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 48271) % 2147483647) / 2147483647) * 0.5 - 0.2);
};

/** Each pass alone (the others off; fusion with and without flash attention; the memory plan with its in-place writes), then all of them (the default). */
const CONFIGS: readonly [string, PassOptions][] = [
  ...(["fold", "simplify", "bnFold", "cse", "fuse"] as const).map((p): [string, PassOptions] => [p, { [p]: true }]),
  ["fuse + flashAttention", { fuse: true, flashAttention: true }],
  ["plan", { plan: true, inPlace: true }],
  ["all", { ...Object.fromEntries(Object.keys(NO_PASSES).map((k) => [k, true])) }],
];

/**
 * Within `tol` of each named value's range (outputs 1e-5, gradients 1e-4): the float32
 * tolerance of streaming attention. A range below 1e-2 counts as 1e-2: a gradient that is zero
 * but for rounding (a key projection's bias, since softmax ignores a shift shared by all keys)
 * is compared in absolute terms.
 */
function expectWithinAttentionTolerance(want: ReadonlyMap<string, ArrayLike<number>>, got: ReadonlyMap<string, ArrayLike<number>>): void {
  for (const [name, xs] of want) {
    const ys = got.get(name)!;
    const tol = name.startsWith("grad:") ? 1e-4 : 1e-5;
    const scale = Math.max(1e-2, ...Array.from(xs, Math.abs));
    for (let i = 0; i < xs.length; i++)
      if (!(Math.abs(xs[i]! - ys[i]!) <= tol * scale) && !Object.is(xs[i], ys[i]))
        expect.fail(`${name}[${i}]: ${xs[i]} vs ${ys[i]} (beyond ${tol} of the range ${scale})`);
  }
}

function unchanged(a: PGraph, b: PGraph): boolean {
  return (
    a.nodes.length === b.nodes.length && a.nodes.every((n, i) => n.op === b.nodes[i]!.op && n.inputs.join() === b.nodes[i]!.inputs.join())
  );
}

function exampleGraph(file: string, model: string, dims: Record<string, number>, mode: "train" | "eval") {
  const m = check(join(EXAMPLES_DIR, file)).models.get(model)!;
  const d = new Map(Object.entries(dims));
  if (mode === "eval") return buildEvalGraph(m.graph!, d, m.train).builder.graph();
  const loss = m.train!.loss ?? m.train!.phases[0]!.loss!;
  return buildTrainingGraph(m.graph!, loss, d).model.builder.graph();
}

describe("every rewrite leaves a well-formed graph", () => {
  it("lists the rewrites in order, each with its switch", () => {
    expect(REWRITES.map((r) => r.option)).toEqual(["fold", "simplify", "bnFold", "simplify"]);
  });

  it.each(FAST.map((r) => [`${r.file} ${r.model}`, r] as const))("%s", (_, run) => {
    const graph = exampleGraph(run.file, run.model, { B: run.batch, ...run.dims }, "train");
    const after: string[] = [];
    optimise(graph, {}, { verify: (g, pass) => (after.push(pass), expect(verifyGraph(g), pass).toEqual([])) });
    expect(after).toEqual(REWRITES.map((r) => r.name));
  });
});

describe("the examples cover every kind of fusion group", () => {
  it("elementwise groups, row kernels, and the epilogues of matmuls and convolutions", () => {
    const kinds = new Set<string>();
    for (const run of FAST) {
      const graph = exampleGraph(run.file, run.model, { B: run.batch, ...run.dims }, "train");
      const { graph: g, fusion } = optimise(graph);
      for (const group of fusion!.groups)
        kinds.add(group.kind === "epilogue" ? `epilogue of ${g.nodes[group.members[0]!]!.op}` : group.kind);
    }
    expect([...kinds].sort()).toEqual(["elementwise", "epilogue of conv", "epilogue of matmul", "row"]);
  }, 60_000);
});

describe("each pass alone and all together agree with -O0", () => {
  it.each(FAST.map((r) => [`${r.file} ${r.model}`, r] as const))(
    "%s: training step outputs and gradients, bit for bit (streaming attention within float32 tolerance)",
    (_, run) => {
      const graph = exampleGraph(run.file, run.model, { B: run.batch, ...run.dims }, "train");
      const feeds = feedsFor(graph, spread);
      const plain = runWith(graph, {}, feeds);
      expect([...plain.keys()].some((k) => k.startsWith("grad:"))).toBe(true);
      for (const [name, on] of CONFIGS) {
        // a rewrite that finds nothing to rewrite here computes what -O0 does by construction
        const rewrite = REWRITES.find((r) => on[r.option] && Object.keys(on).length === 1);
        if (rewrite && unchanged(graph, optimise(graph, { ...NO_PASSES, ...on }).graph)) continue;
        const optimised = runWith(graph, on, feeds);
        const exact = !hasAttention(graph) || !flashAttentionOn({ ...NO_PASSES, ...on });
        try {
          if (exact) expectSameBits(plain, optimised);
          else expectWithinAttentionTolerance(plain, optimised);
        } catch (e) {
          throw new Error(`with ${name}: ${(e as Error).message}`);
        }
      }
    },
  );

  it("ResNet-18 in eval mode, its batch norms folded into the convolutions: within float32 rounding", () => {
    const graph = exampleGraph("resnet18.dlm", "ResNet18", { B: 1 }, "eval");
    const feeds = feedsFor(graph, spread);
    // running variances must be positive
    for (const p of graph.params) if (p.name.endsWith("running_var")) (feeds.get(p.name) as Float32Array).fill(0.9);
    const plain = runWith(graph, {}, feeds);
    // as many convolutions run, and no batch norm's multiply on activations is left
    const { graph: folded, live } = optimise(graph, { ...NO_PASSES, bnFold: true, simplify: true });
    const convs = graph.nodes.filter((n) => n.op === "conv").length;
    expect(folded.nodes.filter((n) => live[n.id] && n.op === "conv")).toHaveLength(convs);
    const activationMuls = (g: typeof graph, isLive: (id: number) => boolean) =>
      g.nodes.filter((n) => isLive(n.id) && n.op === "mul" && n.shape.length === 4 && n.shape[0] === 1 && n.shape[2]! > 1).length; // [B, C, H, W] at B = 1: not weights, not pooled
    expect(activationMuls(graph, () => true)).toBeGreaterThanOrEqual(2 * convs);
    expect(activationMuls(folded, (id) => live[id] === 1)).toBe(0);
    for (const [, on] of [CONFIGS.find(([n]) => n === "bnFold")!, CONFIGS.at(-1)!]) {
      const got = runWith(graph, on, feeds);
      for (const [name, want] of plain) {
        const scale = Math.max(...want.map(Math.abs));
        const worst = Math.max(...got.get(name)!.map((v, i) => Math.abs(v - want[i]!)));
        expect(worst / scale, name).toBeLessThan(1e-4);
      }
    }
  }, 60_000);
});
