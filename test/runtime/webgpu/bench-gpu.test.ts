// `npm run bench:gpu` (bench/gpu.ts), kept cheap: its command line, and one quick case run on
// whatever adapter there is, printing the side-by-side table and writing `--json` rows.

import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { parseArgs, runGpuBench, type GpuRow } from "../../../bench/gpu.ts";
import { releaseGpu } from "../../../runtime/webgpu/device.ts";
import { gpuOrSkip } from "./helpers.ts";

const gpu = await gpuOrSkip();
afterAll(releaseGpu);

describe("bench:gpu", () => {
  it("parses its flags and rejects unknown ones", () => {
    expect(parseArgs(["--quick", "--json", "out.json", "--cases", "matmul-128,mlp-b64", "--coop", "--no-torch"])).toMatchObject({
      quick: true,
      json: "out.json",
      cases: ["matmul-128", "mlp-b64"],
      coop: true,
      torch: false,
    });
    expect(() => parseArgs(["--fast"])).toThrow(/unknown argument '--fast'/);
    expect(() => parseArgs(["--min-ms", "0"])).toThrow(/positive/);
  });

  it.skipIf(!gpu)("runs a quick case, prints the table and writes {case, impl, value, unit} rows", async () => {
    const json = join(mkdtempSync(join(tmpdir(), "dlm-bench-gpu-")), "rows.json");
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    try {
      await runGpuBench({ ...parseArgs(["--quick", "--cases", "matmul-128", "--no-torch", "--json", json]), minMs: 1, rounds: 1 });
      const printed = log.mock.calls.map((c) => String(c[0])).join("\n");
      expect(printed).toMatch(/matmul-128\s+GFLOP\/s/);
    } finally {
      log.mockRestore();
    }
    const rows = JSON.parse(readFileSync(json, "utf8")) as GpuRow[];
    const dlm = rows.find((r) => r.impl === "dlm-wgsl")!;
    expect(dlm).toMatchObject({ case: "matmul-128", unit: "GFLOP/s" });
    expect(dlm.value).toBeGreaterThan(0);
    for (const r of rows) expect(Object.keys(r).sort()).toEqual(expect.arrayContaining(["case", "impl", "unit", "value"]));
    // the JS peers have a row each, with a reason where they cannot run
    for (const peer of ["tfjs-webgpu", "jax-js-webgpu"]) {
      const row = rows.find((r) => r.impl === peer)!;
      expect(row.value === null ? row.note : "ran").toBeTruthy();
    }
  });
});
