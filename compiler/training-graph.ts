// The graphs a training run executes: the model lowered in training mode with its loss and
// the loss's gradients with respect to every trainable parameter (one program per step),
// and the model lowered in evaluation mode (for held-out metrics and inference).

import { gradients } from "./autodiff.js";
import type { ModelGraph, TensorRef } from "./ir/graph.js";
import { LowerError, lowerModel, type LoweredModel } from "./lower.js";
import { checkpointStep, type CheckpointOptions, type CheckpointReport } from "./passes/checkpoint.js";
import { PrimBuilder, type T } from "./prim/builder.js";
import type { PGraph } from "./prim/ir.js";
import type { PassOptions } from "./passes/pipeline.js";
import type { TrainSetup } from "./train.js";

export interface TrainingGraph {
  readonly model: LoweredModel;
  readonly loss: T;
  /** gradient node of each trainable parameter that the loss depends on, by parameter name */
  readonly grads: ReadonlyMap<string, T>;
  /** nodes before this one are the forward pass (and the loss), the rest the backward pass */
  readonly forwardEnd: T;
}

/**
 * Lower `g` for a training step at the given dims and differentiate `loss` with respect to
 * the trainable parameters `updates` selects (default: all of them).
 */
export function buildTrainingGraph(
  g: ModelGraph,
  loss: TensorRef,
  dims: ReadonlyMap<string, number>,
  updates: (paramName: string) => boolean = () => true,
): TrainingGraph {
  const model = lowerModel(g, { training: true, dims, extraOutputs: [{ name: "loss", ref: loss }] });
  const b = model.builder;
  const lossNode = model.outputs.find((o) => o.name === "loss")!.node;
  if (b.shape(lossNode).length !== 0) throw new LowerError("the loss must be a scalar");
  const trainable = model.params.filter((p) => p.trainable && updates(p.name));
  const forwardEnd = b.nodes.length;
  const gs = gradients(
    b,
    lossNode,
    trainable.map((p) => p.node),
  );
  const grads = new Map<string, T>();
  trainable.forEach((p, i) => {
    const gNode = gs[i];
    if (gNode === undefined) return; // the loss does not depend on it (a frozen branch, an unused layer)
    grads.set(p.name, gNode);
    b.output(`grad:${p.name}`, gNode);
  });
  return { model, loss: lossNode, grads, forwardEnd };
}

/**
 * The training step with gradient checkpointing (compiler/passes/checkpoint.ts) applied: the
 * same step, its node ids renumbered where recomputed copies were scheduled in.
 */
export function checkpointTrainingGraph(
  tg: TrainingGraph,
  options: CheckpointOptions,
): { training: TrainingGraph; report: CheckpointReport } {
  const r = checkpointStep(tg.model.builder.graph(), tg.forwardEnd, options);
  return { training: r.graph.nodes === tg.model.builder.nodes ? tg : withStepGraph(tg, r.graph, r.remap), report: r.report };
}

/** The optimisation passes with gradient checkpointing's switch (`checkpoint: false`: neither `@checkpoint` nor a budget applies). */
export type StepPassOptions = PassOptions & { readonly checkpoint?: false };

/**
 * The training step as every backend runs it: checkpointed where `@checkpoint` regions or a
 * memory budget ask for it (`budget`, else the model's `@memory_budget`), unless
 * `passes.checkpoint` is false. `report` is what checkpointing chose, where it had a say
 * (regions, or a budget); the plan is measured with the passes the step will run with.
 */
export function checkpointedStep(
  g: ModelGraph,
  tg: TrainingGraph,
  options: { readonly budget?: number; readonly passes?: StepPassOptions } = {},
): { training: TrainingGraph; report?: CheckpointReport } {
  const passes = options.passes ?? {};
  if (passes.checkpoint === false) return { training: tg };
  const budget = options.budget ?? g.memoryBudget;
  const c = checkpointTrainingGraph(tg, {
    ...(budget !== undefined ? { budget } : {}),
    passes: { cse: passes.cse !== false, fuse: passes.fuse !== false, inPlace: passes.inPlace !== false },
  });
  return { training: c.training, ...(c.report.policy !== "none" || budget !== undefined ? { report: c.report } : {}) };
}

/** `tg` with its step replaced by `graph`, a rewrite of it whose node ids `remap` gives. */
export function withStepGraph(tg: TrainingGraph, graph: PGraph, remap: Int32Array): TrainingGraph {
  const b = new PrimBuilder();
  for (const n of graph.nodes) b.nodes.push(n);
  b.inputs.push(...graph.inputs);
  b.params.push(...graph.params);
  b.outputs.push(...graph.outputs);
  const at = <E extends { readonly node: T }>(e: E): E => ({ ...e, node: remap[e.node]! });
  const m = tg.model;
  const model: LoweredModel = {
    ...m,
    builder: b,
    params: m.params.map(at),
    inputs: m.inputs.map(at),
    outputs: m.outputs.map(at),
    bufferUpdates: m.bufferUpdates.map(at),
  };
  const grads = new Map([...tg.grads].map(([name, node]) => [name, remap[node]!]));
  return { model, loss: remap[tg.loss]!, grads, forwardEnd: tg.forwardEnd };
}

/** Lower `g` for inference / evaluation (dropout off, batch norm on running statistics). */
export function buildEvalGraph(g: ModelGraph, dims: ReadonlyMap<string, number>, train?: TrainSetup): LoweredModel {
  return lowerModel(g, { training: false, dims, ...(train?.loss ? { extraOutputs: [{ name: "loss", ref: train.loss }] } : {}) });
}
