import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type * as A from "../../grammar/ast.js";
import { MAX_NESTING, parseDlm } from "../../grammar/parse.js";
import { MAX_EXPRESSION_DEPTH, MAX_PREFIX_RUN } from "../../grammar/to-ast.js";
import { renderCstDts } from "../../grammar/generate.js";
import { BRIEF_EXTRAS, README_DECLARATIONS, README_EXPRESSIONS, README_STATEMENTS, SKETCH } from "./fixtures.js";
import { allRanged, astDepth, expr, lineCol, stmts, sx } from "./helpers.js";

function parse(text: string) {
  return parseDlm(text, "t.dlm");
}

function block(ast: A.DlmFile, name: string): A.BlockDecl {
  const b = ast.items.find((i): i is A.BlockDecl => i.kind === "Block" && i.name.name === name);
  if (!b) throw new Error(`no block ${name}`);
  return b;
}

/** The text a range covers. */
function slice(text: string, r: A.SourceRange): string {
  return text.slice(r.start.offset, r.end.offset);
}

function codes(text: string): string[] {
  return parse(text).diagnostics.map((d) => d.code);
}

describe("the sketch", () => {
  const { ast, diagnostics } = parse(SKETCH);

  it("parses with no diagnostics", () => {
    expect(diagnostics).toEqual([]);
    expect(ast.items.map((i) => i.kind)).toEqual(["Block", "Block", "Block", "Train"]);
  });

  it("builds LeNet", () => {
    const lenet = block(ast, "LeNet");
    expect(lenet.isModel).toBe(true);
    expect(lenet.doc).toBe("LeNet-style CNN from seed 002 (CIFAR-sized input)");
    expect(lenet.params.map((p) => [p.name.name, p.type?.name.name, p.default && sx(p.default)])).toEqual([["classes", "int", "10"]]);
    expect(lenet.body.map((s) => s.kind)).toEqual(["Input", "Binding", "Binding", "Output"]);
    const features = lenet.body[1] as A.Binding;
    const pipe = features.value as A.PipeExpr;
    expect(pipe.kind).toBe("Pipe");
    expect(sx(pipe.head)).toBe("x");
    expect(pipe.stages.map(sx)).toEqual([
      "(call conv2d 6 kernel:5)",
      "relu",
      "(call maxpool2d 2)",
      "(call conv2d 16 kernel:5)",
      "relu",
      "(call maxpool2d 2)",
    ]);
    const out = lenet.body[3] as A.OutputStmt;
    expect(out.name?.name).toBe("logits");
    expect((out.value as A.PipeExpr).stages).toHaveLength(5);
  });

  it("builds Residual's if expression", () => {
    const res = block(ast, "Residual");
    const skip = res.body[2] as A.Binding;
    expect(sx(skip.value)).toBe("(if (or (!= stride 1) (!= C out)) {(|> x (call conv2d out 1 stride:stride bias:false) batchnorm)} {x})");
    expect(sx((res.body[3] as A.OutputStmt).value)).toBe("(call relu (+ y skip))");
  });

  it("builds LSTMCell's state, tuple binding and next", () => {
    const cell = block(ast, "LSTMCell");
    const state = cell.body[1] as A.StateDecl;
    expect(state.items.map((i) => [i.name.name, i.init && sx(i.init)])).toEqual([
      ["h", "zeros"],
      ["c", "zeros"],
    ]);
    const split = cell.body[2] as A.Binding;
    expect(split.targets.map((t) => t.name.name)).toEqual(["i", "f", "g", "o"]);
    expect(sx(split.value)).toBe("(call split (call linear (call concat h x) (* 4 hidden)) 4 axis:(- 1))");
    expect(sx((cell.body[3] as A.NextStmt).value)).toBe("(+ (* (call sigmoid f) c) (* (call sigmoid i) (call tanh g)))");
  });

  it("builds the train section with a phase", () => {
    const train = ast.items[3] as A.TrainDecl;
    expect(train.model.name).toBe("LeNet");
    expect(train.body.map((s) => s.kind)).toEqual(["Input", "Binding", "Binding", "Binding", "Binding", "Phase"]);
    const phase = train.body[5] as A.PhaseDecl;
    expect(phase.name.name).toBe("warmup");
    expect(sx((phase.body[0] as A.Binding).value)).toBe("(call sgd lr:0.1)");
    const opt = train.body[2] as A.Binding;
    const lr = (opt.value as A.CallExpr).args[0]!.value as A.NumberLiteral;
    expect(lr).toMatchObject({ value: 1e-3, isFloat: true, text: "1e-3" });
  });

  it("gives exact ranges", () => {
    const lenet = block(ast, "LeNet");
    // the declaration starts at `model` (line 2, after the doc comment) and ends after its `}`
    expect(lenet.range.start).toEqual({ offset: SKETCH.indexOf("model"), line: 2, column: 1 });
    expect(lenet.range.end).toMatchObject({ line: 10, column: 2 });
    expect(lenet.name.range.start).toMatchObject({ line: 2, column: 7 });
    expect(lenet.name.range.end).toMatchObject({ line: 2, column: 12 });
    const features = lenet.body[1] as A.Binding;
    expect(features.range.start).toMatchObject({ line: 5, column: 3 });
    // the multi-line pipe ends after `maxpool2d(2)` on line 7
    expect(features.range.end).toMatchObject({ line: 7, column: 53 });
    const conv = (features.value as A.PipeExpr).stages[0] as A.CallExpr;
    expect(slice(SKETCH, conv.range)).toBe("conv2d(6, kernel: 5)");
    expect(conv.range.start).toMatchObject({ line: 6, column: 8 });
    expect(slice(SKETCH, conv.args[1]!.range)).toBe("kernel: 5");
    const h = lenet.body[2] as A.Binding;
    expect(slice(SKETCH, h.targets[0]!.range)).toBe("h: f32[B, 400]");
    expect(slice(SKETCH, h.targets[0]!.type!.range)).toBe("f32[B, 400]");
    const train = ast.items[3] as A.TrainDecl;
    expect(slice(SKETCH, train.body[5]!.range)).toBe("phase warmup { optimizer = sgd(lr: 0.1) }");
  });

  it("gives every node a range inside the text, consistent with its offsets", () => {
    for (const node of allRanged(ast)) {
      const { start, end } = node.range;
      expect(start.offset).toBeLessThanOrEqual(end.offset);
      expect(end.offset).toBeLessThanOrEqual(SKETCH.length);
      expect({ line: start.line, column: start.column }).toEqual(lineCol(SKETCH, start.offset));
      expect({ line: end.line, column: end.column }).toEqual(lineCol(SKETCH, end.offset));
    }
  });
});

describe("the README samples", () => {
  it("parses the declarations", () => {
    const { ast, diagnostics } = parse(README_DECLARATIONS);
    expect(diagnostics).toEqual([]);
    expect(ast.items.map((i) => i.kind)).toEqual(["Import", "Import", "Const", "Block", "Block", "Train"]);
    const [imp1, imp2] = ast.items as A.ImportDecl[];
    expect(imp1!.path.value).toBe("./blocks.dlm");
    expect(imp1!.alias).toBeUndefined();
    expect(imp2!.alias?.name).toBe("tf");
    const name = block(ast, "Name");
    expect(name.doc).toBe("doc comment, shown on hover");
    expect(name.annotations.map((a) => a.name.name)).toEqual(["inline"]);
    expect(name.params.map((p) => `${p.name.name}:${p.type!.name.name}${p.type!.args.map((a) => `[${a.name.name}]`).join("")}`)).toEqual([
      "hidden:int",
      "act:str",
      "dims:list[int]",
    ]);
    expect(sx(name.params[2]!.default)).toBe("[64 128]");
    expect(block(ast, "Name2").params.map((p) => p.type?.name.name)).toEqual(["int", "dim"]);
  });

  it("parses the statements", () => {
    const { ast, diagnostics } = parse(README_STATEMENTS);
    expect(diagnostics).toEqual([]);
    const body = block(ast, "Statements").body;
    expect(body.map((s) => s.kind)).toEqual([
      "Input",
      "State",
      "Param",
      "Layer",
      "Binding",
      "Binding",
      "Next",
      "Output",
      "Output",
      "For",
      "Binding",
    ]);
    const last = body[10]!;
    expect(last.annotations.map((a) => a.name.name)).toEqual(["checkpoint", "frozen", "lr", "no_decay", "nofuse", "name", "memory_budget"]);
    expect(sx(last.annotations[5]!.args[0]!.value)).toBe('"x"');
  });

  it.each(README_EXPRESSIONS)("parses the expression %s", (source) => {
    const { diagnostics } = parse(`block T { y = ${source} }`);
    expect(diagnostics).toEqual([]);
  });

  it("parses the extra forms", () => {
    const { ast, diagnostics } = parse(BRIEF_EXTRAS);
    expect(diagnostics).toEqual([]);
    const m = block(ast, "Extras");
    expect(m.params.map((p) => p.type?.name.name)).toEqual(["list", "dim"]);
    const lines = m.body.map((s) => (s.kind === "Binding" ? sx(s) : s.kind));
    expect(lines).toEqual([
      "Input",
      "h = (as (call Block x) enc)",
      "For",
      "Layer",
      "Param",
      "s = (index x (slice _ _ _) (- 1) (slice 0 2 _))",
      "stack = (for (call Block (* 64 (** 2 i))) i (.. 0 4) if (!= i 2))",
      "Output",
    ]);
    const loop = m.body[2] as A.ForStmt;
    expect(sx(loop.iterable)).toBe("(.. 0 n)");
    expect(sx((loop.body[0] as A.Binding).value)).toBe("(call concat h (as (call Dense h growth) layer i) axis:1)");
    const param = m.body[4] as A.ParamDecl;
    expect(sx(param.init)).toBe("(call normal std:0.02)");
    expect(m.body[1]!.annotations.map((a) => a.name.name)).toEqual(["checkpoint", "lr"]);
  });
});

describe("expressions", () => {
  it.each([
    // pipe is the loosest: a stage is a whole arithmetic expression
    ["a |> f(1) + 2", "(|> a (+ (call f 1) 2))"],
    ["a + 1 |> f |> g(2)", "(|> (+ a 1) f (call g 2))"],
    ["(a |> f) |> g", "(|> (|> a f) g)"],
    ["-x ** 2", "(- (** x 2))"],
    ["2 ** -1", "(** 2 (- 1))"],
    ["a ** b ** c", "(** a (** b c))"],
    ["a ** -b * c", "(* (** a (- b)) c)"],
    ["a + b * c", "(+ a (* b c))"],
    ["a * b + c", "(+ (* a b) c)"],
    ["a - b - c", "(- (- a b) c)"],
    ["x @ w + b", "(+ (@ x w) b)"],
    ["H / 2 * 2 % 3", "(% (* (/ H 2) 2) 3)"],
    ["not a == b and c or d", "(or (and (not (== a b)) c) d)"],
    ["not not a", "(not (not a))"],
    ["a < b == c", "(== (< a b) c)"],
    // `..` sits between comparisons and `+ -`
    ["0..n + 1", "(.. 0 (+ n 1))"],
    ["i < 0..n", "(< i (.. 0 n))"],
    // `as` is postfix: it names the operand it follows
    ["a + b as n", "(+ a (as b n))"],
    ["f(x) as n |> g", "(|> (as (call f x) n) g)"],
    ["Dense(h) as layer[i + 1]", "(as (call Dense h) layer (+ i 1))"],
    ["(f(x) as n)[0]", "(index (as (call f x) n) 0)"],
    ["x.w.T", "(. (. x w) T)"],
    ["tf.EncoderLayer(x)(y)", "(call (call (. tf EncoderLayer) x) y)"],
    ["x.input", "(. x input)"],
    ["f(layer: 1, input: x)", "(call f layer:1 input:x)"],
    ["x[::2, 1:, :n, a:b:c, :]", "(index x (slice _ _ 2) (slice 1 _ _) (slice _ n _) (slice a b c) (slice _ _ _))"],
    ["(a, b)", "(tuple a b)"],
    ["(a,)", "(tuple a)"],
    ["()", "(tuple)"],
    ["(a)", "a"],
    ["[]", "[]"],
    ["[a, b,]", "[a b]"],
    ["[f, g]", "[f g]"],
    ["if a { 1 } else if b { 2 } else { 3 }", "(if a {1} (if b {2} {3}))"],
    ["if a { b = 1; c: f32[B] = 2; b + c } else { 0 }", "(if a {b = 1; c:f32[B] = 2; (+ b c)} {0})"],
    ["if a { x }", "(if a {x})"],
    ['"a\\n\\t\\\\\\"\\u{1F600}"', JSON.stringify('a\n\t\\"\u{1F600}')],
    ["true and none", "(and true none)"],
  ])("%s  ⇒  %s", (source, expected) => {
    expect(expr(source)).toBe(expected);
  });

  it("keeps number literals exact and marks floats", () => {
    const { ast } = parse("const a = [50_257, 0x1F, 3.5, 2.5e4, 1.0, 1E+2, 7]");
    const list = (ast.items[0] as A.ConstDecl).value as A.ListExpr;
    expect(list.elements.map((e) => [(e as A.NumberLiteral).value, (e as A.NumberLiteral).isFloat])).toEqual([
      [50257, false],
      [31, false],
      [3.5, true],
      [25000, true],
      [1, true],
      [100, true],
      [7, false],
    ]);
  });

  it("gives binary expressions their operator's range", () => {
    const text = "const a = x  @  w";
    const value = (parse(text).ast.items[0] as A.ConstDecl).value as A.BinaryExpr;
    expect(slice(text, value.range)).toBe("x  @  w");
    expect(slice(text, value.opRange)).toBe("@");
  });

  it("widens a parenthesised expression's range to the parentheses", () => {
    const text = "const a = (x + 1) * 2";
    const value = (parse(text).ast.items[0] as A.ConstDecl).value as A.BinaryExpr;
    expect(slice(text, value.left.range)).toBe("(x + 1)");
    expect(slice(text, value.range)).toBe("(x + 1) * 2");
  });

  it("parses long operator chains without recursion", () => {
    const n = 1000;
    const { ast, diagnostics } = parse(`const a = ${"x + ".repeat(n)}x`);
    expect(diagnostics).toEqual([]);
    let e = (ast.items[0] as A.ConstDecl).value;
    let depth = 0;
    while (e.kind === "Binary") {
      e = e.left;
      depth++;
    }
    expect(depth).toBe(n);
  });
});

describe("statements", () => {
  it("tells `output name = e` from `output e`", () => {
    expect(stmts("output h\noutput logits = h\noutput y: f32[B, 10] = h\noutput f(x)")).toEqual([
      "output h",
      "output logits = h",
      "output y:f32[B,10] = h",
      "output (call f x)",
    ]);
  });

  it("reads tensor types with expressions and wildcards", () => {
    expect(stmts("input x: f32[B, C * 2, H / 2, _], s: f32, e: f32[]")).toEqual(["input x:f32[B,(* C 2),(/ H 2),_], s:f32[], e:f32[]"]);
  });

  it("separates statements by `;` or nothing", () => {
    expect(stmts("a = 1; b = 2 c = 3;;")).toEqual(["a = 1", "b = 2", "c = 3"]);
  });

  it("attaches annotations to statements and phases", () => {
    expect(stmts("@checkpoint @lr(0.1) h = Block(x) as enc\n@nofuse for i in 0..2 { @frozen y = f(y) }")).toEqual([
      "@checkpoint @lr(0.1) h = (as (call Block x) enc)",
      "@nofuse for i in (.. 0 2) { @frozen y = (call f y) }",
    ]);
  });

  it("lexes `@name` as an annotation and `@ name` as matrix multiplication", () => {
    expect(stmts("y = a @ b\n@ckpt z = a")).toEqual(["y = (@ a b)", "@ckpt z = a"]);
  });

  it("warns when an annotation directly follows an expression on the same line (DLM1012)", () => {
    const text = "block A {\n  h = x @w\n  output h\n}";
    const { diagnostics } = parse(text);
    expect(diagnostics.map((d) => [d.code, d.severity])).toEqual([["DLM1012", "warning"]]);
    expect(slice(text, diagnostics[0]!.range)).toBe("@w");
  });
});

describe("doc comments", () => {
  it("attach to the following declaration and hyperparameters", () => {
    const text = [
      "/// A block.",
      "///",
      "///   indented",
      "// an ordinary comment",
      "@inline",
      "block A(",
      "  /// the width",
      "  width: int = 3,",
      "  depth: int,",
      ") { output width }",
      "/// the constant",
      "const k = 1",
      "/// the import",
      'import "x.dlm"',
      "block B { /// not attached to anything\n output x }",
      "/// train",
      "train A { loss = l }",
    ].join("\n");
    const { ast, diagnostics } = parse(text);
    expect(diagnostics).toEqual([]);
    const [a, k, imp, b, train] = ast.items as [A.BlockDecl, A.ConstDecl, A.ImportDecl, A.BlockDecl, A.TrainDecl];
    expect(a.doc).toBe("A block.\n\n  indented");
    expect(a.params.map((p) => p.doc)).toEqual(["the width", undefined]);
    expect(k.doc).toBe("the constant");
    expect(imp.doc).toBe("the import");
    expect(b.doc).toBeUndefined();
    expect(train.doc).toBe("train");
  });
});

describe("error recovery: one typo, one message", () => {
  const after = "\nblock Later(n: int) {\n  output n\n}\n";
  it.each([
    ["missing comma", "block A {\n  y = conv2d(x, 3 kernel: 5)\n  output y\n}"],
    ["missing ')' at line end", "block A {\n  y = conv2d(x, 3\n  z = relu(y)\n  output z\n}"],
    ["missing ':'", "block A {\n  input x f32[B, 3]\n  output x\n}"],
    ["missing operand", "block A {\n  y = x +\n  output y\n}"],
    ["two operators", "block A {\n  y = x + * 2\n  output y\n}"],
    ["statement starting with a number", "block A {\n  3 = x\n  output y\n}"],
    ["'==' for '='", "block A {\n  y == x\n  output y\n}"],
    ["extra ')'", "block A {\n  y = f(x))\n  output y\n}"],
    ["unknown character", "block A {\n  y = x $ 2\n  output y\n}"],
    ["misspelled declaration keyword", "blok A {\n  y = x\n}"],
    ["missing ']'", "block A {\n  y = [1, 2\n  output y\n}"],
    ["missing '}'", "block A {\n  output y\n"],
    ["extra '}'", "block A {\n  y = x\n  output y\n}}"],
    ["misspelled statement keyword", "block A {\n  outptu y\n}"],
    ["misspelled keyword before braces", "model A {\n  fro i in 0..3 { h = f(h) }\n  output h\n}"],
    ["misspelled phase", "train A {\n  y = x\n  phse a { x = 1 }\n}"],
    ["missing ')' in parameters", "block A(x: int {\n  output y\n}"],
    ["missing ']' in a type", "block A {\n  input x: f32[B 3]\n  output x\n}"],
    ["empty else branch", "block A {\n  y = if a { 1 } else { }\n}"],
    ["dangling pipe", "block A {\n  y = x |> \n}"],
    ["dangling annotation", "block A {\n  @checkpoint\n}"],
    ["unterminated string", 'block A {\n  s = "abc\n  output s\n}'],
    ["invalid escape", 'block A {\n  s = "a\\qb"\n  output s\n}'],
    ["malformed number", "block A {\n  s = 12abc\n  output s\n}"],
  ])("%s", (_, source) => {
    const { ast, diagnostics } = parse(source + after);
    expect(diagnostics.filter((d) => d.severity === "error")).toHaveLength(1);
    const later = ast.items.find((i) => i.kind === "Block" && i.name.name === "Later") as A.BlockDecl | undefined;
    expect(later?.body.map((s) => s.kind)).toEqual(["Output"]);
  });

  it("says what was expected and what was found, at the offending token", () => {
    const text = "block A {\n  y = conv2d(x, 3 kernel: 5)\n}";
    const [d] = parse(text).diagnostics;
    expect(d).toMatchObject({ code: "DLM1004", message: "expected ')', found 'kernel'" });
    expect(d!.range.start).toMatchObject({ line: 2, column: 19 });
    expect(slice(text, d!.range)).toBe("kernel");
  });

  it("summarises what can start a statement", () => {
    expect(parse("block A {\n  3 = x\n}").diagnostics[0]!.message).toBe("expected a statement or '}', found '3'");
    expect(parse("block A { y = }").diagnostics[0]!.message).toBe("expected an expression, found '}'");
    expect(parse("blok A {}").diagnostics[0]!.message).toBe(
      "expected a declaration ('import', 'const', 'block', 'model' or 'train'), found 'blok'",
    );
  });

  it("suggests the keyword a misspelled word resembles", () => {
    expect(parse("block A {\n  outptu y\n}").diagnostics[0]!.hint).toBe("did you mean 'output'?");
    expect(parse("blok A {}").diagnostics[0]!.hint).toBe("did you mean 'block'?");
  });

  it("reports an unclosed bracket at the end of the file at the bracket (DLM1011)", () => {
    const text = "block A {\n  y = f(x,\n";
    const diagnostics = parse(text).diagnostics;
    expect(diagnostics.map((d) => [d.code, d.message])).toEqual([["DLM1011", "unclosed '('"]]);
    expect(diagnostics[0]!.range.start).toMatchObject({ line: 2, column: 8 });
    expect(parse("block A {\n  y = f(x)\n").diagnostics.map((d) => d.message)).toEqual(["unclosed '{'"]);
  });

  it("still reports separate typos separately", () => {
    const text = "block A {\n  y = f(x,, 1)\n  z = 2\n  w = 3 3\n  output w\n}";
    expect(codes(text)).toEqual(["DLM1004", "DLM1004"]);
  });

  it("makes an ErrorStmt where a statement could not be parsed and Missing where an expression is absent", () => {
    const { ast } = parse("block A {\n  y == x\n  z = 1 +\n}");
    const body = block(ast, "A").body;
    expect(body[0]!.kind).toBe("ErrorStmt");
    const z = body.find((s): s is A.Binding => s.kind === "Binding")!;
    expect(sx(z.value)).toBe("(+ 1 <missing>)");
  });
});

describe("lexical problems", () => {
  it("reports one DLM1001 per run of unknown characters", () => {
    const text = "block A {\n  y = x $$ $ 2 # c\n}";
    const diagnostics = parse(text).diagnostics;
    expect(diagnostics.map((d) => d.code)).toEqual(["DLM1001", "DLM1001"]);
    expect(slice(text, diagnostics[0]!.range)).toBe("$$ $");
    expect(diagnostics[1]!.hint).toBe("comments start with '//'");
  });

  it("reports unterminated strings and comments", () => {
    expect(codes('const s = "abc\nconst t = 1')).toEqual(["DLM1002"]);
    expect(codes('const s = "abc\\"')).toEqual(["DLM1002"]);
    expect(codes("block A { /* never closed\n output x }")).toEqual(["DLM1003"]);
    expect(codes("const a = 1 /* closed */ const b = 2")).toEqual([]);
  });

  it("reports invalid escapes and number literals", () => {
    const text = 'const s = "a\\qb\\u{110000}"\nconst n = [1__0, 0x, 12abc, 1e, 3.]';
    const diagnostics = parse(text).diagnostics;
    expect(diagnostics.map((d) => `${d.code} ${slice(text, d.range)}`)).toEqual([
      "DLM1010 \\q",
      "DLM1010 \\u{110000}",
      "DLM1006 1__0",
      "DLM1006 0x",
      "DLM1006 12abc",
      "DLM1006 1e",
    ]);
    // `3.` is the number 3 followed by a '.' with no name after it
    expect(diagnostics).toHaveLength(6);
  });
});

describe("hostile input", () => {
  it("parses an empty file", () => {
    const { ast, diagnostics } = parse("");
    expect(diagnostics).toEqual([]);
    expect(ast).toMatchObject({ kind: "File", items: [] });
    expect(ast.range.end.offset).toBe(0);
  });

  it("parses a file with only comments", () => {
    expect(parse("// a\n/* b */\n/// c\n").diagnostics).toEqual([]);
  });

  it("survives 100k nested parentheses with DLM1007", () => {
    const n = 100_000;
    const m = 20_000;
    for (const text of [
      `const a = ${"(".repeat(n)}x${")".repeat(n)}\nconst b = 1`,
      `const a = ${"f(".repeat(m)}x`,
      `const a = ${"[".repeat(m)}`,
      `block A ${"{ for i in xs ".repeat(m)}`,
    ]) {
      const { diagnostics } = parse(text);
      const deep = diagnostics.filter((d) => d.code === "DLM1007");
      expect(deep).toHaveLength(1);
      expect(deep[0]!.message).toBe(`expression nested too deeply (more than ${MAX_NESTING} levels)`);
    }
    // what follows the over-deep region still parses
    const { ast } = parse(`const a = ${"(".repeat(n)}x${")".repeat(n)}\nconst b = 1`);
    expect(ast.items.map((i) => (i as A.ConstDecl).name.name)).toEqual(["a", "b"]);
  });

  it("accepts nesting up to the limit", () => {
    const n = MAX_NESTING - 1;
    for (const inner of [
      `${"(".repeat(n)}x${")".repeat(n)}`,
      `${"f(".repeat(n)}x${")".repeat(n)}`,
      `${"x[".repeat(n)}0${"]".repeat(n)}`,
      `${"[".repeat(n)}${"]".repeat(n)}`,
      `${"if a { ".repeat(n)}1${" }".repeat(n)}`,
    ]) {
      expect(parse(`block A {\n  y = ${inner}\n}`).diagnostics).toEqual([]);
    }
  });

  it("bounds prefix-operator runs at 200 (DLM1007)", () => {
    expect(parse(`const y = ${"-".repeat(MAX_PREFIX_RUN)}x`).diagnostics).toEqual([]);
    const text = `const y = ${"- ".repeat(100_000)}x\nconst z = 1`;
    const { ast, diagnostics } = parse(text);
    expect(diagnostics.map((d) => d.message)).toEqual(["expression nested too deeply (more than 200 levels)"]);
    expect(diagnostics[0]!.range.start.offset).toBe(text.indexOf("-") + 2 * MAX_PREFIX_RUN);
    expect(ast.items.map((i) => (i as A.ConstDecl).value.kind)).toEqual(["Missing", "Number"]);
  });

  it("bounds the depth of every expression tree (DLM1007), long chains included", () => {
    const n = 20_000;
    for (const inner of [
      "not ".repeat(n) + "x",
      "a ** ".repeat(n) + "x",
      "x + ".repeat(n) + "x",
      `f${"(x)".repeat(n)}`,
      "x.a".repeat(n),
      `if a { 1 } ${"else if a { 1 } ".repeat(n)}`,
      // depth accumulates through brackets: 150 levels of 20-term sums
      `${"a + b + c + d + e + f + g + h + i + j + k + l + m + n + o + p + q + r + s + (".repeat(150)}x${")".repeat(150)}`,
    ]) {
      const { ast, diagnostics } = parse(`const y = ${inner}\nconst z = 1`);
      expect(diagnostics.map((d) => d.code)).toEqual(["DLM1007"]);
      expect(astDepth(ast)).toBeLessThan(2 * MAX_EXPRESSION_DEPTH);
      expect(ast.items).toHaveLength(2);
    }
  });

  it("parses a 1 MB single line in linear time", () => {
    const n = 13_500;
    const text = `block A { ${"activation_value = previous_activation + transform(hidden_state, scale: 1) ".repeat(n)}}`;
    expect(text.length).toBeGreaterThan(1_000_000);
    const t0 = performance.now();
    const { ast, diagnostics } = parse(text);
    const ms = performance.now() - t0;
    expect(diagnostics).toEqual([]);
    const body = block(ast, "A").body;
    expect(body).toHaveLength(n);
    expect(body[n - 1]!.range.start).toMatchObject({ line: 1, column: text.lastIndexOf("activation_value") + 1 });
    expect(ms).toBeLessThan(5_000);
  });

  it("refuses binary content with one DLM1009", () => {
    const nul = parse("block A {\0\0\0 }");
    expect(nul.diagnostics.map((d) => [d.code, d.message])).toEqual([
      ["DLM1009", "this does not look like a .dlm text file (it contains NUL bytes)"],
    ]);
    expect(nul.diagnostics[0]!.range.start.offset).toBe(9);
    expect(codes("\x01\x02\x03\x04\x05\x06 block")).toEqual(["DLM1009"]);
    // a stray control character in a text file is just an unexpected character
    expect(codes("const a = 1 \x07\nconst b = 2")).toEqual(["DLM1001"]);
  });

  it("refuses files over 4 MiB (DLM1008)", () => {
    const { ast, diagnostics } = parse("a".repeat(4 * 1024 * 1024 + 1));
    expect(diagnostics.map((d) => d.code)).toEqual(["DLM1008"]);
    expect(ast.items).toEqual([]);
    // the limit is on UTF-8 bytes: 1.5M three-byte characters are too many
    expect(codes(`// ${"日".repeat(1_500_000)}`)).toEqual(["DLM1008"]);
  });

  it("skips a byte-order mark; offsets count it, columns do not", () => {
    const text = "\uFEFFmodel A { output x }";
    const { ast, diagnostics } = parse(text);
    expect(diagnostics).toEqual([]);
    expect(ast.items[0]!.range.start).toEqual({ offset: 1, line: 1, column: 1 });
    expect((ast.items[0] as A.BlockDecl).name.range.start).toEqual({ offset: 7, line: 1, column: 7 });
  });

  it("counts lines across CRLF and lone CR line endings", () => {
    for (const nl of ["\r\n", "\r", "\n"]) {
      const text = ["model A {", "  input x: f32[B]", "", "  output x", "}"].join(nl);
      const { ast, diagnostics } = parse(text);
      expect(diagnostics).toEqual([]);
      const out = (ast.items[0] as A.BlockDecl).body[1]!;
      expect(out.range.start).toEqual({ offset: text.indexOf("output"), line: 4, column: 3 });
      expect(out.range.end).toMatchObject({ line: 4, column: 11 });
      const err = parse(text.replace("output x", "output )")).diagnostics[0]!;
      expect(err.range.start).toMatchObject({ line: 4, column: 10 });
    }
  });

  it("caps the number of diagnostics", () => {
    const { diagnostics } = parse("$a".repeat(10_000));
    expect(diagnostics).toHaveLength(100);
    expect(diagnostics[99]!.notes?.[0]?.message).toMatch(/more problems in this file were not reported/);
  });

  it("stops parsing after too many syntax errors, and says so", () => {
    const text = `model M {\n${"  y = f(x,, 1)\n  z = 2\n".repeat(20_000)}}\nblock B { output x }`;
    const t0 = performance.now();
    const { diagnostics } = parse(text);
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(diagnostics).toHaveLength(100);
    const notes = diagnostics[99]!.notes!.map((n) => n.message);
    expect(notes).toEqual(["399 more problems in this file were not reported", "parsing stopped here after 500 syntax errors"]);
    // the input array handed to the parser is left intact: the next parse is normal
    expect(parse(SKETCH).diagnostics).toEqual([]);
  });

  it("reuses the one parser instance without leaking state between parses", () => {
    const bad = parse("block A { y = }");
    const good = parse(SKETCH);
    expect(bad.diagnostics).toHaveLength(1);
    expect(good.diagnostics).toEqual([]);
    expect(parse("block A { y = }").diagnostics).toEqual(bad.diagnostics);
  });
});

describe("generated files", () => {
  it("cst.d.ts matches the grammar (run `npm run gen:grammar`)", () => {
    const committed = readFileSync(new URL("../../grammar/cst.d.ts", import.meta.url), "utf8");
    expect(committed).toBe(renderCstDts());
  });
});

describe("speed", () => {
  it("parses a 300-line file in a few milliseconds", () => {
    const text = Array.from({ length: 8 }, (_, i) => SKETCH.replace(/LeNet|Residual|LSTMCell/g, (m) => `${m}${i}`)).join("\n");
    expect(text.split("\n").length).toBeGreaterThan(300);
    for (let i = 0; i < 20; i++) parse(text); // warm up
    let fastest = Infinity;
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      parse(text);
      fastest = Math.min(fastest, performance.now() - t0);
    }
    // typically 1-3 ms; the bound only catches accidental quadratic behaviour, and the fastest
    // of 20 runs is what a loaded machine disturbs least
    expect(fastest).toBeLessThan(25);
  });
});
