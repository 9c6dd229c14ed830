// The kernel of a fusion group: the loop compiler/codegen/fused-loop.ts writes, compiled by
// the engine once per distinct loop (groups of the same structure and size, one per layer or
// time step, share it), so that the scalar functions inline.

import { fusedLoop } from "../../compiler/codegen/fused-loop.js";
import type { FusionGroup } from "../../compiler/passes/fusion.js";
import type { PGraph } from "../../compiler/prim/ir.js";
import type { Buf, Kernel } from "./builders.js";
import { SCALAR_F } from "./ops-math.js";

/** Whether this engine can compile generated code (a browser page's content security policy may forbid it). */
export const canGenerateCode: boolean = (() => {
  try {
    return new Function("return 1")() === 1;
  } catch {
    return false;
  }
})();

const factories = new Map<string, (...args: unknown[]) => Kernel>();

/** The group's kernel, reading outside inputs from `bufs` and writing its outputs there. */
export function fusedKernel(graph: PGraph, group: FusionGroup, bufs: readonly Buf[]): Kernel {
  const loop = fusedLoop(graph, group, (op) => op in SCALAR_F);
  const params = [
    ...loop.scalarOps.map((_, k) => `f${k}`),
    ...loop.inputs.map((_, k) => `in${k}`),
    ...loop.outputs.map((_, k) => `out${k}`),
  ];
  const source = `const fround = Math.fround;\n${loop.setup}\nreturn () => {\n${loop.body}\n};`;
  const key = `${loop.scalarOps.join(",")}|${params.length}\n${source}`;
  let factory = factories.get(key);
  if (!factory) {
    factory = new Function(...params, source) as (...args: unknown[]) => Kernel;
    factories.set(key, factory);
  }
  return factory(...loop.scalarOps.map((op) => SCALAR_F[op]), ...loop.inputs.map((i) => bufs[i]), ...loop.outputs.map((o) => bufs[o]));
}
