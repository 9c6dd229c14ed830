// Operator fusion over the primitive IR: chains and trees of elementwise primitives that
// produce the same shape become one kernel, which reads each outside input once, keeps the
// values in between in registers, and writes only what something outside the group reads.
// Dropout (draw → compare → cast → scale), the activation after a bias add, a norm layer's
// normalise-scale-shift and their backward passes each turn from several passes over memory
// into one.
//
// A group runs where its last member is scheduled. A node joins the group of one of its
// inputs when: it is an elementwise primitive on float32 or bool values (integer arithmetic
// wraps differently and stays unfused), its shape is the group's, each outside input is the
// same shape or broadcasts in a way a flat index can follow (a scalar, or one block of axes:
// trailing like a bias, leading like per-row statistics, in the middle like a per-channel
// scale), and no member has a reader outside the group
// that runs before the group would (that reader would see the value unwritten).

import { BINARY, UNARY, numelOf, type PGraph, type PNode } from "../prim/ir.js";

const ELEMENTWISE: ReadonlySet<string> = new Set<string>([...UNARY, ...BINARY, "where", "cast"]);

/** How a fused kernel indexes an outside input at flat output position i. */
export type InputIndex =
  | { readonly kind: "same" }
  | { readonly kind: "scalar" }
  /** a trailing block repeated: x[i % size] (a bias [C] under [N, C]) */
  | { readonly kind: "inner"; readonly size: number }
  /** a leading block, each value held for `span` outputs: x[(i / span) | 0] (per-row statistics [N, 1] under [N, C]) */
  | { readonly kind: "outer"; readonly span: number }
  /** a middle block, each value held for `span` outputs and the block repeated: x[((i / span) | 0) % size] (a conv bias [C, 1, 1] under [N, C, H, W]) */
  | { readonly kind: "middle"; readonly size: number; readonly span: number };

export interface FusionGroup {
  /** member nodes in schedule order; the kernel runs at the last one's position */
  readonly members: readonly number[];
  /** each member's operands (after common-subexpression elimination), aligned with members */
  readonly operands: readonly (readonly number[])[];
  /** nodes outside the group that members read, with how each is indexed */
  readonly inputs: readonly { readonly node: number; readonly index: InputIndex }[];
  /** members whose values something outside the group reads (or that are graph outputs): written to memory */
  readonly outputs: readonly number[];
  /** elements per member */
  readonly size: number;
}

export interface FusionPlan {
  readonly groups: readonly FusionGroup[];
  /** the group of each node, or −1 */
  readonly groupOf: Int32Array;
  /** members no one outside their group reads: they live only in registers and need no storage */
  readonly virtual: Uint8Array;
}

function fusible(n: PNode, graph: PGraph): boolean {
  if (!ELEMENTWISE.has(n.op) || n.dtype === "i32") return false;
  return n.inputs.every((i) => graph.nodes[i]!.dtype !== "i32");
}

/** How an input of `shape` broadcasts to `out` under a flat index, or undefined when no simple rule does. */
export function inputIndex(shape: readonly number[], out: readonly number[]): InputIndex | undefined {
  const n = numelOf(shape);
  const total = numelOf(out);
  if (n === total) return shape.length === out.length && shape.every((d, i) => d === out[i]) ? { kind: "same" } : undefined;
  if (n === 1) return { kind: "scalar" };
  // align shape's axes with out's trailing axes (NumPy broadcasting), then look for one block
  const padded = [...Array<number>(out.length - shape.length).fill(1), ...shape];
  let first = 0;
  while (first < out.length && padded[first] === 1) first++;
  let last = out.length - 1;
  while (last >= 0 && padded[last] === 1) last--;
  for (let a = first; a <= last; a++) if (padded[a] !== out[a]) return undefined;
  if (last === out.length - 1) return { kind: "inner", size: n };
  if (first === 0) return { kind: "outer", span: total / n };
  return { kind: "middle", size: n, span: numelOf(out.slice(last + 1)) };
}

export function planFusion(graph: PGraph, live: Uint8Array, representative?: Int32Array): FusionPlan {
  const count = graph.nodes.length;
  const rep = (i: number): number => (representative ? representative[i]! : i);
  const groupOf = new Int32Array(count).fill(-1);
  const readers: number[][] = Array.from({ length: count }, () => []);
  const isOutput = new Uint8Array(count);
  for (const o of graph.outputs) isOutput[rep(o.node)] = 1;
  const skipped = (n: PNode): boolean => !live[n.id] || rep(n.id) !== n.id;
  for (const n of graph.nodes) if (!skipped(n)) for (const i of n.inputs) readers[rep(i)]!.push(n.id);

  const members: number[][] = [];
  for (const n of graph.nodes) {
    if (skipped(n) || !fusible(n, graph)) continue;
    // every operand must be one a flat index can follow, whether it ends up inside or outside a group
    if (!n.inputs.every((i) => inputIndex(graph.nodes[rep(i)]!.shape, n.shape))) continue;
    let joined = -1;
    for (const raw of n.inputs) {
      const g = groupOf[rep(raw)]!;
      if (g < 0 || g === joined) continue;
      if (canJoin(n, members[g]!, g)) {
        joined = g;
        break;
      }
    }
    if (joined < 0) {
      joined = members.length;
      members.push([]);
    }
    members[joined]!.push(n.id);
    groupOf[n.id] = joined;
  }

  function canJoin(n: PNode, group: readonly number[], g: number): boolean {
    const first = graph.nodes[group[0]!]!;
    if (!sameShape(first.shape, n.shape)) return false;
    for (const raw of n.inputs) {
      const i = rep(raw);
      if (groupOf[i] === g) continue;
      if (!inputIndex(graph.nodes[i]!.shape, n.shape)) return false;
    }
    // every reader outside the group of a member must run after n (where the group will run)
    for (const m of group) for (const r of readers[m]!) if (groupOf[r] !== g && r !== n.id && r < n.id) return false;
    return true;
  }

  const virtual = new Uint8Array(count);
  const groups: FusionGroup[] = [];
  for (const ids of members) {
    if (ids.length < 2) {
      groupOf[ids[0]!] = -1; // a group of one is the node's own kernel
      continue;
    }
    const index = groups.length;
    for (const id of ids) groupOf[id] = index;
    const inputs = new Map<number, InputIndex>();
    const outputs: number[] = [];
    const shape = graph.nodes[ids[0]!]!.shape;
    for (const id of ids) {
      for (const raw of graph.nodes[id]!.inputs) {
        const i = rep(raw);
        if (!ids.includes(i) && !inputs.has(i)) inputs.set(i, inputIndex(graph.nodes[i]!.shape, shape)!);
      }
      if (isOutput[id] || readers[id]!.some((r) => groupOf[r] !== index || !ids.includes(r))) outputs.push(id);
      else virtual[id] = 1;
    }
    groups.push({
      members: ids,
      operands: ids.map((id) => graph.nodes[id]!.inputs.map(rep)),
      inputs: [...inputs].map(([node, idx]) => ({ node, index: idx })),
      outputs,
      size: numelOf(shape),
    });
  }
  return { groups, groupOf, virtual };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
