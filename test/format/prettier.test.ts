// The prettier plugin: through prettier's API it gives exactly `dlm fmt`'s result, reports
// syntax errors with their position, and is what the project's prettier configuration
// loads (src/prettier-plugin.mjs) for examples/ and std/ but not the corpus.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as prettier from "prettier";
import { describe, expect, it } from "vitest";
import plugin from "../../src/prettier-plugin.js";
import { formatDlm } from "../../grammar/format.js";

const root = join(import.meta.dirname, "..", "..");
const UGLY = "model M{input x:f32[B,4];output y=relu(x)}\n";
const PRETTY = "model M {\n  input x: f32[B, 4]\n  output y = relu(x)\n}\n";

describe("the prettier plugin", () => {
  it("formats with parser: dlm exactly as formatDlm does", async () => {
    expect(await prettier.format(UGLY, { parser: "dlm", plugins: [plugin] })).toBe(PRETTY);
    const text = readFileSync(join(root, "std", "transformer.dlm"), "utf8");
    const ours = formatDlm(text);
    expect(ours.ok && (await prettier.format(text, { parser: "dlm", plugins: [plugin] }))).toBe(ours.ok && ours.text);
  });

  it("is chosen for .dlm files by their extension", async () => {
    expect(await prettier.format(UGLY, { filepath: "model.dlm", plugins: [plugin] })).toBe(PRETTY);
  });

  it("keeps the one layout whatever printWidth prettier is given", async () => {
    const long = `model M(a: int = 1, b: int = 2, c: int = 3, d: int = 4, e: int = 5) {\n  output y = f(x)\n}\n`;
    expect(await prettier.format(long, { parser: "dlm", plugins: [plugin], printWidth: 40 })).toBe(long);
  });

  it("rejects a file with a syntax error, naming the error and its position", async () => {
    const broken = "model M {\n  h = linear(x, 8 kernel: 3)\n}\n";
    await expect(prettier.format(broken, { parser: "dlm", plugins: [plugin] })).rejects.toMatchObject({
      message: expect.stringContaining("expected ')', found 'kernel' (DLM1004)"),
      loc: { start: { line: 2, column: 19 } },
    });
  });

  it("is loaded by the project's prettier configuration: examples/ and std/ pass, the corpus is not checked", () => {
    const bin = join(root, "node_modules", "prettier", "bin", "prettier.cjs");
    const check = spawnSync(process.execPath, [bin, "--check", "examples", "std", "test/corpus"], { cwd: root, encoding: "utf8" });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const viaStdin = spawnSync(process.execPath, [bin, "--stdin-filepath", "examples/new.dlm"], {
      cwd: root,
      input: UGLY,
      encoding: "utf8",
    });
    expect({ status: viaStdin.status, stdout: viaStdin.stdout }).toEqual({ status: 0, stdout: PRETTY });
  });
});
