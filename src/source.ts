// Checking and summarising source text held in memory (an editor buffer), given the
// standard library's files. Free of node imports: the Node API (index.ts) reads the
// standard library from disk, the browser entry (browser.ts) bundles it.

import { checkFile, summarizeFile, type CheckResult, type SummaryResult } from "../compiler/pipeline.js";
import type { ElaborateOptions } from "../compiler/elaborate.js";
import { createMemoryHost } from "./memory-host.js";

/** Check `text` as the file `name`; `files` supplies its imports, `std` the standard library (`std/NAME.dlm`). */
export function checkSourceWith(
  std: ReadonlyMap<string, string>,
  text: string,
  name: string,
  files: ReadonlyMap<string, string>,
  options: ElaborateOptions,
): CheckResult {
  return checkFile(name, createMemoryHost(withEntry(files, name, text), std), options);
}

/** Summarise one model of `text` (default: the last); arguments as checkSourceWith. */
export function summarizeSourceWith(
  std: ReadonlyMap<string, string>,
  text: string,
  name: string,
  files: ReadonlyMap<string, string>,
  options: ElaborateOptions,
): SummaryResult {
  return summarizeFile(name, createMemoryHost(withEntry(files, name, text), std), options);
}

function withEntry(files: ReadonlyMap<string, string>, name: string, text: string): Map<string, string> {
  const all = new Map(files);
  all.set(name, text);
  return all;
}
