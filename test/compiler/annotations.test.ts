// The annotations that steer the optimiser without changing what a model computes:
// `@memory_budget(SIZE)` on a model (the training step's activation budget; the option
// overrides it) and `@nofuse` on a statement or block (its ops, forward and backward, join no
// fused kernel). Malformed uses are errors at the annotation; the step computes the same
// values with and without them.

import { describe, expect, it } from "vitest";
import type { Diagnostic } from "../../compiler/diagnostics/index.js";
import { ANNOTATIONS, KNOWN_ANNOTATIONS } from "../../compiler/elaborate.js";
import { activationMemory } from "../../compiler/passes/memory-report.js";
import { optimise } from "../../compiler/passes/pipeline.js";
import { buildTrainingGraph } from "../../compiler/training-graph.js";
import { checkSource } from "../../src/index.js";
import { expectSameBits, feedsFor, runWith } from "./passes/helpers.js";

/** An MLP of `depth` residual blocks; `before` goes before the model, `inBlock` before each block's statement. */
const source = (before: string, inBlock = "", depth = 6): string => `
block Residual(hidden: int) {
  input x: f32[B, D]
  output x + (x |> linear(hidden) as fc1 |> relu |> linear(D) as fc2)
}
${before}
model Deep(depth: int = ${depth}) {
  input x: f32[B, 8]
  h = x |> linear(16) as proj
  for i in 0..depth {
    ${inBlock}h = Residual(h, 32) as blocks[i]
  }
  output logits = linear(h, 3) |> tanh as head
}
train Deep {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = sgd(lr: 0.1)
}
`;

function load(text: string) {
  const r = checkSource(text, "deep.dlm", new Map(), { model: "Deep" });
  return { diagnostics: r.diagnostics, model: r.models.get("Deep") };
}

const errorsOf = (ds: readonly Diagnostic[]) =>
  ds
    .filter((d) => d.severity === "error")
    .map((d) => ({ code: d.code, message: d.message, at: `${d.range.start.line}:${d.range.start.column}` }));

describe("@memory_budget", () => {
  it("reads a size with a unit or plain bytes, on the model", () => {
    for (const [arg, bytes] of [
      ['"256MB"', 256e6],
      ['"1.5GiB"', 1.5 * 2 ** 30],
      ["4096", 4096],
    ] as const) {
      const { diagnostics, model } = load(source(`@memory_budget(${arg})`));
      expect(errorsOf(diagnostics), arg).toEqual([]);
      expect(model!.graph!.memoryBudget, arg).toBe(bytes);
    }
    expect(load(source("")).model!.graph!.memoryBudget).toBeUndefined();
  });

  it("plans the training step within it; the option overrides it", () => {
    const { model } = load(source('@memory_budget("6KB")'));
    const dims = new Map([["B", 4]]);
    const planned = activationMemory(model!.graph!, model!.train, dims);
    expect(planned.checkpointing?.budget).toBe(6000);
    expect(planned.checkpointing?.met).toBe(true);
    expect(planned.planned).toBeLessThanOrEqual(6000);
    const overridden = activationMemory(model!.graph!, model!.train, dims, { budget: 1e9 });
    expect(overridden.checkpointing?.budget).toBe(1e9);
    expect(overridden.planned).toBeGreaterThan(planned.planned);
    const off = activationMemory(model!.graph!, model!.train, dims, { passes: { checkpoint: false } });
    expect(off.checkpointing).toBeUndefined();
    expect(off.planned).toBe(overridden.planned);
  });

  it("on a model another model uses as a block: checked, and planned with the outer model's budget", () => {
    const text = `
@memory_budget("1MB")
model Inner {
  input x: f32[B, 4]
  output x |> linear(4)
}
model Outer {
  input x: f32[B, 4]
  output Inner(x)
}
`;
    const outer = checkSource(text, "nested.dlm", new Map(), { model: "Outer" });
    expect(errorsOf(outer.diagnostics)).toEqual([]);
    expect(outer.models.get("Outer")!.graph!.memoryBudget).toBeUndefined();
    const inner = checkSource(text, "nested.dlm", new Map(), { model: "Inner" });
    expect(inner.models.get("Inner")!.graph!.memoryBudget).toBe(1e6);
  });

  it("rejects malformed sizes and other places, at the annotation", () => {
    // line 6 holds what goes before the model (the source starts with a newline and a 4-line block)
    for (const bad of [
      "@memory_budget",
      '@memory_budget("lots")',
      '@memory_budget("0MB")',
      "@memory_budget(0)",
      '@memory_budget("1MB", "2MB")',
      "@memory_budget(1.5)",
    ])
      expect(errorsOf(load(source(bad)).diagnostics), bad).toEqual([
        { code: "DLM2035", message: expect.stringContaining("'@memory_budget' expects one size"), at: "6:1" },
      ]);
    expect(errorsOf(load(source("", '@memory_budget("1MB") ')).diagnostics)).toEqual([
      { code: "DLM2036", message: "'@memory_budget' applies to a model declaration only", at: "11:5" },
    ]);
  });
});

describe("@nofuse", () => {
  const dims = new Map([["B", 4]]);
  const stepOf = (text: string) => {
    const { diagnostics, model } = load(text);
    expect(errorsOf(diagnostics)).toEqual([]);
    return buildTrainingGraph(model!.graph!, model!.train!.loss!, dims).model.builder.graph();
  };

  it("keeps the ops of an annotated statement, and their backward pass, out of every fused kernel", () => {
    const plain = stepOf(source(""));
    const opted = stepOf(source("", "@nofuse "));
    const fusedMembers = (g: typeof plain) => {
      const { graph, fusion } = optimise(g);
      return { graph, members: fusion!.groups.flatMap((gr) => gr.members.map((m) => graph.nodes[m]!)) };
    };
    const inBlocks = (n: { instance?: string }) => /^blocks\./.test(n.instance ?? "");
    // without the annotation the blocks' bias adds and relus fuse, forward and backward
    const before = fusedMembers(plain).members.filter(inBlocks);
    expect(before.some((n) => !n.instance!.endsWith("(backward)"))).toBe(true);
    expect(before.some((n) => n.instance!.endsWith("(backward)"))).toBe(true);
    const after = fusedMembers(opted);
    expect(after.members.filter(inBlocks)).toEqual([]);
    expect(after.members.some((n) => n.nofuse)).toBe(false);
    // the rest of the model still fuses (the head's bias add and tanh)
    expect(after.members.length).toBeGreaterThan(0);
    expect(opted.nodes.filter((n) => n.nofuse).length).toBeGreaterThan(0);
  });

  it("computes the same training step, bit for bit", () => {
    const plain = stepOf(source(""));
    const opted = stepOf(source("", "@nofuse "));
    const feeds = feedsFor(plain);
    expectSameBits(runWith(plain, {}, feeds), runWith(opted, {}, feeds));
  });

  it("takes no arguments", () => {
    expect(errorsOf(load(source("", "@nofuse(1) ")).diagnostics)).toEqual([
      { code: "DLM2035", message: "'@nofuse' expects no arguments", at: "11:5" },
    ]);
  });
});

it("every known annotation has a description for editors", () => {
  for (const a of KNOWN_ANNOTATIONS) expect(ANNOTATIONS[a], a).toMatch(/\w/);
});
