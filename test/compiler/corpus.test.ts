// The broken-program corpus (test/corpus/README.md): each file's header names the
// errors the checker must report and where. Exactly those errors, nothing else.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { check, renderDiagnostic } from "../../src/index.js";

const dir = join(import.meta.dirname, "..", "corpus");
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".dlm"))
  .sort();

/** `// expect: CODE [FILE] LINE:COL`, FILE relative to the corpus folder (default: this file) */
function expectations(text: string, file: string): string[] {
  return [...text.matchAll(/^\/\/ expect: (DLM\d{4}) (?:(\S+) )?(\d+):(\d+)$/gm)].map(
    (m) => `${m[1]} ${join(dir, m[2] ?? file)}:${m[3]}:${m[4]}`,
  );
}

describe("broken-program corpus", () => {
  it("has at least 40 programs, each with an expectation", () => {
    expect(files.length).toBeGreaterThanOrEqual(40);
    for (const f of files) expect(expectations(readFileSync(join(dir, f), "utf8"), f), f).not.toEqual([]);
  });

  it.each(files)("%s", (file) => {
    const path = join(dir, file);
    const text = readFileSync(path, "utf8");
    const result = check(path);
    const errors = result.diagnostics.filter((d) => d.severity === "error");
    const found = errors.map((d) => `${d.code} ${d.file}:${d.range.start.line}:${d.range.start.column}`);
    const wanted = expectations(text, file);
    expect(found, errors.map((d) => renderDiagnostic(d, text)).join("\n")).toEqual(wanted);
    for (const d of result.diagnostics) {
      if (d.file !== path) continue;
      expect(d.range.start.offset).toBeLessThanOrEqual(d.range.end.offset);
      expect(d.range.end.offset).toBeLessThanOrEqual(text.length);
      expect(renderDiagnostic(d, text)).toContain(d.code);
    }
  });
});
