// A small layout engine in the manner of Wadler's "prettier printer": the formatter builds
// a document of text, possible line breaks and groups, and `layoutDoc` chooses the breaks
// so that lines stay within a width. Beyond the classic operators it has what .dlm needs:
// `alignHere` (continuation lines aligned under the column where it starts: argument lists
// after their `(`, pipe stages under the first `|>`), `fill` (as many items per line as fit),
// `freshLine` (a break only when the line already has text: comments on their own line)
// and trailing comments that keep their column, aligned with their neighbours.
//
// Everything is iterative (explicit stacks): documents are as deep as the expressions they
// print, and .dlm allows deep ones.

export type Doc = string | readonly Doc[] | DocNode;

type DocNode =
  | { readonly kind: "line"; readonly flat: "" | " "; readonly hard: boolean }
  | { readonly kind: "freshLine" }
  | { readonly kind: "space" }
  | { kind: "group"; readonly contents: Doc; broken: boolean }
  | { readonly kind: "indent"; readonly contents: Doc }
  | { readonly kind: "alignHere"; readonly contents: Doc }
  | { readonly kind: "fill"; readonly parts: readonly Doc[]; readonly lastResort: boolean }
  /** internal: the rest of a fill after a content, `[separator, content, ...]`, decided when reached */
  | { readonly kind: "fillRest"; readonly parts: readonly Doc[]; readonly lastResort: boolean }
  | { readonly kind: "trailingComment"; readonly text: string; readonly column: number }
  | { readonly kind: "verbatim"; readonly text: string };

/** A break, or a space when its group fits on the line. */
export const line: Doc = { kind: "line", flat: " ", hard: false };
/** A break, or nothing when its group fits on the line. */
export const softline: Doc = { kind: "line", flat: "", hard: false };
/** Always a break (and every group around it breaks). */
export const hardline: Doc = { kind: "line", flat: "", hard: true };
/** A break unless the current line holds nothing but indentation. */
export const freshLine: Doc = { kind: "freshLine" };
/** One space, unless the line is empty so far or already ends with one. */
export const space: Doc = { kind: "space" };

export function group(contents: Doc, broken = false): Doc {
  return { kind: "group", contents, broken };
}

/** Lines broken inside `contents` start two columns further in. */
export function indent(contents: Doc): Doc {
  return { kind: "indent", contents };
}

/** Lines broken inside `contents` start at the column where `contents` starts. */
export function alignHere(contents: Doc): Doc {
  return { kind: "alignHere", contents };
}

/**
 * `parts` alternate content and separator (`[c0, s0, c1, s1, c2]`): each separator breaks
 * only when the content after it does not fit on the current line. With `lastResort`, only
 * when it would fit on a line of its own: a content too long for any line stays where it is
 * and breaks inside instead.
 */
export function fill(parts: readonly Doc[], lastResort = false): Doc {
  return { kind: "fill", parts, lastResort };
}

/**
 * A comment at the end of the current line (a break must follow it). It is placed at
 * `column` when the code leaves room, and comments on adjacent lines that asked for the
 * same column stay aligned with each other.
 */
export function trailingComment(text: string, column: number): Doc {
  return { kind: "trailingComment", text, column };
}

/** Text printed exactly as it is, line breaks included (a multi-line block comment). */
export function verbatim(text: string): Doc {
  return { kind: "verbatim", text };
}

// ---------------------------------------------------------------------------

/** The width of text in columns: one per code point. */
export function textWidth(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) n++; // a low surrogate continues the previous code point
  }
  return n;
}

/** Whether a document forces a break wherever it is placed. */
function isHardBreak(doc: Doc): boolean {
  if (typeof doc === "string" || isArray(doc)) return false;
  switch (doc.kind) {
    case "line":
      return doc.hard;
    case "freshLine":
    case "trailingComment":
      return true;
    case "verbatim":
      return /[\r\n]/.test(doc.text);
    default:
      return false;
  }
}

function isArray(doc: Doc): doc is readonly Doc[] {
  return Array.isArray(doc);
}

function childrenOf(doc: Doc): readonly Doc[] {
  if (typeof doc === "string") return [];
  if (isArray(doc)) return doc;
  switch (doc.kind) {
    case "group":
    case "indent":
    case "alignHere":
      return [doc.contents];
    case "fill":
    case "fillRest":
      return doc.parts;
    default:
      return [];
  }
}

/** Marks every group that contains a forced break as broken (a hard break breaks all groups around it). */
function propagateBreaks(root: Doc): void {
  // post-order without recursion: `hard` holds the answer for each finished composite document
  const hard = new Map<Doc, boolean>();
  const stack: { doc: Doc; expanded: boolean }[] = [{ doc: root, expanded: false }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const children = childrenOf(top.doc);
    if (!top.expanded && children.length > 0) {
      top.expanded = true;
      for (const c of children) if (typeof c !== "string" && !hard.has(c)) stack.push({ doc: c, expanded: false });
      continue;
    }
    stack.pop();
    let result = isHardBreak(top.doc);
    for (const c of children) if (typeof c !== "string" && (hard.get(c) ?? isHardBreak(c))) result = true;
    const d = top.doc;
    if (result && typeof d !== "string" && !isArray(d) && d.kind === "group") d.broken = true;
    if (typeof d !== "string") hard.set(d, result);
  }
}

// ---------------------------------------------------------------------------

type Mode = "flat" | "break";

interface Command {
  readonly indent: number;
  readonly mode: Mode;
  readonly doc: Doc;
}

/** One output line: code, and the trailing comment that ends it with the column it asked for. */
export interface LaidOutLine {
  readonly text: string;
  readonly comment?: { readonly text: string; readonly column: number };
}

/**
 * Whether the commands `next`, then the ones waiting in `rest` (the top of that stack
 * first), reach the end of the line within `width` columns.
 */
function fits(next: readonly Command[], rest: readonly Command[], width: number): boolean {
  let remaining = width;
  const stack = [...next].reverse();
  let restIndex = rest.length;
  while (remaining >= 0) {
    let cmd = stack.pop();
    if (cmd === undefined) {
      if (restIndex === 0) return true;
      cmd = rest[--restIndex]!;
    }
    const { mode, doc } = cmd;
    if (typeof doc === "string") {
      remaining -= textWidth(doc);
      continue;
    }
    if (isArray(doc)) {
      for (let i = doc.length - 1; i >= 0; i--) stack.push({ indent: cmd.indent, mode, doc: doc[i]! });
      continue;
    }
    switch (doc.kind) {
      case "line":
        if (mode === "break" || doc.hard) return true;
        remaining -= doc.flat.length;
        break;
      case "freshLine":
        return true;
      case "space":
        remaining -= 1;
        break;
      case "group":
        stack.push({ indent: cmd.indent, mode: doc.broken ? "break" : mode, doc: doc.contents });
        break;
      case "indent":
      case "alignHere":
        stack.push({ indent: cmd.indent, mode, doc: doc.contents });
        break;
      case "fill":
      case "fillRest":
        for (let i = doc.parts.length - 1; i >= 0; i--) stack.push({ indent: cmd.indent, mode, doc: doc.parts[i]! });
        break;
      case "trailingComment":
        break;
      case "verbatim": {
        const firstLine = /^[^\r\n]*/.exec(doc.text)![0];
        remaining -= textWidth(firstLine);
        if (firstLine.length < doc.text.length) return remaining >= 0;
        break;
      }
    }
  }
  return false;
}

/** Chooses the line breaks of `doc` for lines of at most `width` columns (where it can). */
export function layoutDoc(doc: Doc, width: number): LaidOutLine[] {
  propagateBreaks(doc);
  const lines: LaidOutLine[] = [];
  let current = "";
  let pos = 0;
  let comment: LaidOutLine["comment"];

  const newline = (indentation: number): void => {
    const text = current.trimEnd();
    lines.push(comment ? { text, comment } : { text });
    comment = undefined;
    current = " ".repeat(indentation);
    pos = indentation;
  };
  const emit = (s: string): void => {
    current += s;
    pos += textWidth(s);
  };
  const lineIsEmpty = (): boolean => current.trim() === "";

  const cmds: Command[] = [{ indent: 0, mode: "break", doc }];
  while (cmds.length > 0) {
    const cmd = cmds.pop()!;
    const { indent: ind, mode, doc: d } = cmd;
    if (typeof d === "string") {
      emit(d);
      continue;
    }
    if (isArray(d)) {
      for (let i = d.length - 1; i >= 0; i--) cmds.push({ indent: ind, mode, doc: d[i]! });
      continue;
    }
    switch (d.kind) {
      case "line":
        if (mode === "flat" && !d.hard) {
          if (d.flat === " ") {
            if (!current.endsWith(" ") && !lineIsEmpty()) emit(" ");
          }
        } else newline(ind);
        break;
      case "freshLine":
        if (!lineIsEmpty()) newline(ind);
        else {
          current = " ".repeat(ind);
          pos = ind;
        }
        break;
      case "space":
        if (!current.endsWith(" ") && !lineIsEmpty()) emit(" ");
        break;
      case "group":
        if (d.broken) cmds.push({ indent: ind, mode: "break", doc: d.contents });
        else if (mode === "flat") cmds.push({ indent: ind, mode: "flat", doc: d.contents });
        else {
          const flat: Command = { indent: ind, mode: "flat", doc: d.contents };
          cmds.push(fits([flat], cmds, width - pos) ? flat : { indent: ind, mode: "break", doc: d.contents });
        }
        break;
      case "indent":
        cmds.push({ indent: ind + 2, mode, doc: d.contents });
        break;
      case "alignHere":
        cmds.push({ indent: pos, mode, doc: d.contents });
        break;
      case "fill":
      case "fillRest": {
        const parts = d.parts;
        if (mode === "flat") {
          // the whole fill was measured and fits
          for (let i = parts.length - 1; i >= 0; i--) cmds.push({ indent: ind, mode, doc: parts[i]! });
          break;
        }
        if (parts.length === 0) break;
        // a content is measured up to its end; the last one together with what follows the
        // fill, up to the next break
        const measure = (content: Doc, isLast: boolean): boolean =>
          fits([{ indent: ind, mode: "flat", doc: content }], isLast ? cmds : [], width - pos);
        if (d.kind === "fill") {
          const content = parts[0]!;
          if (parts.length > 1)
            cmds.push({ indent: ind, mode, doc: { kind: "fillRest", parts: parts.slice(1), lastResort: d.lastResort } });
          cmds.push({ indent: ind, mode: measure(content, parts.length === 1) ? "flat" : "break", doc: content });
        } else {
          // a separator breaks when the content after it does not fit on the current line
          const [separator, content] = parts;
          const together =
            measure([separator!, content!], parts.length === 2) ||
            (d.lastResort && !fits([{ indent: ind, mode: "flat", doc: content! }], parts.length === 2 ? cmds : [], width - ind));
          cmds.push({ indent: ind, mode, doc: fill(parts.slice(1), d.lastResort) });
          cmds.push({ indent: ind, mode: together ? "flat" : "break", doc: separator! });
        }
        break;
      }
      case "trailingComment":
        comment = comment ? { text: `${comment.text} ${d.text}`, column: comment.column } : { text: d.text, column: d.column };
        break;
      case "verbatim": {
        const parts = d.text.split(/\r\n?|\n/);
        emit(parts[0]!);
        for (const part of parts.slice(1)) {
          lines.push({ text: current.trimEnd() });
          current = part;
          pos = textWidth(part);
        }
        break;
      }
    }
  }
  newline(0);
  return lines;
}

/** The smallest gap between code and a trailing comment. */
const COMMENT_GAP = 2;

/**
 * Lines to text. A trailing comment stays at the column it asked for when the code leaves
 * room for it; otherwise it moves right, and so do the comments on adjacent lines that
 * asked for the same column, so that a column of comments stays one column.
 */
export function renderLines(lines: readonly LaidOutLine[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length;) {
    const first = lines[i]!;
    if (!first.comment) {
      out.push(first.text);
      i++;
      continue;
    }
    let end = i + 1;
    while (end < lines.length && lines[end]!.comment?.column === first.comment.column) end++;
    let column = first.comment.column;
    for (let k = i; k < end; k++) column = Math.max(column, textWidth(lines[k]!.text) + COMMENT_GAP);
    for (let k = i; k < end; k++) {
      const { text, comment } = lines[k]!;
      out.push(text === "" ? comment!.text : text + " ".repeat(column - textWidth(text)) + comment!.text);
    }
    i = end;
  }
  return out;
}
