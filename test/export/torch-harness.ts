// Helpers for the PyTorch export tests: find a Python with torch, write a model's exported
// module with dlm-initialised weights and inputs, run the jobs through torch_driver.py in one
// Python process, and compare torch's numbers with dlm's.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ModelGraph } from "../../compiler/ir/graph.js";
import type { TrainSetup } from "../../compiler/train.js";
import { torchModuleSource, type TorchExportOptions } from "../../compiler/export/torch.js";
import type { HostArray } from "../../runtime/cpu/reference.js";
import { initParams } from "../../runtime/module.js";
import type { LoweredParam } from "../../compiler/lower.js";
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from "../../runtime/safetensors.js";

const DRIVER = join(import.meta.dirname, "torch_driver.py");

/** The Python to run torch with: $DLM_PYTHON, else /usr/bin/python3 if it imports torch, else python3; or why none. */
export function findTorch(): { python?: string; reason: string } {
  const candidates = process.env.DLM_PYTHON ? [process.env.DLM_PYTHON] : ["/usr/bin/python3", "python3"];
  const tried: string[] = [];
  for (const python of candidates) {
    const r = spawnSync(python, ["-c", "import torch, numpy; print(torch.__version__)"], { encoding: "utf8", timeout: 60_000 });
    if (r.status === 0) return { python, reason: `${python}, torch ${r.stdout.trim()}` };
    tried.push(`${python}: ${r.error ? r.error.message : (r.stderr.trim().split("\n").pop() ?? `exit ${r.status}`)}`);
  }
  return { reason: `no Python with torch and numpy (${tried.join("; ")}); set DLM_PYTHON or install python3-torch` };
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "dlm-torch-"));
}

/** One run of torch_driver.py (see its docstring). */
export interface Job {
  readonly label: string;
  readonly module: string;
  readonly class: string;
  readonly weights?: string;
  readonly resave?: string;
  readonly inputs?: string;
  readonly args: readonly string[];
  readonly kwargs?: Readonly<Record<string, string>>;
  readonly outputs: readonly string[];
  readonly mode?: "loss" | "probe";
  readonly training?: boolean;
  /** also run the training-mode pass in float64 (keys f64:...) */
  readonly float64?: boolean;
  readonly out: string;
}

/** Run jobs in one Python process; a failing job leaves OUT.error, which `results` reports. */
export function runJobs(python: string, dir: string, jobs: readonly Job[], timeoutMs = 300_000): void {
  const list = join(dir, "jobs.json");
  writeFileSync(list, JSON.stringify(jobs));
  const r = spawnSync(python, [DRIVER, list], { encoding: "utf8", timeout: timeoutMs });
  if (r.status !== 0) throw new Error(`torch_driver.py failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr}`);
}

/** What torch wrote for a job, by name. */
export function results(job: Job): Map<string, SafeTensor> {
  if (existsSync(`${job.out}.error`)) throw new Error(`${job.label} in torch: ${readFileSync(`${job.out}.error`, "utf8")}`);
  return decodeSafetensors(readFileSync(job.out), job.out).tensors;
}

/** Write the exported module of `graph` to DIR/NAME.py. */
export function writeModule(
  dir: string,
  name: string,
  graph: ModelGraph,
  train: TrainSetup | undefined,
  options?: TorchExportOptions,
): string {
  const path = join(dir, `${name}.py`);
  writeFileSync(path, torchModuleSource(graph, train, options));
  return path;
}

/** dlm's initial values of lowered parameters, as `dlm train --seed` draws them. */
export function initialValues(params: readonly LoweredParam[], seed = 0): Map<string, Float32Array> {
  const entries = params.map((p) => ({ ...p, value: new Float32Array(p.shape.reduce((a, b) => a * b, 1)) }));
  initParams(entries, seed);
  return new Map(entries.map((e) => [e.name, e.value]));
}

/** A tensor for the safetensors file torch reads: floats as F32, integers as I64 (torch's index type), bools as BOOL. */
export function safeTensor(data: HostArray, shape: readonly number[], dtype: string): SafeTensor {
  if (dtype === "bool") return { dtype: "BOOL", shape, data: Uint8Array.from(data as ArrayLike<number>) };
  if (dtype.startsWith("i") || dtype.startsWith("u"))
    return { dtype: "I64", shape, data: BigInt64Array.from(Array.from(data as ArrayLike<number>, (v) => BigInt(v))) };
  return { dtype: "F32", shape, data: Float32Array.from(data as ArrayLike<number>) };
}

export function writeTensors(path: string, tensors: ReadonlyMap<string, SafeTensor>, metadata?: Record<string, string>): void {
  writeFileSync(path, encodeSafetensors(tensors, metadata));
}

/**
 * How far `got` is from `want`: the largest absolute difference over the largest magnitude
 * of `want` (so a tensor's small entries are judged on its own scale; at least `floor`, since
 * a gradient that is zero in exact arithmetic holds only rounding noise), or a message when
 * the shapes differ.
 */
export function relativeError(
  got: SafeTensor | undefined,
  want: ArrayLike<number>,
  shape: readonly number[],
  floor = 1e-3,
): number | string {
  if (!got) return "missing";
  if (got.shape.length !== shape.length || got.shape.some((d, i) => d !== shape[i]))
    return `shape [${got.shape.join(", ")}], want [${shape.join(", ")}]`;
  const g = got.data as ArrayLike<number | bigint>;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    const w = Number(want[i]);
    const v = Number(g[i]);
    if (Number.isNaN(v) !== Number.isNaN(w)) return `element ${i}: ${v} vs ${w}`;
    if (!Number.isFinite(w)) {
      if (v !== w) return `element ${i}: ${v} vs ${w}`;
      continue;
    }
    diff = Math.max(diff, Math.abs(v - w));
    scale = Math.max(scale, Math.abs(w));
  }
  return diff / Math.max(scale, floor);
}
