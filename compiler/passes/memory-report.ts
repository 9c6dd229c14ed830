// The activation-memory figures of a model's report: its training step (or, without a train
// section, its forward pass) lowered at the report's dims, with dead code and repeats removed
// and elementwise chains fused, and planned as the executor plans it; and its kernel counts.

import type { ModelGraph } from "../ir/graph.js";
import { buildEvalGraph, buildTrainingGraph } from "../training-graph.js";
import type { TrainSetup } from "../train.js";
import { commonSubexpressions } from "./cse.js";
import { planFusion } from "./fusion.js";
import { liveNodes } from "./dead-code.js";
import { DEFAULT_ALIGNMENT, planGraphMemory, type Placement } from "./memory-plan.js";

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
  const graph = lowered.builder.graph();
  const live = liveNodes(graph);
  const rep = commonSubexpressions(graph, live);
  const fusion = planFusion(graph, live, rep);
  const plan = planGraphMemory(graph, live, DEFAULT_ALIGNMENT, rep, fusion);
  let unfused = 0;
  for (const n of graph.nodes) if (live[n.id] && rep[n.id] === n.id && !NO_KERNEL.has(n.op)) unfused++;
  const fused = unfused - fusion.groups.reduce((s, g) => s + g.members.length - 1, 0);
  return {
    naive: plan.naive,
    planned: plan.planned,
    lower_bound: plan.lowerBound,
    step: loss ? "training" : "inference",
    placement: plan.placement,
    live: plan.liveBytes,
    kernels: { unfused, fused },
  };
}
