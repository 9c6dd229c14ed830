// Analyses of an elaborated model: parameters, compute (MACs and other FLOPs for
// forward, backward and a training step) and memory. Counting conventions:
// - MACs count matmul-like work (linear, conv, matmul, attention products, recurrent
//   gates) as torchvision / fvcore do: one fused multiply-add = 1; bias adds are not MACs.
// - FLOPs = 2 x MACs + the other floating-point work (elementwise, normalisation, softmax,
//   pooling, losses), which is also reported on its own as `elementwise`.
// - Backward: for each op, one forward's MACs per input that needs a gradient plus one for
//   its trainable weights, at most 2x; elementwise work once more when any gradient flows.
// - Step = forward + backward (+ the optimiser's per-parameter update in FLOPs).
// - Symbolic dims take their report values (`--dim`, a `dim` hyperparameter's default,
//   else 1, so an unbound batch is 1).

import { Dim, numel, type Shape } from "./dim.js";
import { regionTrips, type ModelGraph, type Node, type OpNode } from "./ir/graph.js";
import { bytesOf, type Cost, type TensorType } from "./ops/types.js";
import type { TrainSetup } from "./train.js";

export interface LayerRow {
  readonly name: string;
  readonly op: string;
  readonly shape: string;
  readonly params: number;
  readonly macs: number;
  readonly flops: number;
}

export interface PhaseCounts {
  readonly forward: number;
  readonly backward: number;
  readonly step: number;
}

export interface ModelReport {
  readonly model: string;
  readonly dims: Readonly<Record<string, number>>;
  readonly inputs: readonly { readonly name: string; readonly dtype: string; readonly shape: string }[];
  readonly outputs: readonly { readonly name: string; readonly dtype: string; readonly shape: string }[];
  readonly params: { readonly total: number; readonly trainable: number; readonly frozen: number; readonly buffers: number };
  readonly macs: PhaseCounts;
  readonly flops: PhaseCounts;
  readonly elementwise_flops: PhaseCounts;
  /** bytes for one training step at the report's batch size */
  readonly memory: number;
  readonly memory_breakdown: {
    readonly parameters: number;
    readonly buffers: number;
    readonly gradients: number;
    readonly optimizer_state: number;
    readonly inputs: number;
    /** every forward activation kept for the backward pass */
    readonly activations: number;
    /** lower bound: the most bytes live at once during a forward pass */
    readonly activations_peak_inference: number;
  };
  readonly optimizer: string;
  readonly layers: readonly LayerRow[];
}

/** Per-parameter FLOPs of one optimiser update. */
const OPTIMIZER_FLOPS: Readonly<Record<string, number>> = {
  sgd: 2,
  momentum: 4,
  nesterov: 5,
  adagrad: 5,
  rmsprop: 6,
  adam: 10,
  adamw: 11,
};

export function analyzeModel(g: ModelGraph, train?: TrainSetup, boundDims: ReadonlyMap<string, number> = new Map()): ModelReport {
  const env = (name: string): number => g.dimDefaults.get(name) ?? 1;
  const value = (d: Dim): number => d.evaluate(env) ?? 0;
  const bytes = (t: TensorType): number => value(numel(t.shape)) * bytesOf(t.dtype);
  const showShape = (s: Shape): string => {
    const sub = new Map<string, Dim>();
    for (const [k, v] of boundDims) sub.set(k, Dim.const(v));
    return `[${s.map((d) => d.substitute(sub).toString()).join(", ")}]`;
  };

  const requiresGrad = computeRequiresGrad(g);
  let paramsTotal = 0;
  let trainable = 0;
  let frozen = 0;
  let buffers = 0;
  let bufferBytes = 0;
  let paramBytes = 0;
  let trainableBytes = 0;
  for (const n of g.nodes) {
    if (n.kind !== "param") continue;
    const count = value(numel(n.outputs[0]!.shape));
    if (n.buffer) {
      buffers += count;
      bufferBytes += bytes(n.outputs[0]!);
    } else {
      paramsTotal += count;
      paramBytes += bytes(n.outputs[0]!);
      if (n.trainable) {
        trainable += count;
        trainableBytes += bytes(n.outputs[0]!);
      } else frozen += count;
    }
  }

  const macs = { forward: 0, backward: 0 };
  const ew = { forward: 0, backward: 0 };
  let activations = 0;
  const layers: LayerRow[] = [];
  const countedParams = new Set<number>();
  for (const n of g.nodes) {
    if (n.kind !== "op" && n.kind !== "scan") continue;
    const trips = regionTrips(g, n.region).reduce((a, d) => a * value(d), 1);
    for (const t of n.outputs) activations += bytes(t) * trips;
    if (n.kind === "scan") continue;
    const c = opCost(g, n);
    const fMacs = value(c.macs) * trips;
    const fFlops = value(c.flops) * trips;
    const needsInput = n.inputs.filter((r) => r && requiresGrad[r.node]).length;
    const needsParam = n.params.some((p) => (g.nodes[p] as Extract<Node, { kind: "param" }>).trainable);
    const bc = n.op.backwardCost
      ? n.op.backwardCost({ ...costContext(g, n), needsInputGrad: needsInput > 0, needsParamGrad: needsParam })
      : undefined;
    const gradFactor = Math.min(2, needsInput + (needsParam ? 1 : 0));
    macs.forward += fMacs;
    ew.forward += fFlops;
    macs.backward += bc ? value(bc.macs) * trips : fMacs * gradFactor;
    ew.backward += bc ? value(bc.flops) * trips : gradFactor > 0 ? fFlops : 0;
    let rowParams = 0;
    for (const p of n.params)
      if (!countedParams.has(p)) {
        countedParams.add(p);
        const pn = g.nodes[p]!;
        if (pn.kind === "param" && !pn.buffer) rowParams += value(numel(pn.outputs[0]!.shape));
      }
    layers.push({
      name: n.instance || n.op.name,
      op: n.op.name,
      shape: n.outputs.map((t) => showShape(t.shape)).join(", "),
      params: rowParams,
      macs: fMacs,
      flops: 2 * fMacs + fFlops,
    });
  }

  const optimizer = train?.optimizer ?? { name: "adam", stateSlots: 2, args: {} };
  const optimizerFlops = trainable * (OPTIMIZER_FLOPS[optimizer.name] ?? 10);
  const inputBytes = g.inputs.reduce((a, id) => a + bytes(g.nodes[id]!.outputs[0]!), 0);
  const breakdown = {
    parameters: paramBytes,
    buffers: bufferBytes,
    gradients: trainableBytes,
    optimizer_state: trainableBytes * optimizer.stateSlots,
    inputs: inputBytes,
    activations,
    activations_peak_inference: peakLiveBytes(g, bytes),
  };
  const dims: Record<string, number> = {};
  for (const n of g.nodes) for (const t of n.outputs) for (const d of t.shape) for (const s of d.symbols()) dims[s] = env(s);

  return {
    model: g.name,
    dims,
    inputs: g.inputs.map((id) => {
      const n = g.nodes[id]!;
      return { name: (n as Extract<Node, { kind: "input" }>).name, dtype: n.outputs[0]!.dtype, shape: showShape(n.outputs[0]!.shape) };
    }),
    outputs: g.outputs.map((o) => {
      const t = g.nodes[o.ref.node]!.outputs[o.ref.index]!;
      return { name: o.name, dtype: t.dtype, shape: showShape(t.shape) };
    }),
    params: { total: paramsTotal, trainable, frozen, buffers },
    macs: { forward: macs.forward, backward: macs.backward, step: macs.forward + macs.backward },
    flops: {
      forward: 2 * macs.forward + ew.forward,
      backward: 2 * macs.backward + ew.backward,
      step: 2 * (macs.forward + macs.backward) + ew.forward + ew.backward + optimizerFlops,
    },
    elementwise_flops: { forward: ew.forward, backward: ew.backward, step: ew.forward + ew.backward + optimizerFlops },
    memory:
      breakdown.parameters + breakdown.buffers + breakdown.gradients + breakdown.optimizer_state + breakdown.inputs + breakdown.activations,
    memory_breakdown: breakdown,
    optimizer: optimizer.name,
    layers,
  };
}

/**
 * One op node's own figures at the report dims, as its row of the layer table counts them
 * (a node inside a scan body once per step): parameters (buffers apart), forward MACs and FLOPs.
 */
export function countLayer(g: ModelGraph, n: OpNode): { params: number; buffers: number; macs: number; flops: number } {
  const env = (name: string): number => g.dimDefaults.get(name) ?? 1;
  const value = (d: Dim): number => d.evaluate(env) ?? 0;
  const trips = regionTrips(g, n.region).reduce((a, d) => a * value(d), 1);
  let params = 0;
  let buffers = 0;
  for (const p of n.params) {
    const pn = g.nodes[p]!;
    const count = value(numel(pn.outputs[0]!.shape));
    if (pn.kind === "param" && pn.buffer) buffers += count;
    else params += count;
  }
  const c = opCost(g, n);
  const macs = value(c.macs) * trips;
  return { params, buffers, macs, flops: 2 * macs + value(c.flops) * trips };
}

function costContext(g: ModelGraph, n: OpNode) {
  return {
    inputs: n.inputs.map((r) => (r ? g.nodes[r.node]!.outputs[r.index] : undefined)),
    attrs: n.attrs,
    outputs: n.outputs,
    params: n.params.map((p) => {
      const pn = g.nodes[p] as Extract<Node, { kind: "param" }>;
      return { name: pn.name, shape: pn.outputs[0]!.shape, init: pn.init };
    }),
  };
}

function opCost(g: ModelGraph, n: OpNode): Cost {
  return n.op.cost ? n.op.cost(costContext(g, n)) : { macs: Dim.const(0), flops: Dim.const(0) };
}

/** Which nodes' outputs carry a gradient back to a trainable parameter. */
export function computeRequiresGrad(g: ModelGraph): boolean[] {
  const rg: boolean[] = new Array<boolean>(g.nodes.length).fill(false);
  const scanOfRegion = new Map<number, Extract<Node, { kind: "scan" }>>();
  for (const n of g.nodes) if (n.kind === "scan") scanOfRegion.set(n.body.region, n);
  const regionHasTrainable = new Map<number, boolean>();
  for (const n of g.nodes)
    if (n.kind === "op" && n.params.some((p) => (g.nodes[p] as Extract<Node, { kind: "param" }>).trainable))
      for (let r = n.region; r !== 0; r = g.regions.get(r)!.parent) regionHasTrainable.set(r, true);
  for (const n of g.nodes) {
    switch (n.kind) {
      case "param":
        rg[n.id] = n.trainable;
        break;
      case "const":
        break;
      case "input": {
        const scan = scanOfRegion.get(n.region);
        if (!scan) break;
        const step = scan.body.stepInputs.indexOf(n.id);
        if (step >= 0) rg[n.id] = rg[scan.inputs[step]!.node]!;
        else {
          const s = scan.body.stateInputs.indexOf(n.id);
          rg[n.id] = (s >= 0 && rg[scan.inputs[scan.sequenceCount + s]!.node]!) || (regionHasTrainable.get(n.region) ?? false);
        }
        break;
      }
      case "op":
        rg[n.id] =
          n.op.name !== "stop_gradient" &&
          n.outputs.some((t) => t.dtype.startsWith("f") || t.dtype === "bf16") &&
          (n.inputs.some((r) => r !== null && rg[r.node]) || n.params.some((p) => rg[p]));
        break;
      case "scan":
        rg[n.id] = n.inputs.some((r) => rg[r.node]) || (regionHasTrainable.get(n.body.region) ?? false);
        break;
    }
  }
  return rg;
}

/** Peak bytes live during one forward pass in node order (a lower bound for inference). */
function peakLiveBytes(g: ModelGraph, bytes: (t: TensorType) => number): number {
  const lastUse = new Map<number, number>();
  const top = g.nodes.filter((n) => n.region === 0);
  for (const n of top) {
    const refs = n.kind === "op" ? n.inputs : n.kind === "scan" ? n.inputs : [];
    for (const r of refs) if (r) lastUse.set(r.node, n.id);
  }
  for (const o of g.outputs) lastUse.set(o.ref.node, Infinity);
  let live = 0;
  let peak = 0;
  const freeAt = new Map<number, number[]>();
  for (const n of top) {
    if (n.kind === "param" || n.kind === "const") continue;
    const size = n.outputs.reduce((a, t) => a + bytes(t), 0);
    live += size;
    peak = Math.max(peak, live);
    const last = lastUse.get(n.id);
    if (last === undefined) live -= size;
    else if (last !== Infinity) freeAt.set(last, [...(freeAt.get(last) ?? []), size]);
    for (const s of freeAt.get(n.id) ?? []) live -= s;
  }
  return peak;
}
