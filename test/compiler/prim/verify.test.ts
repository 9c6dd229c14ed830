// The IR verifier: a graph the builder made is well formed; each kind of breakage a rewrite
// could introduce is reported.

import { describe, expect, it } from "vitest";
import { PrimBuilder } from "../../../compiler/prim/builder.js";
import type { PGraph, PNode } from "../../../compiler/prim/ir.js";
import { verifyGraph } from "../../../compiler/prim/verify.js";

function sample(): PGraph {
  const b = new PrimBuilder();
  const x = b.input("x", [2, 3], "f32");
  const w = b.param("w", [3]);
  const y = b.sum(b.exp(b.plus(x, w)), [1], true);
  b.output("y", b.reshape(b.transpose(y, [1, 0]), [2]));
  return b.graph();
}

/** `graph` with node `id` replaced by `change(node)`. */
function broken(graph: PGraph, id: number, change: (n: PNode) => PNode): PGraph {
  return { ...graph, nodes: graph.nodes.map((n) => (n.id === id ? change(n) : n)) };
}

describe("verifyGraph", () => {
  it("accepts what the builder builds", () => {
    expect(verifyGraph(sample())).toEqual([]);
  });

  it("reports operands read before they are computed, wrong ids and unknown primitives", () => {
    const g = sample();
    expect(verifyGraph(broken(g, 2, (n) => ({ ...n, inputs: [5, 1] })))[0]).toMatch(/node 2 \(add\): reads 5, 1, not all earlier nodes/);
    expect(verifyGraph(broken(g, 3, (n) => ({ ...n, id: 9 })))[0]).toMatch(/id 9 at position 3/);
    expect(verifyGraph(broken(g, 3, (n) => ({ ...n, op: "frobnicate" })))[0]).toMatch(/unknown primitive/);
  });

  it("reports shapes that break broadcasting, reshapes, reductions and transposes", () => {
    const g = sample();
    expect(verifyGraph(broken(g, 2, (n) => ({ ...n, shape: [3, 3] })))).toContainEqual(
      expect.stringMatching(/operands broadcast to \[2, 3\]/),
    );
    expect(verifyGraph(broken(g, 4, (n) => ({ ...n, shape: [2] })))).toContainEqual(expect.stringMatching(/reducing \[1\] of \[2, 3\]/));
    expect(verifyGraph(broken(g, 5, (n) => ({ ...n, shape: [2, 1] })))).toContainEqual(expect.stringMatching(/transpose/));
    expect(verifyGraph(broken(g, 6, (n) => ({ ...n, shape: [3] })))).toContainEqual(
      expect.stringMatching(/reshape of \[1, 2\] into \[3\]/),
    );
  });

  it("reports dtypes arithmetic does not keep, and named nodes that are missing or of the wrong kind", () => {
    const g = sample();
    expect(verifyGraph(broken(g, 3, (n) => ({ ...n, dtype: "i32" })))).toContainEqual(
      expect.stringMatching(/dtype i32 from operands of f32/),
    );
    expect(verifyGraph({ ...g, outputs: [{ name: "y", node: 99 }] })).toEqual(["output 'y' names node 99, which does not exist"]);
    expect(verifyGraph({ ...g, params: [{ name: "w", node: 0 }] })).toEqual(["parameter 'w' is node 0, input rather than param"]);
  });
});
