/// <reference types="vite/client" />
// The library API for the browser (the playground): the same checks and reports as index.ts,
// with the standard library bundled into the page by Vite instead of read from disk. Nothing
// reachable from here imports node modules.

import type { CheckResult, SummaryResult } from "../compiler/pipeline.js";
import type { ElaborateOptions } from "../compiler/elaborate.js";
import { checkSourceWith, summarizeSourceWith } from "./source.js";

export type { ModelReport, LayerRow } from "../compiler/analyze.js";
export type { Diagnostic } from "../compiler/diagnostics/index.js";
export type { CheckResult, SummaryResult } from "../compiler/pipeline.js";
export type { ElaborateOptions } from "../compiler/elaborate.js";
export { renderDiagnostic, diagnosticToJson } from "../compiler/diagnostics/index.js";
export { parseDlm } from "../grammar/parse.js";
export { formatDlm, type FormatOptions, type FormatResult } from "../grammar/format.js";
export { createMemoryHost } from "./memory-host.js";

const bundled = import.meta.glob<string>("../std/*.dlm", { query: "?raw", import: "default", eager: true });

/** The standard library keyed `std/NAME.dlm`, as the in-memory host expects. */
export const stdFiles: ReadonlyMap<string, string> = new Map(
  Object.entries(bundled).map(([path, text]) => [`std/${path.slice(path.lastIndexOf("/") + 1)}`, text]),
);

/** Check source text held in memory (the editor's buffer); `files` supplies its imports. */
export function checkSource(
  text: string,
  name = "input.dlm",
  files: ReadonlyMap<string, string> = new Map(),
  options: ElaborateOptions = {},
): CheckResult {
  return checkSourceWith(stdFiles, text, name, files, options);
}

/** Summarise one model (default: the last) of source text held in memory. */
export function summarizeSource(
  text: string,
  name = "input.dlm",
  files: ReadonlyMap<string, string> = new Map(),
  options: ElaborateOptions = {},
): SummaryResult {
  return summarizeSourceWith(stdFiles, text, name, files, options);
}
