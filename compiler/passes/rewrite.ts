// What the IR → IR passes share: a graph rebuilt node by node in schedule order, and the map
// from each old node to the new node that holds its value, so that callers holding node ids
// of the graph they built (a gradient's node, the loss) find their values after any number of
// rewrites. Inputs, parameters and outputs keep their names.

import type { PGraph, PNode } from "../prim/ir.js";

export interface Rewritten {
  readonly graph: PGraph;
  /** each old node's node in the new graph (one holding the same value), or −1 where none does */
  readonly nodeOf: Int32Array;
}

/** A node to add: everything but the id, inputs already in the new graph's ids. */
export type NodeSpec = Omit<PNode, "id">;

export class GraphRewriter {
  readonly nodes: PNode[] = [];
  readonly nodeOf: Int32Array;

  constructor(readonly old: PGraph) {
    this.nodeOf = new Int32Array(old.nodes.length).fill(-1);
  }

  /** Append a node (its inputs are ids in the new graph); returns its id. */
  add(spec: NodeSpec): number {
    const id = this.nodes.length;
    for (const i of spec.inputs) if (!(i >= 0 && i < id)) throw new Error(`rewrite: '${spec.op}' reads node ${i}, not yet built`);
    this.nodes.push({ ...spec, id });
    return id;
  }

  /** The old node n with its inputs mapped into the new graph. */
  copy(n: PNode): number {
    return this.add({ ...n, inputs: n.inputs.map((i) => this.mapped(i)) });
  }

  /** The new node of an old one (which must have been mapped already). */
  mapped(old: number): number {
    const m = this.nodeOf[old]!;
    if (m < 0) throw new Error(`rewrite: node ${old} has no image in the new graph`);
    return m;
  }

  finish(): Rewritten {
    const map = (list: readonly { readonly name: string; readonly node: number }[]) =>
      list.map((e) => ({ name: e.name, node: this.mapped(e.node) }));
    const graph: PGraph = { nodes: this.nodes, inputs: map(this.old.inputs), params: map(this.old.params), outputs: map(this.old.outputs) };
    return { graph, nodeOf: this.nodeOf };
  }
}

/** Rebuild `graph`, each node either replaced by what `rewrite` returns (a node of the new graph) or copied. */
export function rewriteGraph(graph: PGraph, rewrite: (n: PNode, rw: GraphRewriter) => number | undefined): Rewritten {
  const rw = new GraphRewriter(graph);
  for (const n of graph.nodes) rw.nodeOf[n.id] = rewrite(n, rw) ?? rw.copy(n);
  return rw.finish();
}

/** `first` then `second`: each original node's node after both. */
export function composeNodeMaps(first: Int32Array, second: Int32Array): Int32Array {
  return first.map((m) => (m < 0 ? -1 : second[m]!));
}

/** Nodes named as graph outputs: rewrites keep them (callers may change an output's buffer in place after a run). */
export function outputNodes(graph: PGraph): Uint8Array {
  const out = new Uint8Array(graph.nodes.length);
  for (const o of graph.outputs) out[o.node] = 1;
  return out;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The source site a node carries, for a node built in its place. */
export function siteOf(n: PNode): Pick<PNode, "origin" | "instance"> {
  return { ...(n.origin ? { origin: n.origin } : {}), ...(n.instance !== undefined ? { instance: n.instance } : {}) };
}
