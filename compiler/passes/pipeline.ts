// The optimisation passes, in order, in one place: the CPU executor (runtime/cpu/executor.ts),
// the TypeScript generator (compiler/codegen/ts.ts), the memory report and `dlm compile
// --explain` all run `optimise`, so they agree on what is computed and how.
//
// First the IR → IR rewrites (REWRITES: pure PGraph → PGraph functions, each switched off by
// its option), then the analyses the backends need on the rewritten graph: which nodes are
// live (dead-code elimination), each node's representative after common-subexpression
// elimination, the fusion plan and the memory plan. A rewrite renumbers nodes; `nodeOf` maps
// every node of the graph the caller built to the node of the rewritten graph that holds its
// value, so node ids the caller kept (a gradient, the loss) still find their buffers.
//
// Adding a rewrite is adding an entry to REWRITES (and its switch to PassOptions and the CLI).
//
// Attention is lowered to one primitive that the CPU runs as a streaming kernel
// (compiler/prim/attention.ts); with fusion or `flashAttention` off it is expanded back into
// the unfused primitives before anything else runs (compiler/passes/attention.ts).

import type { PGraph } from "../prim/ir.js";
import { expandAttention, hasAttention } from "./attention.js";
import { foldBatchNorm } from "./batchnorm-fold.js";
import { foldConstants } from "./constant-fold.js";
import { commonSubexpressions } from "./cse.js";
import { liveNodes } from "./dead-code.js";
import { planFusion, type FusionPlan } from "./fusion.js";
import { DEFAULT_ALIGNMENT, DTYPE_BYTES, planGraphMemory, type GraphMemoryPlan } from "./memory-plan.js";
import { composeNodeMaps, type Rewritten } from "./rewrite.js";
import { simplify } from "./simplify.js";

/** Each pass is on unless set to false (`-O0` sets them all to false). */
export interface PassOptions {
  /** constant folding (`--no-fold`) */
  readonly fold?: boolean;
  /** algebraic simplification (`--no-simplify`) */
  readonly simplify?: boolean;
  /** batch-norm (per-channel affine) folding into the preceding convolution (`--no-bn-fold`) */
  readonly bnFold?: boolean;
  /** common-subexpression elimination (`--no-cse`) */
  readonly cse?: boolean;
  /** operator fusion (`--no-fuse`) */
  readonly fuse?: boolean;
  /** streaming attention kernels (`--no-flash-attention`; off with fusion too): otherwise attention is expanded into the unfused primitives */
  readonly flashAttention?: boolean;
  /** static memory planning (`--no-plan`) */
  readonly plan?: boolean;
  /** with planning, elementwise kernels writing over inputs they read last (`--no-in-place`) */
  readonly inPlace?: boolean;
}

/** Every pass off: `-O0`. */
export const NO_PASSES: Required<PassOptions> = {
  fold: false,
  simplify: false,
  bnFold: false,
  cse: false,
  fuse: false,
  flashAttention: false,
  plan: false,
  inPlace: false,
};

/** Whether attention runs as the streaming kernel: it is a fusion, so `--no-fuse` switches it off too. */
export function flashAttentionOn(options: PassOptions): boolean {
  return options.fuse !== false && options.flashAttention !== false;
}

export interface GraphRewrite {
  readonly name: string;
  /** the option that switches it off */
  readonly option: keyof PassOptions;
  readonly run: (graph: PGraph) => Rewritten;
}

/** The IR → IR rewrites, in the order they run. */
export const REWRITES: readonly GraphRewrite[] = [
  { name: "constant folding", option: "fold", run: foldConstants },
  { name: "algebraic simplification", option: "simplify", run: (g) => simplify(g) },
  { name: "batch-norm folding", option: "bnFold", run: foldBatchNorm },
  // the folded weights' reshapes of reshapes, and the scalar constants batch-norm folding leaves
  { name: "algebraic simplification", option: "simplify", run: (g) => simplify(g) },
];

export interface Optimised {
  /** the rewritten graph */
  readonly graph: PGraph;
  /** each node of the graph given to `optimise`: its node in `graph` (one holding the same value), or −1 where none does */
  readonly nodeOf: Int32Array;
  /** nodes of `graph` some output needs */
  readonly live: Uint8Array;
  /** each node's representative after common-subexpression elimination (without CSE: undefined) */
  readonly representative?: Int32Array;
  readonly fusion?: FusionPlan;
  readonly memory?: GraphMemoryPlan;
}

export interface OptimiseHooks {
  /** check the graph after each rewrite (tests: the IR verifier) */
  readonly verify?: (graph: PGraph, after: string) => void;
  /** whether fused kernels can run here (the executor: whether the engine compiles code) */
  readonly canFuse?: boolean;
}

export function optimise(graph: PGraph, options: PassOptions = {}, hooks: OptimiseHooks = {}): Optimised {
  let current = graph;
  let nodeOf: Int32Array = Int32Array.from(graph.nodes, (_, i) => i);
  if (!flashAttentionOn(options) && hasAttention(current)) {
    const r = expandAttention(current);
    current = r.graph;
    nodeOf = r.nodeOf;
    hooks.verify?.(current, "attention expansion");
  }
  for (const pass of REWRITES) {
    if (options[pass.option] === false) continue;
    const r = pass.run(current);
    current = r.graph;
    nodeOf = composeNodeMaps(nodeOf, r.nodeOf);
    hooks.verify?.(current, pass.name);
  }
  const live = liveNodes(current);
  const representative = options.cse === false ? undefined : commonSubexpressions(current, live);
  const fusion = options.fuse === false || hooks.canFuse === false ? undefined : planFusion(current, live, representative);
  const memory =
    options.plan === false
      ? undefined
      : planGraphMemory(current, live, DEFAULT_ALIGNMENT, representative, fusion, DTYPE_BYTES, { inPlace: options.inPlace !== false });
  return {
    graph: current,
    nodeOf,
    live,
    ...(representative ? { representative } : {}),
    ...(fusion ? { fusion } : {}),
    ...(memory ? { memory } : {}),
  };
}
