// The activation-memory figures of a model's report: its training step (or, without a train
// section, its forward pass) lowered at the report's dims, with dead code and repeats removed
// and elementwise chains fused, and planned as the executor plans it (after gradient
// checkpointing, when `@checkpoint` regions or a memory budget ask for it); and its kernel counts.

import type { ModelGraph } from "../ir/graph.js";
import { buildEvalGraph, buildTrainingGraph, checkpointTrainingGraph } from "../training-graph.js";
import type { TrainSetup } from "../train.js";
import type { CheckpointReport } from "./checkpoint.js";
import { planStepMemory, type Placement, type StepPasses } from "./memory-plan.js";

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
  readonly passes?: StepPasses & { readonly checkpoint?: false };
}

export function activationMemory(
  g: ModelGraph,
  train: TrainSetup | undefined,
  dims: ReadonlyMap<string, number>,
  options: ActivationMemoryOptions = {},
): ActivationMemory {
  const loss = train?.loss ?? train?.phases.find((p) => p.loss)?.loss;
  const passes: StepPasses = { cse: options.passes?.cse !== false, fuse: options.passes?.fuse !== false };
  let checkpointing: CheckpointReport | undefined;
  let lowered = loss ? undefined : buildEvalGraph(g, dims);
  if (loss) {
    const tg = buildTrainingGraph(g, loss, dims);
    lowered = tg.model;
    if (options.passes?.checkpoint !== false) {
      const c = checkpointTrainingGraph(tg, { ...(options.budget !== undefined ? { budget: options.budget } : {}), passes });
      lowered = c.training.model;
      if (c.report.policy !== "none" || options.budget !== undefined) checkpointing = c.report;
    }
  }
  const graph = lowered!.builder.graph();
  const { plan, live, representative: rep, fusion } = planStepMemory(graph, passes);
  let unfused = 0;
  for (const n of graph.nodes) if (live[n.id] && (!rep || rep[n.id] === n.id) && !NO_KERNEL.has(n.op)) unfused++;
  const fused = unfused - (fusion?.groups ?? []).reduce((s, gr) => s + gr.members.length - 1, 0);
  return {
    naive: plan.naive,
    planned: plan.planned,
    lower_bound: plan.lowerBound,
    step: loss ? "training" : "inference",
    placement: plan.placement,
    live: plan.liveBytes,
    kernels: { unfused, fused },
    ...(checkpointing ? { checkpointing } : {}),
  };
}
