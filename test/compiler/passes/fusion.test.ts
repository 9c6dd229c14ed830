// Operator fusion: which nodes group, how outside inputs are indexed, which members need no
// storage, and that a reader scheduled before the group keeps a member out of it.

import { describe, expect, it } from "vitest";
import { inputIndex, planFusion } from "../../../compiler/passes/fusion.js";
import { liveNodes } from "../../../compiler/passes/dead-code.js";
import { PrimBuilder } from "../../../compiler/prim/builder.js";

describe("inputIndex", () => {
  it("follows same-shape, scalar, trailing-block and leading-block inputs, and refuses the rest", () => {
    expect(inputIndex([4, 8], [4, 8])).toEqual({ kind: "same" });
    expect(inputIndex([], [4, 8])).toEqual({ kind: "scalar" });
    expect(inputIndex([1, 1], [4, 8])).toEqual({ kind: "scalar" });
    expect(inputIndex([8], [4, 8])).toEqual({ kind: "inner", size: 8 }); // a bias
    expect(inputIndex([1, 3, 5], [2, 3, 5])).toEqual({ kind: "inner", size: 15 });
    expect(inputIndex([4, 1], [4, 8])).toEqual({ kind: "outer", span: 8 }); // per-row statistics
    expect(inputIndex([2, 3, 1, 1], [2, 3, 4, 4])).toEqual({ kind: "outer", span: 16 });
    expect(inputIndex([1, 3, 1], [2, 3, 4])).toEqual({ kind: "middle", size: 3, span: 4 }); // per channel
    expect(inputIndex([3, 1, 1], [2, 3, 4, 5])).toEqual({ kind: "middle", size: 3, span: 20 }); // a conv bias
    expect(inputIndex([2, 1, 4], [2, 3, 4])).toBeUndefined(); // two blocks
    expect(inputIndex([8, 4], [4, 8])).toBeUndefined(); // same size, another layout
  });
});

describe("planFusion", () => {
  it("fuses dropout's draw → compare → cast → scale → multiply into one group writing only the result and the mask the backward pass reads", () => {
    const b = new PrimBuilder();
    const x = b.input("x", [4, 8], "f32");
    const u = b.random("uniform", [4, 8]);
    const keep = b.cast(b.binary("ge", u, b.scalar(0.1)), "f32");
    const y = b.binary("mul", b.binary("mul", x, keep), b.scalar(1 / 0.9));
    b.output("y", y);
    b.output("keep", keep);
    const g = b.graph();
    const plan = planFusion(g, liveNodes(g));
    expect(plan.groups).toHaveLength(1);
    const [group] = plan.groups;
    expect(group!.members.map((m) => g.nodes[m]!.op)).toEqual(["ge", "cast", "mul", "mul"]);
    expect(new Set(group!.outputs)).toEqual(new Set([y, keep]));
    expect(group!.inputs.map((i) => g.nodes[i.node]!.op).sort()).toEqual(["const", "const", "input", "rng_uniform"]);
    const ge = group!.members[0]!;
    expect(plan.virtual[ge]).toBe(1); // the comparison lives in registers only
    expect(plan.virtual[y]).toBe(0);
  });

  it("fuses a bias add and its activation, indexing the bias as a trailing block", () => {
    const b = new PrimBuilder();
    const h = b.input("h", [16, 32], "f32");
    const bias = b.param("bias", [32]);
    const y = b.unary("relu", b.binary("add", h, bias));
    b.output("y", y);
    const g = b.graph();
    const plan = planFusion(g, liveNodes(g));
    expect(plan.groups).toHaveLength(1);
    expect(plan.groups[0]!.inputs.find((i) => i.node === bias)!.index).toEqual({ kind: "inner", size: 32 });
  });

  it("keeps a node out of a group when a member is read by a node scheduled before it", () => {
    const b = new PrimBuilder();
    const x = b.input("x", [8], "f32");
    const a = b.unary("exp", x);
    const s = b.sum(a, [0]); // reads a before the next elementwise node runs
    const c = b.binary("mul", a, b.scalar(2));
    b.output("s", s);
    b.output("c", c);
    const g = b.graph();
    const plan = planFusion(g, liveNodes(g));
    expect(plan.groupOf[a]).toBe(-1);
    expect(plan.groupOf[c]).toBe(-1);
  });

  it("leaves integer arithmetic and different shapes unfused", () => {
    const b = new PrimBuilder();
    const i = b.input("i", [8], "i32");
    const j = b.binary("mul", b.binary("add", i, i), i);
    const x = b.input("x", [8], "f32");
    const y = b.unary("exp", b.reshape(b.unary("neg", x), [2, 4]));
    b.output("j", j);
    b.output("y", y);
    const g = b.graph();
    expect(planFusion(g, liveNodes(g)).groups).toHaveLength(0);
  });
});
