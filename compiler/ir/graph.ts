// The IR: a model elaborated into a flat graph of typed nodes. Blocks are inlined
// (each node remembers the layer instance it came from, for reports); parameters are
// nodes of their own; a `scan` node owns a body region whose nodes run once per step.

import type { SourceRange } from "../../grammar/ast.js";
import type { Dim } from "../dim.js";
import type { AttrValue, InitArgs, InitName, OpDef, TensorType } from "../ops/types.js";

/** One output of one node. */
export interface TensorRef {
  readonly node: number;
  readonly index: number;
}

export interface SourceSite {
  readonly file: string;
  readonly range: SourceRange;
}

interface NodeBase {
  readonly id: number;
  readonly outputs: readonly TensorType[];
  readonly site: SourceSite;
  /** scan region the node belongs to; 0 = top level */
  readonly region: number;
}

export interface InputNode extends NodeBase {
  readonly kind: "input";
  readonly name: string;
}

export interface ParamNode extends NodeBase {
  readonly kind: "param";
  /** full hierarchical name, e.g. layer1.0.conv1.weight */
  readonly name: string;
  readonly init: InitName;
  readonly initArgs?: InitArgs;
  readonly trainable: boolean;
  readonly buffer: boolean;
  readonly noDecay: boolean;
  /** learning-rate multiplier from @lr */
  readonly lrScale?: number;
}

export interface ConstNode extends NodeBase {
  readonly kind: "const";
  /** a scalar (possibly symbolic, like T) or a nested list for `constant` */
  readonly value: number | Dim | boolean;
}

export interface OpNode extends NodeBase {
  readonly kind: "op";
  readonly op: OpDef;
  /** tensor inputs in the op's input order; null for an absent optional input */
  readonly inputs: readonly (TensorRef | null)[];
  /** parameter nodes the op owns, in the op's param order */
  readonly params: readonly number[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
  /** the layer instance: "features.0", "encoder.layers.3.attn" */
  readonly instance: string;
  readonly annotations: ReadonlySet<string>;
  /** the outermost `@checkpoint` region it is in: its values are recomputed for the backward pass */
  readonly checkpointRegion?: number;
}

export interface ScanNode extends NodeBase {
  readonly kind: "scan";
  readonly instance: string;
  /** sequences then initial states */
  readonly inputs: readonly TensorRef[];
  readonly sequenceCount: number;
  readonly axis: number;
  readonly reverse: boolean;
  /** the body region's id and its boundary */
  readonly body: {
    readonly region: number;
    readonly stepInputs: readonly number[];
    readonly stateInputs: readonly number[];
    readonly stateOutputs: readonly TensorRef[];
    readonly stepOutputs: readonly TensorRef[];
  };
  readonly trips: Dim;
  readonly bptt?: number;
}

export type Node = InputNode | ParamNode | ConstNode | OpNode | ScanNode;

export interface ModelGraph {
  readonly name: string;
  readonly nodes: readonly Node[];
  readonly inputs: readonly number[];
  readonly outputs: readonly { readonly name: string; readonly ref: TensorRef }[];
  /** region id → trip count and parent region, for costing scan bodies */
  readonly regions: ReadonlyMap<number, { readonly parent: number; readonly trips: Dim }>;
  /** symbolic dims of the model's interface with their report defaults */
  readonly dimDefaults: ReadonlyMap<string, number>;
  /** bytes `@memory_budget` on the model gives its training step's activations (`--memory-budget` overrides it) */
  readonly memoryBudget?: number;
}

export function typeOfRef(g: { nodes: readonly Node[] }, ref: TensorRef): TensorType {
  return g.nodes[ref.node]!.outputs[ref.index]!;
}

/** Trip count of a region (product of enclosing scan lengths). */
export function regionTrips(g: ModelGraph, region: number): Dim[] {
  const out: Dim[] = [];
  let r = region;
  while (r !== 0) {
    const info = g.regions.get(r)!;
    out.push(info.trips);
    r = info.parent;
  }
  return out;
}

/**
 * The nodes `roots` depend on, as flags by node id (a needed scan needs its whole body); one
 * backward sweep suffices, since a scan's body precedes the scan in id order.
 */
export function liveNodes(g: { nodes: readonly Node[] }, roots: readonly number[]): Uint8Array {
  const live = new Uint8Array(g.nodes.length);
  for (const r of roots) live[r] = 1;
  const byRegion = new Map<number, number[]>();
  for (const n of g.nodes) {
    const members = byRegion.get(n.region);
    if (members) members.push(n.id);
    else byRegion.set(n.region, [n.id]);
  }
  for (let id = g.nodes.length - 1; id >= 0; id--) {
    if (!live[id]) continue;
    const n = g.nodes[id]!;
    if (n.kind === "op") {
      for (const r of n.inputs) if (r) live[r.node] = 1;
      for (const p of n.params) live[p] = 1;
    } else if (n.kind === "scan") {
      for (const r of n.inputs) live[r.node] = 1;
      for (const m of byRegion.get(n.body.region) ?? []) live[m] = 1;
    }
  }
  return live;
}
