// Constant folding: subgraphs of constants and iota become constants holding the bits the
// executor computes (float32 rounding per node), checked against the executor running the
// unfolded graph and against the float64 reference rounded to float32; outputs and large
// results stay computed.

import { describe, expect, it } from "vitest";
import { FOLD_LIMIT, foldConstants } from "../../../compiler/passes/constant-fold.js";
import { PrimBuilder } from "../../../compiler/prim/builder.js";
import { evaluate } from "../../../runtime/cpu/reference.js";
import { expectSameBits, expectWellFormed, feedsFor, runWith } from "./helpers.js";

describe("foldConstants", () => {
  it("folds a causal mask and scalar arithmetic into constants with the executor's bits", () => {
    const b = new PrimBuilder();
    const x = b.input("x", [5, 5], "f32");
    const rows = b.iota([5, 5], 0);
    const cols = b.iota([5, 5], 1);
    const mask = b.binary("le", cols, rows);
    // 1/3 rounds in float32 before the multiplication, then again after: the fold must round alike
    const scale = b.binary("mul", b.scalar(1 / 3), b.unary("sqrt", b.scalar(7)));
    const scores = b.where(mask, b.binary("mul", x, scale), b.scalar(-Infinity));
    b.output("scores", scores);
    const g = b.graph();
    const r = foldConstants(g);
    expectWellFormed(g, r);
    const ops = r.graph.nodes.map((n) => n.op);
    expect(ops).not.toContain("le");
    expect(ops).not.toContain("sqrt");
    const feeds = feedsFor(g);
    expectSameBits(runWith(g, {}, feeds), runWith(r.graph, {}, feeds));
    // the folded scale is the float64 reference's, rounded to float32 after every node
    const folded = r.graph.nodes[r.graph.nodes[r.graph.outputs[0]!.node]!.inputs[1]!]!.inputs[1]!;
    const want = Math.fround(Math.fround(1 / 3) * Math.fround(Math.sqrt(7)));
    expect(r.graph.nodes[folded]!.attrs).toEqual({ value: want });
    expect(evaluate(g, feeds).get(scale)!.data[0]).not.toBe(want); // float64 alone would differ
  });

  it("keeps named outputs computed, and results too large to write out", () => {
    const b = new PrimBuilder();
    const big = b.cast(b.iota([FOLD_LIMIT + 1], 0), "f32");
    b.output("big", b.exp(b.binary("mul", big, b.scalar(1e-3))));
    const small = b.binary("add", b.scalar(2), b.scalar(3));
    b.output("small", small);
    const g = b.graph();
    const r = foldConstants(g);
    expectWellFormed(g, r);
    expect(r.graph.nodes[r.graph.outputs[1]!.node]!.op).toBe("add");
    expect(r.graph.nodes.map((n) => n.op)).toContain("exp");
  });
});
