// The `dlm` command line. Thin: argument parsing, file access through the host, and
// printing. Exit codes: 0 clean, 1 diagnostics with errors (or a failed run), 2 usage.

import { resolve, relative } from "node:path";
import { diagnosticToJson, hasErrors, renderDiagnostic, type Diagnostic } from "../../compiler/diagnostics/index.js";
import { checkFile, summarizeFile } from "../../compiler/pipeline.js";
import { createFileSystemHost } from "../host.js";
import { formatSummary } from "./format.js";
import { memoryChartSvg } from "./memory-chart.js";
import { activationMemory, type ActivationMemory } from "../../compiler/passes/memory-report.js";
import { NO_PASSES } from "../../compiler/passes/pipeline.js";
import type { StepPassOptions } from "../../compiler/training-graph.js";
import { writeFileAtomicSync } from "../atomic.js";
import { runTraining, TrainUsageError } from "./train.js";
import { CompileUsageError, runCompile } from "./compile.js";
import { RunInputError, RunUsageError, runInference } from "./run.js";
import { ExportInputError, runExport } from "./export.js";
import { ExportError } from "../../compiler/export/onnx/context.js";
import { FmtUsageError, runFmt } from "./fmt.js";
import { LowerError } from "../../compiler/lower.js";
import type { ModelGraph } from "../../compiler/ir/graph.js";
import type { TrainSetup } from "../../compiler/train.js";
import type { Value } from "../../compiler/values.js";
import { Dim } from "../../compiler/dim.js";
import { BYTE_SIZE_FORMS, byteSize } from "../../compiler/byte-size.js";
import { NoGpuAdapterError } from "../../runtime/webgpu/device.js";
import { GpuKernelError } from "../../runtime/webgpu/executor.js";

const USAGE = `dlm — a toolchain for deep-learning models

usage:
  dlm check FILE... [--json]                       check files; diagnostics on stderr
  dlm summary FILE [--model NAME] [--dim B=32]... [--param name=value]... [--json] [--memory-svg FILE.svg]
           [--memory-budget BYTES] [-O0 | --no-fold | --no-simplify | --no-bn-fold | --no-cse | --no-fuse | --no-flash-attention | --no-in-place | --no-checkpoint]
                                                   layer table, parameters, MACs/FLOPs, memory (planned)
  dlm train FILE [--model NAME] [--data mnist|synthetic|FILE.csv] [--epochs N] [--batch B]
           [--lr X] [--seed S] [--dim T=64]... [--save CKPT] [--resume CKPT | --weights W.safetensors]
           [--report FILE.json] [--curve FILE.svg] [--steps-per-epoch N] [--backend cpu|webgpu] [--quiet]
           [--memory-budget BYTES] [-O0 | --no-fold | --no-simplify | --no-bn-fold | --no-cse | --no-fuse | --no-flash-attention | --no-plan | --no-in-place
           | --no-checkpoint]
                                                   train on the CPU (or WebGPU); per-epoch loss and accuracy
  dlm run FILE --weights W.safetensors --input NAME=FILE.json|JSON... [--model NAME] [--dim T=64]... [--json]
           [--backend cpu|webgpu]                  inference in eval mode; prints each output's shape and values
  dlm compile FILE [--model NAME] --target ts|wgsl -o DIR [--bundle] [--batch B] [--dim T=64]...
           [--seed S] [--runtime SPEC] [--explain] [--memory-budget BYTES]
           [-O0 | --no-fold | --no-simplify | --no-bn-fold | --no-cse | --no-fuse | --no-flash-attention | --no-plan | --no-in-place | --no-checkpoint]
                                                   write DIR/<model>.ts (and with --bundle DIR/<model>.js); wgsl:
                                                   DIR/<model>-wgsl/*.wgsl, DIR/<model>.js (and DIR/<model>.bundle.js)
  dlm export FILE [--model NAME] (--onnx OUT.onnx | --torch OUT.py) [--weights W.safetensors]
           [--dim T=64]... [--seed S]           the inference graph as ONNX (with weights) or a PyTorch module
  dlm fmt FILE|DIR... [--check] | --stdout FILE | -
                                                   canonical layout, in place (--check: list files that would
                                                   change, exit 1 if any; --stdout / -: print the result)
  dlm lsp --stdio                                   the language server for editors, over standard input/output
  dlm help                                         this text

exit codes: 0 clean, 1 errors in the input, 2 bad command line`;

class UsageError extends Error {}

interface Parsed {
  readonly positional: string[];
  readonly flags: Map<string, string[]>;
}

const BOOLEAN_FLAGS = new Set(["json", "no-color", "color", "help", "quiet"]);

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

/** A size in bytes: plain bytes, or a number with a unit (`256MB`, `1.5GiB`; KB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024). */
export function parseByteSize(flag: string, text: string): number {
  const bytes = byteSize(text);
  if (bytes === undefined) throw new UsageError(`--${flag} expects ${BYTE_SIZE_FORMS}, got '${text}'`);
  return bytes;
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

function cmdSummary(args: readonly string[]): number {
  const { rest: argv, passes } = passSwitches(args);
  const { positional, flags } = parseArgs(argv, ["json", "no-color", "color", "model", "dim", "param", "memory-svg", "memory-budget"]);
  const budgetText = flags.get("memory-budget")?.at(-1);
  const budget = budgetText === undefined ? undefined : parseByteSize("memory-budget", budgetText);
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
  let memory: ActivationMemory | undefined;
  try {
    memory = activationMemory(r.graph!, r.train, new Map(Object.entries(r.report.dims)), {
      ...(budget !== undefined ? { budget } : {}),
      passes,
    });
    if (memory.checkpointing?.warning) process.stderr.write(`dlm summary: warning: ${memory.checkpointing.warning}\n`);
  } catch (e) {
    // the counts above stand without the plan (a model the lowering cannot take at these dims)
    process.stderr.write(`dlm summary: activation memory not planned: ${(e as Error).message}\n`);
  }
  const svg = flags.get("memory-svg")?.[0];
  if (svg && memory) writeFileAtomicSync(resolve(svg), memoryChartSvg(r.report.model, memory));
  if (flags.has("json")) {
    const step = memory && {
      activation_memory: { ...memory, live: undefined, kernels: undefined, checkpointing: undefined },
      kernels: memory.kernels,
      ...(memory.checkpointing ? { checkpointing: memory.checkpointing } : {}),
    };
    process.stdout.write(JSON.stringify({ ...r.report, ...step }, null, 2) + "\n");
  } else process.stdout.write(formatSummary(r.report, memory) + "\n");
  return 0;
}

/** Check a file and pick one of its models (default: the last); prints why and returns 1 when it cannot. */
function loadChecked(
  command: string,
  file: string,
  model: string | undefined,
  color: boolean,
): { graph: ModelGraph; train?: TrainSetup } | number {
  const path = resolve(file);
  const r = checkFile(path, createFileSystemHost(path), model ? { model } : {});
  if (hasErrors(r.diagnostics)) {
    printDiagnostics(r.diagnostics, new Map([...r.program.files].map(([p, f]) => [p, f.text])), color);
    return 1;
  }
  const names = [...r.models.keys()];
  const chosen = r.models.get(model ?? names[names.length - 1]!);
  if (!chosen?.graph) {
    process.stderr.write(`dlm ${command}: no model${model ? ` named '${model}'` : ""} in ${file}\n`);
    return 1;
  }
  return { graph: chosen.graph, ...(chosen.train ? { train: chosen.train } : {}) };
}

/** A model with its train section, for training. */
function loadForTraining(file: string, model: string | undefined, color: boolean): { graph: ModelGraph; train: TrainSetup } | number {
  const loaded = loadChecked("train", file, model, color);
  if (typeof loaded === "number") return loaded;
  if (!loaded.train) {
    process.stderr.write(
      `dlm train: model '${loaded.graph.name}' has no train section (add \`train ${loaded.graph.name} { loss = ...; optimizer = ... }\`)\n`,
    );
    return 1;
  }
  return { graph: loaded.graph, train: loaded.train };
}

/** `--backend cpu|webgpu` (default cpu). */
function parseBackend(text: string | undefined): "cpu" | "webgpu" {
  const backend = text ?? "cpu";
  if (backend !== "cpu" && backend !== "webgpu") throw new UsageError(`--backend expects cpu or webgpu, got '${backend}'`);
  return backend;
}

function positiveInt(flags: Map<string, string[]>, name: string): number | undefined {
  const v = flags.get(name)?.at(-1);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--${name} expects a positive integer, got '${v}'`);
  return Number(v);
}

type PassSwitches = StepPassOptions;

/**
 * Each optimisation switch and the pass it turns off (compiler/passes/pipeline.ts; `--no-checkpoint`:
 * gradient checkpointing, `@checkpoint` and `--memory-budget`); `-O0` turns them all off.
 */
const PASS_SWITCHES: Readonly<Record<string, keyof PassSwitches>> = {
  "--no-fold": "fold",
  "--no-simplify": "simplify",
  "--no-bn-fold": "bnFold",
  "--no-cse": "cse",
  "--no-fuse": "fuse",
  "--no-flash-attention": "flashAttention",
  "--no-plan": "plan",
  "--no-in-place": "inPlace",
  "--no-checkpoint": "checkpoint",
};

/** The optimisation switches among `argv`, as pass options; returns the other arguments. */
function passSwitches(argv: readonly string[]): { rest: string[]; passes: PassSwitches } {
  const isSwitch = (a: string): boolean => a === "-O0" || a in PASS_SWITCHES;
  const passes: Record<string, boolean> = argv.includes("-O0") ? { ...NO_PASSES, checkpoint: false } : {};
  for (const a of argv) if (a in PASS_SWITCHES) passes[PASS_SWITCHES[a]!] = false;
  return { rest: argv.filter((a) => !isSwitch(a)), passes };
}

async function cmdTrain(args: readonly string[]): Promise<number> {
  const { rest: argv, passes } = passSwitches(args);
  const { positional, flags } = parseArgs(argv, [
    "model",
    "data",
    "epochs",
    "batch",
    "lr",
    "seed",
    "dim",
    "save",
    "resume",
    "weights",
    "report",
    "curve",
    "steps-per-epoch",
    "memory-budget",
    "backend",
    "quiet",
    "no-color",
    "color",
  ]);
  if (positional.length !== 1) throw new UsageError("dlm train needs exactly one FILE");
  const budgetText = flags.get("memory-budget")?.at(-1);
  const memoryBudget = budgetText === undefined ? undefined : parseByteSize("memory-budget", budgetText);
  const lrText = flags.get("lr")?.at(-1);
  const lr = lrText === undefined ? undefined : Number(lrText);
  if (lr !== undefined && !(lr > 0 && Number.isFinite(lr))) throw new UsageError(`--lr expects a positive number, got '${lrText}'`);
  const seedText = flags.get("seed")?.at(-1);
  if (seedText !== undefined && !/^\d+$/.test(seedText)) throw new UsageError(`--seed expects a non-negative integer, got '${seedText}'`);
  if (flags.has("weights") && flags.has("resume"))
    throw new UsageError("--weights starts a new run from weights, --resume continues one: give one of them");
  const loaded = loadForTraining(positional[0]!, flags.get("model")?.[0], useColor(flags));
  if (typeof loaded === "number") return loaded;
  const opt = (k: string): string | undefined => flags.get(k)?.at(-1);
  const backend = parseBackend(opt("backend"));
  try {
    return await runTraining({
      backend,
      file: positional[0]!,
      ...loaded,
      data: opt("data") ?? "synthetic",
      ...(positiveInt(flags, "epochs") !== undefined ? { epochs: positiveInt(flags, "epochs")! } : {}),
      ...(positiveInt(flags, "batch") !== undefined ? { batch: positiveInt(flags, "batch")! } : {}),
      ...(positiveInt(flags, "steps-per-epoch") !== undefined ? { stepsPerEpoch: positiveInt(flags, "steps-per-epoch")! } : {}),
      ...(lr !== undefined ? { lr } : {}),
      ...(seedText !== undefined ? { seed: Number(seedText) } : {}),
      dims: parseDims(flags.get("dim") ?? []),
      ...(opt("save") ? { save: opt("save")! } : {}),
      ...(opt("resume") ? { resume: opt("resume")! } : {}),
      ...(opt("weights") ? { weights: opt("weights")! } : {}),
      ...(opt("report") ? { report: opt("report")! } : {}),
      ...(opt("curve") ? { curve: opt("curve")! } : {}),
      quiet: flags.has("quiet"),
      passes,
      ...(memoryBudget !== undefined ? { memoryBudget } : {}),
    });
  } catch (e) {
    if (e instanceof UsageError) throw e; // a bad --epochs/--batch/--dim value: exit 2, not "the input's fault"
    if (e instanceof TrainUsageError) throw new UsageError(e.message);
    if (e instanceof LowerError) {
      const where = e.site ? `${displayPath(e.site.file)}:${e.site.range.start.line}:${e.site.range.start.column}: ` : "";
      process.stderr.write(`${where}dlm train: ${e.message}\n`);
      return 1;
    }
    // data and checkpoint problems (a missing file, a corrupt checkpoint) are the input's fault
    if (e instanceof Error && !(e instanceof TypeError) && !(e instanceof RangeError)) {
      process.stderr.write(`dlm train: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

async function cmdRun(argv: readonly string[]): Promise<number> {
  const { positional, flags } = parseArgs(argv, ["model", "weights", "input", "dim", "json", "backend", "no-color", "color"]);
  if (positional.length !== 1) throw new UsageError("dlm run needs exactly one FILE");
  const backend = parseBackend(flags.get("backend")?.at(-1));
  const weights = flags.get("weights")?.at(-1);
  if (!weights) throw new UsageError("dlm run needs --weights W.safetensors");
  const inputs = flags.get("input") ?? [];
  const dims = parseDims(flags.get("dim") ?? []);
  const chosen = loadChecked("run", positional[0]!, flags.get("model")?.[0], useColor(flags));
  if (typeof chosen === "number") return chosen;
  try {
    return await runInference({ graph: chosen.graph, weights, inputs, dims, json: flags.has("json"), backend });
  } catch (e) {
    if (e instanceof RunUsageError) throw new UsageError(e.message);
    if (e instanceof NoGpuAdapterError || e instanceof GpuKernelError) {
      process.stderr.write(`dlm run: ${e.message}\n`);
      return 1;
    }
    if (e instanceof RunInputError) {
      process.stderr.write(`dlm run: ${e.message}\n`);
      return 1;
    }
    if (e instanceof LowerError) {
      const where = e.site ? `${displayPath(e.site.file)}:${e.site.range.start.line}:${e.site.range.start.column}: ` : "";
      process.stderr.write(`${where}dlm run: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

async function cmdFmt(argv: readonly string[]): Promise<number> {
  // the value-less flags in the form parseArgs reads
  const args = argv.map((a) => (a === "--check" || a === "--stdout" ? `${a}=true` : a));
  const { positional, flags } = parseArgs(args, ["check", "stdout", "no-color", "color"]);
  for (const f of ["check", "stdout"]) if (flags.get(f)?.some((v) => v !== "true")) throw new UsageError(`--${f} takes no value`);
  const color = useColor(flags);
  try {
    return await runFmt({
      paths: positional,
      check: flags.has("check"),
      stdout: flags.has("stdout"),
      render: (d, source) => renderDiagnostic(forDisplay(d), source, color),
      display: displayPath,
    });
  } catch (e) {
    if (e instanceof FmtUsageError) throw new UsageError(e.message);
    throw e;
  }
}

async function cmdLsp(argv: readonly string[]): Promise<number> {
  if (argv.length !== 1 || argv[0] !== "--stdio") throw new UsageError("dlm lsp takes --stdio (the only transport)");
  const { SERVER_NODE_OPTIONS } = await import("../lsp/node-flags.js");
  if (!SERVER_NODE_OPTIONS.every((o) => process.execArgv.includes(o))) {
    // start again with the server's Node options, passing standard input and output through
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, [...process.execArgv, ...SERVER_NODE_OPTIONS, process.argv[1]!, "lsp", ...argv], {
      stdio: "inherit",
    });
    return new Promise((resolve) => child.on("exit", (code) => resolve(code ?? 1)));
  }
  // loaded on demand: the other commands do not need the protocol library
  const { runStdioServer } = await import("../lsp/server.js");
  return runStdioServer();
}

async function cmdCompile(argvIn: readonly string[]): Promise<number> {
  const { rest: argv, passes } = passSwitches(argvIn);
  // `-o DIR` and the value-less `--bundle` / `--explain` in the form parseArgs reads
  const args = argv.map((a) => (a === "-o" ? "--out" : a === "--bundle" ? "--bundle=true" : a === "--explain" ? "--explain=true" : a));
  const { positional, flags } = parseArgs(args, [
    "model",
    "target",
    "out",
    "bundle",
    "batch",
    "dim",
    "seed",
    "runtime",
    "explain",
    "memory-budget",
    "quiet",
    "no-color",
    "color",
  ]);
  if (positional.length !== 1) throw new UsageError("dlm compile needs exactly one FILE");
  if (flags.get("explain")?.some((v) => v !== "true")) throw new UsageError("--explain takes no value");
  const out = flags.get("out")?.at(-1);
  if (!out) throw new UsageError("dlm compile needs -o DIR");
  if (flags.get("bundle")?.some((v) => v !== "true")) throw new UsageError("--bundle takes no value");
  const seedText = flags.get("seed")?.at(-1);
  if (seedText !== undefined && !/^\d+$/.test(seedText)) throw new UsageError(`--seed expects a non-negative integer, got '${seedText}'`);
  const batch = positiveInt(flags, "batch");
  const dims = parseDims(flags.get("dim") ?? []);
  const target = flags.get("target")?.at(-1) ?? "ts";
  if (target !== "ts" && target !== "wgsl") throw new UsageError(`--target must be ts or wgsl, got '${target}'`);
  const budgetText = flags.get("memory-budget")?.at(-1);
  const memoryBudget = budgetText === undefined ? undefined : parseByteSize("memory-budget", budgetText);
  const chosen = loadChecked("compile", positional[0]!, flags.get("model")?.[0], useColor(flags));
  if (typeof chosen === "number") return chosen;
  try {
    const res = await runCompile({
      file: positional[0]!,
      graph: chosen.graph,
      ...(chosen.train ? { train: chosen.train } : {}),
      target,
      outDir: out,
      bundle: flags.has("bundle"),
      ...(batch !== undefined ? { batch } : {}),
      dims,
      ...(seedText !== undefined ? { seed: Number(seedText) } : {}),
      ...(flags.get("runtime") ? { runtime: flags.get("runtime")!.at(-1)! } : {}),
      passes,
      ...(memoryBudget !== undefined ? { memoryBudget } : {}),
      explain: flags.has("explain"),
    });
    if (!flags.has("quiet")) for (const f of res.files) process.stderr.write(`wrote ${displayPath(f)}\n`);
    return 0;
  } catch (e) {
    if (e instanceof CompileUsageError) throw new UsageError(e.message);
    if (e instanceof LowerError) {
      const where = e.site ? `${displayPath(e.site.file)}:${e.site.range.start.line}:${e.site.range.start.column}: ` : "";
      process.stderr.write(`${where}dlm compile: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

async function cmdExport(argv: readonly string[]): Promise<number> {
  const { positional, flags } = parseArgs(argv, ["model", "onnx", "torch", "weights", "dim", "seed", "quiet", "no-color", "color"]);
  if (positional.length !== 1) throw new UsageError("dlm export needs exactly one FILE");
  const opt = (k: string): string | undefined => flags.get(k)?.at(-1);
  const onnx = opt("onnx");
  const torch = opt("torch");
  if (onnx === undefined && torch === undefined) throw new UsageError("dlm export needs --onnx OUT.onnx or --torch OUT.py");
  for (const [flag, v] of [
    ["onnx", onnx],
    ["torch", torch],
    ["weights", opt("weights")],
  ] as const)
    if (v === "") throw new UsageError(`--${flag} needs a file name`);
  const seedText = opt("seed");
  if (seedText !== undefined && !/^\d+$/.test(seedText)) throw new UsageError(`--seed expects a non-negative integer, got '${seedText}'`);
  const dims = parseDims(flags.get("dim") ?? []);
  const chosen = loadChecked("export", positional[0]!, flags.get("model")?.[0], useColor(flags));
  if (typeof chosen === "number") return chosen;
  try {
    const files = await runExport({
      ...chosen,
      ...(onnx !== undefined ? { onnx } : {}),
      ...(torch !== undefined ? { torch } : {}),
      ...(opt("weights") !== undefined ? { weights: opt("weights")! } : {}),
      dims,
      ...(seedText !== undefined ? { seed: Number(seedText) } : {}),
    });
    if (!flags.has("quiet")) for (const f of files) process.stderr.write(`wrote ${displayPath(f)}\n`);
    return 0;
  } catch (e) {
    if (e instanceof ExportError) {
      const where = e.site ? `${displayPath(e.site.file)}:${e.site.range.start.line}:${e.site.range.start.column}: ` : "";
      process.stderr.write(`${where}dlm export: ${e.message}\n`);
      return 1;
    }
    if (e instanceof ExportInputError) {
      process.stderr.write(`dlm export: ${e.message}\n`);
      return 1;
    }
    // the output cannot be written (a missing folder, no permission, a full disk)
    if (e instanceof Error && typeof (e as NodeJS.ErrnoException).code === "string") {
      process.stderr.write(`dlm export: cannot write the output: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

export function main(argv: readonly string[]): number | Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case "check":
        return cmdCheck(rest);
      case "summary":
        return cmdSummary(rest);
      case "train":
        return cmdTrain(rest).catch(handleError);
      case "run":
        return cmdRun(rest).catch(handleError);
      case "compile":
        return cmdCompile(rest).catch(handleError);
      case "export":
        return cmdExport(rest).catch(handleError);
      case "fmt":
        return cmdFmt(rest).catch(handleError);
      case "lsp":
        return cmdLsp(rest).catch(handleError);
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
    return handleError(e);
  }
}

function handleError(e: unknown): number {
  if (e instanceof UsageError) {
    process.stderr.write(`dlm: ${e.message}\n\n${USAGE}\n`);
    return 2;
  }
  process.stderr.write(`dlm: internal error: ${(e as Error).stack ?? String(e)}\nplease report this with the input that caused it\n`);
  return 70;
}
