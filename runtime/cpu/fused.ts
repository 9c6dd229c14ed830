// The kernel of a fusion group: the loop compiler/codegen/fused-loop.ts writes, compiled by
// the engine once per distinct loop (groups of the same structure and size, one per layer or
// time step, share it), so that the scalar functions inline. An epilogue group's loop is the
// epilogue function of its matmul or conv kernel (runtime/cpu/builders.ts).

import { EPILOGUE_PARAMS, fusedLoop } from "../../compiler/codegen/fused-loop.js";
import type { FusionGroup } from "../../compiler/passes/fusion.js";
import type { PGraph } from "../../compiler/prim/ir.js";
import { epilogueKernel, type Buf, type Epilogue, type Kernel } from "./builders.js";
import type { SeededStream } from "./ops-rng.js";
import { SCALAR_F } from "./ops-math.js";

/** Whether this engine can compile generated code (a browser page's content security policy may forbid it). */
export const canGenerateCode: boolean = (() => {
  try {
    return new Function("return 1")() === 1;
  } catch {
    return false;
  }
})();

const factories = new Map<string, (...args: unknown[]) => unknown>();

/** The group's kernel, reading outside inputs from `bufs` and writing its outputs there. */
export function fusedKernel(graph: PGraph, group: FusionGroup, bufs: readonly Buf[], rng: SeededStream): Kernel {
  const loop = fusedLoop(graph, group, (op) => op in SCALAR_F);
  const params = [
    ...loop.scalarOps.map((_, k) => `f${k}`),
    ...loop.inputs.map((_, k) => `in${k}`),
    ...loop.outputs.map((_, k) => `out${k}`),
  ];
  const epilogue = group.kind === "epilogue";
  const signature = epilogue ? EPILOGUE_PARAMS.join(", ") : "";
  const source = `const fround = Math.fround;\n${loop.setup}\nreturn (${signature}) => {\n${loop.body}\n};`;
  const key = `${loop.scalarOps.join(",")}|${params.length}\n${source}`;
  let factory = factories.get(key);
  if (!factory) {
    factory = new Function(...params, source) as (...args: unknown[]) => unknown;
    factories.set(key, factory);
  }
  const fn = factory(...loop.scalarOps.map((op) => SCALAR_F[op]), ...loop.inputs.map((i) => bufs[i]), ...loop.outputs.map((o) => bufs[o]));
  if (!epilogue) return fn as Kernel;
  // the anchor's own kernel, its output handed to the loop instead of written
  const anchor = graph.nodes[group.members[0]!]!;
  const ins = anchor.inputs.map((i) => bufs[i]!);
  return epilogueKernel({ n: anchor, ins, shapes: anchor.inputs.map((i) => graph.nodes[i]!.shape), rng }, fn as Epilogue);
}
