// Mutation fuzzing of the whole checker (parse → elaborate → analyse) over the bundled
// examples: random deletions, insertions, duplications, swaps, truncations and digit changes must never make
// it throw, and every diagnostic must have a well-formed range inside its file.
// `npm run fuzz:long` runs many more cases.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkSource, summarizeSource } from "../../src/index.js";

const examplesDir = join(import.meta.dirname, "..", "..", "examples");
const sources = readdirSync(examplesDir)
  .filter((f) => f.endsWith(".dlm"))
  .sort()
  .map((f) => readFileSync(join(examplesDir, f), "utf8"));

const RUNS = Number(process.env.DLM_FUZZ_RUNS ?? 2000);
const SNIPPETS = [
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  ",",
  ":",
  "=",
  "|>",
  "@",
  "..",
  "0",
  "-1",
  "x",
  "B",
  "as",
  "for",
  "if",
  "input",
  "output",
  "state",
  "next",
  "f32[",
  "i64",
  "scan(",
  "linear(",
  "1e99",
  "99999999999",
  '"',
  "\n",
];

const mutation = fc.oneof(
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fc.constantFrom(...SNIPPETS) }),
  fc.record({ kind: fc.constant("duplicate" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 80 }) }),
  fc.record({ kind: fc.constant("digit" as const), at: fc.nat(), digit: fc.integer({ min: 0, max: 9 }) }),
  fc.record({ kind: fc.constant("swap" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(text: string, m: Mutation): string {
  const at = m.at % (text.length + 1);
  switch (m.kind) {
    case "delete":
      return text.slice(0, at) + text.slice(at + m.len);
    case "insert":
      return text.slice(0, at) + m.text + text.slice(at);
    case "duplicate":
      return text.slice(0, at) + text.slice(at, at + m.len) + text.slice(at);
    case "swap": {
      // exchange two adjacent pieces of text
      const mid = Math.min(at + m.len, text.length);
      const end = Math.min(mid + m.len, text.length);
      return text.slice(0, at) + text.slice(mid, end) + text.slice(at, mid) + text.slice(end);
    }
    case "truncate":
      return text.slice(0, at);
    case "digit": {
      const i = text.slice(at).search(/\d/);
      return i < 0 ? text : text.slice(0, at + i) + String(m.digit) + text.slice(at + i + 1);
    }
  }
}

describe("checker fuzz over mutated examples", () => {
  it("never throws and keeps every range inside the file", () => {
    fc.assert(
      fc.property(fc.nat({ max: sources.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), (which, ms) => {
        const text = ms.reduce(mutate, sources[which]!);
        const results = [checkSource(text, "fuzz.dlm"), summarizeSource(text, "fuzz.dlm")];
        for (const r of results)
          for (const d of r.diagnostics) {
            if (d.file !== "fuzz.dlm") continue;
            expect(d.code).toMatch(/^DLM[1-8]\d{3}$/); // an internal error (DLM9xxx) is a bug
            expect(d.range.start.offset).toBeGreaterThanOrEqual(0);
            expect(d.range.start.offset).toBeLessThanOrEqual(d.range.end.offset);
            expect(d.range.end.offset).toBeLessThanOrEqual(text.length);
          }
      }),
      { numRuns: RUNS, seed: Number(process.env.DLM_FUZZ_SEED ?? 20261130) },
    );
  });
});
