// The `dlm` command line. Thin: argument parsing, file access through the host, and
// printing. Exit codes: 0 clean, 1 diagnostics with errors (or a failed run), 2 usage.

import { resolve, relative } from "node:path";
import { diagnosticToJson, hasErrors, renderDiagnostic, type Diagnostic } from "../../compiler/diagnostics/index.js";
import { checkFile, summarizeFile } from "../../compiler/pipeline.js";
import { createFileSystemHost } from "../host.js";
import { formatSummary } from "./format.js";
import type { Value } from "../../compiler/values.js";
import { Dim } from "../../compiler/dim.js";

const USAGE = `dlm — a toolchain for deep-learning models

usage:
  dlm check FILE... [--json]                       check files; diagnostics on stderr
  dlm summary FILE [--model NAME] [--dim B=32]... [--param name=value]... [--json]
                                                   layer table, parameters, MACs/FLOPs, memory
  dlm help                                         this text

exit codes: 0 clean, 1 errors in the input, 2 bad command line`;

class UsageError extends Error {}

interface Parsed {
  readonly positional: string[];
  readonly flags: Map<string, string[]>;
}

const BOOLEAN_FLAGS = new Set(["json", "no-color", "color", "help"]);

function parseArgs(argv: readonly string[], allowed: readonly string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--") || a === "--") {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (!allowed.includes(name)) throw new UsageError(`unknown option --${name}`);
    let value: string;
    if (BOOLEAN_FLAGS.has(name)) value = "true";
    else if (eq > 0) value = a.slice(eq + 1);
    else {
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`--${name} needs a value`);
      value = next;
    }
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { positional, flags };
}

function parseDims(values: readonly string[]): Map<string, number> {
  const dims = new Map<string, number>();
  for (const v of values) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(\d+)$/.exec(v);
    if (!m || Number(m[2]) < 1) throw new UsageError(`--dim expects NAME=POSITIVE_INTEGER, got '${v}'`);
    dims.set(m[1]!, Number(m[2]));
  }
  return dims;
}

function parseParams(values: readonly string[]): Map<string, Value> {
  const out = new Map<string, Value>();
  for (const v of values) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(v);
    if (!m) throw new UsageError(`--param expects NAME=VALUE, got '${v}'`);
    const raw = m[2]!;
    const value: Value = /^-?\d+$/.test(raw)
      ? Dim.const(Number(raw))
      : /^-?\d*\.?\d+(e-?\d+)?$/i.test(raw)
        ? Number(raw)
        : raw === "true" || raw === "false"
          ? raw === "true"
          : raw;
    out.set(m[1]!, value);
  }
  return out;
}

function printDiagnostics(diags: readonly Diagnostic[], sources: ReadonlyMap<string, string>, color: boolean): void {
  for (const d of diags) {
    process.stderr.write(renderDiagnostic(forDisplay(d), sources.get(d.file), color) + "\n\n");
  }
  const errors = diags.filter((d) => d.severity === "error").length;
  const warnings = diags.length - errors;
  if (diags.length > 0)
    process.stderr.write(
      `${errors} error${errors === 1 ? "" : "s"}${warnings ? `, ${warnings} warning${warnings === 1 ? "" : "s"}` : ""}\n`,
    );
}

/** Paths in a diagnostic and its notes relative to the working folder when inside it. */
function forDisplay(d: Diagnostic): Diagnostic {
  return {
    ...d,
    file: displayPath(d.file),
    ...(d.notes ? { notes: d.notes.map((n) => (n.file ? { ...n, file: displayPath(n.file) } : n)) } : {}),
  };
}

function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel.startsWith("..") ? p : rel;
}

function useColor(flags: Map<string, string[]>): boolean {
  if (flags.has("no-color") || process.env.NO_COLOR) return false;
  return flags.has("color") || process.stderr.isTTY === true;
}

function cmdCheck(argv: readonly string[]): number {
  const { positional, flags } = parseArgs(argv, ["json", "no-color", "color", "model"]);
  if (positional.length === 0) throw new UsageError("dlm check needs at least one FILE");
  const all: Diagnostic[] = [];
  const sources = new Map<string, string>();
  for (const f of positional) {
    const path = resolve(f);
    const r = checkFile(path, createFileSystemHost(path), flags.get("model") ? { model: flags.get("model")![0]! } : {});
    for (const [p, file] of r.program.files) sources.set(p, file.text);
    all.push(...r.diagnostics);
  }
  if (flags.has("json")) {
    process.stdout.write(
      JSON.stringify({ files: positional, diagnostics: all.map((d) => diagnosticToJson(forDisplay(d))) }, null, 2) + "\n",
    );
  } else printDiagnostics(all, sources, useColor(flags));
  return hasErrors(all) ? 1 : 0;
}

function cmdSummary(argv: readonly string[]): number {
  const { positional, flags } = parseArgs(argv, ["json", "no-color", "color", "model", "dim", "param"]);
  if (positional.length !== 1) throw new UsageError("dlm summary needs exactly one FILE");
  const path = resolve(positional[0]!);
  const dims = parseDims(flags.get("dim") ?? []);
  const params = parseParams(flags.get("param") ?? []);
  const model = flags.get("model")?.[0];
  const r = summarizeFile(path, createFileSystemHost(path), { ...(model ? { model } : {}), dims, params });
  if (!r.report) {
    const sources = new Map<string, string>();
    const host = createFileSystemHost(path);
    for (const d of r.diagnostics) {
      const t = host.readFile(d.file);
      if ("text" in t) sources.set(d.file, t.text);
    }
    if (flags.has("json"))
      process.stdout.write(JSON.stringify({ diagnostics: r.diagnostics.map((d) => diagnosticToJson(forDisplay(d))) }, null, 2) + "\n");
    else printDiagnostics(r.diagnostics, sources, useColor(flags));
    return 1;
  }
  if (flags.has("json")) process.stdout.write(JSON.stringify(r.report, null, 2) + "\n");
  else process.stdout.write(formatSummary(r.report) + "\n");
  return 0;
}

export function main(argv: readonly string[]): number {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case "check":
        return cmdCheck(rest);
      case "summary":
        return cmdSummary(rest);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(USAGE + "\n");
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`dlm: ${e.message}\n\n${USAGE}\n`);
      return 2;
    }
    process.stderr.write(`dlm: internal error: ${(e as Error).stack ?? String(e)}\nplease report this with the input that caused it\n`);
    return 70;
  }
}
