// Test helpers for the grammar: a compact S-expression printer for expressions and
// statements (so precedence and shapes can be asserted as one readable string), and a
// walker over every node with a range.

import type * as A from "../../grammar/ast.js";
import { parseDlm } from "../../grammar/parse.js";

export function sx(e: A.Expr | A.SliceExpr | A.Wildcard | A.BlockExpr | A.Binding | undefined): string {
  if (!e) return "?";
  switch (e.kind) {
    case "Identifier":
      return e.name;
    case "Number":
      return e.text;
    case "String":
      return JSON.stringify(e.value);
    case "Bool":
      return String(e.value);
    case "None":
      return "none";
    case "Missing":
      return "<missing>";
    case "Wildcard":
      return "_";
    case "Binary":
      return `(${e.op} ${sx(e.left)} ${sx(e.right)})`;
    case "Unary":
      return `(${e.op} ${sx(e.operand)})`;
    case "Pipe":
      return `(|> ${sx(e.head)} ${e.stages.map(sx).join(" ")})`;
    case "Call":
      return `(call ${sx(e.callee)}${e.args.map((a) => ` ${a.name ? `${a.name.name}:` : ""}${sx(a.value)}`).join("")})`;
    case "Index":
      return `(index ${sx(e.target)} ${e.indices.map(sx).join(" ")})`;
    case "Slice":
      return `(slice ${e.start ? sx(e.start) : "_"} ${e.stop ? sx(e.stop) : "_"} ${e.step ? sx(e.step) : "_"})`;
    case "Member":
      return `(. ${sx(e.target)} ${e.member.name})`;
    case "Named":
      return `(as ${sx(e.value)} ${e.name.name}${e.index ? ` ${sx(e.index)}` : ""})`;
    case "List":
      return `[${e.elements.map(sx).join(" ")}]`;
    case "Tuple":
      return `(tuple${e.elements.map((x) => ` ${sx(x)}`).join("")})`;
    case "Comprehension":
      return `(for ${sx(e.element)} ${e.variable.name} ${sx(e.iterable)}${e.condition ? ` if ${sx(e.condition)}` : ""})`;
    case "Range":
      return `(.. ${sx(e.start)} ${sx(e.end)})`;
    case "If":
      return `(if ${sx(e.condition)} ${sx(e.then)}${e.else ? ` ${sx(e.else)}` : ""})`;
    case "BlockExpr":
      return `{${e.stmts.map((b) => `${sx(b)}; `).join("")}${sx(e.result)}}`;
    case "Binding":
      return `${e.targets.map((t) => t.name.name + (t.type ? `:${typeStr(t.type)}` : "")).join(",")} = ${sx(e.value)}`;
  }
}

export function typeStr(t: A.TensorTypeExpr): string {
  return `${t.dtype.name}[${t.dims.map(sx).join(",")}]`;
}

function annStr(anns: readonly A.Annotation[]): string {
  return anns.map((a) => `@${a.name.name}${a.args.length ? `(${a.args.map((x) => sx(x.value)).join(",")})` : ""} `).join("");
}

export function stmtStr(s: A.Stmt | A.PhaseDecl): string {
  const a = annStr(s.annotations);
  switch (s.kind) {
    case "Input":
    case "State":
      return `${a}${s.kind.toLowerCase()} ${s.items.map((i) => `${i.name.name}:${typeStr(i.type)}${i.init ? `=${sx(i.init)}` : ""}`).join(", ")}`;
    case "Param":
      return `${a}param ${s.name.name}:${typeStr(s.type)}${s.init ? `=${sx(s.init)}` : ""}`;
    case "Layer":
      return `${a}layer ${s.name.name} = ${sx(s.value)}`;
    case "Output":
      return `${a}output ${s.name ? `${s.name.name}${s.type ? `:${typeStr(s.type)}` : ""} = ` : ""}${sx(s.value)}`;
    case "Next":
      return `${a}next ${s.name.name} = ${sx(s.value)}`;
    case "For":
      return `${a}for ${s.variable.name} in ${sx(s.iterable)} { ${s.body.map(stmtStr).join("; ")} }`;
    case "Binding":
      return a + sx(s);
    case "Phase":
      return `${a}phase ${s.name.name} { ${s.body.map(stmtStr).join("; ")} }`;
    case "ErrorStmt":
      return `${a}<error>`;
  }
}

/** Parses `block T { <body> }` and returns its statements as strings. */
export function stmts(body: string): string[] {
  const { ast, diagnostics } = parseDlm(`block T {\n${body}\n}`, "t.dlm");
  const errors = diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new Error(`unexpected diagnostics: ${errors.map((d) => d.message).join("; ")}`);
  const block = ast.items[0];
  if (block?.kind !== "Block") throw new Error("no block");
  return block.body.map(stmtStr);
}

/** The S-expression of one expression, parsed as `y = <expr>` in a block. */
export function expr(source: string): string {
  const [s] = stmts(`y = ${source}`);
  return s!.replace(/^y = /, "");
}

/** Every object with a `range` reachable from `node`, iteratively (ASTs may be very deep). */
export function allRanged(node: unknown): { kind?: string; range: A.SourceRange }[] {
  const out: { kind?: string; range: A.SourceRange }[] = [];
  const stack: unknown[] = [node];
  while (stack.length > 0) {
    const n = stack.pop();
    if (Array.isArray(n)) {
      for (const x of n) stack.push(x);
    } else if (n !== null && typeof n === "object") {
      const obj = n as Record<string, unknown>;
      if ("range" in obj && "kind" in obj) out.push(obj as { kind?: string; range: A.SourceRange });
      for (const k in obj) {
        const v = obj[k];
        if (k !== "range" && k !== "opRange" && typeof v === "object") stack.push(v);
      }
    }
  }
  return out;
}

/** The depth of the deepest node (objects with a `kind`) under `node`, computed iteratively. */
export function astDepth(node: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[node, 0]];
  while (stack.length > 0) {
    const [n, d] = stack.pop()!;
    if (Array.isArray(n)) {
      for (const x of n) stack.push([x, d]);
    } else if (n !== null && typeof n === "object") {
      const obj = n as Record<string, unknown>;
      const depth = "kind" in obj ? d + 1 : d;
      if (depth > max) max = depth;
      for (const k in obj) {
        const v = obj[k];
        if (k !== "range" && k !== "opRange" && typeof v === "object") stack.push([v, depth]);
      }
    }
  }
  return max;
}

/** 1-based line and column of an offset, computed independently of the parser (columns ignore a BOM on line 1). */
export function lineCol(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    const c = text[i];
    if (c === "\n" || (c === "\r" && text[i + 1] !== "\n")) {
      line++;
      lineStart = i + 1;
    }
  }
  const bom = line === 1 && text.charCodeAt(0) === 0xfeff && offset > 0 ? 1 : 0;
  return { line, column: offset - lineStart + 1 - bom };
}
