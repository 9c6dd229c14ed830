// Diagnostics: what every stage returns instead of throwing. A diagnostic always has a
// source range; `renderDiagnostic` prints it the way good compilers do (file:line:col,
// the source line, the span underlined, notes and a hint).

import type { SourceRange } from "../../grammar/ast.js";
import { Diagnostics, type DiagnosticMessage } from "./messages.js";

export { Diagnostics, type DiagnosticMessage };

export type Severity = "error" | "warning" | "info";

export interface RelatedNote {
  readonly message: string;
  readonly file?: string;
  readonly range?: SourceRange;
}

export interface Diagnostic {
  readonly code: string;
  readonly severity: Severity;
  readonly message: string;
  readonly file: string;
  readonly range: SourceRange;
  readonly notes?: readonly RelatedNote[];
  readonly hint?: string;
}

export function formatMessage(template: string, args: readonly (string | number)[]): string {
  return template.replace(/\{(\d+)\}/g, (_, i: string) => String(args[Number(i)] ?? ""));
}

export function createDiagnostic(
  msg: DiagnosticMessage,
  file: string,
  range: SourceRange,
  args: readonly (string | number)[] = [],
  extra: { notes?: readonly RelatedNote[]; hint?: string } = {},
): Diagnostic {
  return {
    code: msg.code,
    severity: msg.category,
    message: formatMessage(msg.message, args),
    file,
    range,
    ...(extra.notes && extra.notes.length > 0 ? { notes: extra.notes } : {}),
    ...(extra.hint ? { hint: extra.hint } : {}),
  };
}

export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === "error");
}

/** A range covering the first character of a text, for file-level problems. */
export const START_RANGE: SourceRange = {
  start: { offset: 0, line: 1, column: 1 },
  end: { offset: 0, line: 1, column: 1 },
};

export function sortDiagnostics(diags: readonly Diagnostic[]): Diagnostic[] {
  return [...diags].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.range.start.offset - b.range.start.offset);
}

const MAX_SHOWN_LINE = 200;

/** One diagnostic as text, with the offending source underlined. */
export function renderDiagnostic(d: Diagnostic, source: string | undefined, color = false): string {
  const paint = (code: string, s: string): string => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const sevColor = d.severity === "error" ? "31;1" : d.severity === "warning" ? "33;1" : "36;1";
  const { line, column } = d.range.start;
  const out: string[] = [];
  out.push(`${paint("1", `${d.file}:${line}:${column}`)}: ${paint(sevColor, `${d.severity} ${d.code}`)}: ${d.message}`);
  if (source !== undefined) out.push(...renderSpan(source, d.range, paint));
  for (const n of d.notes ?? []) {
    const where = n.range ? `${n.file ?? d.file}:${n.range.start.line}:${n.range.start.column}: ` : "";
    out.push(`  ${paint("36", "note")}: ${where}${n.message}`);
  }
  if (d.hint) out.push(`  ${paint("32", "hint")}: ${d.hint}`);
  return out.join("\n");
}

function renderSpan(source: string, range: SourceRange, paint: (c: string, s: string) => string): string[] {
  const lines = source.split(/\r?\n/);
  const lineText = lines[range.start.line - 1];
  if (lineText === undefined) return [];
  const gutter = String(range.start.line);
  const pad = " ".repeat(gutter.length);
  // Long lines (minified or generated input) are cut around the span.
  let startCol = range.start.column - 1;
  let text = lineText.replace(/\t/g, " ");
  let prefix = "";
  if (text.length > MAX_SHOWN_LINE) {
    const from = Math.max(0, startCol - 40);
    text = text.slice(from, from + MAX_SHOWN_LINE);
    if (from > 0) {
      prefix = "…";
      startCol = startCol - from + 1;
    }
  }
  text = prefix + text.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "?");
  const endCol = range.end.line === range.start.line ? Math.max(range.end.column - 1, range.start.column) : lineText.length + 1;
  const width = Math.max(1, Math.min(endCol - (range.start.column - 1), text.length - startCol + 1, MAX_SHOWN_LINE));
  return [`${pad} |`, `${gutter} | ${text}`, `${pad} | ${" ".repeat(Math.max(0, startCol))}${paint("31;1", "^".repeat(width))}`];
}

/** The JSON shape of a diagnostic for `--json` and editors (lines and columns 1-based). */
export function diagnosticToJson(d: Diagnostic): Record<string, unknown> {
  return {
    code: d.code,
    severity: d.severity,
    message: d.message,
    file: d.file,
    range: {
      start: { line: d.range.start.line, column: d.range.start.column, offset: d.range.start.offset },
      end: { line: d.range.end.line, column: d.range.end.column, offset: d.range.end.offset },
    },
    ...(d.notes ? { notes: d.notes.map((n) => ({ message: n.message, file: n.file ?? d.file, range: n.range })) } : {}),
    ...(d.hint ? { hint: d.hint } : {}),
  };
}
