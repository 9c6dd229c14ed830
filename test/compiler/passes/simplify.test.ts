// Algebraic simplification: each rule fires where it should and nowhere else, the rewritten
// graph is well formed, and it computes the same bits as the original on awkward values
// (NaN, ±0, ±∞), so every rule is exact.

import { describe, expect, it } from "vitest";
import { simplify } from "../../../compiler/passes/simplify.js";
import { PrimBuilder } from "../../../compiler/prim/builder.js";
import type { PGraph } from "../../../compiler/prim/ir.js";
import { expectSameBits, expectWellFormed, feedsFor, runWith } from "./helpers.js";

/** Simplify, check well-formedness and bit-for-bit agreement; returns the ops left that compute. */
function simplified(graph: PGraph): string[] {
  const r = simplify(graph);
  expectWellFormed(graph, r);
  const feeds = feedsFor(graph);
  expectSameBits(runWith(graph, {}, feeds), runWith(r.graph, {}, feeds));
  // nodes some output still reads
  const live = new Uint8Array(r.graph.nodes.length);
  for (const o of r.graph.outputs) live[o.node] = 1;
  for (let id = r.graph.nodes.length - 1; id >= 0; id--) if (live[id]) for (const i of r.graph.nodes[id]!.inputs) live[i] = 1;
  return r.graph.nodes.filter((n) => live[n.id] && !["input", "param", "const"].includes(n.op)).map((n) => n.op);
}

describe("simplify", () => {
  it("drops multiplications and divisions by one, x − 0, x + (−0) and double negation", () => {
    const b = new PrimBuilder();
    const x = b.input("x", [4, 5], "f32");
    const one = b.scalar(1);
    const y = b.binary("sub", b.binary("div", b.binary("mul", one, b.binary("mul", x, one)), one), b.scalar(0));
    b.output("y", b.exp(b.neg(b.neg(b.binary("add", y, b.scalar(-0))))));
    expect(simplified(b.graph())).toEqual(["exp"]);
  });

  it("keeps x + 0, which turns −0 into +0", () => {
    const b = new PrimBuilder();
    const x = b.input("x", [9], "f32");
    b.output("y", b.exp(b.binary("add", x, b.scalar(0))));
    expect(simplified(b.graph())).toEqual(["add", "exp"]);
  });

  it("drops stop_gradient and broadcasts an elementwise op does itself, and merges reshapes and transposes", () => {
    const b = new PrimBuilder();
    const x = b.input("x", [2, 3, 4], "f32");
    const bias = b.input("bias", [4], "f32");
    const y = b.binary("add", x, b.broadcastTo(b.stopGradient(bias), [2, 3, 4]));
    const r = b.reshape(b.reshape(y, [6, 4]), [24]);
    const t = b.transpose(b.transpose(y, [1, 0, 2]), [1, 0, 2]); // back to the identity
    const t2 = b.transpose(b.transpose(y, [2, 0, 1]), [2, 0, 1]); // a rotation applied twice
    b.output("r", b.exp(r));
    b.output("t", b.exp(t));
    b.output("t2", b.exp(t2));
    const ops = simplified(b.graph());
    expect(ops.filter((op) => op === "transpose")).toHaveLength(1);
    expect(ops.filter((op) => op === "reshape")).toHaveLength(1);
    expect(ops).not.toContain("broadcast_to");
    expect(ops).not.toContain("stop_gradient");
  });

  it("never replaces a named output by another node, and keeps broadcasts that change the shape", () => {
    const b = new PrimBuilder();
    const x = b.input("x", [3], "f32");
    const y = b.binary("mul", x, b.scalar(1));
    b.output("y", y);
    b.output("wide", b.binary("mul", b.broadcastTo(x, [2, 3]), b.scalar(1, "f32", [2, 1])));
    const g = b.graph();
    const r = simplify(g);
    expectWellFormed(g, r);
    expect(r.graph.nodes[r.graph.outputs[0]!.node]!.op).toBe("mul");
    expect(r.graph.nodes.map((n) => n.op)).toContain("broadcast_to");
  });

  it("reaches a fixed point: simplifying again changes nothing", () => {
    const b = new PrimBuilder();
    const x = b.input("x", [2, 6], "f32");
    b.output("y", b.exp(b.reshape(b.reshape(b.reshape(b.neg(b.neg(b.neg(x))), [3, 4]), [12]), [2, 6])));
    const once = simplify(b.graph()).graph;
    const twice = simplify(once).graph;
    expect(twice.nodes.map((n) => `${n.op}(${n.inputs})`)).toEqual(once.nodes.map((n) => `${n.op}(${n.inputs})`));
    expect(simplified(b.graph())).toEqual(["neg", "exp"]);
  });
});
