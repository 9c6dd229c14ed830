// `--memory-budget` and `--no-checkpoint` on `dlm summary` and `dlm train`: the `checkpointing`
// JSON field ({recompute_flops, saved_bytes, ...}), the size units, usage errors for bad
// sizes, and a checkpointed training run that matches the plain one bit for bit.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { parseByteSize } from "../../src/cli/main.js";
import { runCli } from "./capture.js";

const root = join(import.meta.dirname, "..", "..");
const dir = join(root, "tmp", `cli-checkpoint-${process.pid}`);
const at = (f: string): string => join(dir, f);
const MLP = join(root, "examples", "residual_mlp_100.dlm");
// 20 blocks of the example keep the runs short
const SMALL = ["--param", "depth=20"];

const run = runCli;

beforeAll(() => mkdirSync(dir, { recursive: true }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

describe("--memory-budget sizes", () => {
  it("reads plain bytes and decimal and binary units", () => {
    expect(parseByteSize("memory-budget", "1000")).toBe(1000);
    expect(parseByteSize("memory-budget", "256MB")).toBe(256_000_000);
    expect(parseByteSize("memory-budget", "1.5GiB")).toBe(1.5 * 2 ** 30);
    expect(parseByteSize("memory-budget", "64 KiB")).toBe(65_536);
    expect(parseByteSize("memory-budget", "2kb")).toBe(2000);
  });

  for (const bad of ["abc", "0", "-5MB", "12XB", "1.5", "MB", ""])
    it(`'${bad}' is a usage error (exit 2)`, async () => {
      const r = await run("summary", MLP, ...SMALL, "--memory-budget", bad);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("--memory-budget expects a size in bytes");
    });
});

describe("dlm summary --memory-budget", () => {
  it("reports checkpointing {recompute_flops, saved_bytes} and plans the arena after it", async () => {
    const plain = await run("summary", MLP, ...SMALL, "--dim", "B=16", "--json");
    expect(plain.code, plain.stderr).toBe(0);
    const before = JSON.parse(plain.stdout);
    expect(before.checkpointing).toBeUndefined();
    const r = await run("summary", MLP, ...SMALL, "--dim", "B=16", "--json", "--memory-budget", "64KiB");
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    const c = j.checkpointing;
    expect(c.budget).toBe(64 * 1024);
    expect(c.met).toBe(true);
    expect(c.recompute_flops).toBeGreaterThan(0);
    expect(c.saved_bytes).toBeGreaterThan(0);
    expect(c.activation_memory.before).toBe(before.activation_memory.planned);
    expect(j.activation_memory.planned).toBe(c.activation_memory.after);
    expect(c.saved_bytes).toBe(c.activation_memory.before - j.activation_memory.planned);
    expect(j.activation_memory.planned).toBeLessThanOrEqual(64 * 1024);
    expect(j.activation_memory.checkpointing).toBeUndefined();
  });

  it("warns and reports the smallest plan when no schedule fits", async () => {
    const r = await run("summary", MLP, ...SMALL, "--dim", "B=16", "--json", "--memory-budget", "100");
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: no checkpointing schedule fits the memory budget of 100 bytes/);
    const c = JSON.parse(r.stdout).checkpointing;
    expect(c.met).toBe(false);
    expect(c.warning).toMatch(/smallest found needs \d+ bytes/);
  });

  it("--no-checkpoint and -O0 switch it off; the text summary shows it", async () => {
    for (const off of ["--no-checkpoint", "-O0"]) {
      const r = await run("summary", MLP, ...SMALL, "--json", "--memory-budget", "64KiB", off);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).checkpointing).toBeUndefined();
    }
    const text = await run("summary", MLP, ...SMALL, "--dim", "B=16", "--memory-budget", "64KiB");
    expect(text.stdout).toMatch(
      /Checkpointing: {2}\S+, recomputes [\d.]+ \w*FLOP \([\d.]+% of a step\); activation arena .* → .*\(budget 64\.00 KiB\)/,
    );
  });
});

/** The example at 20 blocks (for commands without --param), with `annotation` on the model. */
function smallCopy(name: string, annotation = ""): string {
  const text = readFileSync(MLP, "utf8").replace("depth: int = 100", "depth: int = 20");
  writeFileSync(at(name), annotation ? text.replace(/^model /m, `${annotation}\nmodel `) : text);
  return at(name);
}

describe("@memory_budget on the model", () => {
  it("plans `dlm summary` and `dlm train` within it; --memory-budget overrides it, --no-checkpoint ignores it", async () => {
    const annotated = smallCopy("budgeted.dlm", '@memory_budget("64KiB")');
    const summary = async (...flags: string[]) => {
      const r = await run("summary", annotated, "--dim", "B=16", "--json", ...flags);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout);
    };
    const j = await summary();
    expect(j.checkpointing).toMatchObject({ budget: 64 * 1024, met: true });
    expect(j.activation_memory.planned).toBeLessThanOrEqual(64 * 1024);
    expect((await summary("--memory-budget", "128KiB")).checkpointing.budget).toBe(128 * 1024);
    expect((await summary("--no-checkpoint")).checkpointing).toBeUndefined();
    const report = at("budgeted.json");
    const r = await run(
      "train",
      annotated,
      "--batch",
      "16",
      "--epochs",
      "1",
      "--steps-per-epoch",
      "2",
      "--report",
      report,
      "--curve",
      at("b.svg"),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(report, "utf8")).checkpointing).toMatchObject({ budget: 64 * 1024 });
  });
});

describe("dlm compile --memory-budget", () => {
  it("checkpoints the module's training step (a smaller arena); --no-checkpoint and -O0 do not; a bad size exits 2", async () => {
    const small = smallCopy("small.dlm");
    const arena = async (...flags: string[]): Promise<number | undefined> => {
      const out = at(`compiled-${flags.join("_").replace(/\W/g, "")}`);
      const r = await run("compile", small, "--batch", "16", "--target", "ts", "-o", out, "--quiet", ...flags);
      expect(r.code, r.stderr).toBe(0);
      const m = /const tArena = new ArrayBuffer\((\d+)\)/.exec(readFileSync(join(out, "ResidualMLP.ts"), "utf8"));
      return m ? Number(m[1]) : undefined;
    };
    const plain = (await arena())!;
    const budgeted = (await arena("--memory-budget", "64KiB"))!;
    expect(budgeted).toBeLessThanOrEqual(64 * 1024);
    expect(budgeted).toBeLessThan(plain);
    expect(await arena("--memory-budget", "64KiB", "--no-checkpoint")).toBe(plain);
    expect(await arena("--memory-budget", "64KiB", "-O0")).toBeUndefined(); // -O0: no arena at all
    const bad = await run("compile", MLP, "--target", "ts", "-o", at("bad"), "--memory-budget", "lots");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--memory-budget expects a size in bytes");
  });
});

describe("dlm train --memory-budget", () => {
  it("says what it recomputes, writes it in the report, and trains as without it, bit for bit", async () => {
    const losses: number[][] = [];
    for (const [i, extra] of [["--memory-budget", "64KiB"], ["--no-checkpoint"]].entries()) {
      const report = at(`r${i}.json`);
      const r = await run(
        "train",
        MLP,
        "--epochs",
        "1",
        "--steps-per-epoch",
        "3",
        "--report",
        report,
        "--curve",
        at(`c${i}.svg`),
        ...extra,
      );
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(readFileSync(report, "utf8"));
      if (i === 0) {
        expect(r.stderr).toMatch(/checkpointing: \S+, recomputes/);
        expect(j.checkpointing.recompute_flops).toBeGreaterThan(0);
        expect(j.checkpointing.saved_bytes).toBeGreaterThan(0);
      } else expect(j.checkpointing).toBeUndefined();
      losses.push(j.epochs.map((e: { loss: number }) => e.loss));
    }
    expect(losses[0]).toEqual(losses[1]);
  });

  it("a bad size is a usage error", async () => {
    const r = await run("train", MLP, "--memory-budget", "lots");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--memory-budget expects a size in bytes");
  });
});
