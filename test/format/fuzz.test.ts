// Fuzzing the formatter. Layout mutations (spaces, line breaks, blank lines and comments
// inserted between the tokens of the examples and std files) change nothing a program
// means, so the formatter must accept every such file, keep its AST and comments, and be
// idempotent on it. Token mutations (deleted, repeated or swapped tokens) make other
// programs: whenever one still parses, the formatter must format it (never fail inside)
// and be idempotent. `DLM_FUZZ_RUNS=2000 npx vitest run test/format/fuzz` runs longer.

import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatDlm } from "../../grammar/format.js";
import { parseDlm } from "../../grammar/parse.js";
import { dlmLexer } from "../../grammar/tokens.js";

const root = join(import.meta.dirname, "..", "..");
const files = ["examples", "std"].flatMap((dir) =>
  readdirSync(join(root, dir))
    .filter((f) => f.endsWith(".dlm"))
    .map((f) => readFileSync(join(root, dir, f), "utf8")),
);
const RUNS = Number(process.env.DLM_FUZZ_RUNS ?? 150);

const TRIVIA = ["", " ", "   ", "\n", "\n\n\n", "\t", "// note\n", " /* note */ ", "\n/* two\n lines */\n", "/// doc\n"];

function astShape(text: string): string {
  return JSON.stringify(parseDlm(text, "f.dlm").ast, (k, v) => (k === "range" || k === "opRange" ? undefined : v));
}

describe("the formatter under layout mutations", () => {
  it("accepts every mutant, keeps its program and comments, and is idempotent", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: files.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom(...TRIVIA)), { minLength: 1, maxLength: 12 }),
        (fileIndex, inserts) => {
          const text = files[fileIndex]!;
          const starts = dlmLexer.tokenize(text).tokens.map((t) => t.startOffset);
          // doc comments attach to the declaration that follows; elsewhere they are plain comments
          const at = [...new Map(inserts.map(([n, s]) => [starts[n % starts.length]!, s])).entries()].sort((a, b) => b[0] - a[0]);
          let mutant = text;
          for (const [offset, s] of at) mutant = mutant.slice(0, offset) + s + mutant.slice(offset);
          const r = formatDlm(mutant);
          if (!r.ok) throw new Error(`${r.diagnostic.code} ${r.diagnostic.message}\n--- input ---\n${mutant}`);
          expect(astShape(r.text)).toBe(astShape(mutant));
          const again = formatDlm(r.text);
          expect(again.ok && again.text).toBe(r.text);
        },
      ),
      { numRuns: RUNS, seed: Number(process.env.DLM_FUZZ_SEED ?? 7) },
    );
  });

  it("formats every token mutant that parses, idempotently", () => {
    let parsed = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: files.length - 1 }),
        fc.array(fc.tuple(fc.constantFrom("delete", "repeat", "swap"), fc.nat()), { minLength: 1, maxLength: 2 }),
        (fileIndex, edits) => {
          let text = files[fileIndex]!;
          for (const [edit, n] of edits) {
            const tokens = dlmLexer.tokenize(text).tokens;
            const t = tokens[n % tokens.length]!;
            const u = tokens[(n % tokens.length) + 1];
            const end = t.startOffset + t.image.length;
            if (edit === "delete") text = text.slice(0, t.startOffset) + text.slice(end);
            else if (edit === "repeat") text = text.slice(0, end) + " " + t.image + text.slice(end);
            else if (u)
              text =
                text.slice(0, t.startOffset) +
                u.image +
                text.slice(end, u.startOffset) +
                t.image +
                text.slice(u.startOffset + u.image.length);
          }
          const r = formatDlm(text);
          if (!r.ok) {
            expect(r.diagnostic.code, r.diagnostic.message).not.toBe("DLM9001");
            return;
          }
          parsed++;
          const again = formatDlm(r.text);
          expect(again.ok && again.text).toBe(r.text);
        },
      ),
      { numRuns: RUNS, seed: Number(process.env.DLM_FUZZ_SEED ?? 7) },
    );
    expect(parsed).toBeGreaterThan(RUNS / 50); // enough of them parse for the property to mean something
  });
});
