// Training programs keep their arena, parameters and optimiser state in the wasm kernel heap
// (kernels then read and write them where they lie): the numbers must be those of programs in
// plain ArrayBuffers, bit for bit, and the heap's blocks must come back once a program is
// garbage-collected.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { kernelHeap } from "../../runtime/cpu/kernels/matmul.js";
import { synthetic } from "../../runtime/data/synthetic.js";
import { Trainer } from "../../runtime/trainer.js";
import { loadExample, loadModel, root, type Loaded } from "./harness.js";

const ADAM_MLP = `
model M {
  input x: f32[B, 300]
  output logits = x |> linear(64) |> relu |> dropout(0.1) |> linear(5)
}
train M {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = adamw(lr: 0.01, weight_decay: 0.1)
  batch = 16
}
`;

const MODELS: [string, () => Loaded][] = [
  ["an MLP with dropout and AdamW", () => loadModel(ADAM_MLP, "M")],
  ["LeNet-5 (convolutions, SGD with momentum)", () => loadExample("lenet5.dlm", "LeNet5")],
  ["the MNIST MLP (SGD with momentum and weight decay)", () => loadExample("mlp_mnist.dlm", "NeuralNetwork")],
];

function steps(l: Loaded, kernelHeapOn: boolean): { losses: number[]; values: Map<string, Float32Array> } {
  const t = new Trainer(l.graph, l.train!, { batch: 8, seed: 5, kernelHeap: kernelHeapOn });
  const data = synthetic(
    t.inputs.map((i) => ({
      name: i.name,
      shape: i.shape.slice(1),
      dtype: i.dtype as "f32" | "i32",
      ...(i.dtype === "i32" ? { high: t.integerRange(i.name) } : {}),
    })),
    32,
    7,
  );
  const losses: number[] = [];
  for (const { feeds } of t.epochBatches(data)) losses.push(t.trainStep(feeds));
  return { losses, values: new Map([...t.values].map(([k, v]) => [k, v.slice()])) };
}

describe("training programs in the kernel heap", () => {
  it("the trainer's programs do live in the heap", () => {
    const l = MODELS[0]![1]();
    const t = new Trainer(l.graph, l.train!, { batch: 8 });
    const kh = kernelHeap()!;
    expect([...t.values.values()].every((v) => kh.holds(v))).toBe(true);
  });

  for (const [what, load] of MODELS)
    it(`${what}: the same losses and parameters as in plain buffers, bit for bit`, () => {
      const l = load();
      const heap = steps(l, true);
      const plain = steps(l, false);
      expect(heap.losses).toEqual(plain.losses);
      expect(heap.losses.length).toBe(4);
      for (const [k, v] of plain.values) expect(heap.values.get(k), k).toEqual(v);
    });

  it("a collected program's blocks return to the heap", () => {
    const dir = mkdtempSync(join(tmpdir(), "dlm-heap-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const script = join(dir, "collect.mts");
    const url = (p: string) => JSON.stringify(pathToFileURL(join(root, p)).href);
    writeFileSync(
      script,
      `import { compile } from ${url("runtime/cpu/executor.ts")};
import { kernelHeap } from ${url("runtime/cpu/kernels/matmul.ts")};
import { checkSource } from ${url("src/index.ts")};
import { buildTrainingGraph } from ${url("compiler/training-graph.ts")};
const src = ${JSON.stringify(ADAM_MLP)};
const m = checkSource(src, "m.dlm").models.get("M");
const tg = buildTrainingGraph(m.graph, m.train.loss, new Map([["B", 16]]));
const kh = kernelHeap();
const base = kh.scratch;
const make = () => { const p = compile(tg.model.builder.graph(), { kernelHeap: true }); return p.param(tg.model.params[0].name).length; };
for (let i = 0; i < 50; i++) make();
const grown = kh.scratch;
await new Promise((r) => setTimeout(r, 0));
globalThis.gc();
await new Promise((r) => setTimeout(r, 50));
globalThis.gc();
await new Promise((r) => setTimeout(r, 50));
console.log(JSON.stringify({ base, grown, after: kh.scratch }));
`,
    );
    const p = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", script], { encoding: "utf8", cwd: root });
    expect(p.status, p.stderr).toBe(0);
    const got = JSON.parse(p.stdout.trim().split("\n").pop()!) as { base: number; grown: number; after: number };
    expect(got.grown).toBeGreaterThan(got.base + 50 * 300 * 64 * 4);
    expect(got.after).toBe(got.base);
  });
});
