// Every op's PyTorch mapping against dlm, one op at a time: each case is a one-op model graph
// (inputs, the op's parameters, its outputs) exported to PyTorch; torch runs it in float32 on
// the same inputs and weights, and its outputs and the gradients of a probe loss Σ y·r (a
// fixed random r per float output) with respect to every parameter and float input must match
// dlm's float64 reference interpreter. The cases are the shared op table's
// (test/compiler/op-cases.ts) whose op has a mapping, so an op with a `torch` mapping but no
// case fails the suite. Ops that draw random numbers are checked for shapes and dtypes.

import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gradients } from "../../compiler/autodiff.js";
import { lowerModel } from "../../compiler/lower.js";
import { OPS } from "../../compiler/ops/index.js";
import type { T } from "../../compiler/prim/builder.js";
import { evaluate, type HostArray } from "../../runtime/cpu/reference.js";
import type { SafeTensor } from "../../runtime/safetensors.js";
import { CASES as SHARED_CASES, NO_GRADIENT_CASES, draw, hashOf, nameOf, stream, type Case } from "../compiler/op-cases.js";
import { oneOpModel } from "./one-op.js";
import { findTorch, relativeError, results, runJobs, safeTensor, tempDir, writeModule, writeTensors, type Job } from "./torch-harness.js";

const torch = findTorch();

/** A case of the shared table whose op has a PyTorch mapping. */
interface TorchCase extends Case {
  /** the op draws random numbers here: compare shapes and dtypes only */
  readonly random: boolean;
}

/** Relative tolerances wider than the default 1e-4, by case name, with the reason. */
const TOLERANCE: Readonly<Record<string, number>> = {
  // k_proj's bias gets zero gradient in exact arithmetic (softmax ignores a shift of all scores): rounding noise only
  multihead_attention: 1e-3,
};

const CASES: readonly TorchCase[] = [...SHARED_CASES, ...NO_GRADIENT_CASES]
  .filter((c) => OPS.get(c.op)?.torch)
  .map((c) => {
    const op = OPS.get(c.op)!;
    // outside training only stochastic ops that are not mode-dependent (dropout is) draw at all
    return { ...c, random: op.stochastic === true && (c.training === true || op.modeDependent !== true) };
  });

interface Prepared {
  readonly c: TorchCase;
  readonly label: string;
  readonly job: Job;
  readonly expected: Map<string, { data: ArrayLike<number>; shape: readonly number[]; dtype: string }>;
}

/** dlm's float64 reference for a case, and the files torch reads. */
function prepare(c: TorchCase, index: number, dir: string): Prepared {
  const label = nameOf(c);
  const graph = oneOpModel(c, { paramPrefix: "op.", name: "OneOp" });
  const lowered = lowerModel(graph, { training: c.training === true });
  const b = lowered.builder;
  const random = stream(hashOf(nameOf(c)));
  const feeds = new Map<string, HostArray>();
  const files = new Map<string, SafeTensor>();
  const weights = new Map<string, SafeTensor>();
  lowered.inputs.forEach((inp) => {
    const spec = c.inputs[Number(inp.name.slice(1))]!;
    const n = inp.shape.reduce((a, x) => a * x, 1);
    const values = Array.from(spec.data ?? draw(random, n, spec), (v) => Math.fround(v));
    feeds.set(
      inp.name,
      inp.dtype === "f32" ? Float64Array.from(values) : inp.dtype === "i32" ? Int32Array.from(values) : Uint8Array.from(values),
    );
    files.set(inp.name, safeTensor(Float64Array.from(values), inp.shape, spec.dtype ?? "f32"));
  });
  for (const p of lowered.params) {
    const n = p.shape.reduce((a, x) => a * x, 1);
    const range = c.params?.[p.name] ?? (p.name.includes("var") ? { lo: 0.5, hi: 1.5 } : {});
    const values = Array.from(draw(random, n, range), (v) => Math.fround(v));
    feeds.set(p.name, Float64Array.from(values));
    weights.set(p.name, { dtype: "F32", shape: p.shape, data: Float32Array.from(values) });
  }
  // the probe loss Σ y·r over the float outputs, and its gradients
  let loss: T | undefined;
  for (const o of lowered.outputs) {
    if (b.dtype(o.node) !== "f32") continue;
    const shape = b.shape(o.node);
    const r = Array.from({ length: shape.reduce((a, x) => a * x, 1) }, () => Math.fround(random(-1, 1)));
    files.set(`probe:${o.name}`, { dtype: "F32", shape, data: Float32Array.from(r) });
    const term = b.sum(b.times(o.node, b.tensor(r, shape)));
    loss = loss === undefined ? term : b.plus(loss, term);
  }
  const wrt = [...lowered.params.filter((p) => p.trainable), ...lowered.inputs.filter((i) => i.dtype === "f32")];
  const grads =
    loss === undefined || c.random
      ? []
      : gradients(
          b,
          loss,
          wrt.map((w) => w.node),
        );
  const values = evaluate(b.graph(), feeds, { seed: 1 });
  const expected = new Map<string, { data: ArrayLike<number>; shape: readonly number[]; dtype: string }>();
  for (const o of lowered.outputs) {
    const v = values.get(o.node)!;
    expected.set(`out:${o.name}`, { data: v.data as ArrayLike<number>, shape: b.shape(o.node), dtype: b.dtype(o.node) });
  }
  grads.forEach((g, i) => {
    if (g === undefined) return;
    const w = wrt[i]!;
    const key = "trainable" in w ? `grad:${w.name}` : `grad:input:${w.name}`;
    expected.set(key, { data: values.get(g)!.data as ArrayLike<number>, shape: b.shape(g), dtype: "f32" });
  });
  for (const u of lowered.bufferUpdates)
    expected.set(`buffer:${u.name}`, { data: values.get(u.node)!.data as ArrayLike<number>, shape: b.shape(u.node), dtype: "f32" });

  const base = join(dir, `case${index}`);
  writeTensors(`${base}.weights.safetensors`, weights);
  writeTensors(`${base}.inputs.safetensors`, files);
  const job: Job = {
    label,
    module: writeModule(dir, `case${index}`, graph, undefined),
    class: "OneOp",
    weights: `${base}.weights.safetensors`,
    inputs: `${base}.inputs.safetensors`,
    args: lowered.inputs.map((i) => i.name),
    outputs: graph.outputs.map((o) => o.name),
    mode: "probe",
    training: c.training === true,
    out: `${base}.torch.safetensors`,
  };
  return { c, label, job, expected };
}

describe("PyTorch mappings", () => {
  it("every op with a torch mapping has a parity case", () => {
    const covered = new Set(CASES.map((c) => c.op));
    const missing = [...OPS.values()].filter((op) => op.torch && !covered.has(op.name)).map((op) => op.name);
    expect(missing).toEqual([]);
  });
});

describe.skipIf(!torch.python)(`PyTorch mappings against torch, op by op (${torch.reason})`, () => {
  let prepared: Prepared[] = [];
  const dir = tempDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeAll(() => {
    prepared = CASES.map((c, i) => prepare(c, i, dir));
    runJobs(
      torch.python!,
      dir,
      prepared.map((p) => p.job),
    );
  }, 240_000);

  it.each(CASES.map((c, i) => [nameOf(c), i] as const))("%s", (_label, i) => {
    const p = prepared[i]!;
    const got = results(p.job);
    const errors: string[] = [];
    for (const [key, want] of p.expected) {
      const t = got.get(key);
      if (p.c.random) {
        if (!t || t.shape.join() !== want.shape.join())
          errors.push(`${key}: shape [${t?.shape.join(", ")}], want [${want.shape.join(", ")}]`);
        continue;
      }
      const e = relativeError(t, want.data, want.shape);
      if (typeof e === "string" || e > Math.max(TOLERANCE[p.c.op] ?? 1e-4, p.c.tol ?? 0))
        errors.push(`${key}: ${typeof e === "string" ? e : e.toExponential(2)}`);
    }
    // torch returns zeros where dlm's autodiff finds no gradient at all (floor, sign)
    const grads = (names: Iterable<string>): string[] => [...names].filter((k) => k.startsWith("grad:")).sort();
    const zero = (t: SafeTensor): boolean => Array.from(t.data as ArrayLike<number>).every((v) => v === 0);
    const extra = grads(got.keys()).filter((k) => !p.expected.has(k) && !zero(got.get(k)!));
    if (!p.c.random) expect([extra, grads(p.expected.keys()).filter((k) => !got.has(k))]).toEqual([[], []]);
    expect(errors).toEqual([]);
  });
});
