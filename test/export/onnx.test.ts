// The ONNX exporter's contracts: the vendored schema and its generated descriptor agree, sizes
// the inputs carry stay symbolic (one file runs at several batch sizes and sequence lengths),
// inputs, outputs and initializers keep dlm's names, --seed weights are dlm train's, hostile
// names cannot break the file, and `dlm export` fails cleanly (op, layer and file:line:col) on
// what ONNX cannot express.

import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import schema from "../../compiler/export/onnx/onnx-schema.json" with { type: "json" };
import { onnxSchemaDescriptor } from "../../compiler/export/onnx/generate-schema.js";
import { ExportError } from "../../compiler/export/onnx/context.js";
import { ONNX_IR_VERSION, ONNX_OPSET, exportOnnx, planOnnxExport } from "../../compiler/export/onnx/export.js";
import { decodeModel } from "../../compiler/export/onnx/proto.js";
import type { ModelGraph } from "../../compiler/ir/graph.js";
import type { TrainSetup } from "../../compiler/train.js";
import { Trainer } from "../../runtime/trainer.js";
import { initialWeights } from "../../src/cli/export.js";
import { check, checkSource } from "../../src/index.js";
import { compareWithDlm, exportForTest } from "./onnx-harness.js";
import { runCli } from "../cli/capture.js";

const root = join(import.meta.dirname, "..", "..");
const dir = join(root, "tmp", `onnx-export-${process.pid}`);
const at = (f: string): string => join(dir, f);

function example(file: string, model: string): { graph: ModelGraph; train?: TrainSetup } {
  const m = check(join(root, "examples", file), { model }).models.get(model)!;
  return { graph: m.graph!, ...(m.train ? { train: m.train } : {}) };
}

function source(text: string, name = "model.dlm"): ModelGraph {
  const r = checkSource(text, name);
  const m = [...r.models.values()].at(-1);
  if (!m?.graph) throw new Error(r.diagnostics.map((d) => d.message).join("; "));
  return m.graph;
}

interface GraphInfo {
  inputs: { name: string; dims: (number | string | undefined)[] }[];
  outputs: string[];
  initializers: string[];
}

/** The graph's interface as written in the file. */
function graphInfo(bytes: Uint8Array): GraphInfo & { model: Record<string, unknown> } {
  const model = decodeModel(bytes);
  type Vi = { name: string; type: { tensor_type: { shape: { dim?: { dim_value?: number; dim_param?: string }[] } } } };
  const g = model.graph as { input: Vi[]; output: Vi[]; initializer: { name: string }[] };
  return {
    model,
    inputs: g.input.map((v) => ({ name: v.name, dims: (v.type.tensor_type.shape.dim ?? []).map((d) => d.dim_value ?? d.dim_param) })),
    outputs: g.output.map((v) => v.name),
    initializers: g.initializer.map((t) => t.name),
  };
}

const run = runCli;

beforeAll(() => mkdirSync(dir, { recursive: true }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the ONNX schema", () => {
  it("onnx-schema.json is the descriptor of the vendored onnx.proto (npm run gen:onnx-schema)", () => {
    expect(schema).toEqual(onnxSchemaDescriptor());
  });

  it("the file declares the documented opset and IR version and dlm as its producer", () => {
    const { bytes } = exportForTest(example("lenet5.dlm", "LeNet5").graph, new Map());
    const { model } = graphInfo(bytes);
    expect(model.ir_version).toBe(ONNX_IR_VERSION);
    expect(model.opset_import).toEqual([{ domain: "", version: ONNX_OPSET }]);
    expect(model.producer_name).toBe("dlm");
    expect(ONNX_OPSET).toBeGreaterThanOrEqual(17);
  });
});

describe("symbolic sizes stay symbolic", () => {
  it("one LeNet-5 file runs at batch 1 and batch 3 (dim_param B)", async () => {
    const { graph } = example("lenet5.dlm", "LeNet5");
    const { weights, bytes } = exportForTest(graph, new Map());
    expect(graphInfo(bytes).inputs).toEqual([{ name: "x", dims: ["B", 1, 32, 32] }]);
    const session = await ort.InferenceSession.create(bytes);
    for (const b of [1, 3]) await compareWithDlm(graph, session, weights, new Map([["B", b]]), b);
  });

  it("one LSTM language model file (a scan: an ONNX Scan loop) runs at several batches and sequence lengths", async () => {
    // the example with a vocabulary of 50 (the same ops, a smaller table)
    const text = readFileSync(join(root, "examples", "lstm_lm.dlm"), "utf8").replace("vocab: int = 10000", "vocab: int = 50");
    const small = source(text, "lstm_small.dlm");
    const { plan, weights, bytes } = exportForTest(small, new Map());
    expect(plan.dims.size).toBe(0);
    expect(graphInfo(bytes).inputs).toEqual([{ name: "tokens", dims: ["B", "T"] }]);
    const session = await ort.InferenceSession.create(bytes);
    for (const [b, t] of [
      [1, 3],
      [3, 7],
    ])
      await compareWithDlm(
        small,
        session,
        weights,
        new Map([
          ["B", b!],
          ["T", t!],
        ]),
        b! + t!,
      );
  });

  it("--dim fixes a size: it becomes a number in the file", () => {
    const { graph } = example("lenet5.dlm", "LeNet5");
    const { bytes } = exportForTest(graph, new Map([["B", 4]]));
    expect(graphInfo(bytes).inputs[0]!.dims).toEqual([4, 1, 32, 32]);
  });

  it("a size a parameter needs is fixed from --dim, or the error asks for it", async () => {
    const text = "model Pos {\n  input x: f32[B, T, 4]\n  output y = positional_embedding(x, T)\n}\n";
    const g = source(text);
    expect(() => planOnnxExport(g)).toThrow(ExportError);
    expect(() => planOnnxExport(g)).toThrow(/parameter '.*weight' of shape \[T, 4\] needs a value for T: give --dim T=N/);
    const { plan, weights, bytes } = exportForTest(g, new Map([["T", 6]]));
    expect(graphInfo(bytes).inputs[0]!.dims).toEqual(["B", 6, 4]);
    await compareWithDlm(g, bytes, weights, new Map([...plan.dims, ["B", 2]]));
  });
});

describe("names", () => {
  it("inputs, outputs and initializers carry the model's names unchanged; train-only inputs are left out", () => {
    const { graph } = example("resnet18.dlm", "ResNet18");
    const { plan, bytes } = exportForTest(graph, new Map());
    const info = graphInfo(bytes);
    expect(info.inputs.map((i) => i.name)).toEqual(["x"]); // not the train section's labels
    expect(info.outputs).toEqual(graph.outputs.map((o) => o.name));
    const params = plan.params.filter((p) => p.used).map((p) => p.name);
    expect(params).toContain("layer1.0.conv1.weight");
    expect(params).toContain("layer1.0.bn1.running_var");
    for (const p of params) expect(info.initializers).toContain(p);
  });

  const EVIL = "a\"b'c`d${x}*/e\nf\u2028g\u00e9\u{1F600}</script>\\\r\t:/0";

  it("hostile names (quotes, newlines, __proto__, names like generated ones) survive exactly and cannot collide", async () => {
    const { graph } = example("mlp_mnist.dlm", "NeuralNetwork");
    let k = 0;
    const nodes = graph.nodes.map((n) => {
      if (n.kind === "param") {
        const i = k++;
        // names the exporter might generate for its own values
        const name = ["__proto__", "constructor", "const", "shape/B", `${EVIL}.w`][i] ?? `${EVIL}${n.name}`;
        return { ...n, name };
      }
      if (n.kind === "input") return { ...n, name: `${EVIL}${n.name}` };
      if (n.kind === "op") return { ...n, instance: `${EVIL}${n.instance}` };
      return n;
    }) as ModelGraph["nodes"];
    const evil: ModelGraph = { ...graph, name: EVIL, nodes, outputs: graph.outputs.map((o) => ({ ...o, name: `node:${EVIL}` })) };
    const { plan, weights, bytes } = exportForTest(evil, new Map());
    const info = graphInfo(bytes);
    expect(info.inputs.map((i) => i.name)).toEqual([`${EVIL}x`]);
    expect(info.outputs).toEqual([`node:${EVIL}`]);
    const params = plan.params.filter((p) => p.used).map((p) => p.name);
    expect(params.slice(0, 5)).toEqual(["__proto__", "constructor", "const", "shape/B", `${EVIL}.w`]);
    for (const p of params) expect(info.initializers).toContain(p);
    expect(new Set(info.initializers).size).toBe(info.initializers.length);
    // onnxruntime loads it and computes what dlm computes under the plain names
    await compareWithDlm(evil, bytes, weights, new Map([["B", 2]]));
  });

  it("two interface names that are equal are refused (ONNX names must be distinct)", () => {
    const g = source("model Same {\n  input x: f32[B, 4]\n  output y = linear(x, 2) as fc\n}\n");
    const clash: ModelGraph = { ...g, outputs: g.outputs.map((o) => ({ ...o, name: "x" })) };
    expect(() => exportForTest(clash, new Map())).toThrow(/'x' is used twice/);
  });
});

describe("weights", () => {
  it("--seed S initialises every parameter exactly as dlm train --seed S does", () => {
    const { graph, train } = example("lenet5.dlm", "LeNet5");
    const plan = planOnnxExport(graph);
    const trainer = new Trainer(graph, train!, { seed: 3 });
    const mine = initialWeights(plan, 3);
    expect([...mine.keys()].sort()).toEqual([...trainer.values.keys()].sort());
    for (const [name, v] of trainer.values) expect(mine.get(name), name).toEqual(v);
    // and a different seed gives different weights
    const first = plan.params[0]!.name;
    expect(initialWeights(plan, 4).get(first)).not.toEqual(mine.get(first));
  });

  it("the file holds exactly the given weights", () => {
    const g = source("model Tiny {\n  input x: f32[B, 3]\n  output y = linear(x, 2) as fc\n}\n");
    const plan = planOnnxExport(g);
    const w = new Map([
      ["fc.weight", Float32Array.of(1, 2, 3, 4, 5, 6)],
      ["fc.bias", Float32Array.of(-1, 0.5)],
    ]);
    const init = (decodeModel(exportOnnx(plan, w)).graph as { initializer: { name: string; dims: number[]; raw_data: Uint8Array }[] })
      .initializer;
    const weight = init.find((t) => t.name === "fc.weight")!;
    expect(weight.dims).toEqual([2, 3]);
    expect(Array.from(new Float32Array(Uint8Array.from(weight.raw_data).buffer))).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe("dlm export", () => {
  const TINY = `
model Tiny {
  input x: f32[B, 4]
  output y = x |> linear(3) as fc |> relu |> dropout(0.5)
}

train Tiny {
  input labels: i64[B]
  loss = cross_entropy(y, labels)
  optimizer = sgd(lr: 0.1)
  batch = 2
}
`;
  const BAD = "model Bad {\n  input x: f32[B, 4], t: f32[B, 4]\n  h = linear(x, 4)\n  output loss = mse_loss(h, t)\n}\n";

  it("writes the model with the weights of a checkpoint; onnxruntime agrees with dlm on them", async () => {
    writeFileSync(at("tiny.dlm"), TINY);
    const m = check(at("tiny.dlm")).models.get("Tiny")!;
    const trainer = new Trainer(m.graph!, m.train!, { seed: 5 });
    trainer.values.get("fc.bias")!.set([0.25, -0.5, 1]);
    await trainer.save(at("tiny.safetensors"));
    const r = await run("export", at("tiny.dlm"), "--onnx", at("tiny.onnx"), "--weights", at("tiny.safetensors"));
    expect(r.stderr).toContain("wrote");
    expect(r.code).toBe(0);
    const bytes = new Uint8Array(readFileSync(at("tiny.onnx")));
    await compareWithDlm(m.graph!, bytes, trainer.values, new Map([["B", 3]]));
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]); // written atomically, nothing left over
  });

  it("an op ONNX cannot express: exit 1, the op, its layer and file:line:col; no file written", async () => {
    writeFileSync(at("bad.dlm"), BAD);
    const r = await run("export", at("bad.dlm"), "--onnx", at("bad.onnx"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.dlm:4:17: dlm export: op 'mse_loss' \(layer 'loss'\) cannot be exported to ONNX/);
    expect(readdirSync(dir)).not.toContain("bad.onnx");
  });

  it("weights that do not fit: exit 1 naming the tensor", async () => {
    writeFileSync(at("other.dlm"), TINY.replace("linear(3)", "linear(5)"));
    const r = await run("export", at("other.dlm"), "--onnx", at("other.onnx"), "--weights", at("tiny.safetensors"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/'fc\.weight' is \[3, 4\], the model needs \[5, 4\]/);
  });

  it("bad command lines exit 2; a missing input exits 1", async () => {
    writeFileSync(at("tiny.dlm"), TINY);
    expect((await run("export", at("tiny.dlm"))).code).toBe(2);
    expect((await run("export", at("tiny.dlm"), "--onnx", at("t.onnx"), "--seed", "x")).code).toBe(2);
    expect((await run("export", at("tiny.dlm"), "--onnx", at("t.onnx"), "--dim", "T=0")).code).toBe(2);
    expect((await run("export", at("tiny.dlm"), "--onnx", at("t.onnx"), "--bogus", "1")).code).toBe(2);
    expect((await run("export", at("missing.dlm"), "--onnx", at("t.onnx"))).code).toBe(1);
    const r = await run("export", at("tiny.dlm"), "--onnx", join(dir, "no-such-folder", "t.onnx"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/dlm export: cannot write the output/);
  });
});
