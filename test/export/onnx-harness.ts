// Shared by the ONNX export tests: export a model, run the .onnx file with onnxruntime-node and
// the same model with dlm's CPU executor in evaluation mode, on the same weights and random
// inputs, and compare every output within float32 tolerance.

import * as ort from "onnxruntime-node";
import { expect } from "vitest";
import { exportOnnx, planOnnxExport, type OnnxPlan } from "../../compiler/export/onnx/export.js";
import { liveNodes, type ModelGraph } from "../../compiler/ir/graph.js";
import type { LoweredModel } from "../../compiler/lower.js";
import { buildEvalGraph } from "../../compiler/training-graph.js";
import type { DType } from "../../compiler/ops/types.js";
import { compile } from "../../runtime/cpu/executor.js";
import type { HostArray } from "../../runtime/cpu/reference.js";

/** A deterministic stream of numbers in [0, 1) (mulberry32), independent of the code under test. */
export function stream(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Weights for a comparison, quick to draw even for a BERT-sized table: uniform in ±1/sqrt(fan-in)
 * around 0, or around 1 for parameters initialised to ones (norm scales, running variances, which
 * must stay positive).
 */
export function testWeights(plan: OnnxPlan, seed = 7): Map<string, Float32Array> {
  const next = stream(seed);
  const out = new Map<string, Float32Array>();
  for (const p of plan.params) {
    const fanIn = p.shape.length > 1 ? p.shape.slice(1).reduce((a, b) => a * b, 1) : 4;
    const scale = 1 / Math.sqrt(fanIn);
    const center = p.init === "ones" ? 1 : 0;
    const data = new Float32Array(p.shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = center + (next() * 2 - 1) * (center ? 0.2 : scale);
    out.set(p.name, data);
  }
  return out;
}

/**
 * The exclusive bound of an integer input's values, read off what consumes it in the lowered
 * model (an embedding table's rows, a one-hot depth, a scatter's size); 2 when nothing says.
 */
function integerRange(m: LoweredModel, input: string): number {
  const b = m.builder;
  const node = m.inputs.find((i) => i.name === input)!.node;
  const aliases = new Set([node]);
  let bound = Infinity;
  for (const n of b.nodes) {
    if (!n.inputs.some((i) => aliases.has(i))) continue;
    if (n.op === "reshape" || n.op === "cast" || n.op === "broadcast_to") aliases.add(n.id);
    else if (n.op === "gather" && aliases.has(n.inputs[1]!)) bound = Math.min(bound, b.shape(n.inputs[0]!)[n.attrs.axis as number]!);
    else if (n.op === "one_hot") bound = Math.min(bound, n.attrs.depth as number);
    else if (n.op === "scatter_add" && aliases.has(n.inputs[1]!)) bound = Math.min(bound, n.attrs.size as number);
  }
  return Number.isFinite(bound) ? bound : 2;
}

/** Outputs that depend on random draws even in evaluation mode (a GAN's noise, a VAE's sample): compared by shape only. */
export function randomOutputs(g: ModelGraph): Set<string> {
  const random = g.nodes.filter((n) => n.kind === "op" && n.op.stochastic && !n.op.modeDependent).map((n) => n.id);
  const out = new Set<string>();
  for (const o of g.outputs) {
    const live = liveNodes(g, [o.ref.node]);
    if (random.some((id) => live[id])) out.add(o.name);
  }
  return out;
}

export interface Comparison {
  /** outputs compared value by value */
  readonly compared: readonly string[];
  /** largest |onnx - dlm| / (1 + max |dlm|) over the compared outputs */
  readonly worst: number;
}

/** An onnxruntime tensor of a model input's declared dtype (floats run as float32, as in dlm). */
function ortTensor(dtype: DType, data: ArrayLike<number>, shape: readonly number[]): ort.Tensor {
  const dims = [...shape];
  switch (dtype) {
    case "bool":
      return new ort.Tensor("bool", Uint8Array.from(data), dims);
    case "i64":
      return new ort.Tensor(
        "int64",
        BigInt64Array.from(data, (v) => BigInt(v)),
        dims,
      );
    case "i32":
      return new ort.Tensor("int32", Int32Array.from(data), dims);
    case "i8":
      return new ort.Tensor("int8", Int8Array.from(data), dims);
    case "u8":
      return new ort.Tensor("uint8", Uint8Array.from(data), dims);
    default:
      return new ort.Tensor("float32", Float32Array.from(data), dims);
  }
}

/**
 * Runs `onnx` (an export of `g`) with onnxruntime and `g` with dlm's CPU executor at `dims`,
 * on `weights` and the same random inputs, and expects every deterministic output to agree
 * within float32 tolerance (random outputs: the same shape). `session` reuses a loaded model.
 */
export async function compareWithDlm(
  g: ModelGraph,
  onnx: Uint8Array | ort.InferenceSession,
  weights: ReadonlyMap<string, ArrayLike<number>>,
  dims: ReadonlyMap<string, number>,
  seed = 1,
): Promise<Comparison> {
  const session = onnx instanceof Uint8Array ? await ort.InferenceSession.create(onnx) : onnx;
  const lowered = buildEvalGraph(g, dims);
  const program = compile(lowered.builder.graph());
  for (const p of lowered.params) program.setParam(p.name, weights.get(p.name)!);
  const next = stream(seed);
  const declared = new Map(g.inputs.map((id) => [(g.nodes[id] as { name: string }).name, g.nodes[id]!.outputs[0]!.dtype]));
  const feeds = new Map<string, HostArray>();
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const i of lowered.inputs) {
    const n = i.shape.reduce((a, b) => a * b, 1);
    const dtype = declared.get(i.name)!;
    let data: HostArray;
    if (i.dtype === "f32") data = Float32Array.from({ length: n }, () => next() * 2 - 1);
    else if (i.dtype === "bool") data = Uint8Array.from({ length: n }, () => (next() < 0.8 ? 1 : 0));
    else {
      const range = integerRange(lowered, i.name);
      data = Int32Array.from({ length: n }, () => Math.floor(next() * range));
    }
    feeds.set(i.name, data);
    ortFeeds[i.name] = ortTensor(dtype, data as ArrayLike<number>, i.shape);
  }
  expect([...session.inputNames].sort()).toEqual(lowered.inputs.map((i) => i.name).sort());
  program.run(feeds, { seed: 0 });
  const results = await session.run(ortFeeds);
  const random = randomOutputs(g);
  const compared: string[] = [];
  let worst = 0;
  for (const o of lowered.outputs) {
    const got = results[o.name];
    expect(got, `output ${o.name}`).toBeDefined();
    expect(got!.dims, `the shape of ${o.name}`).toEqual(lowered.builder.shape(o.node));
    if (random.has(o.name)) continue;
    const want = program.output(o.name) as ArrayLike<number>;
    const have = Array.from(got!.data as ArrayLike<number | bigint>, Number);
    let scale = 0;
    let finite = 0;
    for (let k = 0; k < want.length; k++) if (Number.isFinite(want[k]!)) ((scale = Math.max(scale, Math.abs(want[k]!))), finite++);
    expect(finite, `${o.name} has finite values to compare`).toBeGreaterThan(0);
    for (let k = 0; k < want.length; k++) {
      const [a, b] = [have[k]!, want[k]!];
      if (Number.isNaN(b)) {
        expect(a, `${o.name}[${k}]: NaN in dlm`).toBeNaN();
        continue;
      }
      const err = Math.abs(a - b) / (1 + scale);
      if (!(err <= 2e-5)) expect.fail(`${o.name}[${k}]: onnxruntime ${a}, dlm ${b} (scale ${scale})`);
      worst = Math.max(worst, err);
    }
    compared.push(o.name);
  }
  return { compared, worst };
}

/** Export `g` with `given` sizes fixed and test weights; returns the plan, weights and bytes. */
export function exportForTest(
  g: ModelGraph,
  given: ReadonlyMap<string, number>,
): { plan: OnnxPlan; weights: Map<string, Float32Array>; bytes: Uint8Array } {
  const plan = planOnnxExport(g, given);
  const weights = testWeights(plan);
  return { plan, weights, bytes: exportOnnx(plan, weights) };
}
