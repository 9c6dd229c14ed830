// The formatter (grammar/format.ts): on every example and std file it keeps the program
// (the AST, source ranges aside), keeps every comment in place, and is idempotent; on the
// broken-program corpus it leaves the text as it is or says why; and the layout rules,
// case by case.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatDlm, type FormatResult } from "../../grammar/format.js";
import { parseDlm } from "../../grammar/parse.js";
import { renderLines } from "../../grammar/layout.js";

const root = join(import.meta.dirname, "..", "..");
const dlmFiles = (dir: string): string[] =>
  readdirSync(join(root, dir))
    .filter((f) => f.endsWith(".dlm"))
    .map((f) => `${dir}/${f}`);
const sources = [...dlmFiles("examples"), ...dlmFiles("std")];
const corpus = [...dlmFiles("test/corpus"), ...dlmFiles("test/corpus/lib")];

function formatted(text: string, width?: number): string {
  const r = formatDlm(text, width === undefined ? {} : { printWidth: width });
  if (!r.ok) throw new Error(`${r.diagnostic.range.start.line}:${r.diagnostic.range.start.column}: ${r.diagnostic.message}`);
  return r.text;
}

/** The AST as JSON without source ranges (written here, independent of the formatter's own check). */
function astShape(text: string): string {
  const { ast, diagnostics } = parseDlm(text, "f.dlm");
  expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return JSON.stringify(ast, (key, value) => (key === "range" || key === "opRange" ? undefined : value));
}

/** Every comment, with whether code precedes it on its line: found line by line, strings blanked out. */
function commentsOf(text: string): { text: string; trailing: boolean }[] {
  const out: { text: string; trailing: boolean }[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/"(?:[^"\\]|\\.)*"/g, (s) => "_".repeat(s.length));
    const at = line.indexOf("//");
    if (at >= 0) out.push({ text: raw.slice(at).trimEnd(), trailing: line.slice(0, at).trim() !== "" });
  }
  return out;
}

describe("every example and std file", () => {
  it.each(sources)("%s: same program, same comments, idempotent, within 120 columns", (file) => {
    const text = readFileSync(join(root, file), "utf8");
    const once = formatted(text);
    expect(astShape(once)).toBe(astShape(text));
    expect(commentsOf(once)).toEqual(commentsOf(text));
    expect(formatted(once)).toBe(once);
    // code may pass the width only where nothing can break (trailing comments do not count)
    for (const line of once.split("\n")) {
      const code = line.replace(/\s*\/\/.*$/, "");
      if (code.length > 120) expect(code).not.toMatch(/, /);
    }
  });

  it("the checked-in files are formatted (run `dlm fmt examples std` after editing them)", () => {
    const unformatted = sources.filter((f) => {
      const text = readFileSync(join(root, f), "utf8");
      return formatted(text) !== text;
    });
    expect(unformatted).toEqual([]);
  });
});

describe("the broken-program corpus", () => {
  it.each(corpus)("%s is left unchanged, or the first syntax error is reported", (file) => {
    const text = readFileSync(join(root, file), "utf8");
    const r = formatDlm(text, { file });
    if (r.ok) {
      expect(r.text).toBe(text);
      return;
    }
    expect(r.diagnostic.code).toMatch(/^DLM1\d{3}$/);
    // the corpus header names the expected first error: the formatter reports that one
    const expected = /expect: (DLM1\d{3}) (\d+):(\d+)/.exec(text);
    expect(expected).not.toBeNull();
    expect([r.diagnostic.code, r.diagnostic.range.start.line, r.diagnostic.range.start.column]).toEqual([
      expected![1],
      Number(expected![2]),
      Number(expected![3]),
    ]);
  });
});

describe("layout", () => {
  const cases: [string, string, string][] = [
    [
      "spacing, one statement per line, `;` and trailing commas dropped",
      "model M(a:int=1,b:list[int]=[1,2,],) { input x:f32[B,4] ; y=x*2+-a ; z = not(a==b); output y }\n",
      "model M(a: int = 1, b: list[int] = [1, 2]) {\n  input x: f32[B, 4]\n  y = x * 2 + -a\n  z = not (a == b)\n  output y\n}\n",
    ],
    [
      "parentheses kept as written, a doubled pair becomes one; 1-tuples keep their comma",
      "model M { input x: f32[B]\n y = ((x + 1)) * (2)\n t = (x,)\n u = ()\n output y }\n",
      "model M {\n  input x: f32[B]\n  y = (x + 1) * (2)\n  t = (x,)\n  u = ()\n  output y\n}\n",
    ],
    [
      "ranges, slices, members, `as` names, comprehensions, ** and annotations",
      "model M { input x: f32[B, T, 8]\n @frozen layer l = linear( 8 )\n y = x[ : , -1 , 0:2 ] |> [ Blk(2**i) as b[ i ] for i in 0 .. 3 if i!=1 ] |> l.weight\n output y }\n",
      "model M {\n  input x: f32[B, T, 8]\n  @frozen layer l = linear(8)\n  y = x[:, -1, 0:2] |> [Blk(2 ** i) as b[i] for i in 0..3 if i != 1] |> l.weight\n  output y\n}\n",
    ],
    [
      "blank lines: runs become one, none at the start or end of a body",
      '\n\nimport "std/vision"\n\n\n\nmodel M {\n\n  input x: f32[B]\n\n\n  output y = x\n\n}\n\n\n',
      'import "std/vision"\n\nmodel M {\n  input x: f32[B]\n\n  output y = x\n}\n',
    ],
    [
      "pipes keep their authors' breaks; continuation aligned under the first |>",
      "model M { input x: f32[B]\n  y = x|>relu |>relu\n       |> tanh\n  output y }\n",
      "model M {\n  input x: f32[B]\n  y = x |> relu |> relu\n        |> tanh\n  output y\n}\n",
    ],
    [
      "pipes whose first line holds only the head indent their stages two columns",
      "model M { input x: f32[B]\n  y = x\n        |> relu |> relu\n   |> tanh\n  output y }\n",
      "model M {\n  input x: f32[B]\n  y = x\n    |> relu |> relu\n    |> tanh\n  output y\n}\n",
    ],
    [
      "an indented (not aligned) continuation stays indented",
      "model M { input x: f32[B]\n  y = x |> relu |> relu\n      |> tanh\n  output y }\n",
      "model M {\n  input x: f32[B]\n  y = x |> relu |> relu\n    |> tanh\n  output y\n}\n",
    ],
    [
      "a continuation that starts with a block comment aligns by where its line starts, comment included",
      // the indented output puts `|>` in the first one's column (15), which must not make it aligned the second time
      "model M { input x: f32[B]\n  features = x |> relu |> relu\n                 /* note */ |> tanh\n  output features }\n",
      "model M {\n  input x: f32[B]\n  features = x |> relu |> relu\n    /* note */ |> tanh\n  output features\n}\n",
    ],
    [
      "if-expressions: flat when they fit and were written flat, otherwise every branch broken",
      "model M(a: int = 1) { input x: f32[B]\n  y = if a == 1 { x } else { x * 2 }\n  z = if a == 1 {\n x } else if a == 2 { h = x * 2; h } else { x }\n  output y }\n",
      "model M(a: int = 1) {\n  input x: f32[B]\n  y = if a == 1 { x } else { x * 2 }\n  z = if a == 1 {\n    x\n  } else if a == 2 {\n    h = x * 2\n    h\n  } else {\n    x\n  }\n  output y\n}\n",
    ],
    [
      "train sections and phases",
      "train M { batch=64; phase d { loss = a ; steps = 1 } phase g { loss = b } }\n",
      "train M {\n  batch = 64\n  phase d {\n    loss = a\n    steps = 1\n  }\n  phase g {\n    loss = b\n  }\n}\n",
    ],
    ["an empty body", "block B(){}\n", "block B() {}\n"],
    ["an empty file", "\n\n  \n", ""],
  ];
  it.each(cases)("%s", (_, input, expected) => {
    expect(formatted(input)).toBe(expected);
    expect(formatted(expected)).toBe(expected);
  });

  it("long argument lists fill each line and continue aligned after the opening parenthesis", () => {
    const input = `model M(classes: int = 10, hidden: int = 256, layers: int = 3, dropout_rate: float = 0.1, activation: str = "gelu") {\n  output y = f(x)\n}\n`;
    expect(formatted(input, 80)).toBe(
      `model M(classes: int = 10, hidden: int = 256, layers: int = 3,\n        dropout_rate: float = 0.1, activation: str = "gelu") {\n  output y = f(x)\n}\n`,
    );
  });

  it("a pipe too long for its line breaks before a stage, and keeps the break afterwards", () => {
    const input = "model M { input x: f32[B]\n  y = x |> conv2d(8, 3) |> relu |> conv2d(16, 3) |> relu |> maxpool2d(2)\n  output y }\n";
    const out = formatted(input, 50);
    expect(out).toBe(
      "model M {\n  input x: f32[B]\n  y = x |> conv2d(8, 3) |> relu |> conv2d(16, 3)\n        |> relu |> maxpool2d(2)\n  output y\n}\n",
    );
    expect(formatted(out, 50)).toBe(out);
  });

  it("a long chain of operators wraps before an operator, aligned with its first operand", () => {
    const input = `model M { input x: f32[B]\n  y = ${Array(30).fill("x").join(" + ")}\n  output y }\n`;
    const out = formatted(input, 40);
    expect(out.split("\n")[2]).toBe("  y = x + x + x + x + x + x + x + x + x");
    expect(out.split("\n")[3]).toBe("      + x + x + x + x + x + x + x + x");
  });

  it("a one-line if that no longer fits is broken", () => {
    const input = "model M(a: int = 1) { output y = if a == 1 { relu(x) } else if a == 2 { tanh(x) } else { x } }\n";
    expect(formatted(input, 40)).toBe(
      "model M(a: int = 1) {\n  output y = if a == 1 {\n    relu(x)\n  } else if a == 2 {\n    tanh(x)\n  } else {\n    x\n  }\n}\n",
    );
  });

  it("deeply nested and very long expressions format without overflowing the stack", () => {
    const deep = `model M { input x: f32[B]\n  y = ${"(".repeat(150)}x${")".repeat(150)} + ${"f(".repeat(150)}x${")".repeat(150)}\n  z = ${Array(1400).fill("x").join(" ** ")}\n  output y }\n`;
    const out = formatted(deep);
    expect(astShape(out)).toBe(astShape(deep));
    expect(formatted(out)).toBe(out);
  });

  it("keeps CRLF line endings and a byte-order mark", () => {
    const text = "\uFEFF// c\r\nmodel M {\r\n  input x: f32[B]   // t\r\n  output y = x\r\n}\r\n";
    expect(formatted(text)).toBe(text);
    expect(formatted("\uFEFFmodel M {\r\n output y = x }")).toBe("\uFEFFmodel M {\r\n  output y = x\r\n}\r\n");
  });
});

describe("comments", () => {
  it("stay in place: own-line, trailing, doc, block, inline and before a closing brace", () => {
    const input = [
      "// header",
      "",
      "",
      'import "std/vision"   // why',
      "/// doc",
      "@inline",
      "block A(n: int = 1,) { // after the brace",
      "  /* before */ h = f(a, /* inline */ b) // t1",
      "  // own line",
      "",
      "  // after a blank line",
      "  g = f(a, // in the arguments",
      "        b)",
      "  v = x",
      "    // inside a pipe",
      "    |> relu  // t2",
      "  output h",
      "  // before the brace",
      "}",
      "/* a block",
      "   comment */",
      "",
    ].join("\n");
    const expected = [
      "// header",
      "",
      'import "std/vision"   // why',
      "/// doc",
      "@inline",
      "block A(n: int = 1) {  // after the brace",
      "  /* before */ h = f(a, /* inline */ b)  // t1",
      "  // own line",
      "",
      "  // after a blank line",
      "  g = f(a,  // in the arguments",
      "        b)",
      "  v = x",
      "    // inside a pipe",
      "    |> relu  // t2",
      "  output h",
      "  // before the brace",
      "}",
      "/* a block",
      "   comment */",
      "",
    ].join("\n");
    expect(formatted(input)).toBe(expected);
    expect(formatted(expected)).toBe(expected);
  });

  it("a trailing comment keeps its column when the code leaves room; an aligned column moves as one", () => {
    const input = [
      "model M {",
      "  input x: f32[B]   // kept at its column",
      "  a = x         // aligned",
      "  b=relu(x)*2   // aligned",
      "  d = x",
      "  c = x         // not adjacent: stays",
      "  output y = x // too close",
      "}",
      "",
    ].join("\n");
    const expected = [
      "model M {",
      "  input x: f32[B]   // kept at its column",
      "  a = x            // aligned",
      "  b = relu(x) * 2  // aligned",
      "  d = x",
      "  c = x         // not adjacent: stays",
      "  output y = x  // too close",
      "}",
      "",
    ].join("\n");
    expect(formatted(input)).toBe(expected);
    expect(formatted(expected)).toBe(expected);
  });

  it("renderLines: a group of comments that asked for one column moves together", () => {
    const lines = renderLines([
      { text: "a = 1", comment: { text: "// one", column: 8 } },
      { text: "long_name = 2", comment: { text: "// two", column: 8 } },
      { text: "b = 3", comment: { text: "// three", column: 30 } },
      { text: "}" },
    ]);
    expect(lines).toEqual(["a = 1          // one", "long_name = 2  // two", "b = 3                         // three", "}"]);
  });
});

describe("files it does not change", () => {
  it("reports the first syntax error with its position and changes nothing", () => {
    const r: FormatResult = formatDlm("model M {\n  h = linear(x, 8 kernel: 3)\n  y = (\n}\n", { file: "bad.dlm" });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.diagnostic).toMatchObject({ code: "DLM1004", file: "bad.dlm", range: { start: { line: 2, column: 19 } } });
  });

  it("leaves `y = a @b` alone: formatting would move the annotation and hide the likely missing space", () => {
    const r = formatDlm("model M {\n  input a: f32[B, B]\n  y = a @b\n  output z = y\n}\n");
    expect(r).toMatchObject({ ok: false, diagnostic: { code: "DLM1012", range: { start: { line: 3, column: 9 } } } });
  });

  it("keeps annotations on their own lines or inline, as written, and the annotations of an import", () => {
    const text = '@foo(1) import "./x.dlm"\n@inline\nblock B() {\n  @frozen layer l = linear(4)\n  @checkpoint\n  output y = l(x)\n}\n';
    expect(formatted(text)).toBe(text);
  });

  it("refuses input that is not source text", () => {
    const r = formatDlm("model M {}\0\0\0");
    expect(r.ok).toBe(false);
  });
});
