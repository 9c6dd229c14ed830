// Every op's ONNX mapping against dlm's float64 reference interpreter: each sample invocation
// of the op table (test/compiler/op-cases.ts, the one the gradient check uses) plus its cases for
// the ops that carry no gradient becomes a one-op model, exported and run by onnxruntime, and
// compared with the op's lowering on the same inputs and parameters. Where the op's shape rule
// allows it, the first input's leading axis is also left symbolic (B) in the file, which runs
// the run-time shape computations. An op without a mapping must be listed with the reason.

import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { exportOnnx, planOnnxExport } from "../../compiler/export/onnx/export.js";
import { runtimeDType } from "../../compiler/lower.js";
import type { ModelGraph } from "../../compiler/ir/graph.js";
import { OPS } from "../../compiler/ops/index.js";
import type { DType } from "../../compiler/ops/types.js";
import { numelOf } from "../../compiler/prim/ir.js";
import type { HostArray } from "../../runtime/cpu/reference.js";
import { lowerOp, run } from "../compiler/lower/harness.js";
import { CASES, NO_GRADIENT_CASES, draw, hashOf, nameOf, stream, type Case } from "../compiler/op-cases.js";
import { oneOpModel } from "./one-op.js";

/** Ops ONNX export refuses, with the reason (a regression that drops a mapping fails the coverage test). */
const NOT_EXPORTED: Readonly<Record<string, string>> = Object.fromEntries(
  [
    "cross_entropy",
    "nll_loss",
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "bce_loss",
    "bce_with_logits",
    "kl_div",
    "kl_normal",
    "hinge_loss",
    "triplet_margin_loss",
    "contrastive_loss",
    "cosine_embedding_loss",
    "gaussian_nll",
  ].map((op) => [op, "a loss: it belongs to the train section, not to an inference graph"]),
);

/** Cases whose export is refused, by case name, with the reason the error must give. */
const REFUSED: Readonly<Record<string, string>> = {
  "lstm (bidirectional, projected)": "ONNX's LSTM has no output projection (proj)",
};

function ortTensor(dtype: DType, data: HostArray, shape: readonly number[]): ort.Tensor {
  const dims = [...shape];
  const values = Array.from(data as ArrayLike<number>);
  if (dtype === "bool") return new ort.Tensor("bool", Uint8Array.from(values), dims);
  if (dtype === "i64")
    return new ort.Tensor(
      "int64",
      BigInt64Array.from(values, (v) => BigInt(v)),
      dims,
    );
  if (dtype === "i32") return new ort.Tensor("int32", Int32Array.from(values), dims);
  return new ort.Tensor("float32", Float32Array.from(values), dims);
}

async function checkCase(c: Case): Promise<void> {
  const name = nameOf(c);
  const rand = stream(hashOf(name));
  const op = OPS.get(c.op)!;
  const l = lowerOp(
    [op],
    c.op,
    c.inputs.map((x) => (x ? { dtype: x.dtype ?? "f32", shape: x.shape } : undefined)),
    c.attrs ?? {},
  );
  const feeds: Record<string, HostArray> = {};
  const ortFeeds: Record<string, ort.Tensor> = {};
  c.inputs.forEach((x, i) => {
    if (!x) return;
    const n = numelOf(x.shape);
    const rt = runtimeDType(x.dtype ?? "f32");
    const data = x.data
      ? rt === "f32"
        ? Float64Array.from(x.data)
        : rt === "i32"
          ? Int32Array.from(x.data)
          : Uint8Array.from(x.data)
      : draw(rand, n, x);
    feeds[`x${i}`] = data;
    ortFeeds[`x${i}`] = ortTensor(x.dtype ?? "f32", data, x.shape);
  });
  const weights = new Map<string, Float32Array>();
  for (const [pname, p] of l.params) {
    const range = c.params?.[pname] ?? (pname.includes("var") ? { lo: 0.5, hi: 1.5 } : {});
    const data = draw(rand, numelOf(p.shape), range);
    feeds[pname] = data;
    weights.set(pname, Float32Array.from(data));
  }
  const want = run(l, feeds);
  const random = op.stochastic === true && op.modeDependent !== true;
  const concrete = oneOpModel(c);
  const refused = REFUSED[name];
  if (refused !== undefined) {
    expect(() => exportOnnx(planOnnxExport(concrete), weights)).toThrow(refused);
    return;
  }
  // the model with concrete sizes, and where the rule allows it with a symbolic leading axis
  // (and that axis changes nothing: squeeze keeps a symbolic axis it would drop at size 1)
  const variants: ModelGraph[] = [concrete];
  const lead = c.inputs[0]?.shape[0];
  try {
    const g = oneOpModel(c, { symbolic: true });
    planOnnxExport(g);
    const at = new Map([["B", lead ?? 1]]);
    const same = g.outputs.every((o, i) => {
      const s = g.nodes[o.ref.node]!.outputs[i]!.shape.map((d) => d.evaluate(at));
      return JSON.stringify(s) === JSON.stringify(want[i]!.shape);
    });
    if (lead !== undefined && same) variants.push(g);
  } catch {
    // a size the op needs known (a parameter shape, a compile-time attribute): concrete only
  }
  for (const g of variants) {
    // no graph rewrites: the nodes run as exported
    const session = await ort.InferenceSession.create(exportOnnx(planOnnxExport(g), weights), { graphOptimizationLevel: "disabled" });
    const got = await session.run(ortFeeds);
    l.outputs.forEach((_, i) => {
      const y = got[`y${i}`]!;
      const w = want[i]!;
      expect(y.dims, `${name}: the shape of y${i}`).toEqual(w.shape);
      if (random) return;
      const have = Array.from(y.data as ArrayLike<number | bigint>, (v) => (typeof v === "boolean" ? Number(v) : Number(v)));
      const ref = Array.from(w.data as ArrayLike<number>);
      const scale = ref.reduce((m, v) => (Number.isFinite(v) ? Math.max(m, Math.abs(v)) : m), 0);
      ref.forEach((b, k) => {
        const a = have[k]!;
        if (Number.isNaN(b)) return expect(a, `${name}: y${i}[${k}] is NaN in dlm`).toBeNaN();
        if (!(Math.abs(a - b) <= 2e-5 * (1 + scale))) expect.fail(`${name}: y${i}[${k}]: onnxruntime ${a}, dlm ${b}`);
      });
    });
  }
}

/** a training-mode case tests the op's evaluation mode too unless the op behaves differently in training */
const evalCase = (c: Case): boolean => !c.training || !(OPS.get(c.op)!.modeDependent || OPS.get(c.op)!.stochastic);
const cases = [...CASES.filter((c) => evalCase(c) && !(c.op in NOT_EXPORTED)), ...NO_GRADIENT_CASES];

describe("every op's ONNX mapping agrees with dlm's reference interpreter", () => {
  it("every op has a mapping with a case, or is listed as not exported with the reason", () => {
    const covered = new Set(cases.map((c) => c.op));
    for (const [name, op] of OPS) {
      if (name in NOT_EXPORTED) expect(op.onnx, `${name} is listed as not exported but has a mapping`).toBeUndefined();
      else {
        expect(op.onnx, `${name} has no ONNX mapping and is not listed as not exported`).toBeDefined();
        expect(covered.has(name), `${name} has no ONNX case`).toBe(true);
      }
    }
  });

  it.each(cases.map((c) => [nameOf(c), c] as const))("%s", async (_name, c) => checkCase(c), 60_000);
});
