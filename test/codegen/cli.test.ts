// `dlm compile`: exit codes, the files it writes, determinism, and the --bundle output
// imported by a plain Node script.

import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { maxRelDiff, root, tmpRoot, type GeneratedModule } from "./helpers.ts";
import { runCli } from "../cli/capture.ts";

const run = runCli;

afterEach(() => vi.restoreAllMocks());
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

const example = (f: string): string => join(root, "examples", f);
let n = 0;
const outDir = (what: string): string => join(tmpRoot, `cli-${what}-${n++}`);

describe("dlm compile", () => {
  it("writes the module and a bundle that a plain Node script imports", async () => {
    const dir = outDir("bundle");
    const r = await run("compile", example("mlp_mnist.dlm"), "--target", "ts", "-o", dir, "--bundle", "--batch", "2");
    expect(r.code, r.stderr).toBe(0);
    const ts = join(dir, "NeuralNetwork.ts");
    const js = join(dir, "NeuralNetwork.js");
    expect(existsSync(ts) && existsSync(js)).toBe(true);
    const bundle = readFileSync(js, "utf8");
    expect(bundle).not.toMatch(/^\s*import\s/m); // self-contained
    expect(bundle).not.toMatch(/\brequire\(/);

    const script = join(dir, "use.mjs");
    writeFileSync(
      script,
      [
        'import * as m from "./NeuralNetwork.js";',
        "const x = new Float32Array(2 * 784).map((_, i) => Math.sin(i));",
        "const logits = Array.from(m.forward({ x }).get('logits'));",
        "const loss = m.trainStep({ x, labels: [3, 7] });",
        "console.log(JSON.stringify({ model: m.info.model, logits, loss, steps: m.steps() }));",
      ].join("\n"),
    );
    const p = spawnSync(process.execPath, [script], { encoding: "utf8" });
    expect(p.status, p.stderr).toBe(0);
    const got = JSON.parse(p.stdout) as { model: string; logits: number[]; loss: number; steps: number };
    expect(got.model).toBe("NeuralNetwork");
    expect(got.steps).toBe(1);

    // the same numbers as the TypeScript module imported here
    const mod = (await import(pathToFileURL(ts).href)) as GeneratedModule;
    const x = new Float32Array(2 * 784).map((_, i) => Math.sin(i));
    expect(maxRelDiff(got.logits, mod.forward({ x }).get("logits")!)).toBe(0);
    expect(mod.trainStep({ x, labels: [3, 7] })).toBe(got.loss);
  });

  it("is deterministic: compiling twice gives byte-identical files", async () => {
    const dir = outDir("twice");
    const args = [
      "compile",
      example("lenet5.dlm"),
      "--model",
      "LeNet5MNIST",
      "--target",
      "ts",
      "-o",
      dir,
      "--bundle",
      "--batch",
      "2",
      "--quiet",
    ];
    expect((await run(...args)).code).toBe(0);
    const first = [readFileSync(join(dir, "LeNet5MNIST.ts")), readFileSync(join(dir, "LeNet5MNIST.js"))];
    expect((await run(...args)).code).toBe(0);
    expect(readFileSync(join(dir, "LeNet5MNIST.ts")).equals(first[0]!)).toBe(true);
    expect(readFileSync(join(dir, "LeNet5MNIST.js")).equals(first[1]!)).toBe(true);
  });

  it("--dim and --model pick the sizes and the model", async () => {
    const dir = outDir("dims");
    const r = await run("compile", example("rnn.dlm"), "--model", "ElmanRNN", "--target", "ts", "-o", dir, "--dim", "T=4", "--batch", "3");
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(join(dir, "ElmanRNN.ts"), "utf8");
    expect(text).toContain('inputs: [{ name: "x", dtype: "f32", shape: [3, 4, 10] }]');
  });

  it("--explain lists the fusion groups with their source ranges; --no-fuse has none", async () => {
    const out = outDir("explain");
    const r = await run("compile", example("lenet5.dlm"), "--model", "LeNet5MNIST", "-o", out, "--batch", "2", "--explain", "--quiet");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d+ fusion groups in the training step of LeNet5MNIST \(B=2\):/);
    // conv bias and ReLU in the convolution's epilogue: it reads the input, the weight and the bias
    expect(r.stdout).toMatch(/\d+\. conv -> add -> relu {2}f32\[2, 6, 28, 28\], epilogue of conv: reads 3, writes \d/);
    expect(r.stdout).toMatch(/\d+\. matmul -> add -> relu {2}f32\[2, 84\], epilogue of matmul: reads 3, writes \d/);
    expect(r.stdout).toMatch(/lenet5\.dlm:\d+:\d+-\d+:\d+ \(features\.\d+\)/);
    // log-softmax of the cross-entropy: one row kernel over the batch's rows of 10 logits (their bias added in the matmul's epilogue)
    expect(r.stdout).toMatch(/\d+\. matmul -> add {2}f32\[2, 10\], epilogue of matmul: /);
    expect(r.stdout).toMatch(/\d+\. reduce_max -> sub -> exp -> reduce_sum -> log -> add -> sub {2}f32\[2, 10\], row kernel over 2×10: /);
    const off = await run("compile", example("lenet5.dlm"), "--model", "LeNet5MNIST", "-o", out, "--explain", "--no-fuse", "--quiet");
    expect(off.stdout).toMatch(/^fusion is off/);
    expect(readFileSync(join(out, "LeNet5MNIST.ts"), "utf8")).not.toContain("fused");
  });

  it("--explain lists the streaming attention kernels, and why an attention stays unfused", async () => {
    const out = outDir("explain-attention");
    const small = ["--dim", "T=16", "--batch", "2", "--explain", "--quiet"];
    const gt = await run("compile", example("graph_transformer.dlm"), "-o", out, "--dim", "N=8", "--batch", "2", "--explain", "--quiet");
    expect(gt.code, gt.stderr).toBe(0);
    expect(gt.stdout).toMatch(
      /\n8 streaming attention kernels \(no \[Tq, Tk\] scores stored\):\n {2}1\. attention: queries f32\[2, 8, 8, 16\] against 8 keys \(bool mask\)\n/,
    );
    expect(gt.stdout).toMatch(
      /\d+\. attention_grad: queries f32\[2, 8, 8, 16\] against 8 keys \(bool mask\)\n {7}std\/attention\.dlm:\d+:\d+-\d+:\d+ \(encoder\.layers\.\d\.attn\.a \(backward\)\)/,
    );
    const off = await run(
      "compile",
      example("graph_transformer.dlm"),
      "-o",
      out,
      "--dim",
      "N=8",
      "--batch",
      "2",
      "--explain",
      "--quiet",
      "--no-flash-attention",
    );
    expect(off.stdout).toContain("8 attention kernels run unfused: --no-flash-attention");
    // GPT-2 drops attention weights in training: the weights must be stored
    const gpt = await run("compile", example("gpt2_small.dlm"), "-o", out, ...small);
    expect(gpt.stdout).toMatch(
      /12 attention products unfused, the \[Tq, Tk\] weights stored:\n {2}1\. dropout on the attention weights in training\n/,
    );
  });

  it("bad command lines exit 2", async () => {
    const dir = outDir("bad");
    const mlp = example("mlp_mnist.dlm");
    for (const argv of [
      ["compile", mlp, "--target", "ts", "-o", dir, "--frobnicate"],
      ["compile", mlp, "--target", "wasm", "-o", dir],
      ["compile", mlp, "--target", "ts"],
      ["compile", "--target", "ts", "-o", dir],
      ["compile", mlp, "--target", "ts", "-o", dir, "--batch", "0"],
      ["compile", mlp, "--target", "ts", "-o", dir, "--bundle=yes"],
      ["compile", mlp, "--target", "ts", "-o", dir, "--dim", "T"],
    ]) {
      const r = await run(...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/^dlm: /);
    }
  });

  it("a model with errors exits 1 with its diagnostics", async () => {
    const r = await run("compile", join(root, "test", "corpus", "shape_lenet_28.dlm"), "--target", "ts", "-o", outDir("err"));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("DLM3101");
    const unbound = await run("compile", example("mlp_mnist.dlm"), "--model", "Nope", "--target", "ts", "-o", outDir("err"));
    expect(unbound.code).toBe(1);
  });

  it("a hostile file name reaches the generated code only escaped", async () => {
    const dir = outDir("hostile");
    mkdirSync(dir, { recursive: true });
    const evil = join(dir, "m\"o'd`${globalThis.x=1}\u2028\né.dlm");
    copyFileSync(example("mlp_mnist.dlm"), evil);
    const r = await run("compile", evil, "--target", "ts", "-o", join(dir, "out"), "--batch", "1", "--quiet");
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(join(dir, "out", "NeuralNetwork.ts"), "utf8");
    expect(text).toMatch(/^[\x20-\x7e\n]*$/);
    expect(text).toContain('"m\\"o\'d`${globalThis.x=1}\\u2028\\n\\u00e9.dlm"');
  });
});
