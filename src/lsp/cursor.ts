// Where the cursor is, syntactically, for completion and signature help. Works from the
// tokens before the cursor (the real lexer), not from the AST, so that a half-typed line
// (`x |> conv2d(6, ker`) still tells: inside a call to conv2d, second argument, a name
// being typed.

import type { IToken, TokenType } from "chevrotain";
import * as T from "../../grammar/tokens.js";
import { isEscapedQuoteAtEnd } from "../../grammar/to-ast.js";
import { isDType } from "../../compiler/ops/types.js";

export interface CallContext {
  /** `conv2d`, or `Residual` in `b.Residual(` */
  readonly callee: string;
  /** `b` in `b.Residual(` */
  readonly qualifier?: string;
  /** offset of the `(` */
  readonly open: number;
  /** the call is a pipe stage: its first input comes from the pipe */
  readonly piped: boolean;
  /** positional arguments before the current one, and whether each looks like a tensor (a name or a call) */
  readonly positional: readonly boolean[];
  /** named arguments already written */
  readonly named: readonly string[];
  /** the current argument is `name: ...` */
  readonly currentName?: string;
  /** the current argument is still empty (only the word being typed) */
  readonly atArgumentStart: boolean;
}

export type CursorKind =
  /** inside a comment or a string: nothing to complete */
  | "none"
  /** between declarations */
  | "top-level"
  /** after `train` */
  | "model-name"
  /** the start of a statement in a block, model or train body */
  | "statement"
  | "expression"
  /** after `|>`: something callable */
  | "pipe-stage"
  /** inside `f32[...]` */
  | "dims"
  /** after `name:` in a binding or input: a dtype */
  | "dtype"
  /** after `name:` in a hyperparameter list */
  | "hyperparameter-type"
  /** after `m.` */
  | "member"
  /** after `@` */
  | "annotation"
  /** inside `import "` */
  | "import-path";

export interface CursorContext {
  readonly kind: CursorKind;
  /** the partial name before the cursor */
  readonly prefix: string;
  readonly prefixStart: number;
  /** the innermost call the cursor is in, if any */
  readonly call?: CallContext;
  /** for `member`: the name before the dot */
  readonly memberOf?: string;
}

const OPENERS = new Set<TokenType>([T.LParen, T.LBracket, T.LBrace]);
const CLOSERS = new Set<TokenType>([T.RParen, T.RBracket, T.RBrace]);

export function cursorContext(text: string, offset: number): CursorContext {
  const before = text.slice(0, offset);
  let prefixStart = offset;
  while (prefixStart > 0 && /[A-Za-z0-9_]/.test(before[prefixStart - 1]!)) prefixStart--;
  const prefix = before.slice(prefixStart);
  const lexed = T.dlmLexer.tokenize(before);
  const base = { prefix, prefixStart };

  if (insideComment(before, lexed.groups["comments"] ?? [])) return { kind: "none", ...base };
  const tokens = lexed.tokens.filter((t) => t.startOffset < prefixStart);
  const last = tokens[tokens.length - 1];
  if (last && last.tokenType === T.StringLiteral && endOf(last) >= offset && !isClosedString(last)) {
    const prev = tokens[tokens.length - 2];
    return {
      kind: prev?.tokenType === T.Import ? "import-path" : "none",
      ...base,
      prefix: last.image.slice(1),
      prefixStart: last.startOffset + 1,
    };
  }
  if (before[prefixStart - 1] === "@") return { kind: "annotation", ...base };

  // the open brackets at the cursor, innermost last
  const stack: number[] = [];
  tokens.forEach((t, i) => {
    if (OPENERS.has(t.tokenType)) stack.push(i);
    else if (CLOSERS.has(t.tokenType)) stack.pop();
  });
  const call = callContext(tokens, stack);
  const withCall = call ? { ...base, call } : base;
  if (!last) return { kind: "top-level", ...base };
  if (last.tokenType === T.Dot) {
    const target = tokens[tokens.length - 2];
    return target?.tokenType === T.Identifier ? { kind: "member", ...withCall, memberOf: target.image } : { kind: "none", ...base };
  }
  if (last.tokenType === T.Pipe) return { kind: "pipe-stage", ...withCall };
  if (last.tokenType === T.Train) return { kind: "model-name", ...base };
  if (stack.length === 0) return { kind: "top-level", ...base };

  const innermost = tokens[stack[stack.length - 1]!]!;
  if (innermost.tokenType === T.LBracket) {
    const dtype = tokens[stack[stack.length - 1]! - 1];
    const isType = dtype?.tokenType === T.Identifier && isDType(dtype.image);
    return { kind: isType ? "dims" : "expression", ...withCall };
  }
  if (innermost.tokenType === T.LParen) {
    const open = stack[stack.length - 1]!;
    const declKeyword = tokens[open - 2]?.tokenType;
    if (declKeyword === T.Block || declKeyword === T.Model)
      return { kind: last.tokenType === T.Colon ? "hyperparameter-type" : "none", ...base };
    return { kind: "expression", ...withCall };
  }
  // inside `{`: a statement starts at the start of a line, after `{` or after `;`
  const lineStart = before.lastIndexOf("\n", prefixStart - 1) + 1;
  if (last.startOffset < lineStart || last.tokenType === T.LBrace || last.tokenType === T.Semicolon)
    return { kind: "statement", ...withCall };
  if (last.tokenType === T.Colon && isAscription(tokens, lineStart)) return { kind: "dtype", ...withCall };
  return { kind: "expression", ...withCall };
}

/** `h:` or `input x:` or `h, c:` at the start of the line: a type follows. */
function isAscription(tokens: readonly IToken[], lineStart: number): boolean {
  const line = tokens.filter((t) => t.startOffset >= lineStart);
  if (line.some((t) => t.tokenType === T.Eq)) return false;
  const body =
    line[0]?.tokenType === T.Input || line[0]?.tokenType === T.State || line[0]?.tokenType === T.Output || line[0]?.tokenType === T.Param
      ? line.slice(1)
      : line;
  return (
    body.length >= 2 &&
    body.every(
      (t) =>
        t.tokenType === T.Identifier ||
        t.tokenType === T.Comma ||
        t.tokenType === T.Colon ||
        OPENERS.has(t.tokenType) ||
        CLOSERS.has(t.tokenType) ||
        t.tokenType === T.NumberLiteral,
    )
  );
}

function callContext(tokens: readonly IToken[], stack: readonly number[]): CallContext | undefined {
  for (let s = stack.length - 1; s >= 0; s--) {
    const open = stack[s]!;
    if (tokens[open]!.tokenType !== T.LParen) continue;
    const calleeTok = tokens[open - 1];
    if (!calleeTok || calleeTok.tokenType !== T.Identifier) return undefined;
    const hasQualifier = tokens[open - 2]?.tokenType === T.Dot && tokens[open - 3]?.tokenType === T.Identifier;
    const qualifier = hasQualifier ? tokens[open - 3]!.image : undefined;
    const piped = tokens[open - (hasQualifier ? 4 : 2)]?.tokenType === T.Pipe;
    // split the arguments at top-level commas
    const args: IToken[][] = [[]];
    let depth = 0;
    for (let i = open + 1; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (OPENERS.has(t.tokenType)) depth++;
      else if (CLOSERS.has(t.tokenType)) depth--;
      if (depth === 0 && t.tokenType === T.Comma) args.push([]);
      else args[args.length - 1]!.push(t);
    }
    const nameOf = (arg: readonly IToken[]): string | undefined =>
      arg.length >= 2 && arg[1]!.tokenType === T.Colon && (arg[0]!.tokenType === T.Identifier || isSoftKeyword(arg[0]!))
        ? arg[0]!.image
        : undefined;
    const done = args.slice(0, -1);
    const current = args[args.length - 1]!;
    const currentName = nameOf(current);
    return {
      callee: calleeTok.image,
      ...(qualifier ? { qualifier } : {}),
      open: tokens[open]!.startOffset,
      piped,
      positional: done.filter((a) => !nameOf(a)).map(looksLikeTensor),
      named: done.map(nameOf).filter((n): n is string => n !== undefined),
      ...(currentName ? { currentName } : {}),
      atArgumentStart: current.length === 0,
    };
  }
  return undefined;
}

/** A name or a call (not a number, string, boolean or list): may be a tensor. */
function looksLikeTensor(arg: readonly IToken[]): boolean {
  const first = arg[0];
  return first !== undefined && first.tokenType === T.Identifier && !isDType(first.image);
}

function isSoftKeyword(t: IToken): boolean {
  return t.tokenType.CATEGORIES?.includes(T.SoftKeyword) ?? false;
}

function insideComment(before: string, blockComments: readonly IToken[]): boolean {
  const lastBlock = blockComments[blockComments.length - 1];
  if (lastBlock && !(lastBlock.image.length >= 4 && lastBlock.image.endsWith("*/")) && endOf(lastBlock) >= before.length) return true;
  // a `//` on the current line outside a string
  const line = before.slice(before.lastIndexOf("\n") + 1);
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"' && line[i - 1] !== "\\") inString = !inString;
    else if (!inString && c === "/" && line[i + 1] === "/") return true;
  }
  return false;
}

function isClosedString(t: IToken): boolean {
  return t.image.length >= 2 && t.image.endsWith('"') && !isEscapedQuoteAtEnd(t.image);
}

function endOf(t: IToken): number {
  return t.startOffset + t.image.length;
}
