// `dlm compile FILE --target ts -o DIR [--bundle]`: write a model as a TypeScript module
// (compiler/codegen/ts.ts, formatted with prettier) that imports the runtime surface
// runtime/module.ts, and with --bundle also one self-contained ES module (esbuild) that a
// plain Node script or a browser page can import. `--target wgsl`: WebGPU kernels and a JS
// host module (compiler/codegen/wgsl-module.ts, runtime/webgpu/module.ts).

import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { ModelGraph } from "../../compiler/ir/graph.js";
import type { TrainSetup } from "../../compiler/train.js";
import { generateTsModule, type TsModuleOptions } from "../../compiler/codegen/ts.js";
import type { FusionGroup } from "../../compiler/passes/fusion.js";
import { flashAttentionOn, optimise, type PassOptions } from "../../compiler/passes/pipeline.js";
import type { PGraph, PNode } from "../../compiler/prim/ir.js";
import { buildEvalGraph, buildTrainingGraph, checkpointedStep, type StepPassOptions } from "../../compiler/training-graph.js";
import { formatTs } from "../../compiler/codegen/format.js";
import { generateWgslModule, hostModuleEntry } from "../../compiler/codegen/wgsl-module.js";
import { writeFileAtomic } from "../atomic.js";
import { STD_DIR } from "../host.js";

export interface CompileArgs {
  /** the .dlm file as given (resolved against the working folder) */
  readonly file: string;
  readonly graph: ModelGraph;
  readonly train?: TrainSetup;
  readonly target: string;
  readonly outDir: string;
  readonly bundle: boolean;
  readonly batch?: number;
  readonly dims: ReadonlyMap<string, number>;
  readonly seed?: number;
  /** the specifier generated code imports the runtime from (default: a relative path to this package's runtime/module.js) */
  readonly runtime?: string;
  readonly quiet?: boolean;
  /** compiler passes switched off (-O0, --no-fold, --no-simplify, --no-bn-fold, --no-cse, --no-fuse, --no-plan, --no-in-place, --no-checkpoint) */
  readonly passes?: TsModuleOptions["passes"];
  /** bytes the training step's activation arena may take (--memory-budget; default the model's `@memory_budget`) */
  readonly memoryBudget?: number;
  /** print the fusion groups of the training step (or the forward pass) with their source ranges */
  readonly explain?: boolean;
}

export class CompileUsageError extends Error {}

export interface CompileResult {
  /** paths written */
  readonly files: readonly string[];
}

/** The package root: the folder above this file that holds runtime/module.ts (sources or the dist bundle). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "runtime", "module.ts"))) return dir;
    dir = dirname(dir);
  }
  throw new Error("dlm compile: cannot find the runtime (runtime/module.ts) next to the dlm package");
}

/** A module specifier for `target` as imported from a file in `fromDir` (posix separators, ./ or ../). */
export function relativeSpecifier(fromDir: string, target: string): string {
  const rel = relative(fromDir, target).split(sep).join("/");
  return rel.startsWith(".") ? rel : `./${rel}`;
}

/** A file name stem for a model name (model names are identifiers; anything else is replaced). */
export function fileStem(model: string): string {
  return model.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 100) || "model";
}

export async function runCompile(a: CompileArgs): Promise<CompileResult> {
  if (a.target !== "ts" && a.target !== "wgsl")
    throw new CompileUsageError(
      `--target must be ts (the TypeScript module) or wgsl (WebGPU kernels and a JS host module), got '${a.target}'`,
    );
  const outDir = resolve(a.outDir);
  const dims = new Map(a.dims);
  if (a.batch !== undefined) dims.set("B", a.batch);
  if (!dims.has("B")) dims.set("B", a.train?.batch ?? 32);
  if (a.target === "wgsl") return compileWgsl(a, outDir, dims);
  const source = resolve(a.file);
  const runtime = a.runtime ?? relativeSpecifier(outDir, join(packageRoot(), "runtime", "module.js"));
  const displayPath = (f: string): string => displayName(f, dirname(source));
  const code = generateTsModule(a.graph, a.train, {
    dims,
    runtimeImport: runtime,
    ...(a.seed !== undefined ? { seed: a.seed } : {}),
    ...(a.passes ? { passes: a.passes } : {}),
    ...(a.memoryBudget !== undefined ? { memoryBudget: a.memoryBudget } : {}),
    displayPath,
  });
  if (a.explain) process.stdout.write(explainFusion(a.graph, a.train, dims, a.passes ?? {}, displayPath, a.memoryBudget));
  const formatted = await formatTs(code);
  mkdirSync(outDir, { recursive: true });
  const stem = fileStem(a.graph.name);
  const tsPath = join(outDir, `${stem}.ts`);
  await writeFileAtomic(tsPath, formatted);
  const files = [tsPath];
  if (a.bundle) {
    const jsPath = join(outDir, `${stem}.js`);
    await bundleModule(tsPath, jsPath);
    files.push(jsPath);
  }
  return { files };
}

/** The names generateWgslModule gives kernel files. */
const KERNEL_FILE = /^k\d{3}_[a-z0-9_]+\.wgsl$/;
const WGSL_BANNER = "// generated by dlm compile --target wgsl: the model's plan and the dlm WebGPU runtime in one ES module; do not edit";

/**
 * `--target wgsl`: DIR/<model>-wgsl/*.wgsl (one file per distinct kernel), DIR/<model>.js (the
 * host module with the runtime inlined, reading the kernels from those files) and with
 * --bundle DIR/<model>.bundle.js (the kernels inlined too: one file for a web page).
 */
async function compileWgsl(a: CompileArgs, outDir: string, dims: Map<string, number>): Promise<CompileResult> {
  if (a.runtime !== undefined) throw new CompileUsageError("--runtime applies to --target ts (a wgsl module has its runtime inlined)");
  const m = generateWgslModule(a.graph, a.train, {
    dims,
    ...(a.seed !== undefined ? { seed: a.seed } : {}),
    ...(a.passes ? { passes: a.passes } : {}),
  });
  if (a.explain)
    process.stdout.write(explainFusion(a.graph, a.train, dims, a.passes ?? {}, (f) => displayName(f, dirname(resolve(a.file)))));
  if (!a.quiet) for (const n of m.notes) process.stderr.write(`note: ${n}\n`);
  const stem = fileStem(a.graph.name);
  const kernelDir = `${stem}-wgsl`;
  mkdirSync(join(outDir, kernelDir), { recursive: true });
  // kernels an earlier compile wrote there and this one does not would linger: remove them
  for (const f of readdirSync(join(outDir, kernelDir))) if (KERNEL_FILE.test(f) && !m.kernels.has(f)) rmSync(join(outDir, kernelDir, f));
  const files: string[] = [];
  for (const [name, code] of m.kernels) {
    const path = join(outDir, kernelDir, name);
    await writeFileAtomic(path, code);
    files.push(path);
  }
  const runtime = join(packageRoot(), "runtime", "webgpu", "module.ts");
  const builds = [
    { out: join(outDir, `${stem}.js`), inline: false },
    ...(a.bundle ? [{ out: join(outDir, `${stem}.bundle.js`), inline: true }] : []),
  ];
  for (const b of builds) {
    await bundleSource(hostModuleEntry(m, runtime, kernelDir, b.inline), b.out, WGSL_BANNER);
    files.push(b.out);
  }
  return { files };
}

/**
 * `--explain`: the fusion groups of the training step (a forward pass without a train
 * section), each with its primitives, shape, layer and the source range it comes from; then
 * its attention kernels.
 */
export function explainFusion(
  graph: ModelGraph,
  train: TrainSetup | undefined,
  dims: ReadonlyMap<string, number>,
  passes: StepPassOptions,
  displayPath: (file: string) => string,
  memoryBudget?: number,
): string {
  const loss = train?.loss ?? train?.phases.find((p) => p.loss)?.loss;
  // the step as the module computes it, checkpointed where that applies
  const step = (l: NonNullable<typeof loss>) =>
    checkpointedStep(graph, buildTrainingGraph(graph, l, dims), { passes, ...(memoryBudget !== undefined ? { budget: memoryBudget } : {}) })
      .training.model;
  const g = (loss ? step(loss) : buildEvalGraph(graph, dims)).builder.graph();
  const what = `${loss ? "training step" : "forward pass"} of ${graph.name} (${[...dims].map(([k, v]) => `${k}=${v}`).join(", ")})`;
  const location = (n: PNode): string | undefined => {
    if (!n.origin) return undefined;
    const r = n.origin.range;
    return `${displayPath(n.origin.file)}:${r.start.line}:${r.start.column}-${r.end.line}:${r.end.column}`;
  };
  const site = (n: PNode): string | undefined => {
    const at = location(n);
    return at !== undefined && n.instance !== undefined ? `${at} (${n.instance})` : at;
  };
  const attention = explainAttention(g, passes, site);
  if (passes.fuse === false) return `fusion is off (--no-fuse / -O0): no groups in the ${what}\n${attention}`;
  // the groups of the graph as compiled: after the rewrites the other switches leave on
  const { graph: rewritten, fusion } = optimise(g, passes);
  const lines = [`${fusion!.groups.length} fusion groups in the ${what}:`];
  fusion!.groups.forEach((group, k) => {
    const nodes = group.members.map((m) => rewritten.nodes[m]!);
    const sites = new Map<string, string>();
    for (const n of nodes) if (n.origin) sites.set(location(n)!, site(n)!);
    // an epilogue's anchor reads its own operands besides the group's inputs
    const reads = group.inputs.length + (group.kind === "epilogue" ? new Set(nodes[0]!.inputs).size : 0);
    lines.push(
      `  ${k + 1}. ${nodes.map((n) => n.op).join(" -> ")}  ${nodes.at(-1)!.dtype}[${nodes.at(-1)!.shape.join(", ")}]${groupNote(group, nodes[0]!)}: reads ${reads}, writes ${group.outputs.length}`,
      ...[...sites.values()].map((s) => `       ${s}`),
    );
  });
  return lines.join("\n") + "\n" + attention;
}

/**
 * The attention of the graph: each streaming (flash) attention kernel, forward and backward,
 * and each attention that stays unfused with the reason the lowering gave (or the switch).
 */
function explainAttention(g: PGraph, passes: PassOptions, site: (n: PNode) => string | undefined): string {
  const streamed = g.nodes.filter((n) => n.op === "attention" || n.op === "attention_grad");
  const unfused = g.nodes.filter((n) => typeof n.attrs["attentionFallback"] === "string");
  if (streamed.length + unfused.length === 0) return "";
  const lines: string[] = [];
  const at = (n: PNode): string => (site(n) ? `\n       ${site(n)}` : "");
  if (streamed.length > 0 && !flashAttentionOn(passes))
    lines.push(`${streamed.length} attention kernels run unfused: ${passes.fuse === false ? "--no-fuse / -O0" : "--no-flash-attention"}`);
  else if (streamed.length > 0) {
    lines.push(`${streamed.length} streaming attention kernels (no [Tq, Tk] scores stored):`);
    streamed.forEach((n, k) => {
      const masks = [
        n.attrs["causal"] === true ? "causal" : "",
        n.attrs["mask"] === "keep" ? "bool mask" : n.attrs["mask"] === "add" ? "additive mask" : "",
      ];
      const how = masks.filter((m) => m !== "").join(", ");
      const [q, keys] = [g.nodes[n.inputs[0]!]!.shape, g.nodes[n.inputs[1]!]!.shape.at(-2)];
      lines.push(`  ${k + 1}. ${n.op}: queries f32[${q.join(", ")}] against ${keys} keys${how ? ` (${how})` : ""}${at(n)}`);
    });
  }
  if (unfused.length > 0) {
    lines.push(`${unfused.length} attention products unfused, the [Tq, Tk] weights stored:`);
    unfused.forEach((n, k) => lines.push(`  ${k + 1}. ${String(n.attrs["attentionFallback"])}${at(n)}`));
  }
  return lines.join("\n") + "\n";
}

/**
 * A row group's rows, as `, row kernel over 6×16` (one kernel walking each row once per level
 * of reductions); an epilogue group's kernel, as `, epilogue of matmul`.
 */
function groupNote(group: FusionGroup, anchor: PNode): string {
  if (group.kind === "epilogue") return `, epilogue of ${anchor.op}`;
  return group.rows ? `, row kernel over ${group.rows.count}×${group.rows.length}` : "";
}

/** How a source file is named in generated comments: std/... or relative to the model's folder. */
function displayName(file: string, base: string): string {
  const inStd = relative(STD_DIR, file);
  if (!inStd.startsWith("..") && !inStd.startsWith(sep)) return `std/${inStd.split(sep).join("/")}`;
  return relative(base, file).split(sep).join("/") || file;
}

type Esbuild = {
  build(options: Record<string, unknown>): Promise<{ errors: unknown[] }>;
};

/** One self-contained ES module (the generated code plus the runtime it reaches), for Node and browsers. */
export async function bundleModule(entry: string, outfile: string): Promise<void> {
  await esbuildModule(
    { entryPoints: [entry] },
    outfile,
    "// generated by dlm compile --bundle: the model and the dlm runtime in one ES module; do not edit",
  );
}

/** bundleModule for generated JavaScript that is not in a file. */
async function bundleSource(contents: string, outfile: string, banner: string): Promise<void> {
  await esbuildModule({ stdin: { contents, loader: "js", resolveDir: packageRoot(), sourcefile: "entry.js" } }, outfile, banner);
}

async function esbuildModule(input: Record<string, unknown>, outfile: string, banner: string): Promise<void> {
  // a computed specifier keeps tools/build.ts from trying to bundle esbuild into the CLI
  const esbuild = (await import(["es", "build"].join(""))) as Esbuild;
  await esbuild.build({
    ...input,
    // the paths esbuild writes into comments are relative to the package, never this machine's
    absWorkingDir: packageRoot(),
    // acquireGpu's Node path, which a module given its device never takes
    external: ["webgpu"],
    outfile,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    logLevel: "silent",
    legalComments: "none",
    charset: "ascii",
    banner: { js: banner },
  });
}
