// Attention expansion: the attention primitives (compiler/prim/attention.ts) rewritten into
// the unfused primitives (matmul, scale, mask, softmax, matmul; their backward from the stored
// weights), for the programs that should not run the streaming kernel: `-O0`, `--no-fuse`,
// `--no-flash-attention`, and the WebGPU backend, which has no streaming kernel yet.
//
// The backward of an expanded attention reads the weights its forward stored, as the
// autodiff of the unfused chain would, rather than computing them again.

import { PrimBuilder, type T } from "../prim/builder.js";
import {
  attentionAttrs,
  attentionWeights,
  outputColumns,
  packAttentionGrad,
  unfusedAttention,
  unfusedAttentionGrad,
} from "../prim/attention.js";
import type { PGraph, PNode } from "../prim/ir.js";
import { rewriteGraph, siteOf, type GraphRewriter, type Rewritten } from "./rewrite.js";

/** Whether a graph holds attention primitives. */
export function hasAttention(graph: PGraph): boolean {
  return graph.nodes.some((n) => n.op === "attention" || n.op === "attention_grad");
}

export function expandAttention(graph: PGraph): Rewritten {
  /** each expanded attention node (old id): its weights in the new graph */
  const weightsOf = new Map<number, number>();
  return rewriteGraph(graph, (n, rw) => {
    if (n.op !== "attention" && n.op !== "attention_grad") return undefined;
    const attrs = attentionAttrs(n);
    const masked = attrs.mask !== "none";
    const [q, k, v] = n.inputs.slice(0, 3).map((i) => rw.mapped(i)) as [T, T, T];
    const mask = masked ? rw.mapped(n.inputs[3]!) : undefined;
    if (n.op === "attention") {
      const [p, o] = splice(rw, n, mask === undefined ? [q, k, v] : [q, k, v, mask], (b, [bq, bk, bv, bm]) => {
        const r = unfusedAttention(b, bq!, bk!, bv!, bm, attrs);
        return [r.p, r.packed];
      });
      weightsOf.set(n.id, p!);
      return o;
    }
    const forward = n.inputs.at(-2)!;
    const dy = rw.mapped(n.inputs.at(-1)!);
    const stored = weightsOf.get(forward);
    const operands = [q, k, v, dy, ...(stored !== undefined ? [stored] : mask !== undefined ? [mask] : [])];
    return splice(rw, n, operands, (b, [bq, bk, bv, bdy, extra]) => {
      const p = stored !== undefined ? extra! : attentionWeights(b, bq!, bk!, extra, attrs);
      const g = unfusedAttentionGrad(b, bq!, bk!, bv!, p, outputColumns(b, bdy!), attrs.scale);
      return [packAttentionGrad(b, [g.dq, g.dk, g.dv])];
    })[0];
  });
}

/**
 * Build nodes with the primitive builder over `operands` (nodes of the new graph) and append
 * them to the rewrite, stamped with the replaced node's source site; returns `build`'s results
 * as nodes of the new graph.
 */
function splice(
  rw: GraphRewriter,
  at: PNode,
  operands: readonly number[],
  build: (b: PrimBuilder, xs: readonly T[]) => readonly T[],
): number[] {
  const b = new PrimBuilder();
  const xs = operands.map((id) => b.add("input", [], {}, rw.nodes[id]!.shape, rw.nodes[id]!.dtype));
  const results = build(b, xs);
  const image = new Int32Array(b.nodes.length).fill(-1);
  xs.forEach((x, i) => (image[x] = operands[i]!));
  const site = { ...siteOf(at), ...(at.checkpoint !== undefined ? { checkpoint: at.checkpoint } : {}) };
  for (const n of b.nodes) {
    if (image[n.id]! >= 0) continue;
    image[n.id] = rw.add({ op: n.op, inputs: n.inputs.map((i) => image[i]!), attrs: n.attrs, shape: n.shape, dtype: n.dtype, ...site });
  }
  return results.map((r) => image[r]!);
}
