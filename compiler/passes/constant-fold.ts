// Constant folding over the primitive IR: a node computed only from constants (const, iota,
// and nodes folded before it) becomes a constant, evaluated once at compile time. Index
// tables, causal masks, position encodings and the scalar arithmetic of the lowerings (1/n,
// the square root of a head size) are built this way.
//
// A node is evaluated with the reference interpreter's semantics (runtime/cpu/reference.ts)
// from float32 operands, and its float32 result rounded as a Float32Array store rounds it: the
// same bits the executor's kernel computes, node by node (elementwise work is computed in
// float64 and stored, reductions sum in element order). Matrix products and convolutions are
// left alone (their kernels sum in another order). Named outputs stay computed (callers may
// change an output's buffer in place after a run; a constant would keep the change), and so do
// results too large to write out as a literal (more than FOLD_LIMIT distinct values).

import { evaluate, type HostArray } from "../../runtime/cpu/reference.js";
import { BINARY, numelOf, UNARY, type PGraph, type PNode } from "../prim/ir.js";
import { outputNodes, rewriteGraph, siteOf, type GraphRewriter, type Rewritten } from "./rewrite.js";

const FOLDABLE: ReadonlySet<string> = new Set<string>([
  ...UNARY,
  ...BINARY,
  "where",
  "cast",
  "reshape",
  "broadcast_to",
  "transpose",
  "slice",
  "pad",
  "concat",
  "reduce_sum",
  "reduce_max",
  "reduce_min",
  "argmax",
  "argmin",
  "one_hot",
]);

/** Folded results with more elements than this (and not one value repeated) stay computed: constants are written out in generated code. */
export const FOLD_LIMIT = 4096;
/** Nothing larger is evaluated at compile time at all. */
const EVALUATE_LIMIT = 1 << 20;

export function foldConstants(graph: PGraph): Rewritten {
  const isOutput = outputNodes(graph);
  /** values of the new graph's constant nodes, float32 values exact */
  const known = new Map<number, HostArray>();
  return rewriteGraph(graph, (old: PNode, rw: GraphRewriter) => {
    if (old.op === "const" || old.op === "iota") {
      const id = rw.copy(old);
      if (numelOf(old.shape) <= EVALUATE_LIMIT) known.set(id, evaluateNode(rw.nodes[id]!, []));
      return id;
    }
    if (!FOLDABLE.has(old.op) || isOutput[old.id] || numelOf(old.shape) > EVALUATE_LIMIT) return undefined;
    const inputs = old.inputs.map((i) => known.get(rw.mapped(i)));
    if (inputs.some((v) => v === undefined)) return undefined;
    const node: PNode = { ...old, inputs: old.inputs.map((i) => rw.mapped(i)) };
    const values = evaluateNode(
      node,
      inputs as HostArray[],
      old.inputs.map((i) => rw.nodes[rw.mapped(i)]!),
    );
    const uniform = values.every((v) => Object.is(v, values[0]));
    if (!uniform && values.length > FOLD_LIMIT) return undefined;
    const attrs = uniform && values.length > 0 ? { value: values[0]! } : { values: Array.from(values) };
    const id = rw.add({ op: "const", inputs: [], attrs, shape: old.shape, dtype: old.dtype, ...siteOf(old) });
    known.set(id, values);
    return id;
  });
}

/** The node's value from its operands' values, float32 results rounded to float32. */
function evaluateNode(n: PNode, values: readonly HostArray[], operands: readonly PNode[] = []): HostArray {
  // a graph of the operands as constants and the node reading them
  const nodes: PNode[] = operands.map((o, k) => ({
    id: k,
    op: "const",
    inputs: [],
    attrs: { values: Array.from(values[k]!) },
    shape: o.shape,
    dtype: o.dtype,
  }));
  nodes.push({ ...n, id: nodes.length, inputs: operands.map((_, k) => k) });
  const out = evaluate({ nodes, inputs: [], params: [], outputs: [] }, new Map()).get(nodes.length - 1)!.data;
  return n.dtype === "f32" ? Float32Array.from(out) : out;
}
