// Every op's ONNX mapping against dlm's float64 reference interpreter: each sample invocation
// of the op table (test/compiler/op-cases.ts, the one the gradient check uses) plus cases for
// the ops that carry no gradient becomes a one-op model, exported and run by onnxruntime, and
// compared with the op's lowering on the same inputs and parameters. Where the op's shape rule
// allows it, the first input's leading axis is also left symbolic (B) in the file, which runs
// the run-time shape computations. An op without a mapping must be listed with the reason.

import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { Dim } from "../../compiler/dim.js";
import { exportOnnx, planOnnxExport } from "../../compiler/export/onnx/export.js";
import { runtimeDType } from "../../compiler/lower.js";
import type { ModelGraph, Node, SourceSite } from "../../compiler/ir/graph.js";
import { OPS } from "../../compiler/ops/index.js";
import type { DType, TensorType } from "../../compiler/ops/types.js";
import { numelOf } from "../../compiler/prim/ir.js";
import type { HostArray } from "../../runtime/cpu/reference.js";
import { lowerOp, run } from "../compiler/lower/harness.js";
import { CASES, draw, f, hashOf, nameOf, stream, type Case, type In } from "../compiler/op-cases.js";
import { ctxAttrs } from "../compiler/ops/rule-harness.js";

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

const i64 = (shape: readonly number[], data: readonly number[]): In => ({ shape, dtype: "i64", data });
const bool = (shape: readonly number[], data: readonly number[]): In => ({ shape, dtype: "bool", data });

/** The ops the gradient table leaves out (no gradient), with sample invocations. */
const EXTRA: readonly Case[] = [
  ...["eq", "ne", "lt", "le", "gt", "ge"].map((op) => ({ op, inputs: [f([2, 3]), { ...f([3]), data: [0.5, -0.25, 2] }] })),
  { op: "eq", label: "bools", inputs: [bool([4], [1, 0, 1, 0]), bool([4], [1, 1, 0, 0])] },
  { op: "lt", label: "bools", inputs: [bool([4], [1, 0, 1, 0]), bool([4], [1, 1, 0, 0])] },
  { op: "logical_and", inputs: [bool([4], [1, 0, 1, 0]), bool([4], [1, 1, 0, 0])] },
  { op: "logical_or", inputs: [bool([4], [1, 0, 1, 0]), bool([4], [1, 1, 0, 0])] },
  { op: "logical_not", inputs: [bool([4], [1, 0, 1, 0])] },
  { op: "argmax", inputs: [f([3, 4])] },
  { op: "argmax", label: "over all, keepdim", inputs: [f([3, 4])], attrs: { axis: null, keepdim: true } },
  { op: "argmin", inputs: [f([3, 4])], attrs: { axis: 0 } },
  { op: "one_hot", inputs: [i64([2, 3], [0, 2, 1, 3, 3, 0])], attrs: { classes: 4 } },
  { op: "degree", inputs: [i64([5], [0, 2, 2, 1, 2])], attrs: { num_nodes: 4 } },
  { op: "zeros", inputs: [], attrs: { shape: [2, 3] } },
  { op: "ones", inputs: [], attrs: { shape: [2, 3], dtype: "i64" } },
  { op: "full", inputs: [], attrs: { shape: [3], value: 2.5 } },
  { op: "arange", inputs: [], attrs: { n: 7, start: 2 } },
  { op: "arange", label: "f32", inputs: [], attrs: { n: 4, dtype: "f32" } },
  { op: "eye", inputs: [], attrs: { n: 3 } },
  { op: "causal_mask", inputs: [], attrs: { T: 4 } },
  { op: "sinusoidal_positions", inputs: [], attrs: { T: 5, d: 6 } },
  {
    op: "constant",
    inputs: [],
    attrs: {
      value: [
        [1.5, -2],
        [0.25, 4],
      ],
    },
  },
  { op: "randn", inputs: [], attrs: { shape: [2, 3] } },
  { op: "randn_like", inputs: [f([2, 3])] },
  { op: "rand_like", inputs: [f([3])] },
  { op: "reparameterize", inputs: [f([2, 3]), f([2, 3])] },
  { op: "rand", inputs: [], attrs: { shape: [4] } },
  { op: "cast", label: "f32 to i32 (truncation)", inputs: [{ ...f([4]), data: [1.7, -1.7, 0.2, -0.2] }], attrs: { dtype: "i32" } },
  { op: "cast", label: "f32 to bool", inputs: [{ ...f([3]), data: [0, 2, -0.5] }], attrs: { dtype: "bool" } },
  { op: "sum", label: "bools count", inputs: [bool([2, 2], [1, 0, 1, 1])] },
  { op: "stop_gradient", inputs: [f([2, 3])] },
  { op: "batchnorm", label: "eval, batch statistics", inputs: [f([3, 2, 2])], attrs: { track_running_stats: false } },
  { op: "instancenorm", label: "eval, running statistics", inputs: [f([2, 3, 4])], attrs: { track_running_stats: true, affine: true } },
];

/** Cases whose export is refused, by case name, with the reason the error must give. */
const REFUSED: Readonly<Record<string, string>> = {
  "lstm (bidirectional, projected)": "ONNX's LSTM has no output projection (proj)",
};

const SITE: SourceSite = { file: "case.dlm", range: { start: { line: 1, column: 1, offset: 0 }, end: { line: 1, column: 2, offset: 1 } } };

/** The case as a one-op model: inputs x0, x1, ... (the first one's leading axis B when `symbolic`), parameters by their own names. */
function oneOpModel(c: Case, symbolic: boolean): ModelGraph {
  const op = OPS.get(c.op)!;
  const attrs = ctxAttrs(op, c.attrs ?? {});
  const types = c.inputs.map((x, i): TensorType | undefined =>
    x
      ? { dtype: x.dtype ?? "f32", shape: x.shape.map((d, k) => (symbolic && i === 0 && k === 0 ? Dim.sym("B") : Dim.const(d))) }
      : undefined,
  );
  const r = op.infer({ inputs: types, attrs });
  const nodes: Node[] = [];
  const refs = types.map((t, i) => {
    if (!t) return null;
    nodes.push({ kind: "input", id: nodes.length, name: `x${i}`, outputs: [t], site: SITE, region: 0 });
    return { node: nodes.length - 1, index: 0 };
  });
  const inputs = nodes.map((n) => n.id);
  const params = (r.params ?? []).map((p) => {
    const id = nodes.length;
    nodes.push({
      kind: "param",
      id,
      name: p.name,
      outputs: [{ dtype: p.dtype ?? "f32", shape: p.shape }],
      site: SITE,
      region: 0,
      init: p.init,
      ...(p.initArgs ? { initArgs: p.initArgs } : {}),
      trainable: !p.buffer,
      buffer: p.buffer ?? false,
      noDecay: p.noDecay ?? false,
    });
    return id;
  });
  const id = nodes.length;
  nodes.push({
    kind: "op",
    id,
    op,
    inputs: refs,
    params,
    attrs,
    instance: "op",
    annotations: new Set(),
    outputs: r.outputs,
    site: SITE,
    region: 0,
  });
  return {
    name: "Case",
    nodes,
    inputs,
    outputs: r.outputs.map((_, i) => ({ name: `y${i}`, ref: { node: id, index: i } })),
    regions: new Map(),
    dimDefaults: new Map(),
  };
}

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
  const concrete = oneOpModel(c, false);
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
    const g = oneOpModel(c, true);
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
const cases = [...CASES.filter((c) => evalCase(c) && !(c.op in NOT_EXPORTED)), ...EXTRA];

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
