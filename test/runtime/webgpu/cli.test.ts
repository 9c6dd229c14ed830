// `dlm train --backend webgpu` through main(): the report's `gpu` figures (one submit a step),
// agreement of the final loss with `--backend cpu`, and the flag's bad values.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../../src/cli/main.ts";
import { releaseGpu, type GpuContext } from "../../../runtime/webgpu/device.ts";
import { gpuOrSkip } from "./helpers.ts";

const dir = join(import.meta.dirname, "..", "..", "..", "tmp", `cli-webgpu-${process.pid}`);
const at = (f: string): string => join(dir, f);

const MODEL = `
model Small(features: int = 8, classes: int = 3) {
  input x: f32[B, features]
  output logits = x |> linear(16) |> relu |> linear(classes)
}

train Small {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = adam(lr: 0.01)
  batch = 8
  seed = 1
}
`;

let gpu: GpuContext | undefined;
beforeAll(async () => {
  gpu = await gpuOrSkip();
  mkdirSync(dir, { recursive: true });
  writeFileSync(at("small.dlm"), MODEL);
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await releaseGpu();
});

async function run(...argv: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = "";
  vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
  vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  try {
    return { code: await main(argv), stderr };
  } finally {
    vi.restoreAllMocks();
  }
}

const quick = ["--epochs", "1", "--steps-per-epoch", "4", "--quiet"];

describe("dlm train --backend", () => {
  it("webgpu: the report has the gpu figures, and the loss agrees with the cpu's", async () => {
    if (!gpu) return;
    const reports = { cpu: at("cpu.json"), webgpu: at("gpu.json") };
    for (const [backend, report] of Object.entries(reports)) {
      const r = await run("train", at("small.dlm"), ...quick, "--backend", backend, "--report", report, "--curve", at(`${backend}.svg`));
      expect(r.code, r.stderr).toBe(0);
    }
    const cpu = JSON.parse(readFileSync(reports.cpu, "utf8"));
    const webgpu = JSON.parse(readFileSync(reports.webgpu, "utf8"));
    expect(cpu.gpu).toBeUndefined();
    expect(webgpu.gpu.submits_per_step).toBe(1);
    expect(webgpu.gpu.dispatches_per_step).toBeGreaterThan(0);
    expect(webgpu.gpu.adapter).toBe(gpu.description);
    expect(Math.abs(webgpu.final.loss - cpu.final.loss)).toBeLessThan(1e-3 * Math.max(1, Math.abs(cpu.final.loss)));
  });

  it("rejects an unknown backend with exit 2", async () => {
    const r = await run("train", at("small.dlm"), ...quick, "--backend", "tpu");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--backend expects cpu or webgpu, got 'tpu'/);
  });
});
