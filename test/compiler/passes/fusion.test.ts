// Operator fusion: which nodes group, how outside inputs are indexed, which members need no
// storage, and that a reader scheduled before the group keeps a member out of it.

import { describe, expect, it } from "vitest";
import { inputIndex, planFusion, reductionRows, type FusionGroup } from "../../../compiler/passes/fusion.js";
import { liveNodes } from "../../../compiler/passes/dead-code.js";
import { softmax } from "../../../compiler/ops/lowering.js";
import { PrimBuilder } from "../../../compiler/prim/builder.js";
import type { PGraph } from "../../../compiler/prim/ir.js";

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
    const s = b.argmax(a, 0); // reads a before the next elementwise node runs
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

describe("row groups (reductions over trailing axes)", () => {
  const ops = (g: PGraph, group: FusionGroup): string[] => group.members.map((m) => g.nodes[m]!.op);

  it("makes softmax one row kernel: max, shift, exp, sum and divide, the exponentials kept for the second pass", () => {
    const b = new PrimBuilder();
    const x = b.input("x", [4, 8], "f32");
    b.output("y", softmax(b, x, 1));
    const g = b.graph();
    const plan = planFusion(g, liveNodes(g));
    expect(plan.groups).toHaveLength(1);
    const [group] = plan.groups;
    expect(group!.kind).toBe("row");
    expect(group!.rows).toEqual({ count: 4, length: 8 });
    expect(ops(g, group!)).toEqual(["reduce_max", "sub", "exp", "reduce_sum", "div"]);
    // only the result is written; the max, the exponentials and the sum never reach memory
    expect(group!.outputs.map((o) => g.nodes[o]!.op)).toEqual(["div"]);
    expect(group!.inputs).toEqual([{ node: x, index: { kind: "same" }, perRow: false }]);
  });

  it("fuses layer norm with its affine, indexing gamma and beta along the row", () => {
    const b = new PrimBuilder();
    const x = b.input("x", [2, 3, 16], "f32");
    const gamma = b.param("gamma", [16]);
    const beta = b.param("beta", [16]);
    const centred = b.minus(x, b.mean(x, [2], true));
    const rstd = b.unary("rsqrt", b.shift(b.mean(b.unary("square", centred), [2], true), 1e-5));
    b.output("y", b.plus(b.times(b.times(centred, rstd), gamma), beta));
    const g = b.graph();
    const plan = planFusion(g, liveNodes(g));
    expect(plan.groups).toHaveLength(1);
    expect(plan.groups[0]!.rows).toEqual({ count: 6, length: 16 });
    expect(ops(g, plan.groups[0]!).filter((op) => op === "reduce_sum")).toHaveLength(2);
    expect(plan.groups[0]!.inputs.find((i) => i.node === gamma)!.index).toEqual({ kind: "inner", size: 16 });
  });

  it("leaves reductions over leading or middle axes, and integer reductions, to their own kernels", () => {
    const b = new PrimBuilder();
    const x = b.input("x", [4, 8, 3], "f32");
    const e = b.exp(x);
    const lead = b.sum(e, [0], true); // batch-norm-like: not a row reduction
    const i = b.input("i", [4, 8], "i32");
    b.output("lead", b.times(lead, lead));
    b.output("isum", b.sum(i, [1]));
    const g = b.graph();
    const plan = planFusion(g, liveNodes(g));
    for (const n of g.nodes) if (n.op === "reduce_sum") expect(plan.groupOf[n.id]).toBe(-1);
    expect(reductionRows(g.nodes[lead]!, [4, 8, 3])).toBeUndefined();
    expect(reductionRows({ ...g.nodes[lead]!, attrs: { axes: [1, 2] } }, [4, 8, 3])).toEqual({ count: 4, length: 24 });
    expect(reductionRows({ ...g.nodes[lead]!, attrs: { axes: [1] } }, [4, 8, 1])).toEqual({ count: 4, length: 8 }); // unit axes aside
  });
});

describe("epilogue groups (the elementwise work after a matmul or conv)", () => {
  const ops = (g: PGraph, group: FusionGroup): string[] => group.members.map((m) => g.nodes[m]!.op);
  const WINDOW = { stride: [1, 1], padLo: [1, 1], padHi: [1, 1], dilation: [1, 1] };

  it("puts a linear layer's bias add and activation in the matmul's epilogue, the raw product never written", () => {
    const b = new PrimBuilder();
    const x = b.input("x", [16, 24], "f32");
    const w = b.param("w", [32, 24]);
    const bias = b.param("bias", [32]);
    const h = b.matmul(x, w, false, true);
    const y = b.unary("relu", b.binary("add", h, bias));
    b.output("y", y);
    const g = b.graph();
    const plan = planFusion(g, liveNodes(g));
    expect(plan.groups).toHaveLength(1);
    const [group] = plan.groups;
    expect(group!.kind).toBe("epilogue");
    expect(ops(g, group!)).toEqual(["matmul", "add", "relu"]);
    expect(group!.operands[0]).toEqual([]); // the anchor reads its operands itself
    expect(group!.inputs).toEqual([{ node: bias, index: { kind: "inner", size: 32 }, perRow: false }]);
    expect(plan.virtual[h]).toBe(1);
    expect(group!.outputs).toEqual([y]);
  });

  it("fuses a conv's per-channel bias, a residual add and a scale", () => {
    const b = new PrimBuilder();
    const x = b.input("x", [2, 3, 8, 8], "f32");
    const w = b.param("w", [4, 3, 3, 3]);
    const bias = b.param("bias", [4, 1, 1]);
    const skip = b.input("skip", [2, 4, 8, 8], "f32");
    const c = b.conv(x, w, WINDOW, 1);
    const y = b.binary("mul", b.binary("add", b.binary("add", c, bias), skip), b.scalar(0.5));
    b.output("y", y);
    const g = b.graph();
    const plan = planFusion(g, liveNodes(g));
    expect(plan.groups).toHaveLength(1);
    expect(ops(g, plan.groups[0]!)).toEqual(["conv", "add", "add", "mul"]);
    const index = (node: number) => plan.groups[0]!.inputs.find((i) => i.node === node)!.index;
    expect(index(bias)).toEqual({ kind: "middle", size: 4, span: 64 });
    expect(index(skip)).toEqual({ kind: "same" });
  });

  it("follows the product through the reshape of a linear layer over [B, T, d]", () => {
    const b = new PrimBuilder();
    const x = b.input("x", [2, 3, 8], "f32");
    const w = b.param("w", [4, 8]);
    const bias = b.param("bias", [4]);
    const y = b.binary("add", b.matmul(x, w, false, true), bias); // [6, 8]·[4, 8]ᵀ, reshaped to [2, 3, 4]
    b.output("y", y);
    const g = b.graph();
    expect(g.nodes.filter((n) => n.op === "reshape").length).toBeGreaterThan(0);
    const plan = planFusion(g, liveNodes(g));
    expect(plan.groups.map((gr) => ops(g, gr))).toEqual([["matmul", "add"]]);
    expect(plan.groups[0]!.size).toBe(24);
    expect(plan.groups[0]!.inputs).toEqual([{ node: bias, index: { kind: "inner", size: 4 }, perRow: false }]);
  });

  it("still writes the raw product when something outside the group reads it later", () => {
    const b = new PrimBuilder();
    const x = b.input("x", [8, 8], "f32");
    const w = b.param("w", [8, 8]);
    const h = b.matmul(x, w);
    const y = b.unary("tanh", h);
    b.output("y", y);
    b.output("h", b.matmul(h, w)); // a second product reads h after the epilogue ran
    const g = b.graph();
    const plan = planFusion(g, liveNodes(g));
    const group = plan.groups.find((gr) => gr.members.includes(h))!;
    expect(ops(g, group)).toEqual(["matmul", "tanh"]);
    expect(plan.virtual[h]).toBe(0);
    expect(new Set(group.outputs)).toEqual(new Set([h, y]));
  });

  it("leaves the bias add out when a node scheduled before it reads the product", () => {
    const b = new PrimBuilder();
    const x = b.input("x", [8, 8], "f32");
    const w = b.param("w", [8, 8]);
    const h = b.matmul(x, w);
    const early = b.argmax(h, 1); // runs before the add: it must find the product written
    const y = b.binary("add", h, b.param("bias", [8]));
    b.output("early", early);
    b.output("y", y);
    const g = b.graph();
    const plan = planFusion(g, liveNodes(g));
    expect(plan.groupOf[h]).toBe(-1);
    expect(plan.groupOf[y]).toBe(-1);
  });

  it("takes no reduction, no integer product, and nothing when epilogues are off", () => {
    const b = new PrimBuilder();
    const x = b.input("x", [8, 8], "f32");
    const w = b.param("w", [8, 8]);
    const h = b.matmul(x, w);
    const rowSum = b.sum(h, [1]);
    const i = b.input("i", [4, 4], "i32");
    const ip = b.binary("add", b.matmul(i, i), i);
    const y = b.unary("relu", b.binary("add", b.matmul(x, w), b.param("bias", [8])));
    b.output("rowSum", rowSum);
    b.output("ip", ip);
    b.output("y", y);
    const g = b.graph();
    const plan = planFusion(g, liveNodes(g));
    expect(plan.groupOf[rowSum]).toBe(-1);
    expect(plan.groupOf[h]).toBe(-1);
    expect(plan.groupOf[ip]).toBe(-1);
    expect(plan.groups.map((gr) => gr.kind)).toEqual(["epilogue"]);
    const off = planFusion(g, liveNodes(g), undefined, { epilogues: false });
    expect(off.groups.map((gr) => [gr.kind, ops(g, gr)])).toEqual([["elementwise", ["add", "relu"]]]);
  });
});
