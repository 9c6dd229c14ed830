// The editor files in grammar/: the TextMate grammar, run by the same tokenizer VS Code
// uses (vscode-textmate over the Oniguruma regex engine), and the language configuration.

import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import vsctm from "vscode-textmate";
import oniguruma from "vscode-oniguruma";

const root = join(import.meta.dirname, "..", "..");
const grammarPath = join(root, "grammar", "dlm.tmLanguage.json");
const configPath = join(root, "grammar", "language-configuration.json");

let grammar: vsctm.IGrammar;

beforeAll(async () => {
  const wasm = readFileSync(createRequire(import.meta.url).resolve("vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns: string[]) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s: string) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scope: string) =>
      scope === "source.dlm" ? vsctm.parseRawGrammar(readFileSync(grammarPath, "utf8"), grammarPath) : null,
  });
  const loaded = await registry.loadGrammar("source.dlm");
  if (!loaded) throw new Error("the grammar did not load");
  grammar = loaded;
});

/** Each token of `text` (lines tokenized in order, state carried across) with its innermost scope. */
function tokenize(text: string): { text: string; scope: string }[] {
  const out: { text: string; scope: string }[] = [];
  let state = vsctm.INITIAL;
  for (const line of text.split("\n")) {
    const r = grammar.tokenizeLine(line, state);
    for (const t of r.tokens) {
      const piece = line.slice(t.startIndex, t.endIndex);
      if (piece.trim() !== "") out.push({ text: piece.trim(), scope: t.scopes[t.scopes.length - 1]! });
    }
    state = r.ruleStack;
  }
  return out;
}

function scopeOf(text: string, piece: string): string | undefined {
  return tokenize(text).find((t) => t.text === piece)?.scope;
}

describe("the TextMate grammar", () => {
  it("is valid JSON with the source.dlm scope", () => {
    const g = JSON.parse(readFileSync(grammarPath, "utf8"));
    expect(g.scopeName).toBe("source.dlm");
    expect(g.fileTypes).toEqual(["dlm"]);
  });

  it.each([
    ["/// shown on hover", "/// shown on hover", "comment.line.documentation.dlm"],
    ["x = 1 // why", "// why", "comment.line.double-slash.dlm"],
    ["model LeNet(classes: int = 10) {", "model", "keyword.declaration.dlm"],
    ["model LeNet(classes: int = 10) {", "LeNet", "entity.name.type.dlm"],
    ["model LeNet(classes: int = 10) {", "classes", "variable.parameter.dlm"],
    ["model LeNet(classes: int = 10) {", "int", "support.type.primitive.dlm"],
    ["model LeNet(classes: int = 10) {", "10", "constant.numeric.dlm"],
    ["train LeNet {", "LeNet", "entity.name.type.dlm"],
    ["  phase generator {", "generator", "entity.name.section.dlm"],
    ["  input x: f32[B, 3, H / 2, _]", "input", "keyword.other.statement.dlm"],
    ["  input x: f32[B, 3, H / 2, _]", "f32", "support.type.dtype.dlm"],
    ["  input x: f32[B, 3, H / 2, _]", "B", "variable.other.dimension.dlm"],
    ["  input x: f32[B, 3, H / 2, _]", "_", "keyword.other.wildcard.dlm"],
    ["  y = x |> conv2d(6, kernel: 5) |> relu", "|>", "keyword.operator.pipe.dlm"],
    ["  y = x |> conv2d(6, kernel: 5) |> relu", "conv2d", "entity.name.function.call.dlm"],
    ["  y = x |> conv2d(6, kernel: 5) |> relu", "kernel", "variable.parameter.dlm"],
    ["  h = cast(x, i64) @ w", "i64", "support.type.dtype.dlm"],
    ["  h = cast(x, i64) @ w", "@", "keyword.operator.matmul.dlm"],
    ["  @frozen layer t = Tower(64)", "@frozen", "storage.type.annotation.dlm"],
    ["  @frozen layer t = Tower(64)", "layer", "keyword.other.statement.dlm"],
    ["  for i in 0..n {", "for", "keyword.control.dlm"],
    ["  for i in 0..n {", "..", "keyword.operator.range.dlm"],
    ["  for i in 0..n {", "0", "constant.numeric.dlm"],
    ["  a = 1e-3 + 50_257 + 2.5E+4", "1e-3", "constant.numeric.dlm"],
    ["  a = 1e-3 + 50_257 + 2.5E+4", "50_257", "constant.numeric.dlm"],
    ["  a = 1e-3 + 50_257 + 2.5E+4", "2.5E+4", "constant.numeric.dlm"],
    ["  a = 0x1F", "0x1F", "constant.numeric.hex.dlm"],
    ["  b = not c and true or none", "not", "keyword.operator.logical.dlm"],
    ["  b = not c and true or none", "true", "constant.language.boolean.dlm"],
    ["  b = not c and true or none", "none", "constant.language.none.dlm"],
    ["  b = a ** 2 != c", "**", "keyword.operator.arithmetic.dlm"],
    ["  b = a ** 2 != c", "!=", "keyword.operator.comparison.dlm"],
    ['import "std/vision" as v', "import", "keyword.control.import.dlm"],
    ['import "std/vision" as v', "as", "keyword.control.import.dlm"],
    ['  s = "tab\\t done"', "\\t", "constant.character.escape.dlm"],
    ['  s = "bad \\q"', "\\q", "invalid.illegal.escape.dlm"],
    ["  f(input: x)", "input", "variable.parameter.dlm"],
  ])("%s: %s is %s", (line, piece, scope) => {
    expect(scopeOf(line, piece)).toBe(scope);
  });

  it("a block comment spans lines; code after it is code again", () => {
    const tokens = tokenize("/* one\n   two */ x = 1");
    expect(tokens.find((t) => t.text === "two")?.scope).toBe("comment.block.dlm");
    expect(tokens.find((t) => t.text === "1")?.scope).toBe("constant.numeric.dlm");
  });

  it("an unterminated string ends at the end of its line", () => {
    expect(scopeOf('s = "open\ny = 2', "2")).toBe("constant.numeric.dlm");
  });

  it("tokenizes every example and std file; every comment line is a comment and every string a string", () => {
    const dirs = ["examples", "std"];
    for (const dir of dirs) {
      for (const f of readdirSync(join(root, dir)).filter((n) => n.endsWith(".dlm"))) {
        const text = readFileSync(join(root, dir, f), "utf8");
        let state = vsctm.INITIAL;
        for (const line of text.split("\n")) {
          const r = grammar.tokenizeLine(line, state);
          state = r.ruleStack;
          const comment = line.indexOf("//");
          if (comment >= 0 && !line.slice(0, comment).includes('"')) {
            const t = r.tokens.find((k) => k.startIndex <= comment && comment < k.endIndex)!;
            expect(t.scopes.join(" "), `${f}: ${line}`).toMatch(/comment\.line/);
          }
          const quote = line.indexOf('"');
          if (quote >= 0 && (comment < 0 || quote < comment)) {
            const t = r.tokens.find((k) => k.startIndex <= quote && quote < k.endIndex)!;
            expect(t.scopes.join(" "), `${f}: ${line}`).toMatch(/string\.quoted/);
          }
        }
      }
    }
  });
});

describe("the language configuration", () => {
  const config = JSON.parse(readFileSync(configPath, "utf8"));

  it("names the comment tokens, brackets, auto-closing and surrounding pairs", () => {
    expect(config.comments).toEqual({ lineComment: "//", blockComment: ["/*", "*/"] });
    expect(config.brackets).toEqual([
      ["{", "}"],
      ["[", "]"],
      ["(", ")"],
    ]);
    expect(config.autoClosingPairs.map((p: { open: string }) => p.open)).toEqual(["{", "[", "(", '"', "/*"]);
    expect(config.surroundingPairs.length).toBeGreaterThan(0);
  });

  it("indents after an opening bracket and outdents at a closing one", () => {
    const increase = new RegExp(config.indentationRules.increaseIndentPattern);
    const decrease = new RegExp(config.indentationRules.decreaseIndentPattern);
    expect(increase.test("model M(classes: int = 10) {")).toBe(true);
    expect(increase.test("  y = f(   // arguments below")).toBe(true);
    expect(increase.test("  y = f(a)")).toBe(false);
    expect(decrease.test("  }")).toBe(true);
    expect(decrease.test("  } else {")).toBe(true);
    expect(decrease.test("  y = x")).toBe(false);
  });

  it("continues a doc comment on Enter, and its word pattern matches names and numbers", () => {
    const rule = config.onEnterRules.find((r: { action: { appendText?: string } }) => r.action.appendText === "/// ");
    expect(new RegExp(rule.beforeText).test("  /// a doc comment")).toBe(true);
    const word = new RegExp(`^(?:${config.wordPattern})$`);
    for (const w of ["d_model", "x2", "1e-3", "50_257", "0.5"]) expect(word.test(w), w).toBe(true);
  });
});
