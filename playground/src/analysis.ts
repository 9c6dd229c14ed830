// One check of the editor's text: the diagnostics of every model, then the report, graph and
// train section of the chosen model (default: the last). Runs in the page on each pause in
// typing; the library does the work (src/browser.ts).

import { checkSource, summarizeSource, type Diagnostic, type SummaryResult } from "../../src/browser.js";

/** The name the editor's text is checked under: diagnostics and imports refer to it. */
export const ENTRY_FILE = "playground.dlm";

export interface Analysis {
  readonly diagnostics: readonly Diagnostic[];
  /** the models of the text, in order */
  readonly models: readonly string[];
  /** the model reported on, when it elaborates without errors */
  readonly summary?: Required<Pick<SummaryResult, "report" | "graph">> & Pick<SummaryResult, "train">;
}

export function analyse(text: string, model?: string): Analysis {
  const checked = checkSource(text, ENTRY_FILE);
  const models = [...checked.models.keys()];
  const chosen = model && models.includes(model) ? model : models.at(-1);
  if (!chosen) return { diagnostics: checked.diagnostics, models };
  const s = summarizeSource(text, ENTRY_FILE, new Map(), { model: chosen });
  return {
    diagnostics: checked.diagnostics,
    models,
    ...(s.report && s.graph ? { summary: { report: s.report, graph: s.graph, ...(s.train ? { train: s.train } : {}) } } : {}),
  };
}

/** `7:13 error DLM3101: shape mismatch: ...`, the way the problems list shows a diagnostic. */
export function describeDiagnostic(d: Diagnostic): string {
  const where = d.file === ENTRY_FILE ? "" : `${d.file}:`;
  return `${where}${d.range.start.line}:${d.range.start.column} ${d.severity} ${d.code}: ${d.message}`;
}
