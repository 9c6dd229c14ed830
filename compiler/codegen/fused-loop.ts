// The loop of a fusion group (compiler/passes/fusion.ts) as JavaScript source, shared by the
// CPU executor (which compiles it at run time) and the TypeScript code generator (which writes
// it into the module). One pass over the output elements evaluates every member from the
// group's outside inputs, in registers, with the primitives' scalar functions and the float32
// rounding a Float32Array store applies after every member, so fused and unfused code agree
// bit for bit. Only numbers and fixed names go into the source, never text from a model.

import type { FusionGroup } from "../passes/fusion.js";
import type { PGraph } from "../prim/ir.js";

export interface FusedLoop {
  /** the primitives whose scalar functions the loop calls, as parameters f0, f1, … */
  readonly scalarOps: readonly string[];
  /** outside inputs, as parameters in0, in1, … (after the scalar functions) */
  readonly inputs: readonly number[];
  /** members written to memory, as parameters out0, out1, … (after the inputs) */
  readonly outputs: readonly number[];
  /** statements of the kernel's body (it takes no arguments); they use `fround` for Math.fround */
  readonly body: string;
}

export function fusedLoop(graph: PGraph, group: FusionGroup, isScalarOp: (op: string) => boolean): FusedLoop {
  const scalarOps: string[] = [];
  const local = new Map<number, string>();
  const reads: string[] = [];
  const steps: string[] = [];
  const counters: string[] = [];
  group.inputs.forEach((input, k) => {
    const index = input.index;
    // broadcast inputs follow the flat index with counters that wrap, not a division per element
    if (index.kind === "same") reads.push(`const x${k} = in${k}[i];`);
    else if (index.kind === "scalar") reads.push(`const x${k} = in${k}[0];`);
    else if (index.kind === "inner") {
      counters.push(`let j${k} = 0;`);
      reads.push(`const x${k} = in${k}[j${k}];`);
      steps.push(`if (++j${k} === ${index.size}) j${k} = 0;`);
    } else if (index.kind === "middle") {
      counters.push(`let j${k} = 0;`, `let c${k} = 0;`);
      reads.push(`const x${k} = in${k}[j${k}];`);
      steps.push(`if (++c${k} === ${index.span}) {`, `c${k} = 0;`, `if (++j${k} === ${index.size}) j${k} = 0;`, `}`);
    } else {
      counters.push(`let r${k} = 0;`, `let c${k} = 0;`);
      reads.push(`const x${k} = in${k}[r${k}];`);
      steps.push(`if (++c${k} === ${index.span}) {`, `c${k} = 0;`, `r${k}++;`, `}`);
    }
    local.set(input.node, `x${k}`);
  });
  const body: string[] = [...reads];
  group.members.forEach((id, k) => {
    const n = graph.nodes[id]!;
    const operands = group.operands[k]!.map((i) => local.get(i));
    if (operands.some((o) => o === undefined)) throw new Error(`fusion: node ${id} reads a value the group does not hold`);
    let expr: string;
    if (n.op === "where") expr = `${operands[0]} !== 0 ? ${operands[1]} : ${operands[2]}`;
    else if (n.op === "cast") expr = n.dtype === "bool" ? `${operands[0]} !== 0 ? 1 : 0` : `${operands[0]}`;
    else {
      if (!isScalarOp(n.op)) throw new Error(`fusion: '${n.op}' is not elementwise`);
      scalarOps.push(n.op);
      expr = `f${scalarOps.length - 1}(${operands.join(", ")})`;
    }
    // float32 results round as a Float32Array store would; bool results are already 0 or 1
    const name = `t${k}`;
    body.push(`const ${name} = ${n.dtype === "f32" ? `fround(${expr})` : expr};`);
    local.set(id, name);
  });
  group.outputs.forEach((id, k) => body.push(`out${k}[i] = ${local.get(id)};`));
  const text = [...counters, `for (let i = 0; i < ${group.size}; i++) {`, ...body, ...steps, "}"].join("\n");
  return { scalarOps, inputs: group.inputs.map((i) => i.node), outputs: group.outputs, body: text };
}
