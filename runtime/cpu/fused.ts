// The kernel of a fusion group (compiler/passes/fusion.ts): one loop over the output
// elements that evaluates every member from the group's outside inputs, in registers, with
// the same scalar functions and the same float32 rounding after every member as the
// one-kernel-per-node path, so fused and unfused programs agree bit for bit. The loop is
// generated once per group as JavaScript source (only numbers and fixed names go into it, no
// text from a model) and compiled by the engine, so that the scalar functions inline.

import type { FusionGroup } from "../../compiler/passes/fusion.js";
import type { PGraph } from "../../compiler/prim/ir.js";
import type { Buf, Kernel } from "./builders.js";
import { BINARY_F, UNARY_F } from "./ops-math.js";

/** Whether this engine can compile generated code (a browser page's content security policy may forbid it). */
export const canGenerateCode: boolean = (() => {
  try {
    return new Function("return 1")() === 1;
  } catch {
    return false;
  }
})();

/** Compiled loops by source and scalar functions: groups of the same structure and size (one per layer or time step) share one. */
const factories = new Map<string, (...args: unknown[]) => Kernel>();

/** The group's kernel, reading outside inputs from `bufs` and writing its outputs there. */
export function fusedKernel(graph: PGraph, group: FusionGroup, bufs: readonly Buf[]): Kernel {
  const fns: ((...x: number[]) => number)[] = [];
  const fnNames: string[] = [];
  const args: unknown[] = [];
  const params: string[] = [];
  const local = new Map<number, string>();
  const reads: string[] = [];
  const steps: string[] = [];
  const counters: string[] = [];
  group.inputs.forEach((input, k) => {
    params.push(`in${k}`);
    args.push(bufs[input.node]);
    const index = input.index;
    // broadcast inputs follow the flat index with counters that wrap, not a division per element
    if (index.kind === "same") reads.push(`const x${k} = in${k}[i];`);
    else if (index.kind === "scalar") reads.push(`const x${k} = in${k}[0];`);
    else if (index.kind === "inner") {
      counters.push(`let j${k} = 0;`);
      reads.push(`const x${k} = in${k}[j${k}];`);
      steps.push(`if (++j${k} === ${index.size}) j${k} = 0;`);
    } else {
      counters.push(`let r${k} = 0, c${k} = 0;`);
      reads.push(`const x${k} = in${k}[r${k}];`);
      steps.push(`if (++c${k} === ${index.span}) { c${k} = 0; r${k}++; }`);
    }
    local.set(input.node, `x${k}`);
  });
  const body: string[] = [...reads];
  for (const [k, id] of group.members.entries()) {
    const n = graph.nodes[id]!;
    const operands = group.operands[k]!.map((i) => local.get(i));
    if (operands.some((o) => o === undefined)) throw new Error(`fusion: node ${id} reads a value the group does not hold`);
    let expr: string;
    if (n.op === "where") expr = `${operands[0]} !== 0 ? ${operands[1]} : ${operands[2]}`;
    else if (n.op === "cast") expr = n.dtype === "bool" ? `${operands[0]} !== 0 ? 1 : 0` : `${operands[0]}`;
    else {
      const f = UNARY_F[n.op] ?? BINARY_F[n.op];
      if (!f) throw new Error(`fusion: '${n.op}' is not elementwise`);
      fns.push(f);
      fnNames.push(n.op);
      expr = `f${fns.length - 1}(${operands.join(", ")})`;
    }
    // float32 results round as a Float32Array store would; bool results are already 0 or 1
    body.push(`const v${id} = ${n.dtype === "f32" ? `fround(${expr})` : expr};`);
    local.set(id, `v${id}`);
  }
  group.outputs.forEach((id, k) => {
    params.push(`out${k}`);
    args.push(bufs[id]);
    body.push(`out${k}[i] = ${local.get(id)};`);
  });
  // value names are node ids; renumber them so that groups of the same structure share source
  let next = 0;
  const renamed = new Map<string, string>();
  const text = [...counters, `for (let i = 0; i < ${group.size}; i++) {`, ...body, ...steps, "}"]
    .join("\n")
    .replace(/\bv(\d+)\b/g, (m) => renamed.get(m) ?? (renamed.set(m, `t${next++}`), renamed.get(m)!));
  const source = `const fround = Math.fround;\nreturn () => {\n${text}\n};`;
  const key = `${fnNames.join(",")}\n${source}`;
  let factory = factories.get(key);
  if (!factory) {
    factory = new Function(...fns.map((_, k) => `f${k}`), ...params, source) as (...args: unknown[]) => Kernel;
    factories.set(key, factory);
  }
  return factory(...fns, ...args);
}
