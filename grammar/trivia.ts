// The comments of a .dlm file with where they sit relative to the code around them, for
// the formatter. The lexer keeps doc comments (`///`) and block comments in token groups
// but skips line comments with the whitespace; those are found again in the gaps between
// the tokens it did keep.

import type { IToken } from "chevrotain";
import { textWidth } from "./layout.js";

export interface Comment {
  readonly kind: "line" | "doc" | "block";
  /** the comment as written, trailing whitespace removed */
  readonly text: string;
  readonly start: number;
  readonly end: number;
  /** a line break (or the start of the file) separates it from the token or comment before */
  readonly newlineBefore: boolean;
  /** a line break (or the end of the file) separates it from what follows */
  readonly newlineAfter: boolean;
  /** an empty line separates it from the token or comment before */
  readonly blankBefore: boolean;
  /** whitespace right before it and right after it (for comments inside a line) */
  readonly spaceBefore: boolean;
  readonly spaceAfter: boolean;
  /** the column it starts at, 0-based, counted as the layout counts */
  readonly column: number;
}

/**
 * Every comment of `text`, in order. `kept` holds every token the lexer did not skip (the
 * main tokens and every group), so that only whitespace and line comments lie between them.
 */
export function collectComments(text: string, kept: readonly IToken[]): Comment[] {
  const sorted = [...kept].sort((a, b) => a.startOffset - b.startOffset);
  const spans: { start: number; end: number; kind: Comment["kind"] | "token" }[] = [];
  let at = 0;
  const scanGap = (from: number, to: number): void => {
    let i = from;
    while (i < to) {
      if (text.startsWith("//", i)) {
        let end = i;
        while (end < to && text[end] !== "\n" && text[end] !== "\r") end++;
        spans.push({ start: i, end, kind: text.startsWith("///", i) ? "doc" : "line" });
        i = end;
      } else i++;
    }
  };
  for (const tok of sorted) {
    scanGap(at, tok.startOffset);
    const end = tok.startOffset + tok.image.length;
    const name = tok.tokenType.name;
    spans.push({ start: tok.startOffset, end, kind: name === "BlockComment" ? "block" : name === "DocComment" ? "doc" : "token" });
    at = end;
  }
  scanGap(at, text.length);

  const comments: Comment[] = [];
  for (let k = 0; k < spans.length; k++) {
    const s = spans[k]!;
    if (s.kind === "token") continue;
    const before = text.slice(k > 0 ? spans[k - 1]!.end : 0, s.start);
    const after = text.slice(s.end, k + 1 < spans.length ? spans[k + 1]!.start : text.length);
    const breaksBefore = lineBreaks(before);
    comments.push({
      kind: s.kind,
      text: text.slice(s.start, s.end).trimEnd(),
      start: s.start,
      end: s.end,
      newlineBefore: k === 0 || breaksBefore > 0,
      newlineAfter: k + 1 === spans.length || lineBreaks(after) > 0,
      blankBefore: breaksBefore > 1,
      spaceBefore: /\s$/.test(before),
      spaceAfter: /^\s/.test(after),
      column: columnOf(text, s.start),
    });
  }
  return comments;
}

/** The number of line breaks in `s` (CRLF counts once). */
export function lineBreaks(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 10) n++;
    else if (c === 13 && s.charCodeAt(i + 1) !== 10) n++;
  }
  return n;
}

/** The 0-based column of `offset` in its line, one per code point (a byte-order mark not counted). */
export function columnOf(text: string, offset: number): number {
  let start = offset;
  while (start > 0 && text[start - 1] !== "\n" && text[start - 1] !== "\r") start--;
  let prefix = text.slice(start, offset);
  if (start === 0 && prefix.startsWith("\uFEFF")) prefix = prefix.slice(1);
  return textWidth(prefix);
}
