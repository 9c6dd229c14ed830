// Dead-code elimination over the primitive IR: which nodes a run must compute.

import type { PGraph } from "../prim/ir.js";

/**
 * Nodes some output depends on (all of them when the graph names no outputs). Inputs,
 * parameters and random draws stay (feeds, owned state, and the draw order that makes runs
 * reproducible against the reference interpreter).
 */
export function liveNodes(graph: PGraph): Uint8Array {
  const live = new Uint8Array(graph.nodes.length);
  if (graph.outputs.length === 0) return live.fill(1);
  for (const o of graph.outputs) live[o.node] = 1;
  for (const n of graph.nodes) if (n.op === "input" || n.op === "param" || n.op === "rng_uniform" || n.op === "rng_normal") live[n.id] = 1;
  for (let id = graph.nodes.length - 1; id >= 0; id--) if (live[id]) for (const i of graph.nodes[id]!.inputs) live[i] = 1;
  return live;
}
