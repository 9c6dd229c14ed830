// The activation-memory figures of a model's report: its training step (or, without a train
// section, its forward pass) lowered at the report's dims, with dead code and repeats removed
// and elementwise chains fused, and planned as the executor plans it (after gradient
// checkpointing, when `@checkpoint` regions or a memory budget ask for it); and its kernel counts.

import type { ModelGraph } from "../ir/graph.js";
import { buildEvalGraph, buildTrainingGraph, checkpointedStep, type StepPassOptions } from "../training-graph.js";
import type { TrainSetup } from "../train.js";
import type { PGraph } from "../prim/ir.js";
import type { CheckpointReport } from "./checkpoint.js";
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
  /** what gradient checkpointing chose (with `@checkpoint` regions or a memory budget; the figures above are after it) */
  readonly checkpointing?: CheckpointReport;
}

export interface ActivationMemoryOptions {
  /** bytes the planned arena of a training step may take (gradient checkpointing picks what to recompute) */
  readonly budget?: number;
  /** passes switched off: common subexpressions, fusion, checkpointing */
  readonly passes?: StepPassOptions;
}

export function activationMemory(
  g: ModelGraph,
  train: TrainSetup | undefined,
  dims: ReadonlyMap<string, number>,
  options: ActivationMemoryOptions = {},
): ActivationMemory {
  const loss = train?.loss ?? train?.phases.find((p) => p.loss)?.loss;
  const passes = options.passes ?? {};
  let checkpointing: CheckpointReport | undefined;
  let lowered = loss ? undefined : buildEvalGraph(g, dims);
  if (loss) {
    const c = checkpointedStep(g, buildTrainingGraph(g, loss, dims), {
      ...(options.budget !== undefined ? { budget: options.budget } : {}),
      passes,
    });
    lowered = c.training.model;
    checkpointing = c.report;
  }
  // the report always plans memory (that is what it reports), whatever the program's own --no-plan
  const { graph, live, representative, fusion, memory: plan } = optimise(lowered!.builder.graph(), { ...passes, plan: true });
  const { unfused, fused } = kernelCounts(graph, live, representative, fusion);
  return {
    naive: plan!.naive,
    planned: plan!.planned,
    lower_bound: plan!.lowerBound,
    step: loss ? "training" : "inference",
    placement: plan!.placement,
    live: plan!.liveBytes,
    kernels: { unfused, fused },
    ...(checkpointing ? { checkpointing } : {}),
  };
}

/** Kernels one run launches without fusion (live nodes that compute, repeats merged) and with it (a group counts once). */
export function kernelCounts(
  graph: PGraph,
  live: Uint8Array,
  rep: Int32Array | undefined,
  fusion: FusionPlan | undefined,
): { unfused: number; fused: number } {
  let unfused = 0;
  for (const n of graph.nodes) if (live[n.id] && (!rep || rep[n.id] === n.id) && !NO_KERNEL.has(n.op)) unfused++;
  return { unfused, fused: unfused - (fusion?.groups ?? []).reduce((s, g) => s + g.members.length - 1, 0) };
}
