// TypeScript code generation: generated modules for the MLP, LeNet-5 and a scan RNN compute
// what the CPU executor computes (forward outputs, loss, gradients, and the parameters after
// one optimiser step as runtime/trainer.ts takes it), the output is deterministic, and no
// name or string from a model can inject code.

import { transform } from "esbuild";
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { generateTsModule } from "../../compiler/codegen/ts.ts";
import { formatTs } from "../../compiler/codegen/format.ts";
import { jsString, literal, Mangler } from "../../compiler/codegen/names.ts";
import type { ModelGraph } from "../../compiler/ir/graph.ts";
import { lowerModel } from "../../compiler/lower.ts";
import { buildEvalGraph, buildTrainingGraph } from "../../compiler/training-graph.ts";
import type { TrainSetup } from "../../compiler/train.ts";
import { compile } from "../../runtime/cpu/executor.ts";
import { clipGradNorm, clipGradValue, type ParamBuffer } from "../../runtime/optim.ts";
import { Rng } from "../../runtime/rng.ts";
import { Trainer } from "../../runtime/trainer.ts";
import { generateAndImport, loadExample, maxRelDiff, tmpRoot, type GeneratedModule } from "./helpers.ts";
import { checkSource } from "../../src/index.ts";

afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

const TOL = 1e-5;

function feedsFor(trainer: Trainer, seed: number): Map<string, Float32Array | Int32Array> {
  const rng = new Rng(seed);
  const feeds = new Map<string, Float32Array | Int32Array>();
  for (const i of trainer.inputs) {
    const n = i.shape.reduce((a, b) => a * b, 1);
    if (i.dtype === "f32") {
      const d = new Float32Array(n);
      rng.normal(d, 0, 1);
      feeds.set(i.name, d);
    } else {
      const hi = trainer.integerRange(i.name);
      feeds.set(
        i.name,
        Int32Array.from({ length: n }, () => rng.int(hi)),
      );
    }
  }
  return feeds;
}

async function parity(file: string, model: string, dims: Map<string, number>): Promise<void> {
  const { graph, train } = loadExample(file, model);
  const { mod } = await generateAndImport(graph, train, dims, model);
  const trainer = new Trainer(graph, train!, { batch: dims.get("B")!, dims });
  const weights = new Map([...trainer.values].map(([k, v]) => [k, v.slice()]));

  // initialisation: the same values as `dlm train`
  const params = mod.parameters();
  expect([...params.keys()]).toEqual([...trainer.values.keys()]);
  for (const [k, v] of weights) expect(maxRelDiff(params.get(k)!, v), k).toBe(0);

  const feeds = feedsFor(trainer, 7);

  // forward (inference mode) against the executor
  const fwd = compile(lowerModel(graph, { training: false, dims }).builder.graph());
  for (const [k, v] of weights) fwd.setParam(k, v);
  fwd.run(feeds, { seed: 0 });
  const outs = mod.forward(feeds);
  expect([...outs.keys()]).toEqual(graph.outputs.map((o) => o.name));
  for (const o of graph.outputs) expect(maxRelDiff(outs.get(o.name)!, fwd.output(o.name)), o.name).toBeLessThanOrEqual(TOL);

  // evaluation loss
  const evm = buildEvalGraph(graph, dims, train);
  const ev = compile(evm.builder.graph());
  for (const [k, v] of weights) ev.setParam(k, v);
  ev.run(feeds, { seed: 0 });
  const evalOut = mod.evaluate(feeds);
  expect(Math.abs(evalOut.loss - ev.output("loss")[0]!)).toBeLessThanOrEqual(TOL * Math.max(1, Math.abs(evalOut.loss)));

  // loss and gradients of one training step against the executor (clipped as the train section says)
  const tg = buildTrainingGraph(graph, train!.loss!, dims);
  const tp = compile(tg.model.builder.graph());
  for (const [k, v] of weights) tp.setParam(k, v);
  tp.run(feeds, { seed: 0 });
  const grads: ParamBuffer[] = [...tg.grads].map(([name, node]) => ({
    name,
    value: new Float32Array(1),
    grad: (tp.buffer(node) as Float32Array).slice(),
    decay: true,
  }));
  if (train!.clipValue !== undefined) clipGradValue(grads, train!.clipValue);
  if (train!.clipNorm !== undefined) clipGradNorm(grads, train!.clipNorm);
  const execLoss = tp.output("loss")[0]!;

  const loss = mod.trainStep(feeds);
  const trainerLoss = trainer.trainStep(feeds);
  expect(Math.abs(loss - execLoss)).toBeLessThanOrEqual(TOL * Math.max(1, Math.abs(execLoss)));
  expect(Math.abs(loss - trainerLoss)).toBeLessThanOrEqual(TOL * Math.max(1, Math.abs(execLoss)));
  const mg = mod.gradients();
  expect(mg.size).toBe(grads.length);
  expect(grads.length).toBeGreaterThan(0);
  for (const g of grads) expect(maxRelDiff(mg.get(g.name)!, g.grad), `grad ${g.name}`).toBeLessThanOrEqual(TOL);
  // parameters after the optimiser step, as the trainer took it
  for (const [k, v] of trainer.values) expect(maxRelDiff(params.get(k)!, v), `updated ${k}`).toBeLessThanOrEqual(TOL);
  expect(mod.steps()).toBe(1);

  // loadWeights puts back the initial values
  mod.loadWeights(weights);
  for (const [k, v] of weights) expect(maxRelDiff(params.get(k)!, v)).toBe(0);
}

describe("generated TypeScript modules agree with the executor", () => {
  it("MLP (mlp_mnist.dlm): forward, evaluation, loss, gradients, SGD step", async () => {
    await parity("mlp_mnist.dlm", "NeuralNetwork", new Map([["B", 4]]));
  });

  it("LeNet-5 (lenet5.dlm): convolutions and pooling, both variants", async () => {
    await parity("lenet5.dlm", "LeNet5", new Map([["B", 2]]));
    await parity("lenet5.dlm", "LeNet5MNIST", new Map([["B", 2]]));
  });

  it("a scan RNN (rnn.dlm): unrolled recurrence, truncated BPTT, gradient clipping", async () => {
    await parity(
      "rnn.dlm",
      "ElmanRNN",
      new Map([
        ["B", 2],
        ["T", 6],
      ]),
    );
  });

  it("a graph transformer (graph_transformer.dlm): streaming attention forward and backward under a neighbourhood mask", async () => {
    await parity(
      "graph_transformer.dlm",
      "GraphTransformer",
      new Map([
        ["B", 2],
        ["N", 16],
      ]),
    );
  });

  it("a model without a train section still gives forward and parameters", async () => {
    const { graph } = loadExample("rnn.dlm", "TorchRNN");
    const { mod } = await generateAndImport(graph, undefined, new Map([["B", 2]]), "TorchRNN");
    const x = new Float32Array(2 * 5 * 10).map((_, i) => Math.cos(i));
    const fwd = compile(lowerModel(graph, { training: false, dims: new Map([["B", 2]]) }).builder.graph());
    for (const [k, v] of mod.parameters()) fwd.setParam(k, v);
    fwd.run(new Map([["x", x]]));
    const outs = mod.forward({ x });
    for (const name of ["out", "h_n"]) expect(maxRelDiff(outs.get(name)!, fwd.output(name))).toBeLessThanOrEqual(TOL);
    expect(() => mod.trainStep({ x })).toThrow(/no train section/);
  });
});

describe("gradient checkpointing in the generated training step", () => {
  // six residual blocks; `annotation` goes before each block's statement, `budget` on the model
  const source = (annotation: string, budget: string): string => `
block Residual(hidden: int) {
  input x: f32[B, D]
  output x + (x |> linear(hidden) as fc1 |> relu |> linear(D) as fc2)
}
${budget}
model Deep(depth: int = 6) {
  input x: f32[B, 8]
  h = x |> linear(16) as proj
  for i in 0..depth {
    ${annotation}h = Residual(h, 32) as blocks[i]
  }
  output logits = linear(h, 3) as head
}
train Deep {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = sgd(lr: 0.1)
}
`;
  const load = (text: string) => {
    const r = checkSource(text, "deep.dlm", new Map(), { model: "Deep" });
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const m = r.models.get("Deep")!;
    return { graph: m.graph!, train: m.train! };
  };
  /** bytes of the training step's planned arena, read off the generated declaration */
  const stepArena = (code: string): number => Number(/const tArena = new ArrayBuffer\((\d+)\)/.exec(code)![1]);
  const B = 4;
  const feeds = {
    x: Float32Array.from({ length: B * 8 }, (_, i) => Math.sin(i)),
    labels: Int32Array.from({ length: B }, (_, i) => i % 3),
  };

  /** Two steps of each module from the same weights: the same losses and gradients, bit for bit. */
  async function expectSameSteps(a: GeneratedModule, b: GeneratedModule): Promise<void> {
    b.loadWeights(a.parameters());
    for (let step = 0; step < 2; step++) {
      expect(b.trainStep(feeds)).toBe(a.trainStep(feeds));
      for (const [name, g] of a.gradients()) expect(b.gradients().get(name), name).toEqual(g);
    }
  }

  it("@checkpoint and @memory_budget recompute in the module's step: same loss and gradients, a smaller arena; checkpoint: false switches both off", async () => {
    const dims = new Map([["B", B]]);
    const annotated = load(source("@checkpoint ", ""));
    const budgeted = load(source("", '@memory_budget("6KB")'));
    const plain = await generateAndImport(annotated.graph, annotated.train, dims, "Deep", { passes: { checkpoint: false } });
    for (const [what, m] of [
      ["@checkpoint", annotated],
      ["@memory_budget", budgeted],
    ] as const) {
      const checkpointed = await generateAndImport(m.graph, m.train, dims, "Deep");
      expect(stepArena(checkpointed.code), what).toBeLessThan(stepArena(plain.code));
      await expectSameSteps(plain.mod, checkpointed.mod);
      const off = generateTsModule(m.graph, m.train, { dims, runtimeImport: "./runtime.js", passes: { checkpoint: false } });
      expect(stepArena(off), `${what} with checkpoint: false`).toBe(stepArena(plain.code));
    }
    // the option (`dlm compile --memory-budget`) overrides the annotation
    const loose = generateTsModule(budgeted.graph, budgeted.train, { dims, runtimeImport: "./runtime.js", memoryBudget: 1e9 });
    expect(stepArena(loose)).toBe(stepArena(plain.code));
  });
});

describe("fused modules compute what the unfused executor computes, bit for bit", () => {
  // matmul and conv epilogues (bias, activation), elementwise groups and row kernels, against -O0
  it.each([
    ["mlp_mnist.dlm", "NeuralNetwork"],
    ["lenet5.dlm", "LeNet5"],
  ])("%s %s: loss and gradients of a training step", async (file, model) => {
    const dims = new Map([["B", 3]]);
    const { graph, train } = loadExample(file, model);
    expect(generateTsModule(graph, train, { dims, runtimeImport: "./runtime.js" })).toContain("(epilogue)");
    const { mod } = await generateAndImport(graph, train, dims, model);
    const trainer = new Trainer(graph, train!, { batch: 3, dims });
    const feeds = feedsFor(trainer, 11);
    const tg = buildTrainingGraph(graph, train!.loss!, dims);
    const plain = compile(tg.model.builder.graph(), { fold: false, simplify: false, bnFold: false, cse: false, fuse: false, plan: false });
    for (const [k, v] of mod.parameters()) plain.setParam(k, v);
    plain.run(feeds, { seed: 0 });
    const loss = mod.trainStep(feeds, 0);
    expect(Object.is(loss, plain.output("loss")[0])).toBe(true);
    const grads = mod.gradients();
    for (const [name, node] of tg.grads) expect([...grads.get(name)!], name).toEqual([...plain.buffer(node)]);
  });
});

describe("determinism and layout", () => {
  it("runs the executor's passes (arena, fused loops, merged repeats) unless switched off", () => {
    const { graph, train } = loadExample("mlp_mnist.dlm", "NeuralNetwork");
    const options = { dims: new Map([["B", 4]]), runtimeImport: "./runtime.js" };
    const optimised = generateTsModule(graph, train, options);
    expect(optimised).toMatch(/const fArena = new ArrayBuffer\(\d+\)/);
    // the bias add and activation run in the matrix product's epilogue
    expect(optimised).toContain("// fused: matmul -> add -> relu (epilogue)");
    expect(optimised).toMatch(/rt\.withEpilogue\(\s*"matmul"/);
    expect(optimised).toContain('rt.scalar["relu"]!');
    const plain = generateTsModule(graph, train, { ...options, passes: { plan: false, cse: false, fuse: false } });
    expect(plain).not.toContain("Arena");
    expect(plain).not.toContain("fused");
  });

  it("two generations of the same model are byte-identical", async () => {
    const gen = async (): Promise<string> => {
      const { graph, train } = loadExample("lenet5.dlm", "LeNet5");
      return formatTs(generateTsModule(graph, train, { dims: new Map([["B", 3]]), runtimeImport: "../runtime/module.js" }));
    };
    const [a, b] = [await gen(), await gen()];
    expect(a).toBe(b);
    expect(a).toContain('import * as rt from "../runtime/module.js";');
    expect(a).toMatch(/const p_features_0_weight = new Float32Array\(150\);/);
    expect(a).toMatch(/\/\/ conv f32\[3, 6, 28, 28\] in "features\.0" at "lenet5\.dlm" line \d+/);
    expect(a).toMatch(/export function forward\(inputs: rt\.Feeds\)/);
    // the only import is the runtime
    expect(a.match(/^import /gm)).toHaveLength(1);
  });
});

const EVIL = "a\"b'c`d${globalThis.__dlmPwned = 1}*/e\nf\u2028g\u00e9\u{1F600}</script>\\\r\t`; globalThis.__dlmPwned = 2; //";

/** The graph with every name, instance and file replaced by hostile text. */
function hostile(graph: ModelGraph): ModelGraph {
  let k = 0;
  const nodes = graph.nodes.map((n) => {
    const site = { ...n.site, file: `/models/${EVIL}.dlm` };
    if (n.kind === "param") {
      const i = k++;
      const name = i === 0 ? "__proto__" : i === 1 ? "constructor" : i === 2 ? `${EVIL}x.y` : i === 3 ? `${EVIL}x_y` : `${EVIL}${n.name}`;
      return { ...n, site, name };
    }
    if (n.kind === "input") return { ...n, site, name: `${EVIL}${n.name}` };
    if ("instance" in n) return { ...n, site, instance: `${EVIL}${(n as { instance: string }).instance}` };
    return { ...n, site };
  }) as ModelGraph["nodes"];
  return { ...graph, name: EVIL, nodes, outputs: graph.outputs.map((o) => ({ ...o, name: `${EVIL}${o.name}` })) };
}

describe("no model can inject code", () => {
  it("hostile names, instances, inputs, outputs and file names appear only escaped", async () => {
    const { graph, train } = loadExample("mlp_mnist.dlm", "NeuralNetwork");
    const evil = hostile(graph);
    const raw = generateTsModule(evil, train as TrainSetup, { dims: new Map([["B", 2]]), runtimeImport: "../runtime/module.js" });
    await expect(transform(raw, { loader: "ts" })).resolves.toBeDefined(); // it parses
    expect(raw).toMatch(/^[\x20-\x7e\n]*$/); // printable ASCII only: no raw newline in a literal, no U+2028
    expect(raw).not.toContain(EVIL);
    expect(raw).toContain(jsString(`${EVIL}x.y`));
    // mangled identifiers: prefix, [A-Za-z0-9_], collision-safe
    expect(raw).toContain("const p_proto = ");
    expect(raw).toContain("const p_constructor = ");
    const ids = [...raw.matchAll(/const (p_\w+) = new Float32Array/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);

    const { mod, code } = await generateAndImport(evil, train, new Map([["B", 2]]), "hostile");
    expect(code).toMatch(/^[\x20-\x7e\n]*$/);
    expect((globalThis as Record<string, unknown>).__dlmPwned).toBeUndefined();
    expect(mod.info.model).toBe(EVIL);
    const names = [...mod.parameters().keys()];
    expect(names.slice(0, 4)).toEqual(["__proto__", "constructor", `${EVIL}x.y`, `${EVIL}x_y`]);
    const feeds = new Map<string, ArrayLike<number>>([
      [`${EVIL}x`, new Float32Array(2 * 784).fill(0.5)],
      [`${EVIL}labels`, Int32Array.of(1, 2)],
    ]);
    expect([...mod.forward(feeds).keys()]).toEqual([`${EVIL}logits`]);
    expect(Number.isFinite(mod.trainStep(feeds))).toBe(true);
    expect((globalThis as Record<string, unknown>).__dlmPwned).toBeUndefined();
  });

  it("literal and identifier helpers", () => {
    expect(jsString('a"\\\n\u2028`${x}*/é')).toBe('"a\\"\\\\\\n\\u2028`${x}*/\\u00e9"');
    expect(literal({ __proto__: 1, b: [NaN, -0, Infinity, 1.5], a: true } as unknown)).toBe('{ "a": true, "b": [NaN, -0, Infinity, 1.5] }');
    expect(literal(JSON.parse('{"__proto__": [1]}'))).toBe('{ ["__proto__"]: [1] }');
    const m = new Mangler("p_");
    expect([m.id("a.b"), m.id("a_b"), m.id("a-b"), m.id("a.b"), m.id("é"), m.id("")]).toEqual([
      "p_a_b",
      "p_a_b_2",
      "p_a_b_3",
      "p_a_b",
      "p_x",
      "p_x_2",
    ]);
  });
});
