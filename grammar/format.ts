// formatDlm: the one canonical layout of a .dlm file. Used by `dlm fmt`, the prettier
// plugin and the language server. It never changes what a file means and keeps every
// comment; a file with syntax errors (or the parser's warning about `a @b`) is not
// touched, and the first of them says why.
//
// The layout, taken from how the examples are written:
//   - two-space indentation; one statement per line; `;` separators dropped; runs of blank
//     lines become one, none at the start or end of a body;
//   - spaces around binary operators, `=` and `|>`, after `,` and `:`; none inside
//     brackets, around `.` and `..`, or after a prefix `-`/`+`;
//   - lines up to 120 columns: argument, parameter, index and list items fill each line
//     and continue aligned under the first item (after the opening bracket);
//   - a pipe keeps the line breaks its author put before `|>` stages (a stage group per
//     line reads like the diagram) and only adds breaks where a line is too long. Later
//     lines align their `|>` under the first one if the author aligned them so, and are
//     indented two columns otherwise (always when the first line holds only the head);
//   - a chain of operators too long for its line wraps before an operator, aligned with
//     its first operand, but only where the next operand then fits;
//   - `if c { a } else { b }` stays on one line when it fits and its author wrote it so;
//     otherwise every branch is broken over lines;
//   - parentheses are kept as written (a doubled pair becomes one), numbers and strings
//     are printed as written; trailing commas are dropped (except in a 1-tuple `(a,)`);
//   - comments stay where they are: a comment on its own line stays on its own line (at
//     the indentation of the code), a trailing comment stays at the end of its line, in
//     its column when the code leaves room (see layout.ts's renderLines).
//
// The printer walks the AST and emits the source's tokens in their order through one
// cursor, so each comment is emitted between the same two tokens it sat between. As a
// safety net the result is parsed again: if its AST (source ranges aside) or its comments
// differ from the input's, the input is reported instead of changed.

import type { IToken } from "chevrotain";
import type * as A from "./ast.js";
import { parseDlm } from "./parse.js";
import { dlmLexer } from "./tokens.js";
import { collectComments, columnOf, lineBreaks, type Comment } from "./trivia.js";
import {
  alignHere,
  fill,
  freshLine,
  group,
  hardline,
  indent,
  layoutDoc,
  line,
  renderLines,
  space,
  trailingComment,
  verbatim,
  type Doc,
} from "./layout.js";
import { createDiagnostic, Diagnostics, START_RANGE, type Diagnostic } from "../compiler/diagnostics/index.js";

export const DEFAULT_PRINT_WIDTH = 120;

export interface FormatOptions {
  /** the line width the layout aims for (default 120) */
  readonly printWidth?: number;
  /** the file name used in diagnostics */
  readonly file?: string;
}

export type FormatResult =
  | { readonly ok: true; readonly text: string }
  /** the input is left as it is: a syntax error (the first one), or the formatter could not keep its meaning */
  | { readonly ok: false; readonly diagnostic: Diagnostic };

export function formatDlm(text: string, options: FormatOptions = {}): FormatResult {
  const file = options.file ?? "<input>";
  const parsed = parseDlm(text, file);
  // a warning too: `y = a @b` is an annotation of the next statement, almost certainly a
  // forgotten space; moving `@b` to that statement's line would hide the mistake for good
  const problem = parsed.diagnostics.find((d) => d.severity === "error") ?? parsed.diagnostics[0];
  if (problem) return { ok: false, diagnostic: problem };

  let out: string;
  try {
    out = printFile(text, parsed.ast, options.printWidth ?? DEFAULT_PRINT_WIDTH);
  } catch (e) {
    const reason = e instanceof RangeError ? "the file is nested too deeply to format" : `formatter failed: ${(e as Error).message}`;
    return { ok: false, diagnostic: createDiagnostic(Diagnostics.Internal_error_0, file, START_RANGE, [reason]) };
  }

  // the safety net: the same program and the same comments, or no change at all
  const again = parseDlm(out, file);
  const reason = again.diagnostics.some((d) => d.severity === "error")
    ? "its output does not parse"
    : !sameAst(parsed.ast, again.ast)
      ? "its output would mean something else"
      : !sameComments(text, out)
        ? "its output would lose or change a comment"
        : undefined;
  if (reason) {
    return {
      ok: false,
      diagnostic: createDiagnostic(Diagnostics.Internal_error_0, file, START_RANGE, [
        `the formatter left this file unchanged: ${reason} (please report it with the file)`,
      ]),
    };
  }
  return { ok: true, text: out };
}

/** Structural equality of two ASTs, ignoring source ranges. */
function sameAst(a: unknown, b: unknown): boolean {
  const stack: [unknown, unknown][] = [[a, b]];
  while (stack.length > 0) {
    const [x, y] = stack.pop()!;
    if (x === y) continue;
    if (typeof x !== "object" || typeof y !== "object" || x === null || y === null) {
      if (!(Number.isNaN(x) && Number.isNaN(y))) return false;
      continue;
    }
    if (Array.isArray(x) !== Array.isArray(y)) return false;
    const keys = Object.keys(x).filter((k) => k !== "range" && k !== "opRange");
    const otherKeys = Object.keys(y).filter((k) => k !== "range" && k !== "opRange");
    if (keys.length !== otherKeys.length) return false;
    for (const k of keys) {
      if (!(k in y)) return false;
      stack.push([(x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k]]);
    }
  }
  return true;
}

function commentTexts(text: string): string[] {
  const lexed = dlmLexer.tokenize(text);
  return collectComments(text, keptTokens(lexed)).map((c) => c.text);
}

function sameComments(before: string, after: string): boolean {
  const a = commentTexts(before);
  const b = commentTexts(after);
  return a.length === b.length && a.every((t, i) => t === b[i]);
}

function keptTokens(lexed: ReturnType<typeof dlmLexer.tokenize>): IToken[] {
  return [...lexed.tokens, ...Object.values(lexed.groups).flat()];
}

// ---------------------------------------------------------------------------

function printFile(text: string, ast: A.DlmFile, width: number): string {
  const lexed = dlmLexer.tokenize(text);
  const printer = new Printer(text, lexed.tokens, collectComments(text, keptTokens(lexed)));
  const doc = printer.file(ast);
  const lines = renderLines(layoutDoc(doc, width));
  while (lines.length > 0 && lines[0] === "") lines.shift();
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const eol = /\r\n/.test(text) && !/(^|[^\r])\n/.test(text) ? "\r\n" : "\n";
  const bom = text.startsWith("\uFEFF") ? "\uFEFF" : "";
  return lines.length === 0 ? bom : bom + lines.join(eol) + eol;
}

/** An internal inconsistency between the AST and the tokens (a bug, reported as such). */
class FormatterBug extends Error {}

const BINARY_PRECEDENCE: Record<A.BinaryOp, number> = {
  or: 2,
  and: 3,
  "==": 5,
  "!=": 5,
  "<": 5,
  "<=": 5,
  ">": 5,
  ">=": 5,
  "+": 7,
  "-": 7,
  "*": 8,
  "/": 8,
  "%": 8,
  "@": 8,
  "**": 10,
};

type BodyItem = A.Item | A.Stmt | A.PhaseDecl | A.Expr;

class Printer {
  /** the next source token to print */
  private next = 0;
  /** the next comment to print */
  private nextComment = 0;
  /** token start offset → index, token end offset → index, and bracket partners */
  private readonly indexAt = new Map<number, number>();
  private readonly indexEndingAt = new Map<number, number>();
  private readonly partner: Int32Array;

  constructor(
    private readonly text: string,
    private readonly tokens: readonly IToken[],
    private readonly comments: readonly Comment[],
  ) {
    this.partner = new Int32Array(tokens.length).fill(-1);
    const open: number[] = [];
    tokens.forEach((t, i) => {
      this.indexAt.set(t.startOffset, i);
      this.indexEndingAt.set(t.startOffset + t.image.length, i);
      if (t.image === "(" || t.image === "[" || t.image === "{") open.push(i);
      else if (t.image === ")" || t.image === "]" || t.image === "}") {
        const o = open.pop();
        if (o !== undefined) {
          this.partner[o] = i;
          this.partner[i] = o;
        }
      }
    });
  }

  // -------------------------------------------------------------------------
  // The token cursor and the comments between tokens

  /** The next token to print (statement separators `;` are never printed). */
  private peek(): IToken | undefined {
    while (this.next < this.tokens.length && this.tokens[this.next]!.image === ";") this.next++;
    return this.tokens[this.next];
  }

  private peekIs(image: string): boolean {
    return this.peek()?.image === image;
  }

  /** Prints the next source token, after the comments that precede it. */
  private tok(expected?: string): Doc {
    const t = this.peek();
    if (!t || (expected !== undefined && t.image !== expected)) {
      throw new FormatterBug(`expected ${expected ?? "a token"} at offset ${t?.startOffset ?? "end"}, found ${t?.image ?? "the end"}`);
    }
    this.next++;
    const before = this.commentsBefore(t.startOffset);
    return before.length > 0 ? [...before, t.image] : t.image;
  }

  /** Drops the next source token (a trailing comma, a doubled parenthesis); its comments move on. */
  private skip(expected: string): void {
    if (!this.peekIs(expected)) throw new FormatterBug(`expected ${expected} to skip`);
    this.next++;
  }

  /** Comments before `offset` not printed yet, in the place of the token at `offset`. */
  private commentsBefore(offset: number): Doc[] {
    const out: Doc[] = [];
    while (this.nextComment < this.comments.length && this.comments[this.nextComment]!.start < offset) {
      const c = this.comments[this.nextComment++]!;
      const inline = c.kind === "block" && !c.newlineAfter;
      if (!c.newlineBefore) out.push(inline ? this.inlineComment(c) : [this.trailing(c), hardline]);
      else out.push(freshLine, inline ? [commentDoc(c), space] : [commentDoc(c), hardline]);
    }
    return out;
  }

  private inlineComment(c: Comment): Doc {
    return [c.spaceBefore ? space : "", commentDoc(c), c.spaceAfter ? space : ""];
  }

  /** A comment that ends a line: a line comment keeps its column; a block comment stays next to the code. */
  private trailing(c: Comment): Doc {
    return c.kind === "block" ? [c.spaceBefore ? space : "", commentDoc(c)] : trailingComment(c.text, c.column);
  }

  /**
   * Comments that end the line of the last printed token: printed now, before a possible
   * line break. `forced` says whether a break must follow.
   */
  private flushTrailing(): { docs: Doc[]; forced: boolean } {
    const docs: Doc[] = [];
    let forced = false;
    const limit = this.peek()?.startOffset ?? Infinity;
    while (this.nextComment < this.comments.length) {
      const c = this.comments[this.nextComment]!;
      if (c.newlineBefore || c.start >= limit) break;
      this.nextComment++;
      if (c.kind === "block" && !c.newlineAfter) docs.push(this.inlineComment(c));
      else {
        docs.push(this.trailing(c));
        forced = true;
      }
    }
    return { docs, forced };
  }

  /** A possible line break, after the comments that end the current line (which force it). */
  private sep(lineDoc: Doc): Doc {
    const { docs, forced } = this.flushTrailing();
    return docs.length === 0 ? lineDoc : [...docs, forced ? hardline : lineDoc];
  }

  /** Whether the source has a line break between two offsets. */
  private breakBetween(from: number, to: number): boolean {
    return lineBreaks(this.text.slice(from, to)) > 0;
  }

  /** Whether an empty line precedes `offset` (only whitespace between). */
  private blankBefore(offset: number): boolean {
    let breaks = 0;
    for (let i = offset - 1; i >= 0; i--) {
      const c = this.text.charCodeAt(i);
      if (c === 10) breaks++;
      else if (c === 13) {
        if (this.text.charCodeAt(i + 1) !== 10) breaks++;
      } else if (c !== 32 && c !== 9 && c !== 12 && c !== 11 && c !== 0xfeff && c !== 0xa0) break;
    }
    return breaks > 1;
  }

  // -------------------------------------------------------------------------
  // Bodies: one item per line, with the comments between them

  /**
   * Items one per line, each after the comments that precede it. `close` is the token
   * that ends the body (`}`), or undefined at the end of the file. `separator` is the
   * break before each item and before `close` (`line` lets a short if-branch stay flat).
   */
  private body<T extends BodyItem>(items: readonly T[], print: (item: T) => Doc, options: { close?: string; separator?: Doc } = {}): Doc {
    const separator = options.separator ?? hardline;
    const parts: Doc[] = [];
    let printed = false; // anything printed in this body yet (only later things may have a blank line before them)
    let glued = false; // the last thing printed is a block comment that what follows continues on its line
    /** The comments before `until`, each on its own line (or continued by what follows, for a block comment). */
    const comments = (until: number): void => {
      parts.push(...this.flushTrailing().docs);
      while (this.nextComment < this.comments.length && this.comments[this.nextComment]!.start < until) {
        const c = this.comments[this.nextComment++]!;
        parts.push(glued ? " " : [hardline, printed && c.blankBefore ? hardline : ""], commentDoc(c));
        glued = c.kind === "block" && !c.newlineAfter;
        printed = true;
      }
    };
    items.forEach((item) => {
      const start = item.range.start.offset;
      comments(start);
      const blank = printed && this.blankBefore(start);
      parts.push(glued ? " " : [printed ? hardline : separator, blank ? hardline : ""], print(item));
      glued = false;
      printed = true;
    });
    if (options.close === undefined) {
      comments(Infinity);
      return parts;
    }
    comments(this.peek()?.startOffset ?? Infinity);
    if (!printed) return this.tok(options.close);
    return [indent(parts), glued ? " " : separator, this.tok(options.close)];
  }

  file(ast: A.DlmFile): Doc {
    return this.body(ast.items, (item) => this.item(item));
  }

  private item(item: A.Item): Doc {
    switch (item.kind) {
      case "Import":
        return [
          this.rawUntil(item.path.range.start.offset, "import"),
          this.tok("import"),
          " ",
          this.tok(),
          item.alias ? [" ", this.tok("as"), " ", this.tok()] : "",
        ];
      case "Const":
        return [this.annotations(item.annotations), this.tok("const"), " ", this.tok(), " ", this.tok("="), " ", this.expr(item.value)];
      case "Block":
        return [
          this.annotations(item.annotations),
          this.tok(item.isModel ? "model" : "block"),
          " ",
          this.tok(),
          this.peekIs("(") ? this.list("(", item.params, ")", (p) => this.hyperParam(p)) : "",
          " ",
          this.statements(item.body),
        ];
      case "Train":
        return [this.annotations(item.annotations), this.tok("train"), " ", this.tok(), " ", this.statements(item.body)];
    }
  }

  /**
   * Annotations of an import (the AST does not keep them): its tokens before the
   * `import` keyword, spaced as written.
   */
  private rawUntil(limit: number, keyword: string): Doc {
    const parts: Doc[] = [];
    let prevEnd = -1;
    for (let t = this.peek(); t && t.startOffset < limit && t.image !== keyword; t = this.peek()) {
      if (prevEnd >= 0) {
        const gap = this.text.slice(prevEnd, t.startOffset);
        if (this.breakBetween(prevEnd, t.startOffset)) parts.push(this.sep(hardline));
        else if (/\s/.test(gap)) parts.push(" ");
      }
      prevEnd = t.startOffset + t.image.length;
      parts.push(this.tok());
    }
    if (prevEnd >= 0) {
      const kw = this.peek();
      parts.push(kw && this.breakBetween(prevEnd, kw.startOffset) ? this.sep(hardline) : " ");
    }
    return parts;
  }

  /** `{ statements }` */
  private statements(stmts: readonly (A.Stmt | A.PhaseDecl)[]): Doc {
    const open = this.tok("{");
    return [open, this.body(stmts, (s) => this.statement(s), { close: "}" })];
  }

  private annotations(anns: readonly A.Annotation[]): Doc {
    return anns.map((a) => {
      const doc = [this.tok(), this.peekIs("(") ? this.list("(", a.args, ")", (arg) => this.argument(arg)) : ""];
      const next = this.peek();
      const ownLine = next !== undefined && this.breakBetween(a.range.end.offset, next.startOffset);
      return [doc, ownLine ? this.sep(hardline) : " "];
    });
  }

  private hyperParam(p: A.HyperParam): Doc {
    return [
      this.tok(),
      p.type ? [this.tok(":"), " ", this.typeName(p.type)] : "",
      p.default ? [" ", this.tok("="), " ", this.expr(p.default)] : "",
    ];
  }

  private typeName(t: A.TypeName): Doc {
    return [this.tok(), this.peekIs("[") ? this.list("[", t.args, "]", (a) => this.typeName(a)) : ""];
  }

  // -------------------------------------------------------------------------
  // Statements

  private statement(s: A.Stmt | A.PhaseDecl): Doc {
    const anns = this.annotations(s.annotations);
    switch (s.kind) {
      case "Input":
      case "State":
        return [anns, this.tok(s.kind === "Input" ? "input" : "state"), " ", this.items(s.items, (t) => this.typedName(t))];
      case "Param":
        return [
          anns,
          this.tok("param"),
          " ",
          this.tok(),
          this.tok(":"),
          " ",
          this.tensorType(s.type),
          s.init ? [" ", this.tok("="), " ", this.expr(s.init)] : "",
        ];
      case "Layer":
      case "Next":
        return [anns, this.tok(s.kind === "Layer" ? "layer" : "next"), " ", this.tok(), " ", this.tok("="), " ", this.expr(s.value)];
      case "Output":
        return [
          anns,
          this.tok("output"),
          " ",
          s.name ? [this.tok(), s.type ? [this.tok(":"), " ", this.tensorType(s.type)] : "", " ", this.tok("="), " "] : "",
          this.expr(s.value),
        ];
      case "Binding":
        return [anns, this.binding(s)];
      case "For":
        return [anns, this.tok("for"), " ", this.tok(), " ", this.tok("in"), " ", this.expr(s.iterable), " ", this.statements(s.body)];
      case "Phase":
        return [anns, this.tok("phase"), " ", this.tok(), " ", this.statements(s.body)];
      case "ErrorStmt":
        throw new FormatterBug("a statement that did not parse");
    }
  }

  private binding(b: A.Binding): Doc {
    const targets = b.targets.map((t, i) => [
      i > 0 ? [this.tok(","), " "] : "",
      this.tok(),
      t.type ? [this.tok(":"), " ", this.tensorType(t.type)] : "",
    ]);
    return [targets, " ", this.tok("="), " ", this.expr(b.value)];
  }

  private typedName(t: A.TypedName): Doc {
    return [this.tok(), this.tok(":"), " ", this.tensorType(t.type), t.init ? [" ", this.tok("="), " ", this.expr(t.init)] : ""];
  }

  private tensorType(t: A.TensorTypeExpr): Doc {
    return [this.tok(), this.peekIs("[") ? this.list("[", t.dims, "]", (d) => (d.kind === "Wildcard" ? this.tok("_") : this.expr(d))) : ""];
  }

  // -------------------------------------------------------------------------
  // Lists: as many items per line as fit, continuation lines aligned with the first item

  /** `open items close`; a trailing comma is dropped unless it makes a 1-tuple. */
  private list<T>(open: string, items: readonly T[], close: string, print: (item: T) => Doc, keepTrailingComma = false): Doc {
    const openDoc = this.tok(open);
    if (items.length === 0) return [openDoc, this.tok(close)];
    const body = this.items(items, print, keepTrailingComma);
    return [openDoc, body, this.tok(close)];
  }

  /** Comma-separated items filling lines, aligned with the first one. */
  private items<T>(items: readonly T[], print: (item: T) => Doc, keepTrailingComma = false): Doc {
    const parts: Doc[] = [];
    items.forEach((item, i) => {
      if (i > 0) parts.push(this.sep(line));
      const doc = print(item);
      if (i < items.length - 1) parts.push([doc, this.tok(",")]);
      else if (this.peekIs(",")) {
        if (keepTrailingComma) parts.push([doc, this.tok(",")]);
        else {
          parts.push(doc);
          this.skip(",");
        }
      } else parts.push(doc);
    });
    return alignHere(fill(parts));
  }

  private argument(a: A.Argument): Doc {
    return a.name ? [this.tok(), this.tok(":"), " ", this.expr(a.value)] : this.expr(a.value);
  }

  // -------------------------------------------------------------------------
  // Expressions

  /** The number of parenthesis pairs around `e` in the source (a tuple's own pair not counted). */
  private parenLayers(e: A.Expr): number {
    let first = this.indexAt.get(e.range.start.offset);
    let last = this.indexEndingAt.get(e.range.end.offset);
    if (first === undefined || last === undefined) return 0;
    let layers = 0;
    while (first < last && this.tokens[first]!.image === "(" && this.partner[first] === last) {
      layers++;
      first++;
      last--;
    }
    return e.kind === "Tuple" ? layers - 1 : layers;
  }

  private expr(e: A.Expr): Doc {
    const layers = this.parenLayers(e);
    if (layers === 0) return this.bare(e);
    const open = this.tok("(");
    for (let k = 1; k < layers; k++) this.skip("(");
    const inner = this.bare(e);
    for (let k = 1; k < layers; k++) this.skip(")");
    return [open, inner, this.tok(")")];
  }

  private bare(e: A.Expr): Doc {
    switch (e.kind) {
      case "Number":
      case "String":
      case "Bool":
      case "None":
      case "Identifier":
        return this.tok();
      case "Binary":
        return this.binary(e);
      case "Unary": {
        const op = this.tok(e.op);
        return [op, e.op === "not" ? " " : "", this.expr(e.operand)];
      }
      case "Pipe":
        return this.pipe(e);
      case "Call":
        return [this.expr(e.callee), this.list("(", e.args, ")", (a) => this.argument(a))];
      case "Index":
        return [this.expr(e.target), this.list("[", e.indices, "]", (ix) => (ix.kind === "Slice" ? this.slice(ix) : this.expr(ix)))];
      case "Member":
        return [this.expr(e.target), this.tok("."), this.tok()];
      case "Named":
        return [
          this.expr(e.value),
          " ",
          this.tok("as"),
          " ",
          this.tok(),
          e.index ? [this.tok("["), this.expr(e.index), this.tok("]")] : "",
        ];
      case "List":
        return this.list("[", e.elements, "]", (x) => this.expr(x));
      case "Tuple":
        return this.list("(", e.elements, ")", (x) => this.expr(x), e.elements.length === 1);
      case "Comprehension":
        return this.comprehension(e);
      case "Range":
        return [this.expr(e.start), this.tok(".."), this.expr(e.end)];
      case "If":
        return this.ifChain(e);
      case "Missing":
        throw new FormatterBug("a missing expression");
    }
  }

  /** A chain of one precedence level, `a + b - c`, flattened (long chains do not recurse). */
  private binary(e: A.BinaryExpr): Doc {
    const prec = BINARY_PRECEDENCE[e.op];
    const chain: A.BinaryExpr[] = [];
    let left: A.Expr = e;
    // left-associative operators nest on the left; `**` (right-associative) is printed as it nests
    while (
      left.kind === "Binary" &&
      left.op !== "**" &&
      BINARY_PRECEDENCE[left.op] === prec &&
      (left === e || this.parenLayers(left) === 0)
    ) {
      chain.push(left);
      left = left.left;
    }
    if (chain.length === 0) return [this.expr(e.left), " ", this.tok(e.op), " ", this.expr(e.right)];
    // a chain too long for its line wraps before an operator, aligned with its first operand
    const parts: Doc[] = [this.expr(left)];
    for (let i = chain.length - 1; i >= 0; i--) {
      const link = chain[i]!;
      parts.push(this.sep(line));
      const op = this.tok(link.op);
      parts.push([op, " ", this.expr(link.right)]);
    }
    return alignHere(fill(parts, true));
  }

  private slice(s: A.SliceExpr): Doc {
    const parts: Doc[] = [];
    if (s.start) parts.push(this.expr(s.start));
    parts.push(this.tok(":"));
    if (s.stop) parts.push(this.expr(s.stop));
    if (this.peekIs(":")) parts.push(this.tok(":"));
    if (s.step) parts.push(this.expr(s.step));
    return parts;
  }

  /**
   * `head |> a |> b`: the author's breaks before stages are kept and more are added only
   * where a line is too long. Continuation lines are indented two columns when the first
   * line holds only the head or when the author indented them so; otherwise their `|>`
   * aligns under the first one.
   */
  private pipe(p: A.PipeExpr): Doc {
    const head = this.expr(p.head);
    const parts: Doc[] = [];
    let prevEnd = p.head.range.end.offset;
    let headAlone = false;
    let firstBarColumn = -1;
    let aligned: boolean | undefined; // decided by the first continuation line
    let leading: Doc = "";
    p.stages.forEach((stage, i) => {
      const broken = this.breakBetween(prevEnd, stage.range.start.offset);
      if (i === 0) headAlone = broken;
      if (i > 0) parts.push(this.sep(broken ? hardline : line));
      else if (broken) parts.push(this.sep(hardline));
      const barOffset = this.peek()?.startOffset ?? 0;
      if (i === 0) {
        firstBarColumn = columnOf(this.text, barOffset);
        if (!broken) leading = this.commentsBefore(barOffset);
      } else if (broken && aligned === undefined) {
        // where the continuation line starts (a comment before its `|>` included: it is
        // printed at that place), so formatting the output again decides the same way
        aligned = columnOf(this.text, lineContentStart(this.text, barOffset)) === firstBarColumn;
      }
      const bar = this.tok("|>");
      parts.push([bar, " ", this.expr(stage)]);
      prevEnd = stage.range.end.offset;
    });
    if (headAlone) {
      const [first, ...rest] = parts;
      return [head, indent([first!, fill(rest)])];
    }
    // comments before the first `|>` go before the column the others align with
    return [head, " ", leading, aligned === false ? indent(fill(parts)) : alignHere(fill(parts))];
  }

  private comprehension(c: A.ComprehensionExpr): Doc {
    const open = this.tok("[");
    const element = this.expr(c.element);
    const forPart = [this.sep(line), this.tok("for"), " ", this.tok(), " ", this.tok("in"), " ", this.expr(c.iterable)];
    const ifPart = c.condition ? [this.sep(line), this.tok("if"), " ", this.expr(c.condition)] : "";
    return group([open, alignHere([element, forPart, ifPart]), this.tok("]")]);
  }

  /**
   * `if a { x } else if b { y } else { z }`: one line when it fits and was written on one
   * line; otherwise every branch on its own lines.
   */
  private ifChain(e: A.IfExpr): Doc {
    const firstBrace = this.indexAt.get(e.then.range.start.offset);
    const nextToken = firstBrace === undefined ? undefined : this.tokens[firstBrace + 1];
    const writtenBroken =
      firstBrace !== undefined && nextToken !== undefined && this.breakBetween(e.then.range.start.offset + 1, nextToken.startOffset);
    const parts: Doc[] = [];
    let link: A.IfExpr = e;
    for (;;) {
      parts.push(this.tok("if"), " ", this.expr(link.condition), " ", this.blockExpr(link.then));
      const otherwise = link.else;
      if (!otherwise) break;
      parts.push(" ", this.tok("else"), " ");
      if (otherwise.kind === "If") {
        link = otherwise;
        continue;
      }
      parts.push(this.blockExpr(otherwise));
      break;
    }
    return group(parts, writtenBroken);
  }

  private blockExpr(b: A.BlockExpr): Doc {
    const open = this.tok("{");
    const items: (A.Binding | A.Expr)[] = [...b.stmts, b.result];
    return [
      open,
      this.body(items, (item) => (item.kind === "Binding" ? [this.annotations(item.annotations), this.binding(item)] : this.expr(item)), {
        close: "}",
        separator: b.stmts.length > 0 ? hardline : line,
      }),
    ];
  }
}

/** The offset of the first non-blank character on the line holding `offset`. */
function lineContentStart(text: string, offset: number): number {
  let start = offset;
  while (start > 0 && text[start - 1] !== "\n" && text[start - 1] !== "\r") start--;
  while (start < offset && (text[start] === " " || text[start] === "\t" || text[start] === "\uFEFF")) start++;
  return start;
}

function commentDoc(c: Comment): Doc {
  return /[\r\n]/.test(c.text) ? verbatim(c.text) : c.text;
}
