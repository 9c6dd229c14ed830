// The attention primitives and their streaming CPU kernels (compiler/prim/attention.ts,
// runtime/cpu/kernels/attention.ts) against independent references: the float64 reference
// interpreter, and the unfused primitives they replace (forward and gradients), over several
// shapes, tile-crossing sizes, causal, padding and additive masks, and multi-query heads.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { gradients } from "../../compiler/autodiff.js";
import { Dim } from "../../compiler/dim.js";
import { lowerModel } from "../../compiler/lower.js";
import { expandAttention } from "../../compiler/passes/attention.js";
import { attention, type AttentionAttrs } from "../../compiler/prim/attention.js";
import { PrimBuilder, type T } from "../../compiler/prim/builder.js";
import { numelOf, type PGraph } from "../../compiler/prim/ir.js";
import { verifyGraph } from "../../compiler/prim/verify.js";
import { compile } from "../../runtime/cpu/executor.js";
import { evaluate, type HostArray } from "../../runtime/cpu/reference.js";
import { check } from "../../src/index.js";

/** A deterministic stream in [-1, 1) (mulberry32), independent of the code under test. */
function stream(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

interface Case {
  readonly name: string;
  readonly q: number[];
  readonly k: number[];
  readonly v: number[];
  readonly causal?: boolean;
  /** a bool mask: which keys each (broadcast) row keeps */
  readonly keep?: { shape: number[]; hidden: (i: number) => boolean };
  /** an additive float mask */
  readonly add?: number[];
}

const CASES: readonly Case[] = [
  { name: "plain, Tq ≠ Tk, dv ≠ d", q: [2, 3, 5, 4], k: [2, 3, 7, 4], v: [2, 3, 7, 6] },
  { name: "causal over several tiles of queries and keys", q: [1, 2, 300, 8], k: [1, 2, 300, 8], v: [1, 2, 300, 8], causal: true },
  {
    name: "padding mask [B, 1, 1, T] with causal, 65 positions",
    q: [2, 2, 65, 8],
    k: [2, 2, 65, 8],
    v: [2, 2, 65, 8],
    causal: true,
    keep: { shape: [2, 1, 1, 65], hidden: (i) => i % 65 > 50 || i % 7 === 3 },
  },
  {
    name: "additive mask [Tq, Tk] broadcast over batch and heads, two tiles of keys",
    q: [2, 2, 66, 4],
    k: [2, 2, 270, 4],
    v: [2, 2, 270, 5],
    add: [66, 270],
  },
  { name: "multi-query: one key/value head for four query heads", q: [2, 4, 9, 8], k: [2, 1, 9, 8], v: [2, 1, 9, 8], causal: true },
  { name: "unbatched [T, d]", q: [6, 3], k: [6, 3], v: [6, 3] },
];

interface Built {
  readonly graph: PGraph;
  readonly out: T;
  readonly grads: readonly T[];
  readonly feeds: Map<string, HostArray>;
}

/** loss = Σ attention(q, k, v)·r for a fixed random r; gradients with respect to q, k, v. */
function build(c: Case, seed = 1): Built {
  const rand = stream(seed + c.name.length);
  const b = new PrimBuilder();
  const feeds = new Map<string, HostArray>();
  const input = (name: string, shape: number[], scale = 1): T => {
    feeds.set(
      name,
      Float32Array.from({ length: numelOf(shape) }, () => rand() * scale),
    );
    return b.input(name, shape, "f32");
  };
  const [q, k, v] = [input("q", c.q, 2), input("k", c.k, 2), input("v", c.v)];
  let mask: T | undefined;
  let kind: AttentionAttrs["mask"] = "none";
  if (c.keep) {
    feeds.set(
      "keep",
      Uint8Array.from({ length: numelOf(c.keep.shape) }, (_, i) => (c.keep!.hidden(i) ? 0 : 1)),
    );
    mask = b.input("keep", c.keep.shape, "bool");
    kind = "keep";
  } else if (c.add) {
    mask = input("bias", c.add, 3);
    kind = "add";
  }
  const out = attention(b, q, k, v, mask, { scale: 1 / Math.sqrt(c.q.at(-1)!), causal: c.causal === true, mask: kind });
  const r = b.tensor(
    Array.from({ length: numelOf(b.shape(out)) }, () => rand()),
    b.shape(out),
  );
  const loss = b.sum(b.times(out, r));
  const grads = gradients(b, loss, [q, k, v]).map((g) => g!);
  b.output("out", out);
  grads.forEach((g, i) => b.output(`grad${i}`, g));
  return { graph: b.graph(), out, grads, feeds };
}

/** The CPU executor's outputs; the arena starts filled with garbage, so a kernel that reads what it has not written shows. */
function runCpu(graph: PGraph, feeds: ReadonlyMap<string, HostArray>, options = {}): Map<string, Float32Array> {
  const p = compile(graph, { ...options, poisonArena: true });
  p.run(feeds);
  return new Map(graph.outputs.map((o) => [o.name, Float32Array.from(p.output(o.name))]));
}

function runReference(graph: PGraph, feeds: ReadonlyMap<string, HostArray>): Map<string, Float64Array> {
  const values = evaluate(graph, feeds);
  return new Map(graph.outputs.map((o) => [o.name, values.get(o.node)!.data as Float64Array]));
}

/** |a − b| ≤ tol · max(1, max |b|) element by element, NaN matching NaN. */
function expectClose(name: string, a: ArrayLike<number>, b: ArrayLike<number>, tol: number): void {
  expect(a.length, name).toBe(b.length);
  let scale = 1;
  for (let i = 0; i < b.length; i++) if (Number.isFinite(b[i]!)) scale = Math.max(scale, Math.abs(b[i]!));
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(b[i]!)) {
      if (!Number.isNaN(a[i]!)) expect.fail(`${name}[${i}]: ${a[i]} where the reference is NaN`);
      continue;
    }
    if (!(Math.abs(a[i]! - b[i]!) <= tol * scale)) expect.fail(`${name}[${i}]: ${a[i]} vs ${b[i]} (tolerance ${tol * scale})`);
  }
}

describe("streaming attention", () => {
  it.each(CASES)("$name: forward and gradients agree with the float64 reference", (c) => {
    const { graph, feeds } = build(c);
    expect(verifyGraph(graph)).toEqual([]);
    expect(graph.nodes.some((n) => n.op === "attention_grad")).toBe(true);
    const cpu = runCpu(graph, feeds);
    const ref = runReference(graph, feeds);
    expectClose("out", cpu.get("out")!, ref.get("out")!, 1e-5);
    for (const g of ["grad0", "grad1", "grad2"]) expectClose(g, cpu.get(g)!, ref.get(g)!, 1e-4);
  });

  it.each(CASES)("$name: agrees with the unfused primitives it replaces", (c) => {
    const { graph, feeds } = build(c);
    // in float64, the reference of the primitives and of their expansion agree to rounding
    const expanded = expandAttention(graph).graph;
    expect(verifyGraph(expanded)).toEqual([]);
    expect(expanded.nodes.some((n) => n.op === "attention" || n.op === "attention_grad")).toBe(false);
    const refPrim = runReference(graph, feeds);
    const refUnfused = runReference(expanded, feeds);
    for (const [name, xs] of refPrim) expectClose(name, xs, refUnfused.get(name)!, 1e-12);
    // in float32, the streaming kernels against the unfused kernels (-O0 expands attention)
    const flash = runCpu(graph, feeds);
    const unfused = runCpu(graph, feeds, { fuse: false });
    expectClose("out", flash.get("out")!, unfused.get("out")!, 1e-5);
    for (const g of ["grad0", "grad1", "grad2"]) expectClose(g, flash.get(g)!, unfused.get(g)!, 1e-4);
  });

  it("gives NaN for a query whose keys are all hidden, as the unfused softmax does", () => {
    const c: Case = { name: "all hidden", q: [1, 3, 4], k: [1, 5, 4], v: [1, 5, 4], keep: { shape: [3, 5], hidden: (i) => i < 5 } };
    const { graph, feeds } = build(c);
    const flash = runCpu(graph, feeds).get("out")!;
    const unfused = runCpu(graph, feeds, { flashAttention: false }).get("out")!;
    expect(Array.from(flash.slice(0, 4)).every(Number.isNaN)).toBe(true);
    expectClose("out", flash, unfused, 1e-5);
  });

  it("the streaming program's arena is smaller than one score matrix; the unfused one holds at least one", () => {
    const c = CASES[1]!;
    const { graph } = build(c);
    const scoreBytes = 2 * 300 * 300 * 4;
    expect(compile(graph).memory.planned).toBeLessThan(scoreBytes);
    expect(compile(graph, { fuse: false }).memory.planned).toBeGreaterThanOrEqual(scoreBytes);
  });
});

describe("attention in the examples lowers to the streaming primitive", () => {
  const SMALL = new Map([
    ["d", Dim.const(32)],
    ["heads", Dim.const(4)],
  ]);
  const MODELS: readonly [string, string][] = [
    ["masks.dlm", "CausalSelfAttention"],
    ["masks.dlm", "PaddedSelfAttention"],
    ["masks.dlm", "CausalPaddedSelfAttention"],
    ["multi_query_attention.dlm", "MultiQueryAttention"],
    ["multi_query_attention.dlm", "GroupedQueryAttention"],
    ["multi_query_attention.dlm", "BuiltinMultiQuery"],
    ["relative_position_bias.dlm", "RelativeBiasAttention"],
    ["attention.dlm", "BuiltinMultiHead"],
  ];

  /** The model at d = 32, 4 heads, B = 2, T = 12, with loss = Σ y·r and the gradient of every parameter as outputs. */
  function exampleWithGradients(file: string, model: string): { graph: PGraph; feeds: Map<string, HostArray> } {
    const m = check(join(import.meta.dirname, "..", "..", "examples", file), {
      params: SMALL,
    }).models.get(model)!;
    const low = lowerModel(m.graph!, {
      training: true,
      dims: new Map([
        ["B", 2],
        ["T", 12],
      ]),
    });
    const b = low.builder;
    const rand = stream(model.length);
    const y = low.outputs[0]!.node;
    const r = b.tensor(
      Array.from({ length: numelOf(b.shape(y)) }, () => rand()),
      b.shape(y),
    );
    const grads = gradients(
      b,
      b.sum(b.times(y, r)),
      low.params.map((p) => p.node),
    );
    grads.forEach((g, i) => g !== undefined && b.output(`grad:${low.params[i]!.name}`, g));
    const graph = b.graph();
    const feeds = new Map<string, HostArray>();
    for (const e of [...graph.inputs, ...graph.params]) {
      const n = graph.nodes[e.node]!;
      const len = numelOf(n.shape);
      // bool inputs (padding): the last positions of the second sequence are padding
      feeds.set(
        e.name,
        n.dtype === "bool"
          ? Uint8Array.from({ length: len }, (_, i) => (i >= len - 3 ? 0 : 1))
          : Float32Array.from({ length: len }, () => rand() * 0.5),
      );
    }
    return { graph, feeds };
  }

  it.each(MODELS)("%s %s: forward and every gradient, streaming against unfused and the float64 reference", (file, model) => {
    const { graph, feeds } = exampleWithGradients(file, model);
    expect(graph.nodes.some((n) => n.op === "attention")).toBe(true);
    expect(graph.nodes.some((n) => n.attrs["attentionFallback"] !== undefined)).toBe(false);
    const flash = runCpu(graph, feeds);
    const unfused = runCpu(graph, feeds, { flashAttention: false });
    const ref = runReference(graph, feeds);
    for (const [name, want] of ref) {
      const tol = name.startsWith("grad:") ? 1e-4 : 1e-5;
      expectClose(`${name} (streaming vs unfused)`, flash.get(name)!, unfused.get(name)!, tol);
      expectClose(`${name} (streaming vs reference)`, flash.get(name)!, want, tol);
    }
  });

  it("dropout on the attention weights in training keeps the unfused chain and says why", () => {
    const m = check(join(import.meta.dirname, "..", "..", "examples", "gpt2_small.dlm"), {
      params: SMALL,
    });
    const gpt = m.models.get("GPT2Small")!;
    const train = lowerModel(gpt.graph!, {
      training: true,
      dims: new Map([
        ["B", 1],
        ["T", 8],
      ]),
    }).builder.graph();
    expect(train.nodes.some((n) => n.op === "attention")).toBe(false);
    expect(
      train.nodes.filter((n) => n.attrs["attentionFallback"] === "dropout on the attention weights in training").length,
    ).toBeGreaterThan(0);
    // at inference dropout is the identity: the streaming kernel runs
    const infer = lowerModel(gpt.graph!, {
      training: false,
      dims: new Map([
        ["B", 1],
        ["T", 8],
      ]),
    }).builder.graph();
    expect(infer.nodes.some((n) => n.op === "attention")).toBe(true);
  });
});
