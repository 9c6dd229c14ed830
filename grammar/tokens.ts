// The ordered token list of .dlm (layer 1 of 3: tokens → parser → to-ast).
//
// Order is deliberate: chevrotain tries the patterns in this order and takes the first
// match, so longer operators come before their prefixes (`..` before `.`, `**` before
// `*`, `///` before `//` before `/`), and keywords come before `Identifier` with
// `longer_alt: Identifier` (so `inputs` is a name, not `input` + `s`). `input` must come
// before `in` for the same reason.
//
// `@` has two meanings: `@name` written without a space is an annotation (one token,
// `Annotation`), and `@` otherwise is matrix multiplication (`MatMul`): `a @ b`.
//
// Positions: the lexer only records start offsets (`positionTracking: "onlyOffset"`, the
// fastest mode); `parse.ts` turns offsets into 1-based line/column with its own line
// table, which understands LF, CRLF and lone CR.

import { createToken, Lexer, type CustomPatternMatcherFunc, type TokenType } from "chevrotain";

// ---------------------------------------------------------------------------
// Token categories (no pattern of their own): the parser consumes "any binary operator"
// or "any prefix operator" as one token and `to-ast.ts` applies precedence.

export const BinaryOperator = createToken({ name: "BinaryOperator", pattern: Lexer.NA });
export const PrefixOperator = createToken({ name: "PrefixOperator", pattern: Lexer.NA });

// ---------------------------------------------------------------------------
// Trivia

/** Spaces, tabs, line breaks (LF, CRLF, CR) and a byte-order mark, which is skipped. */
export const WhiteSpace = createToken({
  name: "WhiteSpace",
  pattern: /[ \t\r\n\f\v\uFEFF\u00A0]+/,
  group: Lexer.SKIPPED,
  line_breaks: true,
});

/** `/// text`: kept in the "docs" group and attached to the following declaration. */
export const DocComment = createToken({
  name: "DocComment",
  pattern: /\/\/\/[^\r\n]*/,
  group: "docs",
});

export const LineComment = createToken({
  name: "LineComment",
  pattern: /\/\/[^\r\n]*/,
  group: Lexer.SKIPPED,
});

/** `/* ... *\/`, not nested. An unterminated one runs to the end of the file; parse.ts reports it. */
const matchBlockComment: CustomPatternMatcherFunc = (text, offset) => {
  if (text.charCodeAt(offset) !== 47 /* / */ || text.charCodeAt(offset + 1) !== 42 /* * */) return null;
  const close = text.indexOf("*/", offset + 2);
  const end = close < 0 ? text.length : close + 2;
  return [text.slice(offset, end)] as unknown as RegExpExecArray;
};

export const BlockComment = createToken({
  name: "BlockComment",
  pattern: { exec: matchBlockComment },
  start_chars_hint: ["/"],
  line_breaks: true,
  group: "comments",
});

// ---------------------------------------------------------------------------
// Literals

/**
 * `"..."`; escapes are checked (and decoded) after lexing. The closing quote is optional
 * so that an unterminated string still lexes as one token (parse.ts reports DLM1002)
 * instead of a cascade of errors.
 */
export const StringLiteral = createToken({
  name: "StringLiteral",
  pattern: /"(?:[^"\\\r\n]|\\[^\r\n]?)*"?/,
});

const isWordChar = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/**
 * Numbers: `42`, `50_257`, `0x1F`, `3.5`, `1e-3`, `2.5E+4`. The matcher is deliberately
 * greedy (it swallows trailing letters and underscores, e.g. `12abc`, `1__0`, `0x`) so
 * that a malformed literal is one token that parse.ts reports as DLM1006, rather than a
 * number followed by a confusing name. `0..n` is `0`, `..`, `n`: a `.` only continues a
 * number when a digit follows it.
 */
const matchNumber: CustomPatternMatcherFunc = (text, offset) => {
  if (!isDigit(text.charCodeAt(offset))) return null;
  let i = offset + 1;
  while (isWordChar(text.charCodeAt(i))) i++;
  const hex = text.charCodeAt(offset) === 48 && (text.charCodeAt(offset + 1) | 32) === 120; // 0x
  if (!hex) {
    if (text.charCodeAt(i) === 46 /* . */ && isDigit(text.charCodeAt(i + 1))) {
      i += 2;
      while (isWordChar(text.charCodeAt(i))) i++;
    }
    const last = text.charCodeAt(i - 1) | 32;
    const sign = text.charCodeAt(i);
    if (last === 101 /* e */ && (sign === 43 || sign === 45) && isDigit(text.charCodeAt(i + 1))) {
      i += 2;
      while (isWordChar(text.charCodeAt(i))) i++;
    }
  }
  return [text.slice(offset, i)] as unknown as RegExpExecArray;
};

export const NumberLiteral = createToken({
  name: "NumberLiteral",
  pattern: { exec: matchNumber },
  start_chars_hint: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
  line_breaks: false,
});

/** `@checkpoint`, `@lr`: `@` immediately followed by a name. `a @ b` is MatMul. */
export const Annotation = createToken({ name: "Annotation", pattern: /@[A-Za-z_][A-Za-z0-9_]*/ });

export const Identifier = createToken({ name: "Identifier", pattern: /[A-Za-z_][A-Za-z0-9_]*/ });

// ---------------------------------------------------------------------------
// Keywords. "Soft" keywords (statement and declaration starters) are also accepted as
// names after `.`, after `as`, and as named-argument names: `Dense(h) as layer[i]`.

export const SoftKeyword = createToken({ name: "SoftKeyword", pattern: Lexer.NA });

/** Every keyword token, in declaration order (editors highlight them from this list). */
export const keywordTokens: TokenType[] = [];

function keyword(word: string, categories: TokenType[] = []): TokenType {
  const token = createToken({
    name: word.charAt(0).toUpperCase() + word.slice(1),
    pattern: new RegExp(word),
    longer_alt: Identifier,
    categories,
    label: `'${word}'`,
  });
  keywordTokens.push(token);
  return token;
}

export const Import = keyword("import", [SoftKeyword]);
export const Input = keyword("input", [SoftKeyword]); // before `in`
export const In = keyword("in");
export const As = keyword("as");
export const Const = keyword("const", [SoftKeyword]);
export const Block = keyword("block", [SoftKeyword]);
export const Model = keyword("model", [SoftKeyword]);
export const Train = keyword("train", [SoftKeyword]);
export const Phase = keyword("phase", [SoftKeyword]);
export const State = keyword("state", [SoftKeyword]);
export const Param = keyword("param", [SoftKeyword]);
export const Layer = keyword("layer", [SoftKeyword]);
export const Output = keyword("output", [SoftKeyword]);
export const Next = keyword("next", [SoftKeyword]);
export const For = keyword("for");
export const If = keyword("if");
export const Else = keyword("else");
export const And = keyword("and", [BinaryOperator]);
export const Or = keyword("or", [BinaryOperator]);
export const Not = keyword("not", [PrefixOperator]);
export const True = keyword("true");
export const False = keyword("false");
export const None = keyword("none");

// ---------------------------------------------------------------------------
// Operators and punctuation

function punct(name: string, pattern: RegExp, text: string, categories: TokenType[] = []): TokenType {
  return createToken({ name, pattern, categories, label: `'${text}'` });
}

export const Pipe = punct("Pipe", /\|>/, "|>", [BinaryOperator]);
export const DotDot = punct("DotDot", /\.\./, "..", [BinaryOperator]);
export const StarStar = punct("StarStar", /\*\*/, "**", [BinaryOperator]);
export const EqEq = punct("EqEq", /==/, "==", [BinaryOperator]);
export const NotEq = punct("NotEq", /!=/, "!=", [BinaryOperator]);
export const LessEq = punct("LessEq", /<=/, "<=", [BinaryOperator]);
export const GreaterEq = punct("GreaterEq", />=/, ">=", [BinaryOperator]);
export const Less = punct("Less", /</, "<", [BinaryOperator]);
export const Greater = punct("Greater", />/, ">", [BinaryOperator]);
export const Plus = punct("Plus", /\+/, "+", [BinaryOperator, PrefixOperator]);
export const Minus = punct("Minus", /-/, "-", [BinaryOperator, PrefixOperator]);
export const Star = punct("Star", /\*/, "*", [BinaryOperator]);
export const Slash = punct("Slash", /\//, "/", [BinaryOperator]);
export const Percent = punct("Percent", /%/, "%", [BinaryOperator]);
export const MatMul = punct("MatMul", /@/, "@", [BinaryOperator]);
export const Eq = punct("Eq", /=/, "=");
export const Colon = punct("Colon", /:/, ":");
export const Comma = punct("Comma", /,/, ",");
export const Dot = punct("Dot", /\./, ".");
export const Semicolon = punct("Semicolon", /;/, ";");
export const LParen = punct("LParen", /\(/, "(");
export const RParen = punct("RParen", /\)/, ")");
export const LBracket = punct("LBracket", /\[/, "[");
export const RBracket = punct("RBracket", /\]/, "]");
export const LBrace = punct("LBrace", /\{/, "{");
export const RBrace = punct("RBrace", /\}/, "}");

/** Characters that can start a token (or are whitespace); everything else is garbage. */
const TOKEN_START = new Uint8Array(128);
for (const c of ' \t\r\n\f\vABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"@|.*=!<>+-%:,;()[]{}/') {
  TOKEN_START[c.charCodeAt(0)] = 1;
}
const isGarbage = (c: number): boolean => (c < 128 ? TOKEN_START[c] === 0 : c !== 0xa0 && c !== 0xfeff && !Number.isNaN(c));

const matchGarbage: CustomPatternMatcherFunc = (text, offset) => {
  let i = offset;
  while (i < text.length && isGarbage(text.charCodeAt(i))) i++;
  return i > offset ? ([text.slice(offset, i)] as unknown as RegExpExecArray) : null;
};

/** Every character code that can start garbage, up to chevrotain's bucketing of codes above 255. */
function garbageStartHints(): number[] {
  const hints: number[] = [];
  for (let c = 0; c < 256; c++) if (isGarbage(c)) hints.push(c);
  // chevrotain files codes >= 256 under 255 + floor(code / 255): one code per bucket is enough
  for (let k = 1; k <= Math.floor(0xffff / 255); k++) hints.push(Math.max(256, k * 255));
  return hints;
}

/**
 * A run of characters that cannot start any token (`$`, `#`, `?`, non-ASCII letters...).
 * Lexing them as one token is much faster than the lexer's own character-by-character
 * error recovery; parse.ts reports each run as DLM1001. (`!` and `|` are not included:
 * they start `!=` and `|>`; alone, they fall to the lexer's recovery.)
 */
export const Garbage = createToken({
  name: "Garbage",
  pattern: { exec: matchGarbage },
  start_chars_hint: garbageStartHints(),
  line_breaks: false,
  group: "garbage",
});

/** Every token type, in matching order (categories last: they never match by themselves). */
export const allTokens: TokenType[] = [
  WhiteSpace,
  DocComment,
  LineComment,
  BlockComment,
  StringLiteral,
  NumberLiteral,
  Annotation,
  Import,
  Input,
  In,
  As,
  Const,
  Block,
  Model,
  Train,
  Phase,
  State,
  Param,
  Layer,
  Output,
  Next,
  For,
  If,
  Else,
  And,
  Or,
  Not,
  True,
  False,
  None,
  Identifier,
  Pipe,
  DotDot,
  StarStar,
  EqEq,
  NotEq,
  LessEq,
  GreaterEq,
  Less,
  Greater,
  Plus,
  Minus,
  Star,
  Slash,
  Percent,
  MatMul,
  Eq,
  Colon,
  Comma,
  Dot,
  Semicolon,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
  Garbage,
  BinaryOperator,
  PrefixOperator,
  SoftKeyword,
];

/** The one lexer instance (building it analyses every pattern, so it is done once). */
export const dlmLexer = new Lexer(allTokens, {
  positionTracking: "onlyOffset",
  lineTerminatorsPattern: /\n|\r\n?/g,
  lineTerminatorCharacters: ["\n", "\r"],
  ensureOptimizations: true,
});
