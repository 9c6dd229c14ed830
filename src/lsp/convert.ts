// Between the compiler's terms and the protocol's: positions (1-based line and column in
// UTF-16 code units → 0-based), file paths ↔ URIs, diagnostics with their notes.

import { isAbsolute } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  DiagnosticSeverity,
  type Diagnostic as LspDiagnostic,
  type DiagnosticRelatedInformation,
  type Location,
  type Position,
  type Range,
} from "vscode-languageserver/node";
import type { SourceRange } from "../../grammar/ast.js";
import type { Diagnostic, Severity } from "../../compiler/diagnostics/index.js";

export function toPosition(p: { readonly line: number; readonly column: number }): Position {
  return { line: Math.max(0, p.line - 1), character: Math.max(0, p.column - 1) };
}

export function toRange(r: SourceRange): Range {
  return { start: toPosition(r.start), end: toPosition(r.end) };
}

/** Does a compiler range contain a protocol position (ends inclusive: a cursor right after a name is on it)? */
export function rangeContains(r: SourceRange, p: Position): boolean {
  const line = p.line + 1;
  const col = p.character + 1;
  const afterStart = line > r.start.line || (line === r.start.line && col >= r.start.column);
  const beforeEnd = line < r.end.line || (line === r.end.line && col <= r.end.column);
  return afterStart && beforeEnd;
}

/** A file path for a document URI; URIs that name no file (untitled buffers) stand for themselves. */
export function uriToPath(uri: string): string {
  if (!uri.startsWith("file:")) return uri;
  try {
    return fileURLToPath(uri);
  } catch {
    return uri;
  }
}

/** The URI of a path: the open document's own URI when there is one (keeps the client's spelling). */
export function pathToUri(path: string, openUris: ReadonlyMap<string, string>): string {
  const open = openUris.get(path);
  if (open) return open;
  return isAbsolute(path) ? pathToFileURL(path).href : path;
}

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
};

/**
 * A checker diagnostic of the document at `path`. Notes with a place become related
 * information (where a dim was bound, where a value came from); notes without one and the
 * hint stay in the message. A diagnostic in another file (inside an imported block) is
 * shown at `fallback`, the place in this document that leads there, and links to the file.
 */
export function toLspDiagnostic(
  d: Diagnostic,
  path: string,
  openUris: ReadonlyMap<string, string>,
  fallback?: { readonly range: SourceRange; readonly why: string },
): LspDiagnostic {
  const inThisFile = d.file === path;
  const related: DiagnosticRelatedInformation[] = [];
  const lines = [d.message];
  if (!inThisFile && fallback) related.push({ location: location(d.file, d.range, openUris), message: `${fallback.why}: ${d.message}` });
  for (const n of d.notes ?? []) {
    if (n.range) related.push({ location: location(n.file ?? d.file, n.range, openUris), message: n.message });
    else lines.push(`note: ${n.message}`);
  }
  if (d.hint) lines.push(`hint: ${d.hint}`);
  const range = inThisFile ? d.range : (fallback?.range ?? d.range);
  return {
    range: toRange(range),
    severity: SEVERITY[d.severity],
    code: d.code,
    source: "dlm",
    message: inThisFile || !fallback ? lines.join("\n") : `${fallback.why}: ${lines.join("\n")}`,
    ...(related.length ? { relatedInformation: related } : {}),
  };
}

export function location(path: string, range: SourceRange, openUris: ReadonlyMap<string, string>): Location {
  return { uri: pathToUri(path, openUris), range: toRange(range) };
}

/** 1234567 → "1,234,567" */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** three significant digits: 651720 → "652K", 1814000000 → "1.81G" */
export function formatShort(n: number): string {
  const units: [number, string][] = [
    [1e12, "T"],
    [1e9, "G"],
    [1e6, "M"],
    [1e3, "K"],
  ];
  for (const [scale, unit] of units) if (Math.abs(n) >= scale) return `${Number((n / scale).toPrecision(3))}${unit}`;
  return String(Math.round(n));
}
