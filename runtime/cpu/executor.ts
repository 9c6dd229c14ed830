// The fast float32 executor of the primitive IR.
//
// compile(graph) plans once: storage per node, allocated once (Float32Array for f32,
// Int32Array for i32, Uint8Array for bool; reshape and stop_gradient alias their input's
// buffer, and so does a node that common-subexpression elimination merged into an earlier
// one; const and iota are filled at compile time), and a closure per remaining node with its
// index tables precomputed. Intermediate values are views into one arena placed by the static
// memory planner (compiler/passes/memory-plan.ts): values whose lifetimes do not overlap share
// bytes, so an intermediate's buffer holds its value only until a later node reuses the bytes
// (`plan: false` gives every node its own buffer, to inspect intermediates after a run).
// program.run(feeds) copies the feeds into the input buffers and runs the closures in node
// order; it allocates no typed arrays (the GEMM's grow-only scratch pool may grow on the first
// run only).
//
// Parameters are persistent buffers the caller owns: program.param(name) returns the buffer to
// read or update in place, setParam copies into it, and a feed named like a parameter is copied
// into it too. Inputs must be fed on every run.
//
// Random numbers: rng nodes draw in node order from the stream of ops-rng.ts seeded with
// run's `seed`, or, without one, with compile's `seed` (default 0) plus the number of earlier
// runs: fresh numbers each run, reproducible from the start. With the same seed the executor
// draws the same numbers as the reference (uniform bit for bit, normal up to f32 rounding).
//
// Semantics follow reference.ts exactly (see its header for i32, bool, NaN and index rules).

import { optimise, type PassOptions } from "../../compiler/passes/pipeline.js";
import { canGenerateCode, fusedKernel } from "./fused.js";
import {
  ALIASING_PRIMITIVES,
  DEFAULT_ALIGNMENT,
  arenaOffset,
  planGraphMemory,
  type GraphMemoryPlan,
} from "../../compiler/passes/memory-plan.js";
import { numelOf, type PDType, type PGraph } from "../../compiler/prim/ir.js";
import { BUILDERS, type Buf, type Kernel } from "./builders.js";
import { kernelHeap } from "./kernels/matmul.js";
import { HeapBlock, type KernelHeap } from "./kernels/wasm-heap.js";
import { SeededStream } from "./ops-rng.js";
import type { HostArray } from "./reference.js";

export type { Buf } from "./ops-elementwise.js";

/**
 * The compiler passes (compiler/passes/pipeline.ts), each on by default: `plan` places
 * intermediates in one planned arena (false: a buffer per node), `cse` merges repeated
 * computations, `fuse` fuses elementwise chains, row reductions and matmul/conv epilogues into one generated kernel
 * each (where the engine compiles code), `fold`, `simplify` and `bnFold` rewrite the graph.
 */
export interface CompileOptions extends PassOptions {
  /** base seed of the rng nodes when run is given none (default 0) */
  seed?: number;
  /** time every kernel, by primitive (see Program.profile) */
  profile?: boolean;
  /** fill the arena with 0xFF bytes (NaN, −1) before every run: a kernel that leaves part of its output unwritten shows (tests) */
  poisonArena?: boolean;
  /**
   * place the arena and every other buffer in the wasm kernel heap (where the host has one), so
   * that the GEMM and optimiser kernels work on them where they lie instead of copying them in
   * and out. Views of the program's buffers stay valid while any of them is reachable.
   */
  kernelHeap?: boolean;
}

export interface RunOptions {
  seed?: number;
}

export interface Program {
  /** the graph as given to compile (node ids of buffer and computed are its ids) */
  readonly graph: PGraph;
  /** Copy the feeds (every input; parameters optionally) in and execute every node in order. */
  run(feeds: ReadonlyMap<string, HostArray>, opts?: RunOptions): void;
  /** The buffer holding a node's value (shared with its input for reshape/stop_gradient). */
  buffer(node: number): Buf;
  /** Whether a node is computed (dead nodes, which no output needs, are skipped). */
  computed(node: number): boolean;
  /** The buffer of a named output. */
  output(name: string): Buf;
  /** The persistent buffer of a parameter, to read or update in place. */
  param(name: string): Buf;
  /** Copy values into a parameter's buffer. */
  setParam(name: string, data: ArrayLike<number>): void;
  /** With `profile`: milliseconds spent per primitive over all runs so far, largest first. */
  profile(): { op: string; ms: number; calls: number }[];
  /** Kernels one run launches (fused groups count once; aliases, constants and merged repeats none). */
  readonly kernelCount: number;
  /** Bytes of intermediate values: one buffer each (naive), the planned arena, and the lower bound. */
  readonly memory: { readonly naive: number; readonly planned: number; readonly lowerBound: number };
}

export function compile(source: PGraph, options: CompileOptions = {}): Program {
  const bufs: Buf[] = [];
  const kernels: Kernel[] = [];
  const timings = new Map<string, { ms: number; calls: number }>();
  const rng = new SeededStream(0);
  for (const n of source.nodes)
    for (const i of n.inputs) if (!(i < n.id)) throw new Error(`executor: node ${n.id} (${n.op}) reads node ${i}, which comes later`);
  // the program runs the rewritten graph; node ids of `source` reach their values through nodeOf
  const optimised = optimise(source, options, { canFuse: canGenerateCode });
  const { graph, live, nodeOf, fusion, memory: plan } = optimised;
  const rep = optimised.representative;
  const store = new BufferStore(options.kernelHeap ? kernelHeap() : null);
  const arena = plan ? store.block(plan.planned) : undefined;
  const poison = arena && options.poisonArena ? new Uint8Array(arena.buffer, arena.base, plan!.planned) : undefined;
  for (const n of graph.nodes) {
    if (!live[n.id]) continue;
    // in the arena: its own planned bytes, or those of an input it overwrites in place (an alias has its source's buffer)
    const offset = plan && !ALIASING_PRIMITIVES.has(n.op) ? arenaOffset(plan, n.id) : undefined;
    const planned = offset !== undefined;
    if (rep && rep[n.id] !== n.id) {
      bufs[n.id] = bufs[rep[n.id]!]!; // computed once, by the earlier node
      continue;
    }
    const group = fusion && fusion.groupOf[n.id]! >= 0 ? fusion.groups[fusion.groupOf[n.id]!]! : undefined;
    if (group) {
      // a member is computed by its group's kernel, where the group's last member is scheduled
      if (!fusion!.virtual[n.id])
        bufs[n.id] = planned ? store.view(arena!, offset, n.dtype, numelOf(n.shape)) : store.alloc(n.dtype, numelOf(n.shape));
      if (group.members.at(-1) === n.id) {
        const k = fusedKernel(graph, group, bufs, rng);
        const label = group.kind === "epilogue" ? `${graph.nodes[group.members[0]!]!.op}+epilogue` : "fused";
        kernels.push(options.profile ? timed(label, k, timings) : k);
      }
      continue;
    }
    bufs[n.id] = ALIASING_PRIMITIVES.has(n.op)
      ? bufs[n.inputs[0]!]!
      : planned
        ? store.view(arena!, offset, n.dtype, numelOf(n.shape))
        : store.alloc(n.dtype, numelOf(n.shape));
    const build = BUILDERS[n.op];
    if (!build) throw new Error(`executor: unknown primitive '${n.op}' (node ${n.id})`);
    const k = build({ n, out: bufs[n.id]!, ins: n.inputs.map((i) => bufs[i]!), shapes: n.inputs.map((i) => graph.nodes[i]!.shape), rng });
    // a value filled once at compile time must keep its bytes: the planner has to know it
    if (!k && planned) throw new Error(`executor: '${n.op}' (node ${n.id}) is filled at compile time but was placed in the shared arena`);
    if (k) kernels.push(options.profile ? timed(n.op, k, timings) : k);
  }
  const inputs = graph.inputs.map((i) => ({ name: i.name, buf: bufs[i.node]!, bool: graph.nodes[i.node]!.dtype === "bool" }));
  const params = new Map(graph.params.map((p) => [p.name, bufs[p.node]!]));
  const paramList = graph.params.map((p) => ({ name: p.name, buf: bufs[p.node]! }));
  const outputs = new Map(graph.outputs.map((o) => [o.name, bufs[o.node]!]));
  const baseSeed = options.seed ?? 0;
  let runs = 0;

  const lookup = (m: Map<string, Buf>, what: string, name: string): Buf => {
    const b = m.get(name);
    if (!b) throw new Error(`executor: no ${what} named '${name}'`);
    return b;
  };

  const bufferOf = (node: number): Buf | undefined => (node >= 0 && node < nodeOf.length ? bufs[nodeOf[node]!] : undefined);

  return {
    graph: source,
    memory: memoryFigures(graph, live, plan, rep),
    kernelCount: kernels.length,
    run(feeds, opts) {
      for (let i = 0; i < inputs.length; i++) {
        const s = inputs[i]!;
        const f = feeds.get(s.name);
        if (!f) throw new Error(`executor: no feed for input '${s.name}'`);
        copyFeed(s.name, s.buf, f, s.bool);
      }
      for (let i = 0; i < paramList.length; i++) {
        const p = paramList[i]!;
        const f = feeds.get(p.name);
        if (f) copyFeed(p.name, p.buf, f, false);
      }
      if (poison) poison.fill(0xff);
      rng.reset(opts?.seed ?? baseSeed + runs);
      runs++;
      for (let i = 0; i < kernels.length; i++) kernels[i]!();
    },
    computed: (node) => bufferOf(node) !== undefined,
    buffer(node) {
      const b = bufferOf(node);
      if (!b)
        throw new Error(
          `executor: node ${node} ${node < source.nodes.length ? "is not computed (no output depends on it, or a compiler pass removed it)" : "does not exist"}`,
        );
      return b;
    },
    output: (name) => lookup(outputs, "output", name),
    param: (name) => lookup(params, "parameter", name),
    profile: () => [...timings].map(([op, t]) => ({ op, ...t })).sort((a, b) => b.ms - a.ms),
    setParam(name, data) {
      copyFeed(name, lookup(params, "parameter", name), data, false);
    },
  };
}

function timed(op: string, k: Kernel, timings: Map<string, { ms: number; calls: number }>): Kernel {
  const t = timings.get(op) ?? { ms: 0, calls: 0 };
  timings.set(op, t);
  return () => {
    const t0 = performance.now();
    k();
    t.ms += performance.now() - t0;
    t.calls++;
  };
}

/** The planner's figures; an unplanned program reports its own one-buffer-per-value total for all three. */
function memoryFigures(graph: PGraph, live: Uint8Array, plan: GraphMemoryPlan | undefined, rep: Int32Array | undefined): Program["memory"] {
  const p = plan ?? planGraphMemory(graph, live, DEFAULT_ALIGNMENT, rep);
  return plan
    ? { naive: p.naive, planned: p.planned, lowerBound: p.lowerBound }
    : { naive: p.naive, planned: p.naive, lowerBound: p.lowerBound };
}

/** A block of bytes to place views in: an ArrayBuffer of its own, or a block of the kernel heap. */
interface Block {
  readonly buffer: ArrayBufferLike;
  readonly base: number;
  readonly heap?: HeapBlock;
}

/** Where a program's buffers go: the kernel heap when it has one (and room), plain ArrayBuffers otherwise. */
class BufferStore {
  constructor(private readonly kh: KernelHeap | null) {}

  block(bytes: number): Block {
    const at = this.kh ? this.kh.alloc(bytes) : -1;
    return at >= 0
      ? { buffer: this.kh!.memory.buffer, base: at, heap: new HeapBlock(this.kh!, at) }
      : { buffer: new ArrayBuffer(bytes), base: 0 };
  }

  view(block: Block, offset: number, dtype: PDType, n: number): Buf {
    const at = block.base + offset;
    const buf =
      dtype === "f32"
        ? new Float32Array(block.buffer, at, n)
        : dtype === "i32"
          ? new Int32Array(block.buffer, at, n)
          : new Uint8Array(block.buffer, at, n);
    return block.heap ? block.heap.adopt(buf) : buf;
  }

  /** A buffer of its own. */
  alloc(dtype: PDType, n: number): Buf {
    if (!this.kh) return allocBuf(dtype, n);
    return this.view(this.block(n * (dtype === "bool" ? 1 : 4)), 0, dtype, n);
  }
}

function allocBuf(dtype: PDType, n: number): Buf {
  return dtype === "f32" ? new Float32Array(n) : dtype === "i32" ? new Int32Array(n) : new Uint8Array(n);
}

function copyFeed(name: string, buf: Buf, f: ArrayLike<number>, bool: boolean): void {
  if (f.length !== buf.length) throw new Error(`executor: feed '${name}' has ${f.length} values, needs ${buf.length}`);
  if (f === buf) return;
  if (bool) for (let i = 0; i < buf.length; i++) buf[i] = f[i] !== 0 ? 1 : 0;
  else if (ArrayBuffer.isView(f)) buf.set(f as HostArray);
  else for (let i = 0; i < buf.length; i++) buf[i] = f[i]!;
}
