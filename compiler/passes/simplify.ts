// Algebraic simplification of the primitive IR: a list of (pattern, rewrite) rules, each
// applied to every node (its operands already simplified) until none applies. Only rewrites
// that are exact under IEEE float32 are listed, NaN, infinities and the sign of zero
// included, so a simplified program computes the same bits; each rule says why it is exact.
// x + 0 is not among them: −0 + 0 is +0, so x + 0 is not x when x is −0 (x − 0 and x + (−0) are).
//
// The graph is one that runs, not one differentiated further: stop_gradient, which only
// matters to autodiff, is the identity here. Named outputs are never replaced by another node
// (callers may change an output's buffer in place after a run, which must not reach the value
// it would alias), though their operands are simplified.

import { broadcastShape } from "../prim/builder.js";
import { BINARY, type PGraph, type PNode } from "../prim/ir.js";
import { outputNodes, rewriteGraph, sameShape, type GraphRewriter, type NodeSpec, type Rewritten } from "./rewrite.js";

/** A rule's result: an existing node holding the same value, or a cheaper node to build in its place. */
type Outcome = { readonly same: number } | { readonly spec: NodeSpec } | undefined;

export interface SimplifyRule {
  readonly name: string;
  /** why the rewrite gives the same bits for every input */
  readonly exact: string;
  readonly apply: (n: NodeSpec, node: (id: number) => PNode) => Outcome;
}

/** Whether `id` is a constant holding `value` everywhere (Object.is: −0 and +0 differ). */
function constantIs(node: PNode, value: number): boolean {
  if (node.op !== "const") return false;
  const values = node.attrs["values"] as readonly number[] | undefined;
  return values ? values.every((v) => Object.is(v, value)) : Object.is(node.attrs["value"], value);
}

/** x op c or c op x (where `commutes`) with c a constant `value`, and the result x's shape and dtype: x. */
function constantOperand(
  n: NodeSpec,
  node: (id: number) => PNode,
  value: number | ((dtype: string) => number),
  commutes: boolean,
): Outcome {
  const sides = commutes ? [0, 1] : [0];
  for (const k of sides) {
    const x = node(n.inputs[k]!);
    const c = node(n.inputs[1 - k]!);
    const v = typeof value === "number" ? value : value(n.dtype);
    if (constantIs(c, v) && sameShape(x.shape, n.shape) && x.dtype === n.dtype) return { same: x.id };
  }
  return undefined;
}

const ELEMENTWISE_MULTI: ReadonlySet<string> = new Set<string>([...BINARY, "where"]);

export const SIMPLIFY_RULES: readonly SimplifyRule[] = [
  {
    name: "stop_gradient(x) → x",
    exact: "stop_gradient is the identity on values; it only steers autodiff, which is done",
    apply: (n, node) => (n.op === "stop_gradient" ? { same: node(n.inputs[0]!).id } : undefined),
  },
  {
    name: "identity reshape, broadcast_to, transpose, slice, pad or cast → x",
    exact: "the result holds x's elements in x's order, unchanged",
    apply: (n, node) => {
      if (!["reshape", "broadcast_to", "transpose", "slice", "pad", "cast"].includes(n.op)) return undefined;
      const x = node(n.inputs[0]!);
      if (!sameShape(x.shape, n.shape) || x.dtype !== n.dtype) return undefined;
      if (n.op === "transpose" && !(n.attrs["perm"] as number[]).every((p, i) => p === i)) return undefined;
      return { same: x.id };
    },
  },
  {
    name: "reshape(reshape(x)) → reshape(x)",
    exact: "reshapes keep the row-major order of the elements",
    apply: (n, node) => {
      const x = node(n.inputs[0]!);
      if (n.op !== "reshape" || x.op !== "reshape") return undefined;
      return { spec: { ...n, inputs: [x.inputs[0]!] } };
    },
  },
  {
    name: "transpose(transpose(x, p), q) → transpose(x, p∘q)",
    exact: "moves elements without computing on them",
    apply: (n, node) => {
      const x = node(n.inputs[0]!);
      if (n.op !== "transpose" || x.op !== "transpose") return undefined;
      const p = x.attrs["perm"] as number[];
      const q = n.attrs["perm"] as number[];
      return { spec: { ...n, inputs: [x.inputs[0]!], attrs: { ...n.attrs, perm: q.map((a) => p[a]!) } } };
    },
  },
  {
    name: "neg(neg(x)) → x",
    exact: "negation flips the sign bit; twice restores it (NaN and ±0 included)",
    apply: (n, node) => {
      const x = node(n.inputs[0]!);
      return n.op === "neg" && x.op === "neg" && n.dtype !== "i32" ? { same: x.inputs[0]! } : undefined;
    },
  },
  {
    name: "x · 1, 1 · x → x",
    exact: "multiplying by one is exact for every float (NaN stays NaN, −0 stays −0) and integer",
    apply: (n, node) => (n.op === "mul" ? constantOperand(n, node, 1, true) : undefined),
  },
  {
    name: "x / 1 → x",
    exact: "dividing by one is exact for every float",
    apply: (n, node) => (n.op === "div" && n.dtype === "f32" ? constantOperand(n, node, 1, false) : undefined),
  },
  {
    name: "x − (+0) → x",
    exact: "x − 0 is x for every float, −0 − 0 = −0 included",
    apply: (n, node) => (n.op === "sub" ? constantOperand(n, node, 0, false) : undefined),
  },
  {
    name: "x + (−0) → x (floats), x + 0 → x (integers)",
    exact: "x + (−0) is x for every float, +0 + (−0) = +0 included; integer addition of 0 is exact",
    apply: (n, node) => (n.op === "add" ? constantOperand(n, node, (dtype) => (dtype === "i32" ? 0 : -0), true) : undefined),
  },
  {
    name: "elementwise(broadcast_to(y), …) → elementwise(y, …)",
    exact: "the operation broadcasts y itself to the same shape: the same values reach it",
    apply: (n, node) => {
      if (!ELEMENTWISE_MULTI.has(n.op)) return undefined;
      for (const [k, raw] of n.inputs.entries()) {
        const b = node(raw);
        if (b.op !== "broadcast_to") continue;
        const y = node(b.inputs[0]!);
        const shapes = n.inputs.map((i, j) => (j === k ? y.shape : node(i).shape));
        const shape = shapes.reduce((acc, s) => broadcastShape(n.op, acc, s));
        if (!sameShape(shape, n.shape)) continue;
        return { spec: { ...n, inputs: n.inputs.map((i, j) => (j === k ? y.id : i)) } };
      }
      return undefined;
    },
  },
];

/** Apply the rules to every node until none applies (the graph's operands are simplified first, in schedule order). */
export function simplify(graph: PGraph, rules: readonly SimplifyRule[] = SIMPLIFY_RULES): Rewritten {
  const isOutput = outputNodes(graph);
  return rewriteGraph(graph, (old: PNode, rw: GraphRewriter) => {
    const node = (id: number): PNode => rw.nodes[id]!;
    let spec: NodeSpec = { ...old, inputs: old.inputs.map((i) => rw.mapped(i)) };
    for (let round = 0; round < 100; round++) {
      let changed = false;
      for (const rule of rules) {
        const r = rule.apply(spec, node);
        if (!r) continue;
        if ("same" in r) {
          if (isOutput[old.id]) continue;
          return r.same;
        }
        spec = r.spec;
        changed = true;
        break;
      }
      if (!changed) break;
    }
    return rw.add(spec);
  });
}
