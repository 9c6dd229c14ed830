// Common-subexpression elimination over the primitive IR: a node that repeats an earlier
// node (same primitive, same inputs after elimination, same attributes, shape and dtype)
// is replaced by it. Autodiff and the per-op lowerings emit such repeats often: a norm layer's
// x − mean and its scaling recomputed for the backward pass, index tables and masks built per
// head or per step, reshapes of one tensor in several places.
//
// The result is a representative per node (itself when it is not a repeat); backends alias a
// repeat's storage to its representative's, so node ids and graph outputs stay as they are.
// Random draws are never merged (each draws fresh numbers), nor inputs and parameters (fed
// and owned by the caller), nor named outputs into other nodes: callers may change an output
// in place after a run (gradient clipping scales each gradient), which must not reach another
// output that happens to hold the same value (two biases' gradients).

import type { PGraph } from "../prim/ir.js";

const NEVER_MERGED: ReadonlySet<string> = new Set(["input", "param", "rng_uniform", "rng_normal"]);

export function commonSubexpressions(graph: PGraph, live?: Uint8Array): Int32Array {
  const rep = new Int32Array(graph.nodes.length);
  const output = new Uint8Array(graph.nodes.length);
  for (const o of graph.outputs) output[o.node] = 1;
  const seen = new Map<string, number>();
  for (const n of graph.nodes) {
    rep[n.id] = n.id;
    if ((live && !live[n.id]) || NEVER_MERGED.has(n.op)) continue;
    // a recomputed copy must not merge back into the value it recomputes (that would undo checkpointing)
    const key = `${n.op}|${n.dtype}|${n.shape.join(",")}|${n.inputs.map((i) => rep[i]).join(",")}|${attrKey(n.attrs)}|${n.recomputes ?? ""}`;
    const earlier = seen.get(key);
    if (earlier === undefined) seen.set(key, n.id);
    else if (!output[n.id]) rep[n.id] = earlier;
  }
  return rep;
}

/** Attributes as a canonical string (keys sorted, so the order they were written in does not matter). */
function attrKey(attrs: Readonly<Record<string, unknown>>): string {
  return JSON.stringify(attrs, (_, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
