// Floating-point operations of one primitive node, at its concrete shapes: what the
// checkpointing pass charges for recomputing a value and what a training step costs in all.
// Conventions follow compiler/analyze.ts: a multiply-add is 2 FLOPs, an elementwise
// operation 1 per output element, a reduction 1 per input element; moving data (reshape,
// transpose, slice, pad, concat, gather, cast, broadcast) and leaves cost nothing.

import { attentionFlops } from "./attention.js";
import { BINARY, UNARY, numelOf, type PGraph, type PNode } from "./ir.js";

const ELEMENTWISE: ReadonlySet<string> = new Set<string>([...UNARY, ...BINARY, "where", "rng_uniform", "rng_normal"]);
const REDUCTIONS: ReadonlySet<string> = new Set(["reduce_sum", "reduce_max", "reduce_min", "argmax", "argmin", "scatter_add"]);
const POOLS: ReadonlySet<string> = new Set(["max_pool", "avg_pool"]);
const POOL_GRADS: ReadonlySet<string> = new Set(["max_pool_grad", "avg_pool_grad"]);

export function primitiveFlops(n: PNode, graph: PGraph): number {
  const shapeOf = (k: number): readonly number[] => graph.nodes[n.inputs[k]!]!.shape;
  const out = numelOf(n.shape);
  if (ELEMENTWISE.has(n.op)) return out;
  if (REDUCTIONS.has(n.op)) return numelOf(shapeOf(0));
  switch (n.op) {
    case "matmul": {
      const a = shapeOf(0);
      const inner = n.attrs.transA === true ? a.at(-2)! : a.at(-1)!;
      return 2 * out * inner;
    }
    case "attention":
    case "attention_grad":
      return attentionFlops(n, shapeOf);
    case "conv":
    case "conv_input_grad":
      // every output (conv) or every input-gradient (its transpose) element: one window of C/groups × kernel
      return 2 * numelOf(n.op === "conv" ? n.shape : shapeOf(0)) * numelOf(shapeOf(1).slice(1));
    case "conv_weight_grad":
      // every weight element: a sum over the batch and the output positions
      return 2 * numelOf(shapeOf(1)) * numelOf(n.shape.slice(1));
  }
  const kernel = n.attrs.kernel as readonly number[] | undefined;
  if (POOLS.has(n.op)) return out * numelOf(kernel ?? []);
  if (POOL_GRADS.has(n.op)) return numelOf(shapeOf(n.op === "max_pool_grad" ? 1 : 0)) * numelOf(kernel ?? []);
  return 0;
}
