// The command line as a contract: exit codes, the JSON shapes other tools read
// (`check --json`, `summary --json`), and the human output's file:line:col.

import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";

const root = join(import.meta.dirname, "..", "..");
const example = (f: string) => join(root, "examples", f);
const corpus = join(root, "test", "corpus");

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(...argv: string[]): Run {
  let stdout = "";
  let stderr = "";
  vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
  vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
  try {
    const code = main(argv);
    if (typeof code !== "number") throw new Error("use runAsync for commands that return a promise");
    return { code, stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}

afterEach(() => vi.restoreAllMocks());

describe("dlm check", () => {
  it("exits 0 on a clean file and prints nothing", () => {
    const r = run("check", example("lenet_seed002.dlm"));
    expect(r).toMatchObject({ code: 0, stderr: "" });
  });

  it.each(readdirSync(corpus).filter((f) => f.endsWith(".dlm")))("exits 1 on corpus/%s and names file:line:col", (file) => {
    const path = join(corpus, file);
    const [, other, line, col] = /expect: DLM\d+ (?:(\S+) )?(\d+):(\d+)/.exec(readFileSync(path, "utf8"))!;
    const r = run("check", "--no-color", path);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${relative(process.cwd(), other ? join(corpus, other) : path)}:${line}:${col}:`);
  });

  it("--json: { files, diagnostics: [{ code, severity, message, file, range: { start, end }, notes?, hint? }] }", () => {
    const path = join(corpus, "shape_lenet_28.dlm");
    const r = run("check", "--json", path);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.files).toEqual([path]);
    const [d] = out.diagnostics;
    expect(d).toMatchObject({ code: "DLM3101", severity: "error", range: { start: { line: 7, column: 13 } } });
    expect(typeof d.message).toBe("string");
    expect(typeof d.range.end.offset).toBe("number");
    expect(d.notes.length).toBeGreaterThan(0);
  });

  it("checks several files and fails if any has errors", () => {
    expect(run("check", example("lenet5.dlm"), example("rnn.dlm")).code).toBe(0);
    expect(run("check", example("lenet5.dlm"), join(corpus, "name_unknown.dlm")).code).toBe(1);
  });

  it("a missing file is an error, not a crash", () => {
    const r = run("check", join(root, "no-such-file.dlm"));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("DLM9002");
  });
});

describe("dlm summary", () => {
  it("prints the layer table and totals", () => {
    const r = run("summary", example("lenet_seed002.dlm"));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("62,006");
    expect(r.stdout).toContain("conv1");
  });

  it("--json carries the documented fields, --dim binds a symbol, --param overrides a hyperparameter", () => {
    const one = JSON.parse(run("summary", "--json", example("lenet_seed002.dlm")).stdout);
    for (const key of ["model", "dims", "inputs", "outputs", "params", "macs", "flops", "memory", "layers"])
      expect(one).toHaveProperty(key);
    expect(one.params).toMatchObject({ total: 62006, trainable: 62006, frozen: 0, buffers: 0 });
    expect(Object.keys(one.macs).sort()).toEqual(["backward", "forward", "step"]);
    const many = JSON.parse(run("summary", "--json", "--dim", "B=32", example("lenet_seed002.dlm")).stdout);
    expect(many.macs.forward).toBe(32 * one.macs.forward);
    const five = JSON.parse(run("summary", "--json", "--param", "classes=5", example("lenet_seed002.dlm")).stdout);
    expect(five.params.total).toBe(62006 - 5 * 84 - 5);
  });

  it("streaming attention shrinks the planned activations of a transformer's training step; --no-flash-attention and --no-fuse keep the weights", () => {
    // the 6-layer encoder at d = 64, 4 heads, T = 64, without dropout on the attention weights
    const small = ["--dim", "B=2", "--dim", "T=64", ...["d=64", "heads=4", "ff=128", "drop=0", "vocab=100"].flatMap((p) => ["--param", p])];
    const planned = (...flags: string[]): number =>
      JSON.parse(run("summary", "--json", ...small, ...flags, example("transformer_encoder.dlm")).stdout).activation_memory.planned;
    const streamed = planned();
    const unfused = planned("--no-flash-attention");
    // each layer's softmax weights [2, 4, 64, 64] are no longer kept for the backward pass
    expect(unfused - streamed).toBeGreaterThanOrEqual(2 * 4 * 64 * 64 * 4);
    expect(planned("--no-fuse")).toBeGreaterThan(streamed);
  });

  it("--json reports the planned activation memory of a training step (a forward pass without a train section); --memory-svg draws it", () => {
    const lenet = JSON.parse(run("summary", "--json", "--model", "LeNet5MNIST", "--dim", "B=16", example("lenet5.dlm")).stdout);
    const a = lenet.activation_memory;
    expect(Object.keys(a).sort()).toEqual(["lower_bound", "naive", "placement", "planned", "step"]);
    expect(a.step).toBe("training");
    expect(a.lower_bound).toBeGreaterThan(16 * 6 * 28 * 28 * 4); // at least the first conv's output
    expect(a.planned).toBeGreaterThanOrEqual(a.lower_bound);
    expect(a.planned).toBeLessThanOrEqual(1.05 * a.lower_bound);
    expect(a.naive).toBeGreaterThan(a.planned);
    expect(lenet.kernels.fused).toBeGreaterThan(10);
    expect(lenet.kernels.fused).toBeLessThan(lenet.kernels.unfused);
    // `memory` stays the one total of bytes for a training step, as before the planner
    expect(Number.isInteger(lenet.memory)).toBe(true);
    expect(lenet.memory).toBeGreaterThan(a.lower_bound);
    // in-place elementwise writes shrink this one's arena; --no-in-place plans without them
    const inPlace = (...flags: string[]) =>
      JSON.parse(run("summary", "--json", "--model", "LeNet5", "--dim", "B=16", ...flags, example("lenet5.dlm")).stdout).activation_memory;
    const [on, off] = [inPlace(), inPlace("--no-in-place")];
    expect(on.planned).toBeLessThan(off.planned);
    expect(on.naive).toBe(off.naive);
    const bert = JSON.parse(run("summary", "--json", "--dim", "T=8", example("bert_base.dlm")).stdout);
    expect(bert.activation_memory.step).toBe("inference");
    mkdirSync(join(root, "tmp"), { recursive: true });
    const svg = join(root, "tmp", `summary-${process.pid}.svg`);
    expect(run("summary", "--memory-svg", svg, "--model", "LeNet5MNIST", example("lenet5.dlm")).stdout).toContain("Planned arena:");
    expect(readFileSync(svg, "utf8")).toMatch(/^<svg[^>]*>[\s\S]*LeNet5MNIST: activation memory over one training step[\s\S]*<\/svg>\n$/);
    rmSync(svg);
  });

  it("--model picks a model of a file with several", () => {
    const r = JSON.parse(run("summary", "--json", "--model", "TorchRNN", example("rnn.dlm")).stdout);
    expect(r.model).toBe("TorchRNN");
    expect(r.params.total).toBe(1480);
    expect(run("summary", "--model", "Nope", example("rnn.dlm")).code).toBe(1);
  });
});

describe("usage errors exit 2", () => {
  it.each([
    [["frobnicate"]],
    [["check"]],
    [["summary", "--dim", "B=0", "x.dlm"]],
    [["summary", "--dim", "B", "x.dlm"]],
    [["check", "--colour", "x.dlm"]],
    [["summary", "a.dlm", "b.dlm"]],
  ])("%j", (argv) => {
    const r = run(...argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dlm: /);
  });
});

describe("the installed command", () => {
  it("runs as a separate process with the documented exit codes", () => {
    const bin = join(root, "bin", "dlm.js");
    const ok = spawnSync(process.execPath, [bin, "summary", example("lenet_seed002.dlm")], { encoding: "utf8" });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain("62,006");
    const bad = spawnSync(process.execPath, [bin, "check", join(corpus, "shape_lenet_28.dlm")], { encoding: "utf8" });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("DLM3101");
  });
});
