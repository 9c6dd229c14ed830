// `dlm compile --target wgsl` through main(): the written host module (and its --bundle),
// loaded in Node on the `webgpu` package's device, against the in-process references: its
// initial parameters are the CPU trainer's, its forward pass gives compileGpu's outputs, and
// its training steps the GpuTrainer's losses (batch norm's buffer updates and dropout's
// draws included). Names and text from a hostile .dlm reach no file name, WGSL or code.

import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BatchBuffer } from "../../../runtime/data/dataset.ts";
import { releaseGpu, type GpuContext } from "../../../runtime/webgpu/device.ts";
import { compileGpu } from "../../../runtime/webgpu/executor.ts";
import type { GpuModel } from "../../../runtime/webgpu/module.ts";
import { GpuTrainer } from "../../../runtime/webgpu/trainer.ts";
import { buildEvalGraph } from "../../../compiler/training-graph.ts";
import { check } from "../../../src/index.ts";
import { runCli } from "../../cli/capture.ts";
import { expectClose, gpuOrSkip } from "./helpers.ts";

const root = join(import.meta.dirname, "..", "..", "..");
const dir = join(root, "tmp", `wgsl-module-${process.pid}`);
const at = (...f: string[]): string => join(dir, ...f);

const MODEL = `
model Tiny(classes: int = 3) {
  input x: f32[B, 2, 6, 6]
  h = x |> conv2d(4, kernel: 3, padding: 1) |> batchnorm |> relu |> maxpool2d(2) |> flatten
  output logits = h |> dropout(0.25) |> linear(classes)
  output best = argmax(logits)
}

train Tiny {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = adam(lr: 0.01)
  schedule = cosine(steps: 10)
  clip_norm = 1.0
  batch = 3
  seed = 7
}
`;

const BATCH = 3;
const x = Float32Array.from({ length: BATCH * 2 * 6 * 6 }, (_, i) => Math.sin(1 + i * 0.37));
const labels = Int32Array.from([0, 2, 1]);
const STEPS = 4;

type WrittenModule = { create(device: GPUDevice): Promise<GpuModel>; info: GpuModel["info"] };

let gpu: GpuContext | undefined;
beforeAll(async () => {
  gpu = await gpuOrSkip();
  mkdirSync(dir, { recursive: true });
  writeFileSync(at("tiny.dlm"), MODEL);
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await releaseGpu();
});

function load() {
  const m = check(at("tiny.dlm")).models.get("Tiny")!;
  return { graph: m.graph!, train: m.train! };
}

describe("dlm compile --target wgsl", () => {
  it("writes the kernels, the host module and the bundle", async () => {
    // a kernel an earlier compile left goes; other files stay
    mkdirSync(at("out", "Tiny-wgsl"), { recursive: true });
    writeFileSync(at("out", "Tiny-wgsl", "k999_stale.wgsl"), "");
    writeFileSync(at("out", "Tiny-wgsl", "notes.txt"), "mine");
    const r = await runCli("compile", at("tiny.dlm"), "--target", "wgsl", "-o", at("out"), "--bundle");
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(at("out", "Tiny-wgsl", "notes.txt"), "utf8")).toBe("mine");
    rmSync(at("out", "Tiny-wgsl", "notes.txt"));
    const kernels = readdirSync(at("out", "Tiny-wgsl"));
    expect(kernels.length).toBeGreaterThan(5);
    for (const k of kernels) expect(k).toMatch(/^k\d{3}_[a-z0-9_]+\.wgsl$/);
    expect(readdirSync(at("out")).sort()).toEqual(["Tiny-wgsl", "Tiny.bundle.js", "Tiny.js"]);
    const bundle = readFileSync(at("out", "Tiny.bundle.js"), "utf8");
    expect(bundle).not.toMatch(/^\s*import\s/m); // self-contained
    expect(bundle).toContain(
      readFileSync(at("out", "Tiny-wgsl", kernels[0]!), "utf8")
        .split("\n")[2]!
        .replaceAll('"', '\\"'),
    );
  });

  for (const file of ["Tiny.js", "Tiny.bundle.js"])
    it(`${file}: the forward pass and ${STEPS} training steps agree with compileGpu and the GpuTrainer`, async () => {
      if (!gpu) return;
      const mod = (await import(pathToFileURL(at("out", file)).href)) as WrittenModule;
      const model = await mod.create(gpu.device);
      const { graph, train } = load();

      // initial parameters: the CPU trainer's, exactly
      const trainer = await GpuTrainer.create(graph, train, {});
      const initial = await model.parameters();
      expect([...initial.keys()].sort()).toEqual([...trainer.cpu.values.keys()].sort());
      for (const [name, v] of trainer.cpu.values) expect(initial.get(name), name).toEqual(v);

      // the forward pass against compileGpu on the evaluation graph at the same parameters
      const evalModel = buildEvalGraph(graph, new Map([["B", BATCH]]));
      const reference = await compileGpu(evalModel.builder.graph(), { gpu });
      for (const p of evalModel.params) reference.setParam(p.name, trainer.cpu.values.get(p.name)!);
      const names = evalModel.outputs.map((o) => o.name);
      const want = await reference.run(new Map([["x", x]]), { read: names });
      const got = await model.forward({ x });
      expect([...got.keys()]).toEqual(names);
      expectClose("logits", "f32", got.get("logits")!, want.get("logits")!);
      expect(Array.from(got.get("best")!)).toEqual(Array.from(want.get("best")!));

      // training steps against the GpuTrainer on the same batch
      const feeds = new Map<string, BatchBuffer>([
        ["x", x],
        ["labels", labels],
      ]);
      for (let s = 0; s < STEPS; s++) {
        const [mine, theirs] = [await model.trainStep(feeds), await trainer.trainStep(feeds)];
        if (!(Math.abs(mine - theirs) <= 1e-4 * Math.max(1, Math.abs(theirs))))
          expect.fail(`step ${s + 1}: module ${mine}, trainer ${theirs}`);
      }
      expect(model.steps()).toBe(STEPS);
      await trainer.syncToHost();
      const after = await model.parameters();
      for (const [name, v] of trainer.cpu.values) expectClose(name, "f32", after.get(name)!, v, 1e-4);
      const runningMean = [...initial.keys()].find((n) => n.endsWith("running_mean"))!;
      expect(after.get(runningMean)).not.toEqual(initial.get(runningMean)); // the buffer updates ran

      // the forward pass reads the trained parameters
      for (const p of evalModel.params) reference.setParam(p.name, trainer.cpu.values.get(p.name)!);
      const trained = await reference.run(new Map([["x", x]]), { read: ["logits"] });
      expectClose("logits after training", "f32", (await model.forward({ x })).get("logits")!, trained.get("logits")!, 1e-3);

      // weights in by name
      model.loadWeights(Object.fromEntries(initial));
      expectClose("logits after loadWeights", "f32", (await model.forward({ x })).get("logits")!, want.get("logits")!);
      expect(() => model.loadWeights({ "no.such": [1] })).toThrow(/has no parameter 'no.such'/);
      expect(mod.info.inputs).toEqual([{ name: "x", dtype: "f32", shape: [3, 2, 6, 6] }]);
      expect(mod.info.trainInputs).toEqual([{ name: "labels", dtype: "i32", shape: [3] }]);
      model.destroy();
      reference.destroy();
    });

  it("keeps a hostile .dlm's text out of file names, WGSL and code", async () => {
    const marker = "pwned_0f2c";
    const hostile = `
/// */ </script> \${globalThis.${marker} = 1} "); globalThis.${marker} = 1; //
model Evil_Name(classes: int = 2) {
  input x: f32[B, 4]
  output y = x |> linear(3) as fc_${marker} |> relu |> linear(classes)
}
train Evil_Name {
  input labels: i64[B]
  loss = cross_entropy(y, labels)
  optimizer = sgd(lr: 0.1)
  batch = 2
}
`;
    writeFileSync(at(`evil-"'\`$.dlm`), hostile);
    const r = await runCli("compile", at(`evil-"'\`$.dlm`), "--target", "wgsl", "-o", at("evil"), "--bundle");
    expect(r.code, r.stderr).toBe(0);
    const files = [
      ...readdirSync(at("evil")).map((f) => at("evil", f)),
      ...readdirSync(at("evil", "Evil_Name-wgsl")).map((f) => at("evil", "Evil_Name-wgsl", f)),
    ];
    for (const f of files) expect(f.slice(at("evil").length)).toMatch(/^(\/[A-Za-z0-9_.-]+)+$/);
    for (const f of files.filter((f) => f.endsWith(".wgsl"))) expect(readFileSync(f, "utf8")).not.toContain(marker);
    for (const f of files.filter((f) => f.endsWith(".js"))) {
      const code = readFileSync(f, "utf8");
      expect(code).not.toContain("</script>");
      expect(code).not.toContain("globalThis.pwned");
      // the layer's name appears (in parameter names), but only inside string literals
      expect(code).toContain(`fc_${marker}`);
      expect(code.replace(/"(?:[^"\\\n]|\\.)*"/g, '""')).not.toContain(marker);
    }
    if (!gpu) return;
    const mod = (await import(pathToFileURL(at("evil", "Evil_Name.bundle.js")).href)) as WrittenModule;
    expect((globalThis as Record<string, unknown>)[marker]).toBeUndefined();
    const model = await mod.create(gpu.device);
    expect([...(await model.parameters()).keys()]).toContain(`fc_${marker}.weight`);
    model.destroy();
  });

  it("rejects an unknown target and --runtime with wgsl (exit 2)", async () => {
    const bad = await runCli("compile", at("tiny.dlm"), "--target", "wasm", "-o", at("bad"));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--target must be ts or wgsl, got 'wasm'/);
    const runtime = await runCli("compile", at("tiny.dlm"), "--target", "wgsl", "-o", at("bad"), "--runtime", "x");
    expect(runtime.code).toBe(2);
    expect(runtime.stderr).toMatch(/--runtime applies to --target ts/);
  });
});
