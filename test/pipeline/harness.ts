// Helpers for tests that run models through the real pipeline: .dlm source text (a file of
// examples/ or an inline model) → check → lower → the CPU executor (f32) and the float64
// reference interpreter. No hand-built primitive graphs.

import { join } from "node:path";
import { readFileSync } from "node:fs";
import type { ModelGraph, TensorRef } from "../../compiler/ir/graph.js";
import { lowerModel, type LoweredModel } from "../../compiler/lower.js";
import { buildTrainingGraph } from "../../compiler/training-graph.js";
import type { TrainSetup } from "../../compiler/train.js";
import type { PDType } from "../../compiler/prim/ir.js";
import type { Value } from "../../compiler/values.js";
import { Dim } from "../../compiler/dim.js";
import { compile } from "../../runtime/cpu/executor.js";
import { evaluate, type HostArray } from "../../runtime/cpu/reference.js";
import { checkSource } from "../../src/index.js";

export const root = join(import.meta.dirname, "..", "..");
export const example = (f: string): string => join(root, "examples", f);

export interface Loaded {
  readonly graph: ModelGraph;
  readonly train?: TrainSetup;
}

/** Check source text (named like the file it came from) and return one model; any error diagnostic fails. */
export function loadModel(text: string, model: string, options: { name?: string; params?: Record<string, number> } = {}): Loaded {
  const params = new Map<string, Value>(
    Object.entries(options.params ?? {}).map(([k, v]) => [k, Number.isInteger(v) ? Dim.const(v) : v] as [string, Value]),
  );
  const r = checkSource(text, options.name ?? "inline.dlm", new Map(), { model, params });
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new Error(`${model}: ${errors.map((d) => `${d.code} ${d.message}`).join("; ")}`);
  const m = r.models.get(model);
  if (!m?.graph) throw new Error(`no model ${model}`);
  return { graph: m.graph, ...(m.train ? { train: m.train } : {}) };
}

/** A model of a file in examples/, optionally with extra source (a train section) appended. */
export function loadExample(file: string, model: string, extra = "", params?: Record<string, number>): Loaded {
  const text = readFileSync(example(file), "utf8") + extra;
  return loadModel(text, model, { name: example(file), ...(params ? { params } : {}) });
}

export type Feed = readonly number[];

function hostArray(dtype: PDType, data: Feed): HostArray {
  return dtype === "f32" ? Float32Array.from(data) : dtype === "i32" ? Int32Array.from(data) : Uint8Array.from(data);
}

export interface Tensor {
  readonly shape: readonly number[];
  readonly data: number[];
}

/**
 * Run a lowered model on both CPU paths: the compiled executor (f32) and the float64
 * reference interpreter. Feeds are by input and parameter name (every parameter must be fed).
 */
export function runBoth(m: LoweredModel, feeds: Record<string, Feed>, seed = 0): { exec: Map<string, Tensor>; ref: Map<string, Tensor> } {
  const map = new Map<string, HostArray>();
  for (const i of m.inputs) {
    const f = feeds[i.name];
    if (!f) throw new Error(`no feed for input ${i.name}`);
    map.set(i.name, hostArray(i.dtype, f));
  }
  for (const p of m.params) {
    const f = feeds[p.name];
    if (!f) throw new Error(`no value for parameter ${p.name}`);
    map.set(p.name, hostArray(p.dtype, f));
  }
  const g = m.builder.graph();
  const program = compile(g);
  for (const p of m.params) program.setParam(p.name, map.get(p.name)!);
  program.run(map, { seed });
  const values = evaluate(g, map, { seed });
  const exec = new Map<string, Tensor>();
  const ref = new Map<string, Tensor>();
  // every named output of the graph: the model's, the extra ones, and gradients (grad:NAME)
  for (const o of g.outputs) {
    const shape = m.builder.shape(o.node);
    exec.set(o.name, { shape, data: Array.from(program.output(o.name)) });
    ref.set(o.name, { shape, data: Array.from(values.get(o.node)!.data) });
  }
  return { exec, ref };
}

/** Evaluate a model (inference or training mode) with extra named results. */
export function lowerAndRun(
  l: Loaded,
  feeds: Record<string, Feed>,
  options: { dims?: Record<string, number>; training?: boolean; extra?: { name: string; ref: TensorRef }[]; seed?: number } = {},
): { exec: Map<string, Tensor>; ref: Map<string, Tensor>; lowered: LoweredModel } {
  const lowered = lowerModel(l.graph, {
    training: options.training ?? false,
    dims: new Map(Object.entries(options.dims ?? {})),
    ...(options.extra ? { extraOutputs: options.extra } : {}),
  });
  return { ...runBoth(lowered, feeds, options.seed ?? 0), lowered };
}

/** The train section's loss and its gradients (outputs `loss` and `grad:NAME`) on both CPU paths. */
export function lossAndGrads(
  l: Loaded,
  feeds: Record<string, Feed>,
  dims: Record<string, number> = {},
): { exec: Map<string, Tensor>; ref: Map<string, Tensor> } {
  if (!l.train?.loss) throw new Error(`${l.graph.name} has no train section with a loss`);
  const tg = buildTrainingGraph(l.graph, l.train.loss, new Map(Object.entries(dims)));
  return runBoth(tg.model, feeds);
}

/** Expect every element within `tol` (absolute, relative above 1). */
export function close(got: readonly number[], want: readonly number[], tol: number): string | undefined {
  if (got.length !== want.length) return `length ${got.length}, want ${want.length}`;
  for (let i = 0; i < want.length; i++)
    if (!(Math.abs(got[i]! - want[i]!) <= tol * Math.max(1, Math.abs(want[i]!))))
      return `element ${i}: got ${got[i]}, want ${want[i]} (got [${got.join(", ")}], want [${want.join(", ")}])`;
  return undefined;
}
