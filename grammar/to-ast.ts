// CST → AST (layer 3 of 3: tokens → parser → to-ast).
//
// Builds the typed AST of ast.ts from the concrete syntax tree, giving every node a source
// range (start inclusive, end exclusive; 1-based line and column, 0-based offset). The CST
// of a file with syntax errors is partial (recovery skipped or re-synced tokens), so every
// child is treated as possibly absent: a statement missing an essential part becomes an
// `ErrorStmt`, a missing expression a `Missing` node, and nothing here throws on them.
//
// Expressions arrive flat from the parser (operands separated by binary operators, each
// operand with its prefix operators); `buildExpression` applies precedence with an
// explicit operator stack, so long operator chains never recurse.

import type { CstNode, IToken } from "chevrotain";
import type * as A from "./ast.js";
import type * as C from "./cst.js";
import { createDiagnostic, Diagnostics, type Diagnostic } from "../compiler/diagnostics/index.js";

// ---------------------------------------------------------------------------
// Offsets → positions

/**
 * Maps offsets to 1-based line/column. LF, CRLF and a lone CR each end a line. Offsets
 * count a leading byte-order mark but columns do not (editors hide it, and a caret drawn
 * under the source must not be shifted by it).
 */
export class LineIndex {
  private readonly starts: number[] = [0];
  private readonly bom: number;
  private last = 0;

  constructor(readonly text: string) {
    const starts = this.starts;
    const re = /\r\n?|\n/g;
    while (re.exec(text) !== null) starts.push(re.lastIndex);
    this.bom = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  }

  get lineCount(): number {
    return this.starts.length;
  }

  position(offset: number): A.Position {
    const o = Math.max(0, Math.min(offset, this.text.length));
    const starts = this.starts;
    let line = this.last;
    // Lookups are mostly in increasing order: try the cached line first.
    if (!(starts[line]! <= o && (line + 1 >= starts.length || starts[line + 1]! > o))) {
      let lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid]! <= o) lo = mid;
        else hi = mid - 1;
      }
      line = lo;
      this.last = line;
    }
    const column = line === 0 ? Math.max(1, o - this.bom + 1) : o - starts[line]! + 1;
    return { offset: o, line: line + 1, column };
  }

  range(start: number, end: number): A.SourceRange {
    return { start: this.position(start), end: this.position(Math.max(start, end)) };
  }
}

// ---------------------------------------------------------------------------

/** A statement or item with its extent, for parse.ts's "one typo, one message" filter. */
export interface ParsedSpan {
  readonly start: number;
  readonly end: number;
  /** an ErrorStmt, or a node the parser had to recover */
  readonly bad: boolean;
}

export interface AstResult {
  readonly ast: A.DlmFile;
  readonly spans: ParsedSpan[];
  /** warnings found while building (DLM1012) */
  readonly diagnostics: Diagnostic[];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

type Tok = IToken | undefined;
type Located = { readonly range: A.SourceRange } | undefined;

/** A real token (recovery may insert virtual ones with no position). */
function real(tok: Tok): IToken | undefined {
  return tok !== undefined && !tok.isInsertedInRecovery && Number.isFinite(tok.startOffset) ? tok : undefined;
}

function first<T>(xs: readonly T[] | undefined): T | undefined {
  return xs?.[0];
}

function firstTok(xs: readonly IToken[] | undefined): IToken | undefined {
  return real(xs?.[0]);
}

function tokEnd(tok: IToken): number {
  return tok.startOffset + tok.image.length;
}

/** Binary-operator precedence, higher binds tighter. Prefix `not` is 4, prefix `-`/`+` 9. */
const BINARY_PRECEDENCE: Record<string, number> = {
  "|>": 1,
  or: 2,
  and: 3,
  "==": 5,
  "!=": 5,
  "<": 5,
  "<=": 5,
  ">": 5,
  ">=": 5,
  "..": 6,
  "+": 7,
  "-": 7,
  "*": 8,
  "/": 8,
  "%": 8,
  "@": 8,
  "**": 10,
};
/** A run of prefix operators (`- - - x`) longer than this is DLM1007. */
export const MAX_PREFIX_RUN = 200;
/**
 * An expression whose tree could be deeper than this is DLM1007: a bound for every pass
 * that recurses over the AST (200 levels of brackets stay well below it).
 */
export const MAX_EXPRESSION_DEPTH = 1500;

const NOT_PRECEDENCE = 4;
const SIGN_PRECEDENCE = 9;

interface PendingOp {
  readonly tok: IToken;
  readonly prefix: boolean;
  readonly prec: number;
}

const STRING_ESCAPES: Record<string, string> = { n: "\n", t: "\t", "\\": "\\", '"': '"' };

/** Decodes a string literal's text (quotes included, closing quote optional). Invalid escapes are kept verbatim. */
export function unescapeString(image: string): string {
  const closed = image.length >= 2 && image.endsWith('"') && !isEscapedQuoteAtEnd(image);
  const body = image.slice(1, closed ? -1 : undefined);
  if (!body.includes("\\")) return body;
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const e = body[i + 1];
    if (e === undefined) {
      out += "\\";
      break;
    }
    const simple = STRING_ESCAPES[e];
    if (simple !== undefined) {
      out += simple;
      i++;
      continue;
    }
    if (e === "u") {
      const m = /^\{([0-9a-fA-F]{1,6})\}/.exec(body.slice(i + 2, i + 11));
      const cp = m ? parseInt(m[1]!, 16) : NaN;
      if (m && cp <= 0x10ffff) {
        out += String.fromCodePoint(cp);
        i += 1 + m[0].length;
        continue;
      }
    }
    out += "\\" + e;
    i++;
  }
  return out;
}

/** Whether the final `"` of a string token is escaped (`"abc\"`, unterminated). */
export function isEscapedQuoteAtEnd(image: string): boolean {
  let backslashes = 0;
  for (let i = image.length - 2; i >= 1 && image[i] === "\\"; i--) backslashes++;
  return backslashes % 2 === 1;
}

/** The value of a number literal, or NaN when it is malformed (parse.ts reports DLM1006). */
export function numberValue(text: string): { value: number; isFloat: boolean } {
  if (text.length < 16 && /^\d+$/.test(text)) return { value: Number(text), isFloat: false };
  if (/^0[xX]/.test(text)) {
    const ok = /^0[xX][0-9a-fA-F]+(?:_[0-9a-fA-F]+)*$/.test(text);
    return { value: ok ? parseInt(text.slice(2).replace(/_/g, ""), 16) : NaN, isFloat: false };
  }
  const ok = /^\d+(?:_\d+)*(?:\.\d+(?:_\d+)*)?(?:[eE][+-]?\d+(?:_\d+)*)?$/.test(text);
  const isFloat = /[.eE]/.test(text);
  return { value: ok ? Number(text.replace(/_/g, "")) : NaN, isFloat };
}

// ---------------------------------------------------------------------------

export interface AstInput {
  readonly text: string;
  readonly file: string;
  readonly lines: LineIndex;
  /** the `///` comments, in order */
  readonly docs: readonly IToken[];
  /** whether the parser reported errors (only then can CST nodes be partial) */
  readonly hadErrors: boolean;
}

export function buildAst(cst: C.FileCstNode | undefined, input: AstInput): AstResult {
  const b = new AstBuilder(input);
  const ast = b.file(cst);
  return { ast, spans: b.spans, diagnostics: b.diagnostics };
}

class AstBuilder {
  readonly spans: ParsedSpan[] = [];
  readonly diagnostics: Diagnostic[] = [];
  private readonly text: string;
  private readonly lines: LineIndex;
  private readonly docs: readonly IToken[];
  private readonly fileName: string;
  private readonly hadErrors: boolean;
  /** an upper bound of the AST depth of the expression being built (see `expression`) */
  private depth = 0;
  private reportedTooDeep = false;

  constructor(input: AstInput) {
    this.hadErrors = input.hadErrors;
    this.text = input.text;
    this.lines = input.lines;
    this.docs = input.docs;
    this.fileName = input.file;
  }

  private range(start: number, end: number): A.SourceRange {
    return this.lines.range(start, end);
  }

  private tokRange(tok: IToken): A.SourceRange {
    return this.range(tok.startOffset, tokEnd(tok));
  }

  /** The largest end offset among the given tokens and nodes (`fallback` when none is real). */
  private endOf(fallback: number, ...parts: (Tok | Located)[]): number {
    let end = -1;
    for (const p of parts) {
      if (p === undefined) continue;
      if ("range" in p) end = Math.max(end, p.range.end.offset);
      else if (real(p)) end = Math.max(end, tokEnd(p));
    }
    return end < 0 ? fallback : end;
  }

  /** The smallest start offset among the given tokens and nodes. */
  private startOf(fallback: number, ...parts: (Tok | Located)[]): number {
    let start = Infinity;
    for (const p of parts) {
      if (p === undefined) continue;
      if ("range" in p) start = Math.min(start, p.range.start.offset);
      else if (real(p)) start = Math.min(start, p.startOffset);
    }
    return start === Infinity ? fallback : start;
  }

  /** First and last real token offsets anywhere in a CST subtree (for partial nodes). */
  private cstExtent(node: CstNode | undefined): { start: number; end: number } | undefined {
    if (node === undefined) return undefined;
    let start = Infinity;
    let end = -1;
    const visit = (n: CstNode): void => {
      for (const key in n.children) {
        for (const child of n.children[key]!) {
          if ("children" in child) visit(child as CstNode);
          else {
            const t = real(child as IToken);
            if (t) {
              if (t.startOffset < start) start = t.startOffset;
              if (tokEnd(t) > end) end = tokEnd(t);
            }
          }
        }
      }
    };
    visit(node);
    return end < 0 ? undefined : { start, end };
  }

  private missing(at: number): A.MissingExpr {
    return { kind: "Missing", range: this.range(at, at) };
  }

  private identifier(tok: IToken): A.Identifier {
    return { kind: "Identifier", name: tok.image, range: this.tokRange(tok) };
  }

  /** `///` lines with start offset in [from, to), markers stripped. */
  private docBetween(from: number, to: number): string | undefined {
    const docs = this.docs;
    if (docs.length === 0) return undefined;
    let lo = 0;
    let hi = docs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (docs[mid]!.startOffset < from) lo = mid + 1;
      else hi = mid;
    }
    const lines: string[] = [];
    for (let i = lo; i < docs.length && docs[i]!.startOffset < to; i++) {
      let line = docs[i]!.image.slice(3);
      if (line.startsWith(" ")) line = line.slice(1);
      lines.push(line.trimEnd());
    }
    return lines.length > 0 ? lines.join("\n") : undefined;
  }

  // -------------------------------------------------------------------------
  // File and declarations

  file(cst: C.FileCstNode | undefined): A.DlmFile {
    const items: A.Item[] = [];
    let prevEnd = 0;
    let prev: A.Item | undefined;
    for (const itemCst of cst?.children.item ?? []) {
      const item = this.item(itemCst, prevEnd);
      if (item === undefined) {
        const ext = this.cstExtent(itemCst);
        if (ext) prevEnd = ext.end;
        continue;
      }
      if (prev && "annotations" in item) this.checkAnnotationPlacement(prev, item.annotations);
      items.push(item);
      this.spans.push({
        start: item.range.start.offset,
        end: item.range.end.offset,
        bad: this.hadErrors && isRecovered(itemCst),
      });
      prevEnd = item.range.end.offset;
      prev = item;
    }
    return { kind: "File", items, range: this.range(0, this.text.length) };
  }

  private item(cst: C.ItemCstNode, prevEnd: number): A.Item | undefined {
    const c = cst.children;
    const annotations = this.annotations(c.annotation);
    const importCst = first(c.importDecl);
    if (importCst) return this.importDecl(importCst, annotations, prevEnd);
    const constCst = first(c.constDecl);
    if (constCst) return this.constDecl(constCst, annotations, prevEnd);
    const blockCst = first(c.blockDecl);
    if (blockCst) return this.blockDecl(blockCst, annotations, prevEnd);
    const trainCst = first(c.trainDecl);
    if (trainCst) return this.trainDecl(trainCst, annotations, prevEnd);
    return undefined;
  }

  private importDecl(cst: C.ImportDeclCstNode, annotations: A.Annotation[], prevEnd: number): A.ImportDecl | undefined {
    const c = cst.children;
    const kw = firstTok(c.Import);
    const pathTok = firstTok(c.StringLiteral);
    if (!kw || !pathTok) return undefined;
    const aliasTok = firstTok(c.Identifier);
    const start = this.startOf(kw.startOffset, annotations[0], kw);
    const end = this.endOf(tokEnd(pathTok), pathTok, firstTok(c.As), aliasTok);
    const doc = this.docBetween(prevEnd, kw.startOffset);
    return {
      kind: "Import",
      path: this.stringLiteral(pathTok),
      ...(aliasTok ? { alias: this.identifier(aliasTok) } : {}),
      ...(doc !== undefined ? { doc } : {}),
      range: this.range(start, end),
    };
  }

  private constDecl(cst: C.ConstDeclCstNode, annotations: A.Annotation[], prevEnd: number): A.ConstDecl | undefined {
    const c = cst.children;
    const kw = firstTok(c.Const);
    const nameTok = firstTok(c.Identifier);
    const eq = firstTok(c.Eq);
    if (!kw || !nameTok) return undefined;
    const value = this.expression(first(c.expression), eq ? tokEnd(eq) : tokEnd(nameTok));
    const start = this.startOf(kw.startOffset, annotations[0], kw);
    const doc = this.docBetween(prevEnd, kw.startOffset);
    return {
      kind: "Const",
      name: this.identifier(nameTok),
      value,
      ...(doc !== undefined ? { doc } : {}),
      annotations,
      range: this.range(start, this.endOf(tokEnd(nameTok), nameTok, eq, value)),
    };
  }

  private blockDecl(cst: C.BlockDeclCstNode, annotations: A.Annotation[], prevEnd: number): A.BlockDecl | undefined {
    const c = cst.children;
    const kw = firstTok(c.Block) ?? firstTok(c.Model);
    const nameTok = firstTok(c.Identifier);
    if (!kw || !nameTok) return undefined;
    const params: A.HyperParam[] = [];
    const list = first(c.paramList);
    let paramPrevEnd = this.endOf(tokEnd(nameTok), firstTok(c.LParen));
    for (const p of list?.children.hyperParam ?? []) {
      const hp = this.hyperParam(p, paramPrevEnd);
      if (hp) {
        params.push(hp);
        paramPrevEnd = hp.range.end.offset;
      }
    }
    const bodyCst = first(c.statementBlock);
    const body = this.statementBlock(bodyCst);
    const start = this.startOf(kw.startOffset, annotations[0], kw);
    const end = this.endOf(tokEnd(nameTok), nameTok, firstTok(c.RParen), params[params.length - 1], ...this.blockEnds(bodyCst, body));
    const doc = this.docBetween(prevEnd, kw.startOffset);
    return {
      kind: "Block",
      isModel: kw.tokenType.name === "Model",
      name: this.identifier(nameTok),
      params,
      body,
      ...(doc !== undefined ? { doc } : {}),
      annotations,
      range: this.range(start, end),
    };
  }

  /** Tokens and nodes that bound a `{ ... }` body, for range ends. */
  private blockEnds(cst: C.StatementBlockCstNode | undefined, body: readonly Located[]): (Tok | Located)[] {
    if (!cst) return [];
    return [firstTok(cst.children.LBrace), body[body.length - 1], firstTok(cst.children.RBrace)];
  }

  private hyperParam(cst: C.HyperParamCstNode, prevEnd: number): A.HyperParam | undefined {
    const c = cst.children;
    const nameTok = firstTok(c.Identifier);
    if (!nameTok) return undefined;
    const typeCst = first(c.typeName);
    const type = typeCst ? this.typeName(typeCst) : undefined;
    const eq = firstTok(c.Eq);
    const def = c.Eq ? this.expression(first(c.expression), this.endOf(tokEnd(nameTok), eq, type)) : undefined;
    const doc = this.docBetween(prevEnd, nameTok.startOffset);
    return {
      kind: "HyperParam",
      name: this.identifier(nameTok),
      ...(type ? { type } : {}),
      ...(def ? { default: def } : {}),
      ...(doc !== undefined ? { doc } : {}),
      range: this.range(nameTok.startOffset, this.endOf(tokEnd(nameTok), nameTok, firstTok(c.Colon), type, eq, def)),
    };
  }

  private typeName(cst: C.TypeNameCstNode): A.TypeName | undefined {
    const c = cst.children;
    const nameTok = firstTok(c.Identifier);
    if (!nameTok) return undefined;
    const args: A.TypeName[] = [];
    for (const a of c.typeName ?? []) {
      const t = this.typeName(a);
      if (t) args.push(t);
    }
    return {
      kind: "TypeName",
      name: this.identifier(nameTok),
      args,
      range: this.range(nameTok.startOffset, this.endOf(tokEnd(nameTok), nameTok, args[args.length - 1], firstTok(c.RBracket))),
    };
  }

  private trainDecl(cst: C.TrainDeclCstNode, annotations: A.Annotation[], prevEnd: number): A.TrainDecl | undefined {
    const c = cst.children;
    const kw = firstTok(c.Train);
    const modelTok = firstTok(c.Identifier);
    if (!kw || !modelTok) return undefined;
    const body: (A.Stmt | A.PhaseDecl)[] = [];
    let prev: A.Stmt | A.PhaseDecl | undefined;
    for (const itemCst of c.trainItem ?? []) {
      const ic = itemCst.children;
      const anns = this.annotations(ic.annotation);
      const phaseCst = first(ic.phaseDecl);
      let node: A.Stmt | A.PhaseDecl | undefined;
      if (phaseCst) node = this.phaseDecl(phaseCst, anns);
      else node = this.statementCore(first(ic.statementCore), anns, itemCst);
      if (!node) continue;
      if (prev) this.checkAnnotationPlacement(prev, node.annotations);
      body.push(node);
      this.spans.push({
        start: node.range.start.offset,
        end: node.range.end.offset,
        bad: node.kind === "ErrorStmt" || (this.hadErrors && isRecovered(itemCst)),
      });
      prev = node;
    }
    const start = this.startOf(kw.startOffset, annotations[0], kw);
    const end = this.endOf(tokEnd(modelTok), modelTok, firstTok(c.LBrace), body[body.length - 1], firstTok(c.RBrace));
    const doc = this.docBetween(prevEnd, kw.startOffset);
    return {
      kind: "Train",
      model: this.identifier(modelTok),
      body,
      ...(doc !== undefined ? { doc } : {}),
      annotations,
      range: this.range(start, end),
    };
  }

  private phaseDecl(cst: C.PhaseDeclCstNode, annotations: A.Annotation[]): A.PhaseDecl | A.ErrorStmt | undefined {
    const c = cst.children;
    const kw = firstTok(c.Phase);
    const nameTok = firstTok(c.Identifier);
    if (!kw || !nameTok) return this.errorStmt(cst, annotations);
    const bodyCst = first(c.statementBlock);
    const body = this.statementBlock(bodyCst);
    const start = this.startOf(kw.startOffset, annotations[0], kw);
    return {
      kind: "Phase",
      name: this.identifier(nameTok),
      body,
      annotations,
      range: this.range(start, this.endOf(tokEnd(nameTok), nameTok, ...this.blockEnds(bodyCst, body))),
    };
  }

  // -------------------------------------------------------------------------
  // Annotations

  private annotations(csts: C.AnnotationCstNode[] | undefined): A.Annotation[] {
    if (!csts) return [];
    const out: A.Annotation[] = [];
    for (const a of csts) {
      const tok = firstTok(a.children.Annotation);
      if (!tok) continue;
      const args = this.argumentList(first(a.children.argumentList), tokEnd(tok));
      const end = this.endOf(tokEnd(tok), tok, args[args.length - 1], firstTok(a.children.RParen));
      out.push({
        kind: "Annotation",
        name: { kind: "Identifier", name: tok.image.slice(1), range: this.range(tok.startOffset + 1, tokEnd(tok)) },
        args,
        range: this.range(tok.startOffset, end),
      });
    }
    return out;
  }

  /**
   * `y = a @b` lexes `@b` as an annotation of the *next* statement, which is almost
   * certainly a forgotten space in a matrix multiplication: warn (DLM1012).
   */
  private checkAnnotationPlacement(prev: { readonly kind: string; readonly range: A.SourceRange }, anns: readonly A.Annotation[]): void {
    const ann = anns[0];
    if (!ann || prev.kind === "ErrorStmt") return;
    const between = this.text.slice(prev.range.end.offset, ann.range.start.offset);
    if (/^[ \t]*$/.test(between) && prev.range.end.line === ann.range.start.line) {
      this.diagnostics.push(createDiagnostic(Diagnostics.Annotation_after_expression_0, this.fileName, ann.range, [ann.name.name]));
    }
  }

  // -------------------------------------------------------------------------
  // Statements

  private statementBlock(cst: C.StatementBlockCstNode | undefined): A.Stmt[] {
    const out: A.Stmt[] = [];
    if (!cst) return out;
    let prev: A.Stmt | undefined;
    for (const s of cst.children.statement ?? []) {
      const anns = this.annotations(s.children.annotation);
      const stmt = this.statementCore(first(s.children.statementCore), anns, s);
      if (!stmt) continue;
      if (prev) this.checkAnnotationPlacement(prev, stmt.annotations);
      out.push(stmt);
      this.spans.push({
        start: stmt.range.start.offset,
        end: stmt.range.end.offset,
        bad: stmt.kind === "ErrorStmt" || (this.hadErrors && isRecovered(s)),
      });
      prev = stmt;
    }
    return out;
  }

  private errorStmt(cst: CstNode | undefined, annotations: A.Annotation[]): A.ErrorStmt | undefined {
    const ext = this.cstExtent(cst);
    const annStart = annotations[0]?.range.start.offset;
    const annEnd = annotations[annotations.length - 1]?.range.end.offset;
    if (!ext && annStart === undefined) return undefined;
    const start = Math.min(ext?.start ?? Infinity, annStart ?? Infinity);
    const end = Math.max(ext?.end ?? -1, annEnd ?? -1);
    return { kind: "ErrorStmt", annotations, range: this.range(start, end) };
  }

  /**
   * One statement. `outer` is the CST node that also holds the annotations (for the
   * extent of an ErrorStmt). Returns undefined for an empty statement (`;`).
   */
  private statementCore(cst: C.StatementCoreCstNode | undefined, annotations: A.Annotation[], outer: CstNode): A.Stmt | undefined {
    const c = cst?.children;
    let stmt: A.Stmt | undefined;
    if (c) {
      if (c.inputDecl) stmt = this.typedNameList("Input", c.inputDecl[0]!, annotations);
      else if (c.stateDecl) stmt = this.typedNameList("State", c.stateDecl[0]!, annotations);
      else if (c.paramDecl) stmt = this.paramDecl(c.paramDecl[0]!, annotations);
      else if (c.layerDecl) stmt = this.layerDecl(c.layerDecl[0]!, annotations);
      else if (c.outputStmt) stmt = this.outputStmt(c.outputStmt[0]!, annotations);
      else if (c.nextStmt) stmt = this.nextStmt(c.nextStmt[0]!, annotations);
      else if (c.forStmt) stmt = this.forStmt(c.forStmt[0]!, annotations);
      else if (c.binding) stmt = this.binding(c.binding[0]!, annotations);
      else if (c.Semicolon && annotations.length === 0) return undefined;
    }
    return stmt ?? this.errorStmt(outer, annotations);
  }

  private typedNameList(
    kind: "Input" | "State",
    cst: C.InputDeclCstNode | C.StateDeclCstNode,
    annotations: A.Annotation[],
  ): A.InputDecl | A.StateDecl | undefined {
    const kw = firstTok("Input" in cst.children ? cst.children.Input : cst.children.State);
    if (!kw) return undefined;
    const items: A.TypedName[] = [];
    for (const t of cst.children.typedName ?? []) {
      const item = this.typedName(t);
      if (!item) return undefined;
      items.push(item);
    }
    if (items.length === 0) return undefined;
    const start = this.startOf(kw.startOffset, annotations[0], kw);
    return { kind, items, annotations, range: this.range(start, items[items.length - 1]!.range.end.offset) };
  }

  private typedName(cst: C.TypedNameCstNode): A.TypedName | undefined {
    const c = cst.children;
    const nameTok = firstTok(c.Identifier);
    const typeCst = first(c.tensorType);
    const type = typeCst ? this.tensorType(typeCst) : undefined;
    if (!nameTok || !type) return undefined;
    const eq = firstTok(c.Eq);
    const init = c.Eq ? this.expression(first(c.expression), this.endOf(type.range.end.offset, eq)) : undefined;
    return {
      kind: "TypedName",
      name: this.identifier(nameTok),
      type,
      ...(init ? { init } : {}),
      range: this.range(nameTok.startOffset, this.endOf(type.range.end.offset, type, eq, init)),
    };
  }

  private paramDecl(cst: C.ParamDeclCstNode, annotations: A.Annotation[]): A.ParamDecl | undefined {
    const c = cst.children;
    const kw = firstTok(c.Param);
    const nameTok = firstTok(c.Identifier);
    const typeCst = first(c.tensorType);
    const type = typeCst ? this.tensorType(typeCst) : undefined;
    if (!kw || !nameTok || !type) return undefined;
    const eq = firstTok(c.Eq);
    const init = c.Eq ? this.expression(first(c.expression), this.endOf(type.range.end.offset, eq)) : undefined;
    const start = this.startOf(kw.startOffset, annotations[0], kw);
    return {
      kind: "Param",
      name: this.identifier(nameTok),
      type,
      ...(init ? { init } : {}),
      annotations,
      range: this.range(start, this.endOf(type.range.end.offset, type, eq, init)),
    };
  }

  private layerDecl(cst: C.LayerDeclCstNode, annotations: A.Annotation[]): A.LayerDecl | undefined {
    return this.keywordBinding("Layer", firstTok(cst.children.Layer), cst.children, annotations);
  }

  /** `layer NAME = expr` and `next NAME = expr`: a keyword, a name, and its value */
  private keywordBinding<K extends "Layer" | "Next">(
    kind: K,
    kw: IToken | undefined,
    c: { Identifier?: IToken[]; Eq?: IToken[]; expression?: C.ExpressionCstNode[] },
    annotations: A.Annotation[],
  ): { kind: K; name: A.Identifier; value: A.Expr; annotations: A.Annotation[]; range: A.SourceRange } | undefined {
    const nameTok = firstTok(c.Identifier);
    const eq = firstTok(c.Eq);
    if (!kw || !nameTok || !c.Eq) return undefined;
    const value = this.expression(first(c.expression), this.endOf(tokEnd(nameTok), eq));
    const start = this.startOf(kw.startOffset, annotations[0], kw);
    return { kind, name: this.identifier(nameTok), value, annotations, range: this.range(start, this.endOf(tokEnd(nameTok), eq, value)) };
  }

  private outputStmt(cst: C.OutputStmtCstNode, annotations: A.Annotation[]): A.OutputStmt | undefined {
    const c = cst.children;
    const kw = firstTok(c.Output);
    if (!kw) return undefined;
    const start = this.startOf(kw.startOffset, annotations[0], kw);
    const nameTok = firstTok(c.Identifier);
    if (nameTok) {
      const typeCst = first(c.tensorType);
      const type = typeCst ? this.tensorType(typeCst) : undefined;
      const eq = firstTok(c.Eq);
      if (!c.Eq || (c.Colon && !type)) return undefined;
      const value = this.expression(first(c.value), this.endOf(tokEnd(nameTok), type, eq));
      return {
        kind: "Output",
        name: this.identifier(nameTok),
        ...(type ? { type } : {}),
        value,
        annotations,
        range: this.range(start, this.endOf(tokEnd(nameTok), type, eq, value)),
      };
    }
    const valueCst = first(c.value);
    if (!valueCst) return undefined;
    const value = this.expression(valueCst, tokEnd(kw));
    return { kind: "Output", value, annotations, range: this.range(start, this.endOf(tokEnd(kw), value)) };
  }

  private nextStmt(cst: C.NextStmtCstNode, annotations: A.Annotation[]): A.NextStmt | undefined {
    return this.keywordBinding("Next", firstTok(cst.children.Next), cst.children, annotations);
  }

  private forStmt(cst: C.ForStmtCstNode, annotations: A.Annotation[]): A.ForStmt | undefined {
    const c = cst.children;
    const kw = firstTok(c.For);
    const varTok = firstTok(c.Identifier);
    const inTok = firstTok(c.In);
    if (!kw || !varTok || !inTok) return undefined;
    const iterable = this.expression(first(c.expression), tokEnd(inTok));
    const bodyCst = first(c.statementBlock);
    const body = this.statementBlock(bodyCst);
    const start = this.startOf(kw.startOffset, annotations[0], kw);
    return {
      kind: "For",
      variable: this.identifier(varTok),
      iterable,
      body,
      annotations,
      range: this.range(start, this.endOf(tokEnd(inTok), iterable, ...this.blockEnds(bodyCst, body))),
    };
  }

  private binding(cst: C.BindingCstNode, annotations: A.Annotation[]): A.Binding | undefined {
    const c = cst.children;
    const targets: A.BindingTarget[] = [];
    for (const t of c.bindingTarget ?? []) {
      const tc = t.children;
      const nameTok = firstTok(tc.Identifier);
      if (!nameTok) return undefined;
      const typeCst = first(tc.tensorType);
      const type = typeCst ? this.tensorType(typeCst) : undefined;
      if (tc.Colon && !type) return undefined;
      targets.push({
        kind: "BindingTarget",
        name: this.identifier(nameTok),
        ...(type ? { type } : {}),
        range: this.range(nameTok.startOffset, this.endOf(tokEnd(nameTok), type)),
      });
    }
    const eq = firstTok(c.Eq);
    if (targets.length === 0 || !c.Eq) return undefined;
    const last = targets[targets.length - 1]!;
    const value = this.expression(first(c.expression), this.endOf(last.range.end.offset, eq));
    const start = this.startOf(targets[0]!.range.start.offset, annotations[0], targets[0]);
    return {
      kind: "Binding",
      targets,
      value,
      annotations,
      range: this.range(start, this.endOf(last.range.end.offset, eq, value)),
    };
  }

  // -------------------------------------------------------------------------
  // Types

  private tensorType(cst: C.TensorTypeCstNode): A.TensorTypeExpr | undefined {
    const c = cst.children;
    const dtypeTok = firstTok(c.Identifier);
    if (!dtypeTok) return undefined;
    const dims: (A.Expr | A.Wildcard)[] = [];
    let at = this.endOf(tokEnd(dtypeTok), firstTok(c.LBracket));
    for (const d of c.expression ?? []) {
      const e = this.expression(d, at);
      dims.push(e.kind === "Identifier" && e.name === "_" ? { kind: "Wildcard", range: e.range } : e);
      at = e.range.end.offset;
    }
    return {
      kind: "TensorType",
      dtype: this.identifier(dtypeTok),
      dims,
      range: this.range(dtypeTok.startOffset, this.endOf(tokEnd(dtypeTok), dims[dims.length - 1], firstTok(c.RBracket))),
    };
  }

  // -------------------------------------------------------------------------
  // Expressions

  /**
   * The parser's flat `prefix* atom postfix* (binop prefix* atom postfix*)*` → a tree.
   * The pieces come grouped by kind, each group in source order; they are merged back
   * into one sequence by offset, then precedence is applied with explicit stacks, so long
   * operator chains never recurse. `fallback` is where a Missing expression goes when
   * there is nothing at all.
   */
  expression(cst: C.ExpressionCstNode | undefined, fallback: number): A.Expr {
    if (!cst) return this.missing(fallback);
    const c = cst.children;
    const atoms = c.atom ?? [];
    const prefixes = c.PrefixOperator ?? [];
    const postfixes = c.postfix ?? [];
    const ops = c.BinaryOperator ?? [];
    // Each operator, prefix and postfix can add a level to the tree; bound the total
    // along any path so that recursive passes over the AST are safe too.
    if (prefixes.length > MAX_PREFIX_RUN) {
      const offender = overlongPrefixRun(prefixes, ops);
      if (offender) return this.tooDeep(cst, fallback, MAX_PREFIX_RUN, offender.startOffset);
    }
    const levels = ops.length + prefixes.length + postfixes.length + 2;
    if (this.depth + levels > MAX_EXPRESSION_DEPTH) {
      const first = Math.min(prefixes[0] ? offsetOfToken(prefixes[0]) : Infinity, atoms[0] ? atomStart(atoms[0]) : Infinity);
      return this.tooDeep(cst, fallback, MAX_EXPRESSION_DEPTH, first);
    }
    this.depth += levels;
    const e = this.buildExpression(cst, atoms, prefixes, postfixes, ops, fallback);
    this.depth -= levels;
    return e;
  }

  /** DLM1007 (once per file) and a Missing node in place of an over-deep expression. */
  private tooDeep(cst: CstNode, fallback: number, limit: number, at: number): A.MissingExpr {
    if (!this.reportedTooDeep) {
      this.reportedTooDeep = true;
      const where = Number.isFinite(at) ? at : fallback;
      this.diagnostics.push(createDiagnostic(Diagnostics.Nesting_too_deep, this.fileName, this.range(where, where + 1), [limit]));
    }
    const ext = this.cstExtent(cst);
    return { kind: "Missing", range: ext ? this.range(ext.start, ext.end) : this.range(fallback, fallback) };
  }

  private buildExpression(
    cst: C.ExpressionCstNode,
    atoms: readonly C.AtomCstNode[],
    prefixes: readonly IToken[],
    postfixes: readonly C.PostfixCstNode[],
    ops: readonly IToken[],
    fallback: number,
  ): A.Expr {
    // the common cases: a lone atom, optionally with postfix operations
    if (ops.length === 0 && prefixes.length === 0 && atoms.length === 1) {
      return this.applyPostfixes(this.atom(atoms[0], fallback), postfixes, 0, postfixes.length);
    }
    if (atoms.length === 0 && ops.length === 0 && prefixes.length === 0) return this.missing(fallback);

    const values: A.Expr[] = [];
    const pending: PendingOp[] = [];
    const pipes = new Set<A.Expr>();
    let at = fallback;
    let pi = 0; // next prefix operator
    let qi = 0; // next postfix
    let ai = 0; // next atom
    // One operand per binary operator, plus one: each takes the prefixes, the atom and
    // the postfixes that lie between the previous operator and the next.
    for (let k = 0; k <= ops.length; k++) {
      const op = k < ops.length ? real(ops[k]) : undefined;
      const limit = op ? op.startOffset : Infinity;
      for (; pi < prefixes.length && offsetOfToken(prefixes[pi]!) < limit; pi++) {
        const p = prefixes[pi]!;
        pending.push({ tok: p, prefix: true, prec: p.image === "not" ? NOT_PRECEDENCE : SIGN_PRECEDENCE });
      }
      let value: A.Expr;
      const atomCst = atoms[ai];
      if (atomCst && atomStart(atomCst) < limit) {
        ai++;
        const qStart = qi;
        while (qi < postfixes.length && postfixStart(postfixes[qi]!) < limit) qi++;
        value = this.applyPostfixes(this.atom(atomCst, at), postfixes, qStart, qi);
      } else {
        value = this.missing(at);
      }
      values.push(value);
      at = value.range.end.offset;
      if (k === ops.length) break;
      if (!op) continue; // binary operators are never inserted by recovery
      const prec = BINARY_PRECEDENCE[op.image] ?? 1;
      const rightAssoc = op.image === "**";
      while (pending.length > 0) {
        const top = pending[pending.length - 1]!;
        if (top.prec > prec || (top.prec === prec && !rightAssoc)) this.reduce(values, pending, pipes);
        else break;
      }
      pending.push({ tok: op, prefix: false, prec });
      at = tokEnd(op);
    }
    while (pending.length > 0) this.reduce(values, pending, pipes);
    return values[0] ?? this.missing(fallback);
  }

  private reduce(values: A.Expr[], pending: PendingOp[], pipes: Set<A.Expr>): void {
    const op = pending.pop()!;
    const opTok = op.tok;
    if (op.prefix) {
      const operand = values.pop() ?? this.missing(tokEnd(opTok));
      values.push({
        kind: "Unary",
        op: opTok.image as A.UnaryExpr["op"],
        operand,
        range: this.range(opTok.startOffset, Math.max(tokEnd(opTok), operand.range.end.offset)),
      });
      return;
    }
    const right = values.pop() ?? this.missing(tokEnd(opTok));
    const left = values.pop() ?? this.missing(opTok.startOffset);
    const range = this.range(left.range.start.offset, Math.max(tokEnd(opTok), right.range.end.offset));
    switch (opTok.image) {
      case "|>": {
        if (pipes.has(left)) {
          const pipe = left as Mutable<A.PipeExpr>;
          (pipe.stages as A.Expr[]).push(right);
          pipe.range = range;
          values.push(pipe);
        } else {
          const pipe: A.PipeExpr = { kind: "Pipe", head: left, stages: [right], range };
          pipes.add(pipe);
          values.push(pipe);
        }
        return;
      }
      case "..":
        values.push({ kind: "Range", start: left, end: right, range });
        return;
      default:
        values.push({
          kind: "Binary",
          op: opTok.image as A.BinaryOp,
          opRange: this.tokRange(opTok),
          left,
          right,
          range,
        });
    }
  }

  /** `postfixes[from..to)` applied to `e`: calls, indexing, `.name`, `as name` */
  private applyPostfixes(e: A.Expr, postfixes: readonly C.PostfixCstNode[], from: number, to: number): A.Expr {
    for (let i = from; i < to; i++) {
      const p = postfixes[i]!.children;
      const start = e.range.start.offset;
      if (p.LParen) {
        const open = maxEnd(e.range.end.offset, p.LParen[0]);
        const args = this.arguments(p.argument, open);
        const lastArg = args.length > 0 ? args[args.length - 1]!.range.end.offset : open;
        e = { kind: "Call", callee: e, args, range: this.range(start, maxEnd(lastArg, p.RParen?.[0])) };
      } else if (p.LBracket) {
        const indices: (A.Expr | A.SliceExpr)[] = [];
        let at = this.endOf(e.range.end.offset, firstTok(p.LBracket));
        for (const item of p.indexItem ?? []) {
          const ix = this.indexItem(item, at);
          indices.push(ix);
          at = ix.range.end.offset;
        }
        const end = this.endOf(at, firstTok(p.LBracket), indices[indices.length - 1], firstTok(p.RBracket));
        e = { kind: "Index", target: e, indices, range: this.range(start, end) };
      } else if (p.Dot) {
        const dot = firstTok(p.Dot);
        const member = this.name(first(p.name), this.endOf(e.range.end.offset, dot));
        e = {
          kind: "Member",
          target: e,
          member,
          range: this.range(start, this.endOf(e.range.end.offset, dot, member)),
        };
      } else if (p.As) {
        const asTok = firstTok(p.As);
        const name = this.name(first(p.name), this.endOf(e.range.end.offset, asTok));
        const index = p.asLBracket
          ? this.expression(first(p.asIndex), this.endOf(name.range.end.offset, firstTok(p.asLBracket)))
          : undefined;
        const end = this.endOf(e.range.end.offset, asTok, name, index, firstTok(p.asRBracket));
        e = { kind: "Named", value: e, name, ...(index ? { index } : {}), range: this.range(start, end) };
      }
    }
    return e;
  }

  private name(cst: C.NameCstNode | undefined, fallback: number): A.Identifier {
    const tok = firstTok(cst?.children.Identifier) ?? firstTok(cst?.children.SoftKeyword);
    if (!tok) return { kind: "Identifier", name: "", range: this.range(fallback, fallback) };
    return this.identifier(tok);
  }

  private argumentList(cst: C.ArgumentListCstNode | undefined, fallback: number): A.Argument[] {
    return this.arguments(cst?.children.argument, fallback);
  }

  private arguments(csts: readonly C.ArgumentCstNode[] | undefined, fallback: number): A.Argument[] {
    const out: A.Argument[] = [];
    if (!csts) return out;
    let at = fallback;
    for (const a of csts) {
      const c = a.children;
      const nameCst = c.name?.[0];
      if (nameCst) {
        const name = this.name(nameCst, at);
        const afterName = maxEnd(name.range.end.offset, c.Colon?.[0]);
        const value = this.expression(c.expression?.[0], afterName);
        const end = Math.max(afterName, value.range.end.offset);
        out.push({ kind: "Argument", name, value, range: this.range(name.range.start.offset, end) });
        at = end;
      } else {
        const value = this.expression(c.expression?.[0], at);
        out.push({ kind: "Argument", value, range: value.range });
        at = value.range.end.offset;
      }
    }
    return out;
  }

  private indexItem(cst: C.IndexItemCstNode, fallback: number): A.Expr | A.SliceExpr {
    const c = cst.children;
    const colons = (c.Colon ?? []).filter((t) => real(t) !== undefined);
    const startCst = first(c.start);
    if (colons.length === 0) return this.expression(startCst, fallback);
    const startE = startCst ? this.expression(startCst, fallback) : undefined;
    const stopE = c.stop ? this.expression(first(c.stop), tokEnd(colons[0]!)) : undefined;
    const stepE = c.step ? this.expression(first(c.step), tokEnd(colons[colons.length - 1]!)) : undefined;
    const s = this.startOf(fallback, startE, colons[0]);
    const e = this.endOf(fallback, startE, stopE, stepE, ...colons);
    return {
      kind: "Slice",
      ...(startE ? { start: startE } : {}),
      ...(stopE ? { stop: stopE } : {}),
      ...(stepE ? { step: stepE } : {}),
      range: this.range(s, e),
    };
  }

  private atom(cst: C.AtomCstNode | undefined, fallback: number): A.Expr {
    if (!cst) return this.missing(fallback);
    const c = cst.children;
    let tok: IToken | undefined;
    if ((tok = firstTok(c.Identifier))) return this.identifier(tok);
    if ((tok = firstTok(c.NumberLiteral))) {
      const { value, isFloat } = numberValue(tok.image);
      return {
        kind: "Number",
        value: Number.isNaN(value) ? 0 : value,
        isFloat,
        text: tok.image,
        range: this.tokRange(tok),
      };
    }
    if ((tok = firstTok(c.StringLiteral))) return this.stringLiteral(tok);
    if ((tok = firstTok(c.True))) return { kind: "Bool", value: true, range: this.tokRange(tok) };
    if ((tok = firstTok(c.False))) return { kind: "Bool", value: false, range: this.tokRange(tok) };
    if ((tok = firstTok(c.None))) return { kind: "None", range: this.tokRange(tok) };
    const paren = first(c.parenExpr);
    if (paren) return this.parenExpr(paren, fallback);
    const list = first(c.listExpr);
    if (list) return this.listExpr(list, fallback);
    const ifCst = first(c.ifExpr);
    if (ifCst) return this.ifExpr(ifCst, fallback);
    return this.missing(fallback);
  }

  private stringLiteral(tok: IToken): A.StringLiteral {
    return { kind: "String", value: unescapeString(tok.image), range: this.tokRange(tok) };
  }

  private parenExpr(cst: C.ParenExprCstNode, fallback: number): A.Expr {
    const c = cst.children;
    const open = firstTok(c.LParen);
    const close = firstTok(c.RParen);
    const start = open ? open.startOffset : fallback;
    const elements: A.Expr[] = [];
    let at = open ? tokEnd(open) : fallback;
    for (const x of c.expression ?? []) {
      const e = this.expression(x, at);
      elements.push(e);
      at = e.range.end.offset;
    }
    const end = this.endOf(at, open, elements[elements.length - 1], close);
    const range = this.range(start, end);
    if (elements.length === 1 && !c.Comma) {
      // a parenthesised expression is the expression itself, its range widened to the parentheses
      return { ...elements[0]!, range };
    }
    return { kind: "Tuple", elements, range };
  }

  private listExpr(cst: C.ListExprCstNode, fallback: number): A.Expr {
    const c = cst.children;
    const open = firstTok(c.LBracket);
    const close = firstTok(c.RBracket);
    const start = open ? open.startOffset : fallback;
    let at = open ? tokEnd(open) : fallback;
    const elements: A.Expr[] = [];
    for (const x of c.element ?? []) {
      const e = this.expression(x, at);
      elements.push(e);
      at = e.range.end.offset;
    }
    const forTok = firstTok(c.For);
    if (c.For) {
      const varTok = firstTok(c.Identifier);
      const inTok = firstTok(c.In);
      const element = elements[0] ?? this.missing(at);
      const variable: A.Identifier = varTok
        ? this.identifier(varTok)
        : { kind: "Identifier", name: "", range: this.range(this.endOf(at, forTok), this.endOf(at, forTok)) };
      const iterable = this.expression(first(c.iterable), this.endOf(variable.range.end.offset, inTok));
      const condition = c.If ? this.expression(first(c.condition), this.endOf(iterable.range.end.offset, firstTok(c.If))) : undefined;
      const end = this.endOf(at, open, element, forTok, variable, inTok, iterable, condition, close);
      return {
        kind: "Comprehension",
        element,
        variable,
        iterable,
        ...(condition ? { condition } : {}),
        range: this.range(start, end),
      };
    }
    const end = this.endOf(at, open, elements[elements.length - 1], close);
    return { kind: "List", elements, range: this.range(start, end) };
  }

  /** `if a {..} else if b {..} else {..}`, built from the end so the chain needs no recursion */
  private ifExpr(cst: C.IfExprCstNode, fallback: number): A.Expr {
    const c = cst.children;
    const ifs = c.If ?? [];
    const conds = c.condition ?? [];
    const thens = c.then ?? [];
    const n = Math.max(1, ifs.length);
    // an `else if` chain nests: each link is one more level
    if (this.depth + n > MAX_EXPRESSION_DEPTH) {
      return this.tooDeep(cst, fallback, MAX_EXPRESSION_DEPTH, ifs[0] ? offsetOfToken(ifs[0]) : fallback);
    }
    this.depth += n;
    const result = this.ifChain(c, ifs, conds, thens, n, fallback);
    this.depth -= n;
    return result;
  }

  private ifChain(
    c: C.IfExprCstChildren,
    ifs: readonly IToken[],
    conds: readonly C.ExpressionCstNode[],
    thens: readonly C.BlockExprCstNode[],
    n: number,
    fallback: number,
  ): A.Expr {
    let tail: A.BlockExpr | A.IfExpr | undefined = c.otherwise
      ? this.blockExpr(first(c.otherwise), this.endOf(fallback, firstTok(c.finalElse)))
      : undefined;
    for (let k = n - 1; k >= 0; k--) {
      const ifTok = real(ifs[k]);
      const start = ifTok ? ifTok.startOffset : fallback;
      const condition = this.expression(conds[k], ifTok ? tokEnd(ifTok) : fallback);
      const then = this.blockExpr(thens[k], condition.range.end.offset);
      const end = this.endOf(then.range.end.offset, then, tail);
      const node: A.IfExpr = {
        kind: "If",
        condition,
        then,
        ...(tail ? { else: tail } : {}),
        range: this.range(start, end),
      };
      tail = node;
    }
    return tail as A.IfExpr;
  }

  private blockExpr(cst: C.BlockExprCstNode | undefined, fallback: number): A.BlockExpr {
    if (!cst) return { kind: "BlockExpr", stmts: [], result: this.missing(fallback), range: this.range(fallback, fallback) };
    const c = cst.children;
    const open = firstTok(c.LBrace);
    const close = firstTok(c.RBrace);
    const stmts: A.Binding[] = [];
    let at = open ? tokEnd(open) : fallback;
    for (const bb of c.blockBinding ?? []) {
      const anns = this.annotations(bb.children.annotation);
      const bcst = first(bb.children.binding);
      const b = bcst ? this.binding(bcst, anns) : undefined;
      if (b) {
        stmts.push(b);
        at = b.range.end.offset;
      }
    }
    const result = this.expression(first(c.result), at);
    const start = open ? open.startOffset : this.startOf(fallback, stmts[0], result);
    const end = this.endOf(at, open, result, close);
    return { kind: "BlockExpr", stmts, result, range: this.range(start, end) };
  }
}

/** Whether recovery re-synced this node or one of its sub-rules up to `depth` levels down. */
/**
 * The first prefix operator beyond MAX_PREFIX_RUN in one run (the prefixes of one
 * operand: those between two binary operators), if any.
 */
function overlongPrefixRun(prefixes: readonly IToken[], ops: readonly IToken[]): IToken | undefined {
  let pi = 0;
  for (let k = 0; k <= ops.length; k++) {
    const limit = k < ops.length ? offsetOfToken(ops[k]!) : Infinity;
    for (let run = 0; pi < prefixes.length && offsetOfToken(prefixes[pi]!) < limit; pi++) {
      if (++run > MAX_PREFIX_RUN) return prefixes[pi];
    }
  }
  return undefined;
}

/** `offset` or the end of `tok`, whichever is later (`tok` may be absent or inserted by recovery). */
function maxEnd(offset: number, tok: IToken | undefined): number {
  return tok !== undefined && Number.isFinite(tok.startOffset) ? Math.max(offset, tokEnd(tok)) : offset;
}

/** The offset of an atom's first token (never one inserted by recovery). */
function atomStart(atom: C.AtomCstNode): number {
  const c = atom.children;
  const tok =
    c.Identifier?.[0] ??
    c.NumberLiteral?.[0] ??
    c.StringLiteral?.[0] ??
    c.True?.[0] ??
    c.False?.[0] ??
    c.None?.[0] ??
    c.parenExpr?.[0]?.children.LParen?.[0] ??
    c.listExpr?.[0]?.children.LBracket?.[0] ??
    c.ifExpr?.[0]?.children.If?.[0];
  return tok ? offsetOfToken(tok) : cstStart(atom);
}

/** The offset of a postfix operation's first token (`(`, `[`, `.` or `as`). */
function postfixStart(postfix: C.PostfixCstNode): number {
  const c = postfix.children;
  const tok = c.LParen?.[0] ?? c.LBracket?.[0] ?? c.Dot?.[0] ?? c.As?.[0];
  return tok ? offsetOfToken(tok) : cstStart(postfix);
}

function offsetOfToken(tok: IToken): number {
  return Number.isFinite(tok.startOffset) ? tok.startOffset : Infinity;
}

/**
 * The offset of the first token of a CST node. Atoms and postfix operations always start
 * with a token of their own (never one inserted by recovery), so this rarely descends.
 */
function cstStart(node: CstNode): number {
  let best = Infinity;
  for (const key in node.children) {
    const child = node.children[key]![0];
    if (child !== undefined && !("children" in child)) best = Math.min(best, offsetOfToken(child));
  }
  if (best !== Infinity) return best;
  for (const key in node.children) {
    const child = node.children[key]![0];
    if (child !== undefined && "children" in child) best = Math.min(best, cstStart(child));
  }
  return best;
}

function isRecovered(node: CstNode | undefined, depth = 3): boolean {
  if (node === undefined) return false;
  if (node.recoveredNode === true) return true;
  if (depth === 0) return false;
  for (const key in node.children) {
    for (const child of node.children[key]!) {
      if ("children" in child && isRecovered(child, depth - 1)) return true;
    }
  }
  return false;
}
