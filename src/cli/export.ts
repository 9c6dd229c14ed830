// `dlm export FILE (--onnx OUT.onnx | --torch OUT.py) [--weights W] [--dim T=64]... [--seed S]`:
// the model's inference graph as an ONNX file (compiler/export/onnx/) with its weights, or as a
// PyTorch module (compiler/export/torch.ts). Weights come from a safetensors file (a `dlm train
// --save` checkpoint or plain weights) or are initialised from the seed exactly as `dlm train`
// initialises them. Files are written atomically.

import { relative, resolve } from "node:path";
import type { ModelGraph } from "../../compiler/ir/graph.js";
import type { TrainSetup } from "../../compiler/train.js";
import { exportOnnx, planOnnxExport, type OnnxPlan } from "../../compiler/export/onnx/export.js";
import { torchModuleSource } from "../../compiler/export/torch.js";
import { initParams } from "../../runtime/module.js";
import { readSafetensors } from "../../runtime/safetensors.js";
import { matchWeights } from "../../runtime/weights.js";
import { writeFileAtomic } from "../atomic.js";

export interface ExportArgs {
  readonly graph: ModelGraph;
  readonly train?: TrainSetup;
  readonly onnx?: string;
  readonly torch?: string;
  readonly weights?: string;
  /** sizes to fix (--dim); the batch and other sizes the inputs carry stay symbolic otherwise */
  readonly dims: ReadonlyMap<string, number>;
  readonly seed?: number;
}

/** Bad weights or a model that cannot be exported as asked (exit 1). */
export class ExportInputError extends Error {}

/** Every parameter of the plan initialised as `dlm train --seed` initialises it (default seed: the train section's, else 0). */
export function initialWeights(plan: OnnxPlan, seed: number): Map<string, Float32Array> {
  const entries = plan.params.map((p) => ({
    name: p.name,
    value: new Float32Array(p.shape.reduce((a, b) => a * b, 1)),
    shape: p.shape,
    init: p.init,
    ...(p.initArgs ? { initArgs: p.initArgs } : {}),
    trainable: true,
    buffer: false,
  }));
  initParams(entries, seed);
  return new Map(entries.map((e) => [e.name, e.value]));
}

/** The weights the exported graph reads, from a safetensors file, each checked against its shape. */
export async function weightsFromFile(path: string, plan: OnnxPlan): Promise<Map<string, Float32Array>> {
  try {
    const file = await readSafetensors(path);
    const unused = new Set(plan.params.filter((p) => !p.used).map((p) => p.name));
    return matchWeights(
      file,
      plan.params.filter((p) => p.used),
      { path, model: plan.graph.name },
      unused,
    );
  } catch (e) {
    throw new ExportInputError((e as Error).message);
  }
}

/** Writes the requested files; returns their paths. */
export async function runExport(a: ExportArgs): Promise<string[]> {
  const written: string[] = [];
  if (a.onnx !== undefined) {
    const plan = planOnnxExport(a.graph, a.dims);
    const weights = a.weights !== undefined ? await weightsFromFile(a.weights, plan) : initialWeights(plan, a.seed ?? a.train?.seed ?? 0);
    const path = resolve(a.onnx);
    await writeFileAtomic(path, exportOnnx(plan, weights));
    written.push(path);
  }
  if (a.torch !== undefined) {
    let source: string;
    try {
      source = torchModuleSource(a.graph, a.train, { dims: a.dims, displayPath: (f) => relative(process.cwd(), f) || f });
    } catch (e) {
      throw new ExportInputError((e as Error).message);
    }
    const path = resolve(a.torch);
    await writeFileAtomic(path, source);
    written.push(path);
  }
  return written;
}
