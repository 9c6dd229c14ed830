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
// In place: an elementwise kernel (one primitive, or a fused elementwise group) whose input is
// read for the last time by that kernel may write its output over it, when both take the same
// bytes and the input is read at the output's own flat index. Every such loop (the CPU's and
// the fused loops of compiler/codegen/fused-loop.ts) reads element i of its inputs before it
// writes element i, and never reads element i again, so the result is the same. The input's
// storage then carries both values, one after the other, as one lifetime. (WebGPU does not
// take this: it forbids binding overlapping ranges of one buffer writable twice in a dispatch.)
//
// Several placements are tried and the smallest arena kept: greedy by size (largest value
// first, each in the tightest gap between values it overlaps in time), best fit in schedule
// order (values in the order they are computed, each in the tightest such gap) and two more
// orders. The lower bound is the largest total of simultaneously live bytes, counting a value
// and the one written in place over it once; no placement can beat it.

import { BINARY, UNARY, numelOf, type PDType, type PGraph } from "../prim/ir.js";
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
  /** the node whose storage each computed node uses (itself, an aliased source, or the input it overwrites in place) */
  readonly storage: Int32Array;
  /** nodes computed in place, each with the node whose storage it overwrites (a storage owner) */
  readonly inPlace: ReadonlyMap<number, number>;
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
  /** let elementwise kernels write over inputs they read last (not on WebGPU: see the top of this file) */
  options: { readonly inPlace?: boolean } = {},
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
  const bytesOf = (id: number): number => numelOf(graph.nodes[id]!.shape) * dtypeBytes[graph.nodes[id]!.dtype];
  // naive: a buffer per value, nothing shared in place
  let naive = 0;
  for (const node of graph.nodes) if (storage[node.id] === node.id && !persistent.has(node.id)) naive += bytesOf(node.id);
  const valuesOf = (storage: Int32Array, end: Int32Array): Lifetime[] => {
    const values: Lifetime[] = [];
    for (const node of graph.nodes)
      if (storage[node.id] === node.id && !persistent.has(node.id))
        values.push({ id: node.id, bytes: bytesOf(node.id), start: start[node.id]!, end: end[node.id]! });
    return values;
  };
  let chosen = { storage, values: valuesOf(storage, end), inPlace: new Map<number, number>() };
  let plan = planLifetimes(chosen.values, alignment);
  if (options.inPlace) {
    // sharing in place shortens no lifetime, it only joins two: a placement can come out larger, so keep the smaller arena
    const [shared, sharedEnd] = [storage.slice(), end.slice()];
    const inPlace = writeInPlace(graph, live, shared, sharedEnd, persistent, representative, fusion, dtypeBytes);
    const values = valuesOf(shared, sharedEnd);
    const withInPlace = inPlace.size > 0 ? planLifetimes(values, alignment) : undefined;
    if (withInPlace && withInPlace.planned < plan.planned) [chosen, plan] = [{ storage: shared, values, inPlace }, withInPlace];
  }
  const delta = new Float64Array(n + 1);
  for (const v of chosen.values) {
    delta[v.start] += v.bytes;
    delta[v.end + 1] -= v.bytes;
  }
  const liveBytes: number[] = [];
  for (let i = 0, acc = 0; i < n; i++) liveBytes.push((acc += delta[i]!));
  return { ...plan, naive, storage: chosen.storage, inPlace: chosen.inPlace, persistent, liveBytes };
}

/** Primitives that compute element i of their output from element i of same-shaped inputs (and broadcast ones). */
const ELEMENTWISE: ReadonlySet<string> = new Set<string>([...UNARY, ...BINARY, "where", "cast"]);

/**
 * Choose the outputs of elementwise kernels that overwrite an input read for the last time,
 * in schedule order (so chains form: a value written in place can be overwritten in turn).
 * Updates `storage` (a node computed in place, and every alias of it, uses the input's storage)
 * and `end` (the shared storage lives until the later value's last read); returns what it chose.
 */
function writeInPlace(
  graph: PGraph,
  live: Uint8Array,
  storage: Int32Array,
  end: Int32Array,
  persistent: ReadonlySet<number>,
  representative: Int32Array | undefined,
  fusion: FusionPlan | undefined,
  dtypeBytes: Readonly<Record<PDType, number>>,
): Map<number, number> {
  const chosen = new Map<number, number>();
  // the storage a value written in place moved to (−1: its own), followed to the end of a chain
  const movedTo = new Int32Array(graph.nodes.length).fill(-1);
  const rootOf = (s: number): number => {
    while (s >= 0 && movedTo[s]! >= 0) s = movedTo[s]!;
    return s;
  };
  const planned = (s: number): boolean => s >= 0 && !persistent.has(s);
  const bytesOf = (id: number): number => numelOf(graph.nodes[id]!.shape) * dtypeBytes[graph.nodes[id]!.dtype];
  // the kernels, at the position each runs: its outputs, and its inputs with whether each is read at the output's index
  for (const node of graph.nodes) {
    if (!live[node.id] || (representative && representative[node.id] !== node.id)) continue;
    const g = fusion ? fusion.groupOf[node.id]! : -1;
    let outputs: readonly number[];
    let reads: { node: number; same: boolean }[];
    if (g >= 0) {
      const group = fusion!.groups[g]!;
      // row kernels read a row in several passes after writing parts of it: never in place
      if (group.members.at(-1) !== node.id || group.kind !== "elementwise") continue;
      outputs = group.outputs;
      reads = group.inputs.map((i) => ({ node: i.node, same: i.index.kind === "same" }));
    } else {
      if (!ELEMENTWISE.has(node.op)) continue;
      outputs = [node.id];
      reads = node.inputs.map((i) => ({ node: i, same: sameShape(graph.nodes[i]!.shape, node.shape) }));
    }
    const at = node.id;
    for (const out of outputs) {
      if (storage[out] !== out || !planned(out)) continue;
      for (const r of reads) {
        const s = rootOf(storage[r.node]!);
        if (!r.same || !planned(s) || end[s] !== at || bytesOf(s) !== bytesOf(out)) continue;
        if (dtypeBytes[graph.nodes[s]!.dtype] !== dtypeBytes[graph.nodes[out]!.dtype]) continue;
        // any other read of that storage in this kernel must be of the same element too
        if (reads.some((o) => rootOf(storage[o.node]!) === s && !o.same)) continue;
        chosen.set(out, s);
        movedTo[out] = s;
        end[s] = end[out]!; // now read last where the value written over it is
        break;
      }
    }
  }
  for (let i = 0; i < storage.length; i++) storage[i] = rootOf(storage[i]!);
  return chosen;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The arena offset of a node's value, where its storage is planned (its own, an alias's source, or written in place); else undefined. */
export function arenaOffset(plan: GraphMemoryPlan, node: number): number | undefined {
  const s = plan.storage[node]!;
  return s >= 0 && !plan.persistent.has(s) ? plan.offsets.get(s) : undefined;
}

/** The passes a planned step runs before planning, each on unless switched off (as in the executor). */
export interface StepPasses {
  readonly cse?: boolean;
  readonly fuse?: boolean;
  readonly inPlace?: boolean;
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
  const plan = planGraphMemory(graph, live, DEFAULT_ALIGNMENT, representative, fusion, DTYPE_BYTES, { inPlace: passes.inPlace !== false });
  return { plan, live, ...(representative ? { representative } : {}), ...(fusion ? { fusion } : {}) };
}
