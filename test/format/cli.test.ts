// `dlm fmt` as a contract: in place (atomically, only files that change), --check,
// --stdout FILE, `-` for standard input, syntax errors, and exit codes 0 / 1 / 2.

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { runFmt } from "../../src/cli/fmt.js";
import { runCli, type CliRun } from "../cli/capture.js";

const root = join(import.meta.dirname, "..", "..");
const UGLY = "model M{input x:f32[B,4];output y=relu(x)}\n";
const PRETTY = "model M {\n  input x: f32[B, 4]\n  output y = relu(x)\n}\n";
const BROKEN = "model M {\n  h = linear(x, 8 kernel: 3)\n}\n";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "dlm-fmt-"));
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
  return path;
}

const fmt = (...argv: string[]): Promise<CliRun> => runCli("fmt", ...argv);

describe("dlm fmt FILE...", () => {
  it("rewrites the files that change, lists them, and leaves formatted files untouched", async () => {
    const ugly = file("ugly.dlm", UGLY);
    const pretty = file("pretty.dlm", PRETTY);
    const past = new Date("2020-01-01T00:00:00Z");
    utimesSync(pretty, past, past);
    const r = await fmt(ugly, pretty);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("ugly.dlm");
    expect(r.stdout).not.toContain("pretty.dlm");
    expect(readFileSync(ugly, "utf8")).toBe(PRETTY);
    expect(statSync(pretty).mtime.getTime()).toBe(past.getTime());
    expect(readdirSync(dir).sort()).toEqual(["pretty.dlm", "ugly.dlm"]); // no temporary file left behind
  });

  it("formats the .dlm files of a folder, recursively", async () => {
    const nested = file("a/b/deep.dlm", UGLY);
    file("a/notes.txt", UGLY);
    const r = await fmt(dir);
    expect(r.code).toBe(0);
    expect(readFileSync(nested, "utf8")).toBe(PRETTY);
    expect(readFileSync(join(dir, "a/notes.txt"), "utf8")).toBe(UGLY);
  });

  it("a file with a syntax error: file:line:col on stderr, the file unchanged, exit 1; the others are still formatted", async () => {
    const broken = file("broken.dlm", BROKEN);
    const ugly = file("ugly.dlm", UGLY);
    const r = await fmt("--no-color", broken, ugly);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/broken\.dlm:2:19: error DLM1004: expected '\)', found 'kernel'/);
    expect(readFileSync(broken, "utf8")).toBe(BROKEN);
    expect(readFileSync(ugly, "utf8")).toBe(PRETTY);
  });

  it("a file that cannot be read: exit 1", async () => {
    const r = await fmt(join(dir, "missing.dlm"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot read .*missing\.dlm: ENOENT/);
  });
});

describe("dlm fmt --check", () => {
  it("exits 1 and lists the files that would change, writing nothing", async () => {
    const ugly = file("ugly.dlm", UGLY);
    const pretty = file("pretty.dlm", PRETTY);
    const r = await fmt("--check", ugly, pretty);
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split("\n")).toEqual([expect.stringMatching(/ugly\.dlm$/)]);
    expect(readFileSync(ugly, "utf8")).toBe(UGLY);
  });

  it("exits 0 when every file is formatted", async () => {
    expect(await fmt("--check", file("pretty.dlm", PRETTY))).toMatchObject({ code: 0, stdout: "" });
  });

  it("exits 1 on a syntax error", async () => {
    expect((await fmt("--check", file("broken.dlm", BROKEN))).code).toBe(1);
  });

  it("passes on the examples and the standard library", async () => {
    const r = await fmt("--check", join(root, "examples"), join(root, "std"));
    expect(r).toMatchObject({ code: 0, stdout: "", stderr: "" });
  });
});

describe("dlm fmt --stdout FILE and dlm fmt -", () => {
  it("--stdout prints the formatted text and leaves the file as it is", async () => {
    const ugly = file("ugly.dlm", UGLY);
    const r = await fmt("--stdout", ugly);
    expect(r).toMatchObject({ code: 0, stdout: PRETTY });
    expect(readFileSync(ugly, "utf8")).toBe(UGLY);
  });

  it("- reads standard input and writes standard output", async () => {
    let stdout = "";
    vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
    const code = await runFmt({ paths: ["-"], check: false, stdout: false, render: () => "", display: (p) => p, readStdin: () => UGLY });
    vi.restoreAllMocks();
    expect({ code, stdout }).toEqual({ code: 0, stdout: PRETTY });
  });

  it("- with a syntax error prints the error (at <stdin>:line:col) and nothing on standard output", async () => {
    let stdout = "";
    let stderr = "";
    vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
    vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
    const code = await runFmt({
      paths: ["-"],
      check: false,
      stdout: false,
      render: (d) => `${d.file}:${d.range.start.line}:${d.range.start.column}: ${d.message}`,
      display: (p) => p,
      readStdin: () => BROKEN,
    });
    vi.restoreAllMocks();
    expect({ code, stdout }).toEqual({ code: 1, stdout: "" });
    expect(stderr).toContain("<stdin>:2:19: expected ')'");
  });

  it("- through the real command line", () => {
    const r = spawnSync(process.execPath, [join(root, "bin", "dlm.js"), "fmt", "-"], { input: UGLY, encoding: "utf8", cwd: root });
    expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 0, stdout: PRETTY });
  });
});

describe("dlm fmt: bad command lines exit 2", () => {
  it.each([
    [[]],
    [["--check", "--stdout", "a.dlm"]],
    [["--stdout", "a.dlm", "b.dlm"]],
    [["-", "a.dlm"]],
    [["--check=yes", "a.dlm"]],
    [["--width", "80", "a.dlm"]],
  ])("dlm fmt %j", async (argv) => {
    const r = await fmt(...argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dlm: /);
  });
});
