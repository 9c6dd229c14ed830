// The single-file module of `dlm compile --target wgsl --bundle` in a web page: headless
// Debian chromium with WebGPU on SwiftShader imports it from 127.0.0.1, creates the model on
// navigator.gpu's device and runs a forward pass and a training step; the outputs agree with
// the CPU executor at the same (initial) parameters. Skips, saying why, without chromium or
// where chromium gives no adapter.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildEvalGraph } from "../../compiler/training-graph.js";
import { compile } from "../../runtime/cpu/executor.js";
import { Trainer } from "../../runtime/trainer.js";
import { check } from "../../src/index.js";
import { runCli } from "../cli/capture.js";
import { CHROMIUM, launchWebGpuChromium, serveStatic } from "./serve.js";

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`wgsl bundle page test skipped: no chromium at ${CHROMIUM}`);

const MODEL = `
model PageNet(classes: int = 3) {
  input x: f32[B, 5]
  output logits = x |> linear(8) |> tanh |> linear(classes)
}

train PageNet {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = sgd(lr: 0.1)
  batch = 2
  seed = 3
}
`;
const x = [0.5, -1, 2, 0.25, -0.75, 1.5, 0, -2, 1, 0.3];
const labels = [2, 0];

/** The page: imports the bundle as any page would, and leaves what it saw in window.result. */
const PAGE = `<!doctype html>
<title>dlm wgsl</title>
<script type="module">
  const run = async () => {
    const adapter = await navigator.gpu?.requestAdapter();
    if (!adapter) return { skip: navigator.gpu ? "requestAdapter() gave none" : "no navigator.gpu" };
    const device = await adapter.requestDevice();
    const mod = await import("./PageNet.bundle.js");
    const model = await mod.create(device);
    const x = ${JSON.stringify(x)}, labels = ${JSON.stringify(labels)};
    const logits = Array.from((await model.forward({ x })).get("logits"));
    const losses = [await model.trainStep({ x, labels }), await model.trainStep({ x, labels })];
    return { logits, losses, info: mod.info.model };
  };
  run().then((r) => (window.result = r), (e) => (window.result = { error: String(e) }));
</script>
`;

interface PageResult {
  readonly skip?: string;
  readonly error?: string;
  readonly logits: number[];
  readonly losses: number[];
  readonly info: string;
}

describe.skipIf(!hasChromium)("a --target wgsl --bundle module in a web page", () => {
  let dir = "";
  let server: Server | undefined;
  let browser: Browser | undefined;
  let url = "";

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "dlm-wgsl-page-"));
    writeFileSync(join(dir, "page.dlm"), MODEL);
    const r = await runCli("compile", join(dir, "page.dlm"), "--target", "wgsl", "-o", join(dir, "site"), "--bundle", "--quiet");
    if (r.code !== 0) throw new Error(r.stderr);
    writeFileSync(join(dir, "site", "index.html"), PAGE);
    const served = await serveStatic(join(dir, "site"));
    server = served.server;
    url = served.url;
    browser = await launchWebGpuChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("imports the bundle, runs a forward pass like the CPU and trains a step", async () => {
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(url);
    const result = (await (
      await page.waitForFunction(() => (window as { result?: unknown }).result, undefined, { timeout: 60_000 })
    ).jsonValue()) as PageResult;
    expect(errors).toEqual([]);
    expect(result.error).toBeUndefined();
    if (result.skip) {
      console.warn(`wgsl bundle page test skipped: ${result.skip}`);
      return;
    }
    expect(result.info).toBe("PageNet");

    // the CPU executor at the parameters dlm train starts from (the module's initial ones)
    const m = check(join(dir, "page.dlm")).models.get("PageNet")!;
    const trainer = new Trainer(m.graph!, m.train!);
    const evalModel = buildEvalGraph(m.graph!, new Map([["B", 2]]));
    const cpu = compile(evalModel.builder.graph());
    for (const p of evalModel.params) cpu.setParam(p.name, trainer.values.get(p.name)!);
    cpu.run(new Map([["x", Float32Array.from(x)]]), { seed: 0 });
    const want = Array.from(cpu.output("logits"));
    result.logits.forEach((v, i) =>
      expect(Math.abs(v - want[i]!), `logit ${i}: page ${v}, cpu ${want[i]}`).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(want[i]!))),
    );
    const feeds = new Map<string, Float32Array | Int32Array>([
      ["x", Float32Array.from(x)],
      ["labels", Int32Array.from(labels)],
    ]);
    const cpuLosses = [0, 1].map(() => trainer.trainStep(feeds));
    result.losses.forEach((l, i) => expect(Math.abs(l - cpuLosses[i]!)).toBeLessThanOrEqual(1e-4 * Math.max(1, cpuLosses[i]!)));
    expect(result.losses[1]).toBeLessThan(result.losses[0]!);
  });
});
