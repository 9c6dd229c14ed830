// Elementwise kernels: one node (unary, binary, where, cast: NumPy broadcasting by per-axis
// index arithmetic) or one fusion group (compiler/passes/fusion.ts: every member evaluated in
// registers from the group's outside inputs, each read through the flat-index rule the plan
// gives it, and only the members something outside reads written out).

import type { FusionGroup, InputIndex } from "../../passes/fusion.js";
import { numelOf, type PGraph } from "../../prim/ir.js";
import type { KernelTarget, WgslGenerator, WgslKernel } from "./kernel.js";
import { helperText, scalarExpr, type Operand, type ScalarHelper } from "./scalar.js";
import { broadcastOffsetExpr, itemKernel, splitIndex, standardBindings, type Binding } from "./writer.js";

/** The kernel of one elementwise node, its inputs broadcast to its shape. */
export const elementwiseKernel: WgslGenerator = (node, inputShapes, target, dtypes) => {
  const operands: Operand[] = inputShapes.map((s, k) => ({
    expr: `in${k}[${broadcastOffsetExpr(s, node.shape.length, "o")}]`,
    dtype: dtypes[k]!,
  }));
  const value = scalarExpr(node.op, node.dtype, operands, node.attrs);
  return itemKernel(
    {
      label: `${node.op} [${node.shape.join("x")}]`,
      bindings: standardBindings(dtypes, node.dtype),
      count: numelOf(node.shape),
      helpers: helperText(value.helpers),
      body: (w) => {
        splitIndex(w, "i", node.shape, "o");
        w.line(`out[i] = ${value.expr};`);
      },
    },
    target,
  );
};

/** A group's work at flat position `i`: the bindings it reads and writes, and the statements. */
export interface GroupStatements {
  /** the outside inputs in order (`${prefix}in0`..), then the written members (`${prefix}out0`..) */
  readonly bindings: readonly Binding[];
  readonly lines: readonly string[];
  readonly helpers: readonly ScalarHelper[];
}

/**
 * The members of an elementwise or epilogue group evaluated in registers at flat position `i`:
 * each outside input read by its InputIndex rule, the members in order, each written member
 * stored. `given` holds members whose values the caller already has (an epilogue's anchor).
 */
export function groupStatements(graph: PGraph, group: FusionGroup, given: ReadonlyMap<number, Operand>, prefix = ""): GroupStatements {
  const inputs: Operand[] = [];
  const members = new Map<number, Operand>(given);
  const helpers: ScalarHelper[] = [];
  const bindings: Binding[] = [];
  const lines: string[] = [];
  group.inputs.forEach((input, k) => {
    const dtype = graph.nodes[input.node]!.dtype;
    bindings.push({ name: `${prefix}in${k}`, dtype, write: false });
    lines.push(`let x${k} = ${prefix}in${k}[${flatInputOffset(input.index, "i")}];`);
    inputs.push({ expr: `x${k}`, dtype });
  });
  group.members.forEach((id, k) => {
    if (given.has(id)) return;
    const n = graph.nodes[id]!;
    const operands = group.operands[k]!.map((o) => ("member" in o ? members.get(o.member) : inputs[o.input]));
    if (operands.some((o) => o === undefined)) throw new Error(`fusion: node ${id} reads a value the group does not hold`);
    const value = scalarExpr(n.op, n.dtype, operands as Operand[], n.attrs);
    helpers.push(...value.helpers);
    lines.push(`let t${k} = ${value.expr};`);
    members.set(id, { expr: `t${k}`, dtype: n.dtype });
  });
  group.outputs.forEach((id, k) => {
    bindings.push({ name: `${prefix}out${k}`, dtype: graph.nodes[id]!.dtype, write: true });
    lines.push(`${prefix}out${k}[i] = ${members.get(id)!.expr};`);
  });
  return { bindings, lines, helpers };
}

/** One fused kernel for a fusion group: bindings are the outside inputs in order, then the written members. */
export function fusedGroupKernel(graph: PGraph, group: FusionGroup, target: KernelTarget): WgslKernel {
  const { bindings, lines, helpers } = groupStatements(graph, group, new Map());
  const ops = group.members.map((id) => graph.nodes[id]!.op);
  return itemKernel(
    {
      label: `fused ${ops.join("+")} [${graph.nodes[group.members.at(-1)!]!.shape.join("x")}]`,
      bindings,
      count: group.size,
      helpers: helperText(helpers),
      body: (w) => w.line(...lines),
    },
    target,
  );
}

/** The flat offset a fused kernel reads an outside input at, for output position `i` (fusion.ts's InputIndex rules). */
export function flatInputOffset(index: InputIndex, i: string): string {
  switch (index.kind) {
    case "same":
      return i;
    case "scalar":
      return "0u";
    case "inner":
      return `${i} % ${index.size}u`;
    case "outer":
      return `${i} / ${index.span}u`;
    case "middle":
      return `(${i} / ${index.span}u) % ${index.size}u`;
  }
}
