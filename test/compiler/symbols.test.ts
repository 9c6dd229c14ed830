// The symbol binder: which definition each use of a name refers to, under the
// elaborator's scoping rules, written as `use line:col → definition line:col`.

import { describe, expect, it } from "vitest";
import { loadProgram } from "../../compiler/program.js";
import { bindSymbols, visibleSymbols, type SymbolIndex } from "../../compiler/symbols.js";
import { createMemoryHost, loadStdFiles } from "../../src/host.js";

function bind(text: string, files: Record<string, string> = {}): SymbolIndex {
  const all = new Map(Object.entries({ ...files, "main.dlm": text }));
  return bindSymbols(loadProgram("main.dlm", createMemoryHost(all, loadStdFiles())), "main.dlm");
}

/** Every reference of `name` as `line:col → line:col` (the definition's file when not main.dlm). */
function uses(index: SymbolIndex, name: string): string[] {
  return index.references
    .filter((r) => r.target.name === name)
    .map((r) => {
      const d = r.target;
      const where = d.file === "main.dlm" ? "" : `${d.file} `;
      return `${r.range.start.line}:${r.range.start.column} → ${where}${d.range.start.line}:${d.range.start.column}${r.role ? ` (${r.role})` : ""}`;
    });
}

function kinds(index: SymbolIndex): string[] {
  return index.definitions.map((d) => `${d.kind} ${d.name}${d.container ? ` in ${d.container.name}` : ""}`);
}

describe("bindSymbols", () => {
  it("binds unknown names in input types and ascriptions as dims; later mentions use them", () => {
    const index = bind(`block B(out: int) {
  input x: f32[N, C], y: f32[N, out]
  z: f32[N, K] = linear(x, out)
  output z
}`);
    expect(kinds(index)).toEqual([
      "block B",
      "hyperparameter out in B",
      "input x in B",
      "dim N in B",
      "dim C in B",
      "input y in B",
      "binding z in B",
      "dim K in B",
    ]);
    expect(uses(index, "N")).toEqual(["2:30 → 2:16", "3:10 → 2:16"]);
    expect(uses(index, "out")).toEqual(["2:33 → 1:9", "3:28 → 1:9"]);
  });

  it("a for loop reassigns in its enclosing scope; comprehension and branch names stay inside", () => {
    const index = bind(`model M(n: int = 3) {
  input x: f32[B, 8]
  h = x
  for i in 0..n {
    h = relu(h)
  }
  ys = [linear(h, 8) for j in 0..i]
  z = if n > 1 { t = h
    t } else { h }
  output z
}`);
    expect(uses(index, "h")).toEqual(["5:5 → 3:3 (assignment)", "5:14 → 3:3", "7:16 → 3:3", "8:22 → 3:3", "9:16 → 3:3"]);
    // the loop variable stays visible after the loop, as in the elaborator
    expect(uses(index, "i")).toEqual(["7:34 → 4:7"]);
    expect(uses(index, "t")).toEqual(["9:5 → 8:18"]);
    expect(visibleSymbols(index, index.definitions.find((d) => d.name === "z")!.range.start.offset).map((d) => d.name)).not.toContain("t");
  });

  it("named arguments of a block call refer to its hyperparameters, also across files", () => {
    const index = bind(
      `import "./lib.dlm"
import "std/vision" as v
model M() {
  input x: f32[B, 4]
  y = Dense(x, width: 2)
  output z = v.BasicBlock(y, out: 4)
}`,
      { "lib.dlm": "block Dense(width: int) {\n  input x: f32[B, F]\n  output linear(x, width)\n}" },
    );
    expect(uses(index, "Dense")).toEqual(["5:7 → lib.dlm 1:7"]);
    expect(uses(index, "width")).toEqual(["5:16 → lib.dlm 1:13 (argument)"]);
    expect(uses(index, "BasicBlock")).toEqual([expect.stringMatching(/^6:16 → std\/vision\.dlm \d+:7$/)]);
    expect(uses(index, "v")).toEqual(["6:14 → 2:24"]);
  });

  it("a train section sees its model's names, even when written before the model", () => {
    const index = bind(`train M {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
}
model M() {
  input x: f32[B, 4]
  output logits = linear(x, 3)
}`);
    expect(uses(index, "M")).toEqual(["1:7 → 5:7"]);
    expect(uses(index, "B")).toEqual(["2:21 → 6:16"]);
    expect(uses(index, "logits")).toEqual(["3:24 → 7:10"]);
    const inTrain = visibleSymbols(index, index.definitions.find((d) => d.name === "loss")!.range.end.offset + 1).map((d) => d.name);
    expect(inTrain).toEqual(expect.arrayContaining(["logits", "x", "labels", "loss", "M"]));
  });

  it("survives a half-typed file: names before the break still bind", () => {
    const index = bind(`model M(k: int = 2) {
  input x: f32[B, 4]
  y = linear(x, k
  z = x |>
}`);
    expect(uses(index, "x").length).toBeGreaterThanOrEqual(1);
    expect(uses(index, "k")).toEqual(["3:17 → 1:9"]);
  });
});
