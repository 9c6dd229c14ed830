// The public library API for Node: what programs and editors call (the browser has its own
// entry, browser.ts). Everything here is a thin composition of the pure compiler stages with a host.

import { resolve } from "node:path";
import { checkFile, summarizeFile, type CheckResult, type SummaryResult } from "../compiler/pipeline.js";
import type { ElaborateOptions } from "../compiler/elaborate.js";
import { createFileSystemHost, loadStdFiles } from "./host.js";
import { checkSourceWith, summarizeSourceWith } from "./source.js";

export type { ModelReport, LayerRow } from "../compiler/analyze.js";
export type { Diagnostic } from "../compiler/diagnostics/index.js";
export { renderDiagnostic, diagnosticToJson } from "../compiler/diagnostics/index.js";
export type { ElaborateOptions } from "../compiler/elaborate.js";
export { parseDlm } from "../grammar/parse.js";
export { formatDlm, type FormatOptions, type FormatResult } from "../grammar/format.js";
export { createFileSystemHost, createMemoryHost, loadStdFiles } from "./host.js";
export { checkFile as checkWithHost, summarizeFile as summarizeWithHost } from "../compiler/pipeline.js";

/** Check a .dlm file on disk: every model in it, with its imports. */
export function check(path: string, options: ElaborateOptions = {}): CheckResult {
  const p = resolve(path);
  return checkFile(p, createFileSystemHost(p), options);
}

/** Report parameters, compute and memory of one model of a file on disk. */
export function summarize(path: string, options: ElaborateOptions = {}): SummaryResult {
  const p = resolve(path);
  return summarizeFile(p, createFileSystemHost(p), options);
}

/** Check source text held in memory (an editor buffer); `files` supplies its imports. */
export function checkSource(
  text: string,
  name = "input.dlm",
  files: ReadonlyMap<string, string> = new Map(),
  options: ElaborateOptions = {},
): CheckResult {
  return checkSourceWith(stdFiles(), text, name, files, options);
}

/** Summarise a model from source text held in memory. */
export function summarizeSource(
  text: string,
  name = "input.dlm",
  files: ReadonlyMap<string, string> = new Map(),
  options: ElaborateOptions = {},
): SummaryResult {
  return summarizeSourceWith(stdFiles(), text, name, files, options);
}

let stdCache: Map<string, string> | undefined;
/** The standard library's files, read once per process. */
function stdFiles(): Map<string, string> {
  return (stdCache ??= loadStdFiles());
}
