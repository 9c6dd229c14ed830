// Static memory planning: every intermediate value of a scheduled primitive graph gets an
// offset in one arena, so that values whose lifetimes overlap never share bytes and the arena
// is as small as the schedule allows.
//
// Lifetimes come from the schedule (node order): a value lives from the step that computes it
// to the last step that reads it, both inclusive, so an op's output never shares bytes with an
// input it is still reading. Aliases (reshape, stop_gradient) share their source's storage and
// extend its lifetime. Values that must outlive a run are not planned: inputs and parameters
// (fed or owned by the caller), constants (filled once at compile time) and named outputs.
//
// Two placements are tried and the smaller arena kept: greedy by size (largest value first,
// each in the tightest gap between values it overlaps in time) and best fit in schedule
// order (values in the order they are computed, each in the tightest such gap). The lower
// bound is the largest total of simultaneously live bytes; no placement can beat it.

import { numelOf, type PDType, type PGraph } from "../prim/ir.js";
import { commonSubexpressions } from "./cse.js";
import { liveNodes } from "./dead-code.js";
import { planFusion, type FusionPlan } from "./fusion.js";

/** One value to place: `bytes` live from step `start` to step `end` (inclusive). */
export interface Lifetime {
  readonly id: number;
  readonly bytes: number;
  readonly start: number;
  readonly end: number;
}

/** The orders values are placed in; the plan keeps whichever gives the smallest arena. */
const PLACEMENT_ORDERS = {
  /** largest first: big values claim space, small ones fill the gaps (Pisarchyk & Lee's greedy by size) */
  "greedy-by-size": (a: Lifetime, b: Lifetime) => b.bytes - a.bytes || a.start - b.start || a.id - b.id,
  /** in schedule order, as an allocator would see them, each into the tightest gap (best fit) */
  "best-fit": (a: Lifetime, b: Lifetime) => a.start - b.start || b.bytes - a.bytes || a.id - b.id,
  /** last freed first: the activations a backward pass reads late settle at the bottom */
  "latest-end-first": (a: Lifetime, b: Lifetime) => b.end - a.end || b.bytes - a.bytes || a.id - b.id,
  /** longest-lived first: values that span the step do not fragment the short-lived ones */
  "longest-first": (a: Lifetime, b: Lifetime) => b.end - b.start - (a.end - a.start) || b.bytes - a.bytes || a.id - b.id,
} as const;

export type Placement = keyof typeof PLACEMENT_ORDERS;

export interface MemoryPlan {
  /** arena offset of each planned value, by id */
  readonly offsets: ReadonlyMap<number, number>;
  /** bytes of the arena */
  readonly planned: number;
  /** bytes if every planned value had its own buffer */
  readonly naive: number;
  /** the largest total of simultaneously live bytes (before alignment padding) */
  readonly lowerBound: number;
  /** the order that gave the smallest arena */
  readonly placement: Placement;
}

/** Bytes per element of each primitive dtype (bool is one byte). */
export const DTYPE_BYTES: Readonly<Record<PDType, number>> = { f32: 4, i32: 4, bool: 1 };

/** Offsets are multiples of this (16: one SIMD vector; WebGPU asks for its own binding alignment). */
export const DEFAULT_ALIGNMENT = 16;

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Place `values` in one arena; offsets are multiples of `alignment`. */
export function planLifetimes(values: readonly Lifetime[], alignment = DEFAULT_ALIGNMENT): MemoryPlan {
  const naive = values.reduce((s, v) => s + v.bytes, 0);
  const lowerBound = peakLiveBytes(values);
  let best: { offsets: Map<number, number>; size: number } | undefined;
  let placement: Placement = "greedy-by-size";
  for (const [name, order] of Object.entries(PLACEMENT_ORDERS) as [Placement, (a: Lifetime, b: Lifetime) => number][]) {
    const r = place([...values].sort(order), alignment);
    if (!best || r.size < best.size) [best, placement] = [r, name];
  }
  return { offsets: best?.offsets ?? new Map(), planned: best?.size ?? 0, naive, lowerBound, placement };
}

/**
 * Each value in turn goes into the smallest gap, between the already placed values that
 * overlap it in time, that holds it; else above the highest of them. Placed values are kept
 * sorted by offset, so the gaps come out in order without sorting per value.
 */
function place(order: readonly Lifetime[], alignment: number): { offsets: Map<number, number>; size: number } {
  const n = order.length;
  const start = new Int32Array(n);
  const end = new Int32Array(n);
  const lo = new Float64Array(n);
  const hi = new Float64Array(n);
  const byOffset = new Int32Array(n);
  const offsets = new Map<number, number>();
  let size = 0;
  for (let k = 0; k < n; k++) {
    const v = order[k]!;
    const bytes = alignUp(Math.max(v.bytes, 1), alignment);
    let best = -1;
    let bestGap = Infinity;
    let cursor = 0;
    for (let j = 0; j < k; j++) {
      const p = byOffset[j]!;
      if (start[p]! > v.end || end[p]! < v.start) continue;
      const gap = lo[p]! - cursor;
      if (gap >= bytes && gap < bestGap) {
        best = cursor;
        bestGap = gap;
      }
      if (hi[p]! > cursor) cursor = hi[p]!;
    }
    const offset = best >= 0 ? best : cursor;
    start[k] = v.start;
    end[k] = v.end;
    lo[k] = offset;
    hi[k] = offset + bytes;
    // insert k into byOffset after every placed value with a smaller or equal offset
    let at = k;
    while (at > 0 && lo[byOffset[at - 1]!]! > offset) at--;
    byOffset.copyWithin(at + 1, at, k);
    byOffset[at] = k;
    offsets.set(v.id, offset);
    if (offset + bytes > size) size = offset + bytes;
  }
  return { offsets, size };
}

/** The largest total of bytes live at one step. */
export function peakLiveBytes(values: readonly Lifetime[]): number {
  const events: [number, number][] = [];
  for (const v of values) events.push([v.start, v.bytes], [v.end + 1, -v.bytes]);
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let live = 0;
  let peak = 0;
  for (const [, d] of events) {
    live += d;
    peak = Math.max(peak, live);
  }
  return peak;
}

/** Primitives whose result is its input's storage. */
export const ALIASING_PRIMITIVES: ReadonlySet<string> = new Set(["reshape", "stop_gradient"]);

/** Primitives whose value outlives a run (fed, owned by the caller, or filled at compile time). */
const PERSISTENT_PRIMITIVES: ReadonlySet<string> = new Set(["input", "param", "const", "iota"]);

export interface GraphMemoryPlan extends MemoryPlan {
  /** the node whose storage each computed node uses (itself, or an aliased source) */
  readonly storage: Int32Array;
  /** nodes with storage of their own outside the arena */
  readonly persistent: ReadonlySet<number>;
  /** planned bytes live at each node position (0 where nothing is) */
  readonly liveBytes: readonly number[];
}

/**
 * Plan the intermediates of `graph` run in node order, skipping nodes `live` marks 0 (dead
 * code the executor does not run; by default what no output needs). Lifetimes are in node
 * positions; a node merged into an earlier one by common-subexpression elimination is an alias
 * of it, like a reshape. With fusion, a group's members are computed (and their inputs read)
 * where the group's kernel runs, its last member's position, and members no one outside the
 * group reads need no storage at all.
 */
export function planGraphMemory(
  graph: PGraph,
  live: Uint8Array = liveNodes(graph),
  alignment = DEFAULT_ALIGNMENT,
  /** each node's representative after common-subexpression elimination (a repeat shares its storage) */
  representative?: Int32Array,
  fusion?: FusionPlan,
  /** bytes per element of each dtype (WebGPU stores every element in 4 bytes) */
  dtypeBytes: Readonly<Record<PDType, number>> = DTYPE_BYTES,
): GraphMemoryPlan {
  const n = graph.nodes.length;
  const storage = new Int32Array(n).fill(-1);
  const end = new Int32Array(n).fill(-1);
  const runsAt = (id: number): number => {
    const g = fusion ? fusion.groupOf[id]! : -1;
    return g < 0 ? id : fusion!.groups[g]!.members.at(-1)!;
  };
  for (const node of graph.nodes) {
    if (!live[node.id] || fusion?.virtual[node.id]) continue;
    const rep = representative ? representative[node.id]! : node.id;
    storage[node.id] = rep !== node.id ? storage[rep]! : ALIASING_PRIMITIVES.has(node.op) ? storage[node.inputs[0]!]! : node.id;
  }
  const start = new Int32Array(n);
  for (const node of graph.nodes) {
    if (!live[node.id]) continue;
    const at = runsAt(node.id);
    if (storage[node.id]! >= 0) end[storage[node.id]!] = Math.max(end[storage[node.id]!]!, at);
    if (storage[node.id] === node.id) start[node.id] = at;
    for (const i of node.inputs) if (storage[i]! >= 0) end[storage[i]!] = Math.max(end[storage[i]!]!, at);
  }
  const persistent = new Set<number>();
  for (const node of graph.nodes) if (storage[node.id] === node.id && PERSISTENT_PRIMITIVES.has(node.op)) persistent.add(node.id);
  for (const o of graph.outputs) if (storage[o.node]! >= 0) persistent.add(storage[o.node]!);
  const values: Lifetime[] = [];
  for (const node of graph.nodes)
    if (storage[node.id] === node.id && !persistent.has(node.id))
      values.push({ id: node.id, bytes: numelOf(node.shape) * dtypeBytes[node.dtype], start: start[node.id]!, end: end[node.id]! });
  const delta = new Float64Array(n + 1);
  for (const v of values) {
    delta[v.start] += v.bytes;
    delta[v.end + 1] -= v.bytes;
  }
  const liveBytes: number[] = [];
  for (let i = 0, acc = 0; i < n; i++) liveBytes.push((acc += delta[i]!));
  return { ...planLifetimes(values, alignment), storage, persistent, liveBytes };
}

/** The passes a planned step runs before planning, each on unless switched off (as in the executor). */
export interface StepPasses {
  readonly cse?: boolean;
  readonly fuse?: boolean;
}

/**
 * Plan `graph` as the executor runs it: dead code dropped, repeats merged and elementwise chains
 * fused (each unless `passes` switches it off), then the intermediates placed in one arena.
 */
export function planStepMemory(
  graph: PGraph,
  passes: StepPasses = {},
): { readonly plan: GraphMemoryPlan; readonly live: Uint8Array; readonly representative?: Int32Array; readonly fusion?: FusionPlan } {
  const live = liveNodes(graph);
  const representative = passes.cse === false ? undefined : commonSubexpressions(graph, live);
  const fusion = passes.fuse === false ? undefined : planFusion(graph, live, representative);
  const plan = planGraphMemory(graph, live, DEFAULT_ALIGNMENT, representative, fusion);
  return { plan, live, ...(representative ? { representative } : {}), ...(fusion ? { fusion } : {}) };
}
