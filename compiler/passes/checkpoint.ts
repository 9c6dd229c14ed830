// Gradient checkpointing (rematerialisation) over a training step's primitive graph: forward
// values the backward pass reads are either kept from the forward pass (the usual way: they
// stay live from the forward to the backward pass) or dropped and computed again, by copies of
// their forward nodes scheduled right before the first backward node that reads them, from the
// nearest kept values. The planner (memory-plan.ts) then sees short lifetimes: a dropped value
// lives only through the forward ops that read it, its copy only through the backward ops.
//
// Which values to keep is a policy:
// - "annotations": ops written under `@checkpoint` (a statement or a block) form regions whose
//   values are recomputed; a region's inputs and its outputs (what ops outside it read) are kept.
// - "sqrt": the step's forward pass as a chain of segments (cut where one value carries all the
//   state, as between residual blocks or transformer layers), cut into groups of about √n
//   segments; only each group's last output is kept (Chen et al., 2016).
// - "chain-dp": the cheapest schedule for the chain under a memory budget, found by dynamic
//   programming (optimalChainSchedule states the problem it solves).
// - "selective": keep the outputs of expensive ops (matmul, convolution, the attention
//   primitive; unfused attention is made of matmuls), recompute the cheap elementwise, normalisation and data-movement work between them.
// Under a budget every policy that applies is tried, each planned as the executor plans it, and
// the one that fits with the least recomputation wins (no checkpointing at all when the step
// already fits); when none fits, the smallest is used and the report says so.
//
// Values that are never recomputed: random draws (a second draw would differ; what is computed
// from a kept draw comes out bit for bit the same), graph outputs, inputs, parameters and
// constants, and values that depend on the data alone or on the parameters alone (masks, label
// one-hots, transposed weights: computed once, cheap to keep, read by every layer).

import { primitiveFlops } from "../prim/flops.js";
import { numelOf, type PGraph, type PNode } from "../prim/ir.js";
import { liveNodes } from "./dead-code.js";
import { ALIASING_PRIMITIVES, DTYPE_BYTES, planStepMemory, type StepPasses } from "./memory-plan.js";

export const CHECKPOINT_POLICIES = ["annotations", "sqrt", "chain-dp", "selective"] as const;
export type CheckpointPolicy = (typeof CHECKPOINT_POLICIES)[number];

export interface CheckpointOptions {
  /** bytes the planned activation arena of a step may take; without it only `@checkpoint` regions apply */
  readonly budget?: number;
  /** use this policy only (comparisons and tests); "chain-dp" needs a budget */
  readonly policy?: CheckpointPolicy;
  /** the passes the executor will run (the plan is measured the way it will run) */
  readonly passes?: StepPasses;
}

/** One policy tried: its planned arena and the FLOPs it recomputes. */
export interface CheckpointCandidate {
  readonly policy: CheckpointPolicy | "none";
  readonly planned: number;
  readonly recompute_flops: number;
}

/** What the checkpointing pass chose and what it costs, from the compiler's own plan. */
export interface CheckpointReport {
  /** the policy used; "none" when nothing is recomputed */
  readonly policy: CheckpointPolicy | "none";
  /** FLOPs of the forward nodes computed again in the backward pass, per training step */
  readonly recompute_flops: number;
  /** FLOPs of the training step without checkpointing (the same primitive count, for the ratio) */
  readonly step_flops: number;
  /** planned activation arena without checkpointing minus with it, in bytes */
  readonly saved_bytes: number;
  /** planned activation arena of the step, bytes: without and with checkpointing */
  readonly activation_memory: { readonly before: number; readonly after: number };
  readonly budget?: number;
  /** whether the chosen plan fits the budget */
  readonly met?: boolean;
  /** segments of the forward chain (0 when the graph has no chain to cut) */
  readonly segments: number;
  /** every policy tried, smallest arena first */
  readonly candidates: readonly CheckpointCandidate[];
  readonly warning?: string;
}

export interface Checkpointed {
  readonly graph: PGraph;
  /** each node's id in the new graph (forward nodes keep theirs) */
  readonly remap: Int32Array;
  readonly report: CheckpointReport;
}

const PERSISTENT: ReadonlySet<string> = new Set(["input", "param", "const", "iota"]);
const RANDOM: ReadonlySet<string> = new Set(["rng_uniform", "rng_normal"]);
/** What the selective policy keeps: the products that dominate a step's FLOPs. */
const EXPENSIVE: ReadonlySet<string> = new Set(["matmul", "conv", "attention"]);

/**
 * Which forward nodes are activations (values computed from the data and the parameters
 * together, or from random draws: what checkpointing may drop) and which are pinned (kept
 * whatever the policy: see the header).
 */
export function classifyForward(graph: PGraph, forwardEnd: number): { readonly activation: Uint8Array; readonly pinned: Uint8Array } {
  const DATA = 1;
  const PARAM = 2;
  const RAND = 4;
  const deps = new Uint8Array(forwardEnd);
  const activation = new Uint8Array(forwardEnd);
  const pinned = new Uint8Array(forwardEnd);
  for (let id = 0; id < forwardEnd; id++) {
    const n = graph.nodes[id]!;
    if (n.op === "input") deps[id] = DATA;
    else if (n.op === "param") deps[id] = PARAM;
    else if (RANDOM.has(n.op)) deps[id] = RAND;
    else for (const i of n.inputs) deps[id]! |= deps[i]!;
    const d = deps[id]!;
    activation[id] = !PERSISTENT.has(n.op) && !RANDOM.has(n.op) && ((d & RAND) !== 0 || (d & (DATA | PARAM)) === (DATA | PARAM)) ? 1 : 0;
    pinned[id] = activation[id] ? 0 : 1;
  }
  for (const o of graph.outputs) if (o.node < forwardEnd) pinned[o.node] = 1;
  return { activation, pinned };
}

/**
 * The IR → IR rewrite: backward nodes read copies of the forward values `drop` marks (each
 * recomputed once, right before its first backward reader) instead of the values themselves.
 * Pinned values are never dropped. Forward nodes keep their ids; backward nodes and the copies
 * follow in schedule order.
 */
export function rematerialize(graph: PGraph, forwardEnd: number, drop: Uint8Array): { graph: PGraph; remap: Int32Array } {
  const { pinned } = classifyForward(graph, forwardEnd);
  const live = liveNodes(graph);
  const nodes: PNode[] = [];
  const remap = new Int32Array(graph.nodes.length).fill(-1);
  const copyOf = new Int32Array(forwardEnd).fill(-1);
  const dropped = (v: number): boolean => v < forwardEnd && drop[v] === 1 && !pinned[v];
  const push = (n: PNode, inputs: number[], recomputes?: number): number => {
    const id = nodes.length;
    const instance = recomputes !== undefined && n.instance ? { instance: `${n.instance} (recomputed)` } : {};
    nodes.push({ ...n, id, inputs, ...instance, ...(recomputes !== undefined ? { recomputes } : {}) });
    return id;
  };
  /** copies of `root` and of the dropped values it is computed from, inputs first */
  const recompute = (root: number): void => {
    const stack = [root];
    while (stack.length > 0) {
      const v = stack[stack.length - 1]!;
      if (copyOf[v]! >= 0) {
        stack.pop();
        continue;
      }
      const n = graph.nodes[v]!;
      const missing = n.inputs.filter((u) => dropped(u) && copyOf[u]! < 0);
      if (missing.length > 0) {
        stack.push(...missing);
        continue;
      }
      stack.pop();
      copyOf[v] = push(
        n,
        n.inputs.map((u) => (dropped(u) ? copyOf[u]! : remap[u]!)),
        v,
      );
    }
  };
  for (const n of graph.nodes) {
    if (n.id < forwardEnd || !live[n.id]) {
      remap[n.id] = push(
        n,
        n.inputs.map((u) => remap[u]!),
      );
      continue;
    }
    for (const u of n.inputs) if (dropped(u)) recompute(u);
    remap[n.id] = push(
      n,
      n.inputs.map((u) => (dropped(u) ? copyOf[u]! : remap[u]!)),
    );
  }
  const at = <E extends { readonly node: number }>(e: E): E => ({ ...e, node: remap[e.node]! });
  return { graph: { nodes, inputs: graph.inputs.map(at), params: graph.params.map(at), outputs: graph.outputs.map(at) }, remap };
}

// ---------------------------------------------------------------------------
// The forward pass as a chain

/** Segment k: the activations after boundary k − 1 up to and including boundary k. */
export interface Segment {
  /** the boundary: the one value that carries the state to the next segment */
  readonly boundary: number;
  readonly nodes: readonly number[];
  /** bytes of its values the backward pass reads (what keeping the segment costs) */
  readonly keepBytes: number;
  /** bytes of the boundary (what keeping only the boundary costs) */
  readonly boundaryBytes: number;
}

/** A group of consecutive segments (from, to]: kept whole, or recomputed from boundary `from`. */
export interface ChainGroup {
  readonly from: number;
  readonly to: number;
  readonly recompute: boolean;
}

/**
 * The step's forward activations as a chain: boundaries are activations that no earlier
 * activation outlives in the forward pass (so everything after depends on what came before only
 * through them), segments the activations between them. `start` is the first boundary (kept).
 */
export class Chain {
  readonly start: number;
  readonly segments: readonly Segment[];
  private readonly needed: Uint8Array;
  private readonly pinned: Uint8Array;
  /** recomputeFlops by (from, to), −1 until asked */
  private readonly flopsMemo: Float64Array;

  constructor(
    private readonly graph: PGraph,
    private readonly forwardEnd: number,
    live: Uint8Array = liveNodes(graph),
  ) {
    const { activation, pinned } = classifyForward(graph, forwardEnd);
    this.pinned = pinned;
    // forward values the backward pass reads (through aliases: their storage)
    const needed = new Uint8Array(forwardEnd);
    for (let id = forwardEnd; id < graph.nodes.length; id++)
      if (live[id]) for (const u of graph.nodes[id]!.inputs) if (u < forwardEnd) needed[u] = 1;
    for (let id = forwardEnd - 1; id >= 0; id--) {
      const n = graph.nodes[id]!;
      if (needed[id] && ALIASING_PRIMITIVES.has(n.op)) needed[n.inputs[0]!] = 1;
    }
    this.needed = needed;
    const lastUse = new Int32Array(forwardEnd).fill(-1);
    for (let id = 0; id < forwardEnd; id++) if (live[id]) for (const u of graph.nodes[id]!.inputs) lastUse[u] = id;
    const cuts: number[] = [];
    let reach = -1;
    for (let id = 0; id < forwardEnd; id++) {
      if (!live[id] || !activation[id]) continue;
      if (reach <= id) cuts.push(id);
      reach = Math.max(reach, lastUse[id]!);
    }
    this.start = cuts[0] ?? -1;
    const segments: Segment[] = [];
    let members: number[] = [];
    let c = 1;
    for (let id = this.start + 1; id < forwardEnd && c < cuts.length; id++) {
      if (live[id] && activation[id]) members.push(id);
      if (id !== cuts[c]) continue;
      const bytes = (v: number): number => (ALIASING_PRIMITIVES.has(graph.nodes[v]!.op) ? 0 : valueBytes(graph.nodes[v]!));
      const keepBytes = members.reduce((s, v) => s + (needed[v] && !pinned[v] ? bytes(v) : 0), 0);
      segments.push({ boundary: id, nodes: members, keepBytes, boundaryBytes: valueBytes(graph.nodes[id]!) });
      members = [];
      c++;
    }
    this.segments = segments;
    this.flopsMemo = new Float64Array((segments.length + 1) ** 2).fill(-1);
  }

  /** FLOPs to recompute, from boundary `from` (kept), what the backward pass reads in segments from+1..to, but boundary `to` (kept). */
  recomputeFlops(from: number, to: number): number {
    const key = from * (this.segments.length + 1) + to;
    const memo = this.flopsMemo[key]!;
    if (memo >= 0) return memo;
    const lo = from === 0 ? this.start : this.segments[from - 1]!.boundary;
    const hi = this.segments[to - 1]!.boundary;
    const mark = new Set<number>();
    for (let k = from; k < to; k++) for (const v of this.segments[k]!.nodes) if (this.needed[v] && !this.pinned[v] && v !== hi) mark.add(v);
    let flops = 0;
    for (let id = hi - 1; id > lo; id--) {
      if (!mark.has(id)) continue;
      const n = this.graph.nodes[id]!;
      flops += primitiveFlops(n, this.graph);
      for (const u of n.inputs) if (u > lo && !this.pinned[u]) mark.add(u);
    }
    this.flopsMemo[key] = flops;
    return flops;
  }

  /** The forward nodes a schedule drops: every activation inside a recomputed group but its last boundary. */
  dropFor(groups: readonly ChainGroup[]): Uint8Array {
    const drop = new Uint8Array(this.forwardEnd);
    for (const g of groups) {
      if (!g.recompute) continue;
      for (let k = g.from; k < g.to; k++) for (const v of this.segments[k]!.nodes) drop[v] = 1;
      drop[this.segments[g.to - 1]!.boundary] = 0;
    }
    return drop;
  }
}

function valueBytes(n: PNode): number {
  return numelOf(n.shape) * DTYPE_BYTES[n.dtype];
}

/** Chen et al.'s √n scheme: groups of about √n segments, each recomputed from the last group's output. */
export function sqrtSchedule(chain: Chain): ChainGroup[] {
  const n = chain.segments.length;
  const size = Math.max(1, Math.round(Math.sqrt(n)));
  const groups: ChainGroup[] = [];
  for (let from = 0; from < n; from += size) groups.push({ from, to: Math.min(n, from + size), recompute: true });
  return groups;
}

/** Memory units the dynamic programme counts in (the budget divided into this many). */
const DP_UNITS = 64;

/**
 * The optimal "checkpoint and recompute once" schedule for the chain under a memory model.
 *
 * The problem solved, exactly: split segments 1..n into consecutive groups, each either kept
 * (all its activations stay from the forward to the backward pass, nothing recomputed) or
 * recomputed (only its last boundary is kept; in the backward pass the group's activations are
 * computed once more from the previous group's boundary, costing `chain.recomputeFlops`), so as
 * to minimise the total recomputed FLOPs subject to
 *   fixed + Σ kept groups' activation bytes + Σ recomputed groups' last boundary bytes
 *         + max over recomputed groups g of (Σ boundary bytes in g + max segment activation bytes in g) ≤ budget,
 * the last term being the group whose backward pass runs: recomputing its last segment's
 * values recomputes the boundaries before it, which stay until their own segment's backward
 * pass, while each segment's other values live only through that segment's backward pass.
 * Bytes are rounded up to 1/64 of the budget left after `fixed` (so a schedule found is within
 * the budget in the model). For each cap L on the recomputed group's bytes, a DP over (segments
 * done, units used) gives the cheapest split within budget − L; the best over all L wins.
 * O(L·n·units·group length). Returns undefined when nothing fits.
 */
export function optimalChainSchedule(chain: Chain, budget: number, fixed: number): ChainGroup[] | undefined {
  const segs = chain.segments;
  const n = segs.length;
  const avail = budget - fixed;
  if (n === 0 || avail <= 0) return undefined;
  const unit = avail / DP_UNITS;
  const units = (bytes: number): number => Math.ceil(bytes / unit - 1e-9);
  const keep = segs.map((s) => units(s.keepBytes));
  const out = segs.map((s) => units(s.boundaryBytes));
  // held[j·(n+1) + i]: units a group (j, i] holds while its backward pass runs; nondecreasing as j falls
  const held = new Int32Array((n + 1) * (n + 1));
  const caps = new Set<number>([0]);
  for (let i = 1; i <= n; i++) {
    let boundaries = 0;
    let largest = 0;
    for (let j = i - 1; j >= 0; j--) {
      boundaries += segs[j]!.boundaryBytes;
      largest = Math.max(largest, segs[j]!.keepBytes);
      held[j * (n + 1) + i] = units(boundaries + largest);
      if (held[j * (n + 1) + i]! <= DP_UNITS) caps.add(held[j * (n + 1) + i]!);
    }
  }

  const solve = (cap: number, choice?: Int32Array): number => {
    const room = DP_UNITS - cap;
    const width = room + 1;
    // cost[i·width + m]: the least FLOPs for segments 1..i within m units (Infinity: none fits)
    const cost = new Float64Array((n + 1) * width).fill(Infinity);
    cost.fill(0, 0, width);
    for (let i = 1; i <= n; i++) {
      for (let m = 0; m <= room; m++) {
        let best = Infinity;
        let pick = -1;
        if (keep[i - 1]! <= m) best = cost[(i - 1) * width + m - keep[i - 1]!]!;
        if (cap > 0 && out[i - 1]! <= m)
          for (let j = i - 1; j >= 0 && held[j * (n + 1) + i]! <= cap; j--) {
            const c = cost[j * width + m - out[i - 1]!]! + chain.recomputeFlops(j, i);
            if (c < best) [best, pick] = [c, j];
          }
        cost[i * width + m] = best;
        if (choice) choice[i * width + m] = pick;
      }
    }
    return cost[n * width + room]!;
  };

  let bestCap = -1;
  let bestCost = Infinity;
  for (const cap of [...caps].sort((a, b) => a - b)) {
    const c = solve(cap);
    if (c < bestCost) [bestCost, bestCap] = [c, cap];
  }
  if (bestCap < 0) return undefined;
  const width = DP_UNITS - bestCap + 1;
  const choice = new Int32Array((n + 1) * width);
  solve(bestCap, choice);
  const groups: ChainGroup[] = [];
  for (let i = n, m = DP_UNITS - bestCap; i > 0;) {
    const j = choice[i * width + m]!;
    if (j < 0) {
      groups.push({ from: i - 1, to: i, recompute: false });
      m -= keep[i - 1]!;
      i--;
    } else {
      groups.push({ from: j, to: i, recompute: true });
      m -= out[i - 1]!;
      i = j;
    }
  }
  return groups.reverse();
}

// ---------------------------------------------------------------------------
// Policies that need no chain

/** Activations written under `@checkpoint`, but each region's outputs (what ops outside it read). */
export function annotationDrop(graph: PGraph, forwardEnd: number): Uint8Array | undefined {
  const { activation } = classifyForward(graph, forwardEnd);
  const drop = new Uint8Array(forwardEnd);
  let any = false;
  for (let id = 0; id < forwardEnd; id++) {
    const n = graph.nodes[id]!;
    if (activation[id] && n.checkpoint !== undefined) [drop[id], any] = [1, true];
  }
  if (!any) return undefined;
  for (let id = 0; id < forwardEnd; id++) {
    const n = graph.nodes[id]!;
    for (const u of n.inputs) if (drop[u] && graph.nodes[u]!.checkpoint !== n.checkpoint) drop[u] = 0;
  }
  return drop;
}

/** Every activation but the outputs of expensive ops. */
export function selectiveDrop(graph: PGraph, forwardEnd: number): Uint8Array {
  const { activation } = classifyForward(graph, forwardEnd);
  const drop = new Uint8Array(forwardEnd);
  for (let id = 0; id < forwardEnd; id++) if (activation[id] && !EXPENSIVE.has(graph.nodes[id]!.op)) drop[id] = 1;
  return drop;
}

// ---------------------------------------------------------------------------
// Choosing

interface Measured {
  readonly planned: number;
  readonly flops: number;
}

/** The planned arena of a graph and the FLOPs of the nodes it runs (those `count` selects). */
function measure(graph: PGraph, passes: StepPasses, count: (n: PNode) => boolean): Measured {
  const { plan, live, representative } = planStepMemory(graph, passes);
  let flops = 0;
  for (const n of graph.nodes)
    if (live[n.id] && (!representative || representative[n.id] === n.id) && count(n)) flops += primitiveFlops(n, graph);
  return { planned: plan.planned, flops };
}

/**
 * Checkpoint a training step: `graph` is forward nodes [0, forwardEnd) then the backward pass.
 * Without a budget only `@checkpoint` regions apply (the graph comes back as it is when there
 * are none); with one, the policies are tried as the header says.
 */
export function checkpointStep(graph: PGraph, forwardEnd: number, options: CheckpointOptions = {}): Checkpointed {
  const passes = options.passes ?? {};
  const base = measure(graph, passes, () => true);
  const live = liveNodes(graph);
  const chain = new Chain(graph, forwardEnd, live);
  const budget = options.budget;
  const policies: readonly CheckpointPolicy[] = options.policy
    ? [options.policy]
    : budget !== undefined
      ? ["annotations", "selective", "sqrt", "chain-dp"]
      : ["annotations"];

  interface Tried extends CheckpointCandidate {
    readonly graph: PGraph;
    readonly remap: Int32Array;
  }
  const identity = new Int32Array(graph.nodes.length).map((_, i) => i);
  const tried: Tried[] = [];
  if (!options.policy) tried.push({ policy: "none", planned: base.planned, recompute_flops: 0, graph, remap: identity });
  const attempt = (policy: CheckpointPolicy, drop: Uint8Array): Tried => {
    const r = rematerialize(graph, forwardEnd, drop);
    const m = measure(r.graph, passes, (n) => n.recomputes !== undefined);
    const t = { policy, planned: m.planned, recompute_flops: m.flops, ...r };
    tried.push(t);
    return t;
  };
  for (const policy of policies) {
    if (policy === "annotations") {
      const drop = annotationDrop(graph, forwardEnd);
      if (drop) attempt(policy, drop);
    } else if (policy === "selective") attempt(policy, selectiveDrop(graph, forwardEnd));
    else if (chain.segments.length >= 2) {
      if (policy === "sqrt") attempt(policy, chain.dropFor(sqrtSchedule(chain)));
      else if (budget !== undefined) {
        // the model's fixed part: what the plan holds besides the chain's activations; tightened
        // by what the plan overshoots, while it does
        let fixed = Math.max(0, base.planned - chain.segments.reduce((s, g) => s + g.keepBytes, 0));
        for (let round = 0; round < 4; round++) {
          const groups = optimalChainSchedule(chain, budget, fixed);
          if (!groups) break;
          const t = attempt(policy, chain.dropFor(groups));
          if (t.planned <= budget) break;
          fixed += t.planned - budget;
        }
      }
    }
  }

  const fits = tried.filter((t) => budget === undefined || t.planned <= budget);
  const checkpointed = tried.filter((t) => t.policy !== "none");
  const pool = budget === undefined ? checkpointed : fits;
  const byCost = (a: Tried, b: Tried): number => a.recompute_flops - b.recompute_flops || a.planned - b.planned;
  const bySize = (a: Tried, b: Tried): number => a.planned - b.planned || a.recompute_flops - b.recompute_flops;
  const chosen = pool.length > 0 ? [...pool].sort(byCost)[0]! : [...tried].sort(bySize)[0];
  const candidates = [...tried].sort(bySize).map(({ policy, planned, recompute_flops }) => ({ policy, planned, recompute_flops }));
  const met = budget === undefined ? undefined : chosen !== undefined && chosen.planned <= budget;
  const after = chosen?.planned ?? base.planned;
  const report: CheckpointReport = {
    policy: chosen?.policy ?? "none",
    recompute_flops: chosen?.recompute_flops ?? 0,
    step_flops: base.flops,
    saved_bytes: base.planned - after,
    activation_memory: { before: base.planned, after },
    ...(budget !== undefined ? { budget, met: met! } : {}),
    segments: chain.segments.length,
    candidates,
    ...(met === false
      ? { warning: `no checkpointing schedule fits the memory budget of ${budget} bytes; the smallest found needs ${after} bytes` }
      : {}),
  };
  return { graph: chosen?.graph ?? graph, remap: chosen?.remap ?? identity, report };
}
