// `dlm run --backend webgpu` through main(): the same output format as the CPU's, values within
// the float32 tolerance of the CPU run (convolution, batch norm on running statistics, dropout
// off, an integer argmax), and the message a machine without an adapter gets.

import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Trainer } from "../../../runtime/trainer.ts";
import { releaseGpu, type GpuContext } from "../../../runtime/webgpu/device.ts";
import { check } from "../../../src/index.ts";
import { runCli } from "../../cli/capture.ts";
import { expectClose, gpuOrSkip } from "./helpers.ts";

const root = join(import.meta.dirname, "..", "..", "..");
const dir = join(root, "tmp", `run-webgpu-${process.pid}`);
const at = (f: string): string => join(dir, f);

const MODEL = `
model Tiny(classes: int = 3) {
  input x: f32[B, 2, 6, 6]
  h = x |> conv2d(4, kernel: 3, padding: 1) |> batchnorm |> relu |> maxpool2d(2) |> flatten
  output logits = h |> dropout(0.5) |> linear(classes)
  output best = argmax(logits)
}

train Tiny {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = sgd(lr: 0.1)
  batch = 3
}
`;

/** Deterministic inputs in [-1, 1]: x[b][c][i][j]. */
const input = (batch: number): number[][][][] =>
  Array.from({ length: batch }, (_, b) =>
    Array.from({ length: 2 }, (_, c) =>
      Array.from({ length: 6 }, (_, i) => Array.from({ length: 6 }, (_, j) => Math.sin(1 + b * 7 + c * 3 + i * 1.3 + j * 0.7))),
    ),
  );

let gpu: GpuContext | undefined;
beforeAll(async () => {
  gpu = await gpuOrSkip();
  mkdirSync(dir, { recursive: true });
  writeFileSync(at("tiny.dlm"), MODEL);
  writeFileSync(at("x.json"), JSON.stringify(input(3)));
  const m = check(at("tiny.dlm")).models.get("Tiny")!;
  const t = new Trainer(m.graph!, m.train!, { seed: 5 });
  // running statistics other than the initial 0 and 1, so that evaluation mode shows
  for (const [name, v] of t.values)
    if (name.endsWith("running_mean")) v.forEach((_, i) => (v[i] = 0.1 * (i + 1)));
    else if (name.endsWith("running_var")) v.forEach((_, i) => (v[i] = 0.5 + i));
  await t.save(at("tiny.safetensors"));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await releaseGpu();
});

const args = (...more: string[]) => ["run", at("tiny.dlm"), "--weights", at("tiny.safetensors"), "--input", `x=${at("x.json")}`, ...more];

describe("dlm run --backend webgpu", () => {
  it("prints the CPU's outputs, within float32 tolerance (--json)", async () => {
    if (!gpu) return;
    const cpu = await runCli(...args("--json"));
    const webgpu = await runCli(...args("--json", "--backend", "webgpu"));
    expect(cpu.code, cpu.stderr).toBe(0);
    expect(webgpu.code, webgpu.stderr).toBe(0);
    const [c, g] = [JSON.parse(cpu.stdout), JSON.parse(webgpu.stdout)];
    expect(Object.keys(g.outputs)).toEqual(["logits", "best"]);
    for (const name of ["logits", "best"]) {
      expect(g.outputs[name].shape).toEqual(c.outputs[name].shape);
      expect(g.outputs[name].dtype).toEqual(c.outputs[name].dtype);
    }
    const logits = (o: { outputs: { logits: { data: number[][] } } }) => o.outputs.logits.data.flat();
    expect(new Set(logits(c)).size).toBeGreaterThan(3); // not a degenerate model
    expectClose("logits", "f32", logits(g), logits(c));
    expect(g.outputs.best.data).toEqual(c.outputs.best.data);
  });

  it("prints the same human-readable layout", async () => {
    if (!gpu) return;
    const webgpu = await runCli(...args("--backend", "webgpu"));
    expect(webgpu.code, webgpu.stderr).toBe(0);
    expect(webgpu.stdout).toMatch(/^logits: f32\[3, 3\]\n\[\[.*\],\n \[.*\],\n \[.*\]\]\nbest: i64\[3\]\n\[\d, \d, \d\]\n$/);
  });

  it("rejects an unknown backend with exit 2", async () => {
    const r = await runCli(...args("--backend", "tpu"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--backend expects cpu or webgpu, got 'tpu'/);
  });

  it("without an adapter: exit 1 and the list of what was tried", () => {
    // a process of its own: this one's device is shared and already open
    const r = spawnSync(process.execPath, [join(root, "bin", "dlm.js"), ...args("--backend", "webgpu")], {
      encoding: "utf8",
      env: { ...process.env, DLM_WEBGPU_BACKEND: "swiftshader", DLM_VULKAN_ICD: at("no-such-icd.json") },
    });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain("dlm run: no usable WebGPU adapter; tried:");
    expect(r.stderr).toContain(`swiftshader: no SwiftShader ICD at ${at("no-such-icd.json")}`);
    expect(r.stdout).toBe("");
  });
});
