// The front half of the pipeline as pure functions: load → parse → elaborate (which
// infers and checks shapes) → analyse. The CLI, the language server and the library
// API all go through here.

import { analyzeModel, type ModelReport } from "./analyze.js";
import { hasErrors, sortDiagnostics, type Diagnostic } from "./diagnostics/index.js";
import { checkTrainTargets, elaborate, modelNames, type ElaborateOptions, type ElaborateResult } from "./elaborate.js";
import { loadProgram, type CompilerHost, type Program } from "./program.js";
import type { ModelGraph } from "./ir/graph.js";
import type { TrainSetup } from "./train.js";

export interface CheckResult {
  readonly program: Program;
  readonly models: ReadonlyMap<string, ElaborateResult>;
  readonly diagnostics: readonly Diagnostic[];
}

/** Check every model of a file (or just `options.model`). */
export function checkFile(entry: string, host: CompilerHost, options: ElaborateOptions = {}): CheckResult {
  const program = loadProgram(entry, host);
  const models = new Map<string, ElaborateResult>();
  const diagnostics: Diagnostic[] = [...program.diagnostics];
  // A file of blocks only is a library: its blocks are checked where they are used.
  const names = options.model ? [options.model] : modelNames(program);
  if (program.files.has(entry)) {
    diagnostics.push(...checkTrainTargets(program));
    for (const name of names) {
      const r = elaborate(program, { ...options, model: name });
      models.set(name, r);
      diagnostics.push(...r.diagnostics);
    }
  }
  return { program, models, diagnostics: clean(diagnostics) };
}

export interface SummaryResult {
  readonly report?: ModelReport;
  /** the model and its train section the report is of (for later stages: lowering, planning) */
  readonly graph?: ModelGraph;
  readonly train?: TrainSetup;
  readonly diagnostics: readonly Diagnostic[];
}

/** Elaborate one model (default: the last in the file) and analyse it. */
export function summarizeFile(entry: string, host: CompilerHost, options: ElaborateOptions = {}): SummaryResult {
  const program = loadProgram(entry, host);
  const r = program.files.has(entry) ? elaborate(program, options) : { diagnostics: [] };
  const diagnostics = clean([...program.diagnostics, ...r.diagnostics]);
  if (hasErrors(diagnostics) || !("graph" in r) || !r.graph) return { diagnostics };
  return { report: analyzeModel(r.graph, r.train, options.dims), graph: r.graph, ...(r.train ? { train: r.train } : {}), diagnostics };
}

/** Sorted, deduplicated, and without the echoes of syntax errors. */
function clean(diags: readonly Diagnostic[]): Diagnostic[] {
  return dedupe(sortDiagnostics(withoutSyntaxEchoes(diags)));
}

/**
 * A later stage's error on text the parser already flagged (`linear(x, 12abc)` is a bad
 * number, not also a bad size) repeats the syntax error: keep only the syntax error.
 */
function withoutSyntaxEchoes(diags: readonly Diagnostic[]): Diagnostic[] {
  const syntax = diags.filter((d) => d.severity === "error" && d.code.startsWith("DLM1"));
  if (syntax.length === 0) return [...diags];
  const overlaps = (a: Diagnostic, b: Diagnostic): boolean =>
    a.file === b.file && a.range.start.offset <= b.range.end.offset && b.range.start.offset <= a.range.end.offset;
  return diags.filter((d) => d.code.startsWith("DLM1") || d.code === "DLM9002" || !syntax.some((s) => overlaps(s, d)));
}

/** The same message at the same place (a block instantiated twice) is reported once. */
function dedupe(diags: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diags.filter((d) => {
    const key = `${d.file}:${d.range.start.offset}:${d.range.end.offset}:${d.code}:${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
