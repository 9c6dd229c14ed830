// Token-level mutation fuzzing of the parser: delete, duplicate, swap, replace and insert
// tokens of the sketch, and check that parseDlm never throws and that every diagnostic
// and every AST node has a well-formed range inside the text.
// `DLM_FUZZ_RUNS=20000 npx vitest run test/grammar/fuzz` runs longer.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SourceRange } from "../../grammar/ast.js";
import { parseDlm } from "../../grammar/parse.js";
import { SKETCH } from "./fixtures.js";
import { allRanged } from "./helpers.js";

const TOKEN_RE = /\s+|\/\/[^\n]*|"(?:[^"\\\n]|\\.)*"|\d[\w.]*|[A-Za-z_]\w*|@\w+|\|>|\.\.|\*\*|==|!=|<=|>=|[\s\S]/g;

const pieces = SKETCH.match(TOKEN_RE)!;
/** indices of the pieces that are tokens (not whitespace) */
const tokenIdx = pieces.flatMap((p, i) => (/^\s+$/.test(p) ? [] : [i]));

const POOL = [
  ...new Set(tokenIdx.map((i) => pieces[i]!)),
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  ",",
  ":",
  "=",
  "@",
  "@x",
  "|>",
  "..",
  "**",
  "-",
  "not",
  "if",
  "else",
  "for",
  "in",
  "as",
  "phase",
  "output",
  "input",
  "$",
  "#",
  '"',
  '"unterminated',
  "/*",
  "*/",
  "///",
  "\\",
  "\r",
  "\r\n",
  "\uFEFF",
  "0x",
  "1e",
  "12abc",
  "日本",
  "\u2028",
  "\x07",
  ";",
  "_",
  "none",
  "true",
];

type Mutation =
  | { op: "delete"; at: number }
  | { op: "duplicate"; at: number }
  | { op: "swap"; at: number }
  | { op: "replace"; at: number; with: string }
  | { op: "insert"; at: number; with: string };

const at = fc.nat({ max: tokenIdx.length - 1 });
const token = fc.constantFrom(...POOL);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("delete" as const), at }),
  fc.record({ op: fc.constant("duplicate" as const), at }),
  fc.record({ op: fc.constant("swap" as const), at }),
  fc.record({ op: fc.constant("replace" as const), at, with: token }),
  fc.record({ op: fc.constant("insert" as const), at, with: token }),
);

function mutate(mutations: readonly Mutation[]): string {
  const out = [...pieces];
  for (const m of mutations) {
    const i = tokenIdx[m.at]!;
    const next = tokenIdx[Math.min(m.at + 1, tokenIdx.length - 1)]!;
    switch (m.op) {
      case "delete":
        out[i] = "";
        break;
      case "duplicate":
        out[i] = `${out[i]} ${out[i]}`;
        break;
      case "swap":
        [out[i], out[next]] = [out[next]!, out[i]!];
        break;
      case "replace":
        out[i] = m.with;
        break;
      case "insert":
        out[i] = `${m.with} ${out[i]}`;
        break;
    }
  }
  return out.join("");
}

/** line/column of every offset, from a line-start table (LF, CRLF, CR; a BOM is not a column). */
function positions(text: string): (offset: number) => { line: number; column: number } {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\n" || (c === "\r" && text[i + 1] !== "\n")) starts.push(i + 1);
  }
  const bom = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    const column = offset - starts[lo]! + 1 - (lo === 0 && offset > 0 ? bom : 0);
    return { line: lo + 1, column };
  };
}

function checkRange(text: string, pos: ReturnType<typeof positions>, r: SourceRange, what: string): void {
  const ok =
    Number.isInteger(r.start.offset) &&
    Number.isInteger(r.end.offset) &&
    r.start.offset >= 0 &&
    r.start.offset <= r.end.offset &&
    r.end.offset <= text.length;
  if (!ok) throw new Error(`${what}: bad range ${JSON.stringify(r)} in a text of ${text.length}`);
  for (const p of [r.start, r.end]) {
    const expected = pos(p.offset);
    if (p.line !== expected.line || p.column !== expected.column) {
      throw new Error(`${what}: offset ${p.offset} is at ${expected.line}:${expected.column}, not ${p.line}:${p.column}`);
    }
  }
}

describe("fuzzing", () => {
  it("never throws and keeps every range inside the text", () => {
    const runs = Number(process.env["DLM_FUZZ_RUNS"] ?? 2000);
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
        const text = mutate(mutations);
        const { ast, diagnostics } = parseDlm(text, "fuzz.dlm");
        const pos = positions(text);
        for (const d of diagnostics) {
          checkRange(text, pos, d.range, `diagnostic ${d.code}`);
          expect(d.code).not.toBe("DLM9001");
        }
        for (const node of allRanged(ast)) checkRange(text, pos, node.range, node.kind ?? "node");
      }),
      { numRuns: runs },
    );
  });

  it("reports the unmutated sketch clean", () => {
    expect(mutate([])).toBe(SKETCH);
    expect(parseDlm(SKETCH, "s.dlm").diagnostics).toEqual([]);
  });
});
