// Common-subexpression elimination: repeats merge (transitively), anything that differs in
// primitive, inputs, attributes, shape or dtype does not, and random draws never do.

import { describe, expect, it } from "vitest";
import { commonSubexpressions } from "../../../compiler/passes/cse.js";
import type { PGraph, PNode } from "../../../compiler/prim/ir.js";

function graph(nodes: Omit<PNode, "id">[]): PGraph {
  return { nodes: nodes.map((n, id) => ({ ...n, id })), inputs: [{ name: "x", node: 0 }], params: [], outputs: [] };
}
const node = (op: string, inputs: number[], attrs: Record<string, unknown> = {}, shape = [2, 3]): Omit<PNode, "id"> => ({
  op,
  inputs,
  attrs,
  shape,
  dtype: "f32",
});

describe("commonSubexpressions", () => {
  it("merges a repeat, and what repeats on top of it", () => {
    const g = graph([
      node("input", []),
      node("reduce_sum", [0], { axes: [1] }, [2, 1]),
      node("sub", [0, 1]),
      node("reduce_sum", [0], { axes: [1] }, [2, 1]), // = 1
      node("sub", [0, 3]), // = 2 once 3 is 1
      node("mul", [4, 4]),
    ]);
    expect(Array.from(commonSubexpressions(g))).toEqual([0, 1, 2, 1, 2, 5]);
  });

  it("keeps apart what differs: primitive, input order, attributes, shape, dtype", () => {
    const g = graph([
      node("input", []),
      node("input", []),
      node("sub", [0, 1]),
      node("sub", [1, 0]),
      node("add", [0, 1]),
      node("transpose", [0], { perm: [1, 0] }, [3, 2]),
      node("transpose", [0], { perm: [0, 1] }, [2, 3]),
      node("broadcast_to", [0], {}, [2, 3]),
      node("broadcast_to", [0], {}, [1, 2, 3]),
      { ...node("cast", [0], { dtype: "i32" }), dtype: "i32" },
      { ...node("cast", [0], { dtype: "f32" }), dtype: "f32" },
    ]);
    const rep = commonSubexpressions(g);
    expect(Array.from(rep)).toEqual(g.nodes.map((n) => n.id));
  });

  it("treats attributes written in another order as the same", () => {
    const g = graph([
      node("input", []),
      node("pad", [0], { lo: [0, 1], hi: [1, 0], value: 0 }),
      node("pad", [0], { value: 0, hi: [1, 0], lo: [0, 1] }),
    ]);
    expect(commonSubexpressions(g)[2]).toBe(1);
  });

  it("never merges random draws, inputs or parameters", () => {
    const g = graph([
      node("input", []),
      node("input", []),
      node("param", []),
      node("param", []),
      node("rng_uniform", []),
      node("rng_uniform", []),
    ]);
    expect(Array.from(commonSubexpressions(g))).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("never merges a named output into another node (callers may change outputs in place)", () => {
    const g = { ...graph([node("input", []), node("neg", [0]), node("neg", [0]), node("neg", [0])]), outputs: [{ name: "b", node: 2 }] };
    expect(Array.from(commonSubexpressions(g))).toEqual([0, 1, 2, 1]);
  });

  it("leaves dead nodes alone", () => {
    const g = graph([node("input", []), node("neg", [0]), node("neg", [0])]);
    expect(Array.from(commonSubexpressions(g, Uint8Array.from([1, 1, 0])))).toEqual([0, 1, 2]);
  });
});
