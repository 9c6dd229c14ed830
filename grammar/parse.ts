// parseDlm: text → { ast, diagnostics }. Never throws.
//
// The pipeline: guard against inputs that are not source text (too large, binary),
// lex, report lexical problems, bound bracket nesting (the only recursion left in the
// grammar), parse with the one reused parser instance, build the AST, and turn the
// parser's errors into diagnostics, keeping one message per typo:
//
//   - at most one error per position;
//   - after an error, later parse errors are dropped until a statement or declaration
//     has parsed cleanly after it (recovery re-syncs, and what it skips over tends to
//     produce follow-on errors that only repeat the first);
//   - an error at the end of the file while a bracket is still open becomes one
//     "unclosed '('" (DLM1011) pointing at that bracket.

import { EOF, type ILexingError, type IRecognitionException, type IToken, type TokenType } from "chevrotain";
import type { DlmFile, SourceRange } from "./ast.js";
import * as T from "./tokens.js";
import { dlmLexer } from "./tokens.js";
import { dlmParser, MAX_PARSE_ERRORS } from "./parser.js";
import { buildAst, isEscapedQuoteAtEnd, LineIndex, numberValue, type AstResult, type ParsedSpan } from "./to-ast.js";
import {
  createDiagnostic,
  Diagnostics,
  START_RANGE,
  type Diagnostic,
  type DiagnosticMessage,
  type RelatedNote,
} from "../compiler/diagnostics/index.js";

/** Files above this size (UTF-8 bytes) are refused (DLM1008). */
export const MAX_SOURCE_BYTES = 4 * 1024 * 1024;
/** Deeper bracket nesting is refused (DLM1007): the parser recurses once per level. */
export const MAX_NESTING = 200;
/** The bound used instead when parsing with MAX_NESTING ran out of stack anyway. */
const FALLBACK_NESTING = 40;
/** At most this many diagnostics are reported for one file; the last one says how many more there were. */
export const MAX_DIAGNOSTICS = 100;

export interface ParseResult {
  readonly ast: DlmFile;
  readonly diagnostics: Diagnostic[];
}

export function parseDlm(text: string, file: string): ParseResult {
  // chevrotain's recovery throws and catches exceptions as control flow; their stack
  // traces are never looked at, and capturing them is a large part of the cost of
  // parsing a file with errors.
  const traceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return parseUnchecked(text, file);
  } catch (e) {
    const reason = e instanceof RangeError ? "the input is nested too deeply" : e instanceof Error ? e.message : String(e);
    return {
      ast: emptyFile(START_RANGE),
      diagnostics: [createDiagnostic(Diagnostics.Internal_error_0, file, START_RANGE, [`parser failed: ${reason}`])],
    };
  } finally {
    Error.stackTraceLimit = traceLimit;
  }
}

function emptyFile(range: SourceRange): DlmFile {
  return { kind: "File", items: [], range };
}

// ---------------------------------------------------------------------------

function parseUnchecked(text: string, file: string): ParseResult {
  // 1. Not source text at all: refuse before doing any work proportional to it.
  const bytes = utf8Length(text, MAX_SOURCE_BYTES);
  if (bytes > MAX_SOURCE_BYTES) {
    return {
      ast: emptyFile(START_RANGE),
      diagnostics: [createDiagnostic(Diagnostics.File_too_large_0, file, START_RANGE, [formatSize(bytes), formatSize(MAX_SOURCE_BYTES)])],
    };
  }
  const lines = new LineIndex(text);
  const binary = findBinaryContent(text);
  if (binary) {
    return {
      ast: emptyFile(lines.range(0, text.length)),
      diagnostics: [createDiagnostic(Diagnostics.Binary_content, file, lines.range(binary.offset, binary.offset + 1), [binary.what])],
    };
  }

  const diags = new DiagnosticList(file, lines);

  // 2. Lex and report lexical problems.
  const lexed = dlmLexer.tokenize(text);
  reportUnexpectedCharacters(diags, text, lexed.errors, lexed.groups["garbage"] ?? []);
  for (const c of lexed.groups["comments"] ?? []) {
    if (!(c.image.length >= 4 && c.image.endsWith("*/"))) {
      diags.add(Diagnostics.Unterminated_block_comment, c.startOffset, c.startOffset + 2);
    }
  }
  for (const tok of lexed.tokens) {
    const type = tok.tokenType;
    if (type === T.StringLiteral) checkString(diags, tok);
    else if (type === T.NumberLiteral && Number.isNaN(numberValue(tok.image).value)) {
      diags.add(Diagnostics.Invalid_number_0, tok.startOffset, end(tok), [quote(tok.image)]);
    }
  }

  // 3-4. Bound the nesting depth, parse, build the AST. MAX_NESTING leaves the parser
  // ample stack; should the caller's own stack be deep enough to make it overflow anyway,
  // parse again with a much smaller bound rather than fail.
  const docs = lexed.groups["docs"] ?? [];
  let attempt: ParseAttempt;
  let limit = MAX_NESTING;
  for (;;) {
    try {
      attempt = parseTokens(lexed.tokens, limit, { text, file, lines, docs });
      break;
    } catch (e) {
      if (!(e instanceof RangeError) || limit <= FALLBACK_NESTING) throw e;
      limit = FALLBACK_NESTING;
    }
  }
  const { nesting, parseErrors, built, stoppedAt } = attempt;
  for (const cut of nesting.cuts) {
    diags.add(Diagnostics.Nesting_too_deep, cut.offset, cut.offset + 1, [limit]);
  }

  // 5. Parse errors → diagnostics, one per typo.
  reportParseErrors(diags, parseErrors, built.spans, nesting, text, stoppedAt);
  if (stoppedAt !== undefined) diags.stoppedAt = stoppedAt;
  for (const d of built.diagnostics) diags.push(d);

  return { ast: built.ast, diagnostics: diags.finish() };
}

interface ParseAttempt {
  readonly nesting: NestingResult;
  readonly parseErrors: IRecognitionException[];
  readonly built: AstResult;
  /** where the parser stopped after too many errors */
  readonly stoppedAt: number | undefined;
}

function parseTokens(
  tokens: IToken[],
  limit: number,
  input: { text: string; file: string; lines: LineIndex; docs: IToken[] },
): ParseAttempt {
  const nesting = checkNesting(tokens, limit);
  const cst = dlmParser.parseFile(nesting.tokens);
  const parseErrors = dlmParser.errors;
  const built = buildAst(cst, { ...input, hadErrors: parseErrors.length > 0 });
  return { nesting, parseErrors, built, stoppedAt: dlmParser.stoppedAt };
}

// ---------------------------------------------------------------------------
// Diagnostics bookkeeping

class DiagnosticList {
  readonly items: Diagnostic[] = [];
  /** diagnostics not even created because there were already too many */
  overflow = 0;
  /** where the parser gave up after too many errors */
  stoppedAt: number | undefined;

  constructor(
    private readonly file: string,
    private readonly lines: LineIndex,
  ) {}

  add(msg: DiagnosticMessage, start: number, endOffset: number, args: readonly (string | number)[] = [], hint?: string): void {
    this.items.push(createDiagnostic(msg, this.file, this.lines.range(start, endOffset), args, hint ? { hint } : {}));
  }

  push(d: Diagnostic): void {
    this.items.push(d);
  }

  finish(): Diagnostic[] {
    const sorted = [...this.items].sort((a, b) => a.range.start.offset - b.range.start.offset);
    const more = Math.max(0, sorted.length - MAX_DIAGNOSTICS) + this.overflow;
    const kept = more > 0 ? sorted.slice(0, MAX_DIAGNOSTICS) : sorted;
    const notes: RelatedNote[] = [];
    if (more > 0) notes.push({ message: `${more} more problems in this file were not reported` });
    if (this.stoppedAt !== undefined) {
      notes.push({
        message: `parsing stopped here after ${MAX_PARSE_ERRORS} syntax errors`,
        range: this.lines.range(this.stoppedAt, this.stoppedAt),
      });
    }
    const last = kept[kept.length - 1];
    if (notes.length > 0 && last) {
      kept[kept.length - 1] = { ...last, notes: [...(last.notes ?? []), ...notes] };
    }
    return kept;
  }
}

function end(tok: IToken): number {
  return tok.startOffset + tok.image.length;
}

function quote(s: string): string {
  const shown = s.length > 32 ? `${s.slice(0, 30)}…` : s;
  return `'${shown}'`;
}

function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

/** The UTF-8 size of a string, counted only as far as needed to compare with `limit`. */
function utf8Length(text: string, limit: number): number {
  if (text.length * 3 <= limit) return text.length; // cannot exceed the limit; exact size not needed
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
    if (bytes > limit && i > limit) return bytes + (text.length - i - 1); // clearly too large: estimate the rest
  }
  return bytes;
}

/** NUL anywhere, or many control characters (or decoding replacement characters): not a text file. */
function findBinaryContent(text: string): { offset: number; what: string } | undefined {
  const nul = text.indexOf("\0");
  if (nul >= 0) return { offset: nul, what: "NUL bytes" };
  let count = 0;
  let firstAt = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 9 && c !== 10 && c !== 13 && c !== 12 && c !== 11) || c === 0x7f || c === 0xfffd) {
      if (firstAt < 0) firstAt = i;
      count++;
    }
  }
  if (count >= 4 && count > text.length * 0.05) return { offset: firstAt, what: "control characters" };
  return undefined;
}

// ---------------------------------------------------------------------------
// Lexical problems

const CHAR_HINTS: Record<string, string> = {
  "!": "use 'not' for boolean negation and '!=' for inequality",
  "'": "strings are written with double quotes",
  "&": "use 'and'",
  "|": "use 'or' for booleans; '|>' is the pipe",
  "#": "comments start with '//'",
  "\\": "a backslash is only allowed inside a string",
};

function describeChar(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  if (code < 0x20 || code === 0x7f || (code >= 0x80 && code <= 0x9f) || code === 0xfffd) {
    return `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
  }
  return `'${String.fromCodePoint(code)}'`;
}

/**
 * DLM1001 for each run of characters no token can start: the lexer's own errors and the
 * `Garbage` tokens. Runs separated only by spaces or tabs are reported as one.
 */
function reportUnexpectedCharacters(
  diags: DiagnosticList,
  text: string,
  errors: readonly ILexingError[],
  garbage: readonly IToken[],
): void {
  if (errors.length === 0 && garbage.length === 0) return;
  const runs: { start: number; end: number }[] = [
    ...errors.map((e) => ({ start: e.offset, end: e.offset + e.length })),
    ...garbage.map((t) => ({ start: t.startOffset, end: end(t) })),
  ].sort((a, b) => a.start - b.start);
  let group: { start: number; end: number } | undefined;
  const flush = (): void => {
    if (!group) return;
    if (diags.items.length >= MAX_DIAGNOSTICS) {
      diags.overflow++;
      return;
    }
    const c = String.fromCodePoint(text.codePointAt(group.start) ?? 0xfffd);
    diags.add(Diagnostics.Unexpected_character_0, group.start, group.end, [describeChar(c)], CHAR_HINTS[c]);
  };
  for (const run of runs) {
    if (group && /^[ \t]*$/.test(text.slice(group.end, run.start))) {
      group.end = Math.max(group.end, run.end);
      continue;
    }
    flush();
    group = { ...run };
  }
  flush();
}

/** Unterminated strings (DLM1002) and invalid escapes (DLM1010). */
function checkString(diags: DiagnosticList, tok: IToken): void {
  const image = tok.image;
  const start = tok.startOffset;
  if (image.length < 2 || !image.endsWith('"') || isEscapedQuoteAtEnd(image)) {
    diags.add(Diagnostics.Unterminated_string, start, end(tok), [], "add the closing '\"' on the same line");
  }
  if (!image.includes("\\")) return;
  const bodyEnd = image.length;
  for (let i = 1; i < bodyEnd; i++) {
    if (image[i] !== "\\") continue;
    const e = image[i + 1];
    if (e === "n" || e === "t" || e === "\\" || e === '"') {
      i++;
      continue;
    }
    if (e === "u") {
      const m = /^\{([0-9a-fA-F]{1,6})\}/.exec(image.slice(i + 2, i + 11));
      if (m && parseInt(m[1]!, 16) <= 0x10ffff) {
        i += 1 + m[0].length;
        continue;
      }
      const len = m ? 2 + m[0].length : 2;
      diags.add(
        Diagnostics.Invalid_escape_0,
        start + i,
        start + i + len,
        [quote(image.slice(i, i + len))],
        "write a code point as \\u{1F600}",
      );
      i += len - 1;
      continue;
    }
    if (e === undefined) break; // a lone backslash at the end: the string is unterminated
    diags.add(Diagnostics.Invalid_escape_0, start + i, start + i + 2, [quote(`\\${e}`)], 'the escapes are \\n \\t \\\\ \\" and \\u{hex}');
    i++;
  }
}

// ---------------------------------------------------------------------------
// Nesting

interface NestingResult {
  /** the tokens to parse: over-deep regions removed */
  readonly tokens: IToken[];
  /** where an over-deep region started */
  readonly cuts: { offset: number; resumeAt: number }[];
  /** brackets still open at the end of the file (innermost last) */
  readonly unclosed: IToken[];
  /** a cut ran to the end of the file */
  readonly cutToEnd: boolean;
  /** the start offset of every token, and its bracket depth (the number of brackets open before it) */
  readonly offsets: Int32Array;
  readonly depths: Int32Array;
}

/** closing bracket → its opening bracket */
const CLOSERS = new Map<TokenType, TokenType>([
  [T.RParen, T.LParen],
  [T.RBracket, T.LBracket],
  [T.RBrace, T.LBrace],
]);
const isOpener = (t: TokenType): boolean => t === T.LParen || t === T.LBracket || t === T.LBrace;

/**
 * Removes every region nested deeper than `limit` (from the opening bracket that is
 * one too deep to its matching close), so that the recursive-descent parser never
 * recurses more than that. Also records the brackets left open at the end.
 */
function checkNesting(tokens: IToken[], limit: number): NestingResult {
  const stack: IToken[] = [];
  const cuts: { offset: number; resumeAt: number }[] = [];
  let out: IToken[] | undefined;
  let cutToEnd = false;
  const offsets = new Int32Array(tokens.length);
  const depths = new Int32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    const type = tok.tokenType;
    offsets[i] = tok.startOffset;
    depths[i] = stack.length;
    if (isOpener(type)) {
      if (stack.length >= limit) {
        // skip to the matching close bracket (any kind: only the depth matters here)
        let depth = 0;
        let j = i;
        for (; j < tokens.length; j++) {
          const t = tokens[j]!.tokenType;
          offsets[j] = tokens[j]!.startOffset;
          depths[j] = stack.length + Math.max(depth, 0);
          if (isOpener(t)) depth++;
          else if (CLOSERS.has(t) && --depth === 0) break;
        }
        out ??= tokens.slice(0, i);
        const resume = tokens[j + 1];
        cuts.push({ offset: tok.startOffset, resumeAt: resume ? resume.startOffset : Infinity });
        if (j >= tokens.length) {
          cutToEnd = true;
          break;
        }
        depths[j] = stack.length;
        i = j;
        continue;
      }
      stack.push(tok);
    } else {
      const want = CLOSERS.get(type);
      if (want === undefined) {
        // not a bracket
      } else if (stack.length > 0 && stack[stack.length - 1]!.tokenType === want) stack.pop();
      else {
        // a mismatched close: assume the brackets above its partner were left open
        for (let k = stack.length - 1; k >= 0; k--) {
          if (stack[k]!.tokenType === want) {
            stack.length = k;
            break;
          }
        }
      }
    }
    out?.push(tok);
  }
  return { tokens: out ?? tokens, cuts, unclosed: stack, cutToEnd, offsets, depths };
}

// ---------------------------------------------------------------------------
// Parse errors

function describeFound(tok: IToken): string {
  if (tok.tokenType === EOF) return "end of file";
  switch (tok.tokenType.name) {
    case "StringLiteral":
      return `the string ${tok.image.length > 24 ? `${tok.image.slice(0, 22)}…` : tok.image}`;
    case "Annotation":
      return `the annotation ${quote(tok.image)}`;
    default:
      return quote(tok.image);
  }
}

interface PendingError {
  readonly offset: number;
  readonly endOffset: number;
  readonly tok: IToken;
  readonly error: IRecognitionException;
}

function reportParseErrors(
  diags: DiagnosticList,
  errors: readonly IRecognitionException[],
  spans: readonly ParsedSpan[],
  nesting: NestingResult,
  text: string,
  stoppedAt: number | undefined,
): void {
  const pending: PendingError[] = [];
  for (const error of errors) {
    const tok = error.token;
    const atEof = tok.tokenType === EOF || !Number.isFinite(tok.startOffset);
    // past the point where the parser gave up, the "end of file" it saw is not real
    if (stoppedAt !== undefined && (atEof || tok.startOffset >= stoppedAt)) continue;
    const offset = atEof ? text.length : tok.startOffset;
    pending.push({ offset, endOffset: atEof ? text.length : end(tok), tok, error });
  }
  pending.sort((a, b) => a.offset - b.offset);

  // Errors next to an over-deep region that was cut out are its consequences.
  const inCut = (offset: number): boolean =>
    nesting.cuts.some((c) => offset >= c.offset && offset <= c.resumeAt) || (nesting.cutToEnd && offset >= text.length);

  // A statement or declaration that parsed cleanly (no error inside it).
  const errorOffsets = pending.map((p) => p.offset); // sorted
  const cleanSpans = spans
    .filter((s) => {
      if (s.bad) return false;
      const i = lowerBound(errorOffsets, s.start);
      return !(i < errorOffsets.length && errorOffsets[i]! < s.end);
    })
    .sort((a, b) => a.start - b.start);
  const cleanStarts = cleanSpans.map((s) => s.start);

  /** The bracket depth of the first token at or after `offset` (the final depth at the end). */
  const depthAt = (offset: number): number => {
    const i = lowerBound(nesting.offsets, offset);
    return i < nesting.depths.length ? nesting.depths[i]! : nesting.unclosed.length;
  };

  /**
   * Whether a clean statement lies after the error at `p` and entirely before `q`. It must
   * not be nested deeper than `p`: a misspelled keyword before a `{ ... }` makes recovery
   * parse the braces' contents as if they were outside them, and the stray `}` that
   * follows only repeats the first error. Queries come with `p` fixed and `q` growing, so
   * the spans are scanned once per `p` (files with thousands of errors stay linear).
   */
  let scan = { p: -1, pFirstOnLine: false, pDepth: 0, next: 0, minEnd: Infinity };
  const cleanBetween = (p: number, pFirstOnLine: boolean, q: number): boolean => {
    if (scan.p !== p || scan.pFirstOnLine !== pFirstOnLine) {
      scan = { p, pFirstOnLine, pDepth: depthAt(p), next: lowerBound(cleanStarts, p), minEnd: Infinity };
    }
    for (; scan.next < cleanSpans.length && cleanSpans[scan.next]!.start < q; scan.next++) {
      const s = cleanSpans[scan.next]!;
      if (s.start === p && !pFirstOnLine) continue;
      if (depthAt(s.start) > scan.pDepth) continue;
      scan.minEnd = Math.min(scan.minEnd, s.end);
    }
    return scan.minEnd <= q;
  };

  // Lexical errors count as earlier errors too: a dropped character usually breaks the parse next to it.
  const lexical = diags.items.filter((d) => d.severity === "error").map((d) => d.range.start.offset);
  let lastKept: { offset: number; firstOnLine: boolean } | undefined;
  let lexIdx = 0;
  const sortedLex = [...lexical].sort((a, b) => a - b);
  let eofReported = false;

  for (const p of pending) {
    if (inCut(p.offset)) continue;
    if (lastKept && p.offset === lastKept.offset) continue;
    while (lexIdx < sortedLex.length && sortedLex[lexIdx]! <= p.offset) {
      lastKept = { offset: sortedLex[lexIdx]!, firstOnLine: false };
      lexIdx++;
    }
    if (lastKept && !cleanBetween(lastKept.offset, lastKept.firstOnLine, p.offset)) continue;
    const atEof = p.offset >= text.length && (p.tok.tokenType === EOF || !Number.isFinite(p.tok.startOffset));
    if (atEof) {
      if (eofReported) continue;
      eofReported = true;
      const open = nesting.unclosed[nesting.unclosed.length - 1];
      if (open) {
        const close = open.tokenType.name === "LParen" ? "')'" : open.tokenType.name === "LBracket" ? "']'" : "'}'";
        diags.add(Diagnostics.Unclosed_0, open.startOffset, end(open), [quote(open.image)], `add the matching ${close}`);
        lastKept = { offset: p.offset, firstOnLine: false };
        continue;
      }
    }
    const hint = keywordHint(p);
    if (p.error.name === "NotAllInputParsedException") {
      diags.add(Diagnostics.Unexpected_0, p.offset, p.endOffset, [describeFound(p.tok)], hint);
    } else {
      diags.add(Diagnostics.Expected_0_found_1, p.offset, p.endOffset, [p.error.message, describeFound(p.tok)], hint);
    }
    lastKept = { offset: p.offset, firstOnLine: isFirstOnLine(text, p.offset) };
  }
}

const KEYWORDS = ["import", "const", "block", "model", "train", "phase", "input", "state", "param", "layer", "output", "next", "for"];

/** "did you mean 'output'?" when a misspelled keyword starts a statement or declaration. */
function keywordHint(p: PendingError): string | undefined {
  const candidates: IToken[] = [p.tok];
  const previous = (p.error as { previousToken?: IToken }).previousToken;
  if (previous && p.error.message === "'='") candidates.push(previous);
  for (const tok of candidates) {
    if (tok.tokenType.name !== "Identifier" || tok.image.length < 3) continue;
    const word = tok.image;
    const best = KEYWORDS.find((k) => k !== word && editDistance(word.toLowerCase(), k) <= (k.length <= 4 ? 1 : 2));
    if (best) return `did you mean '${best}'?`;
  }
  return undefined;
}

/** Edit distance with adjacent transpositions (optimal string alignment); 3 means "3 or more". */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The first index whose value is >= x in a sorted array. */
function lowerBound(sorted: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether only whitespace precedes `offset` on its line. */
function isFirstOnLine(text: string, offset: number): boolean {
  for (let i = offset - 1; i >= 0; i--) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13) return true;
    if (c !== 32 && c !== 9 && c !== 0xfeff) return false;
  }
  return true;
}
