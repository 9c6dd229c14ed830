// The activation-memory figures of a model's report: its training step (or, without a train
// section, its forward pass) lowered at the report's dims, with dead code and repeats removed
// and elementwise chains fused, and planned as the executor plans it; and its kernel counts.

import type { ModelGraph } from "../ir/graph.js";
import { buildEvalGraph, buildTrainingGraph } from "../training-graph.js";
import type { TrainSetup } from "../train.js";
import type { PGraph } from "../prim/ir.js";
import type { FusionPlan } from "./fusion.js";
import type { Placement } from "./memory-plan.js";
import { optimise } from "./pipeline.js";

/** Primitives that launch nothing per run: fed or owned values, compile-time constants, aliases. */
export const NO_KERNEL: ReadonlySet<string> = new Set(["input", "param", "const", "iota", "reshape", "stop_gradient"]);

export interface ActivationMemory {
  /** bytes with a buffer per intermediate value */
  readonly naive: number;
  /** bytes of the planned arena */
  readonly planned: number;
  /** the largest total of simultaneously live bytes */
  readonly lower_bound: number;
  /** what was planned: a training step (forward, backward) or, without a loss, a forward pass */
  readonly step: "training" | "inference";
  readonly placement: Placement;
  /** bytes live after each scheduled node (for a picture of memory over the step) */
  readonly live: readonly number[];
  /** kernels one run launches without and with operator fusion (after dead code and repeats are gone) */
  readonly kernels: { readonly unfused: number; readonly fused: number };
}

export function activationMemory(g: ModelGraph, train: TrainSetup | undefined, dims: ReadonlyMap<string, number>): ActivationMemory {
  const loss = train?.loss ?? train?.phases.find((p) => p.loss)?.loss;
  const lowered = loss ? buildTrainingGraph(g, loss, dims).model : buildEvalGraph(g, dims);
  const { graph, live, representative: rep, fusion, memory: plan } = optimise(lowered.builder.graph());
  const { unfused, fused } = kernelCounts(graph, live, rep!, fusion!);
  return {
    naive: plan!.naive,
    planned: plan!.planned,
    lower_bound: plan!.lowerBound,
    step: loss ? "training" : "inference",
    placement: plan!.placement,
    live: plan!.liveBytes,
    kernels: { unfused, fused },
  };
}

/** Kernels one run launches without fusion (live nodes that compute, repeats merged) and with it (a group counts once). */
export function kernelCounts(graph: PGraph, live: Uint8Array, rep: Int32Array, fusion: FusionPlan): { unfused: number; fused: number } {
  let unfused = 0;
  for (const n of graph.nodes) if (live[n.id] && rep[n.id] === n.id && !NO_KERNEL.has(n.op)) unfused++;
  return { unfused, fused: unfused - fusion.groups.reduce((s, g) => s + g.members.length - 1, 0) };
}
