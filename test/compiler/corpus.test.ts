// The broken-program corpus (test/corpus/README.md): each file's header names the
// errors the checker must report and where. Exactly those errors, nothing else.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { check, renderDiagnostic } from "../../src/index.js";

const dir = join(import.meta.dirname, "..", "corpus");
const files = readdirSync(dir).filter((f) => f.endsWith(".dlm")).sort();

interface Expected {
  readonly code: string;
  readonly line: number;
  readonly column: number;
}

function expectations(text: string): Expected[] {
  return [...text.matchAll(/^\/\/ expect: (DLM\d{4}) (\d+):(\d+)$/gm)].map((m) => ({ code: m[1]!, line: Number(m[2]), column: Number(m[3]) }));
}

describe("broken-program corpus", () => {
  it("has at least 40 programs, each with an expectation", () => {
    expect(files.length).toBeGreaterThanOrEqual(40);
    for (const f of files) expect(expectations(readFileSync(join(dir, f), "utf8")), f).not.toEqual([]);
  });

  it.each(files)("%s", (file) => {
    const path = join(dir, file);
    const text = readFileSync(path, "utf8");
    const result = check(path);
    const errors = result.diagnostics.filter((d) => d.severity === "error" && d.file === path);
    const found = errors.map((d) => `${d.code} ${d.range.start.line}:${d.range.start.column}`);
    const wanted = expectations(text).map((e) => `${e.code} ${e.line}:${e.column}`);
    expect(found, errors.map((d) => renderDiagnostic(d, text)).join("\n")).toEqual(wanted);
    for (const d of result.diagnostics) {
      if (d.file !== path) continue;
      expect(d.range.start.offset).toBeLessThanOrEqual(d.range.end.offset);
      expect(d.range.end.offset).toBeLessThanOrEqual(text.length);
      expect(renderDiagnostic(d, text)).toContain(d.code);
    }
  });
});
