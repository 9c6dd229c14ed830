// `dlm run FILE --weights W.safetensors --input NAME=VALUE... [--json] [--backend cpu|webgpu]`:
// inference on the CPU executor or on WebGPU (runtime/webgpu/executor.ts) in evaluation mode (dropout off, batch norm on running statistics). Inputs are JSON nested
// arrays, inline (`--input x=[[1,2]]`) or in a file (`--input x=x.json`); the batch B and the
// other symbolic dims are read off their shapes. Weights come from a safetensors file (a
// checkpoint of `dlm train --save` / Trainer.save, or plain weights); optimiser state in it is
// ignored. Outputs are printed with their shapes, or as `{outputs: {name: {shape, dtype, data}}}`
// with --json (data nested like the inputs).

import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Dim } from "../../compiler/dim.js";
import { liveNodes, typeOfRef, type InputNode, type ModelGraph, type TensorRef } from "../../compiler/ir/graph.js";
import { buildEvalGraph } from "../../compiler/training-graph.js";
import type { DType } from "../../compiler/ops/types.js";
import { compile } from "../../runtime/cpu/executor.js";
import type { HostArray } from "../../runtime/cpu/reference.js";
import type { PGraph } from "../../compiler/prim/ir.js";
import { readSafetensors } from "../../runtime/safetensors.js";
import { compileGpu } from "../../runtime/webgpu/executor.js";
import { matchWeights } from "../../runtime/weights.js";

export interface RunArgs {
  readonly graph: ModelGraph;
  readonly weights: string;
  /** `NAME=VALUE` as given on the command line */
  readonly inputs: readonly string[];
  /** values of symbolic dims the inputs do not determine */
  readonly dims: ReadonlyMap<string, number>;
  readonly json: boolean;
  /** where the forward pass runs (default cpu) */
  readonly backend?: "cpu" | "webgpu";
}

/** A bad command line (exit 2). */
export class RunUsageError extends Error {}
/** Bad input data or weights (exit 1). */
export class RunInputError extends Error {}

interface Parsed {
  readonly shape: number[];
  readonly values: (number | boolean)[];
}

/** The shape and row-major values of a JSON number, boolean or rectangular nested array. */
export function parseNested(v: unknown, where: string): Parsed {
  // the shape along the first elements, then every element checked against it
  const shape: number[] = [];
  for (let x = v; Array.isArray(x); x = x[0]) shape.push(x.length);
  const values: (number | boolean)[] = [];
  const walk = (x: unknown, depth: number): void => {
    if (depth < shape.length) {
      if (!Array.isArray(x) || x.length !== shape[depth])
        throw new RunInputError(
          `${where}: not a rectangular array: at depth ${depth + 1} ${Array.isArray(x) ? `a row of ${x.length}` : "a number"} where the first row has ${shape[depth]}`,
        );
      for (const e of x) walk(e, depth + 1);
      return;
    }
    if (Array.isArray(x)) throw new RunInputError(`${where}: not a rectangular array: nested deeper than ${shape.length} levels somewhere`);
    if (typeof x !== "number" && typeof x !== "boolean")
      throw new RunInputError(`${where}: expected numbers in nested arrays, found ${x === null ? "null" : typeof x}`);
    values.push(x);
  };
  walk(v, 0);
  return { shape, values };
}

const fmtShape = (s: readonly (number | Dim)[]): string => `[${s.map(String).join(", ")}]`;

/** Read one `NAME=VALUE` argument: inline JSON (an array or a number) or a JSON file. */
async function readInput(arg: string): Promise<{ name: string; parsed: Parsed }> {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=([\s\S]*)$/.exec(arg);
  if (!m) throw new RunUsageError(`--input expects NAME=FILE.json or NAME=JSON, got '${arg}'`);
  const [, name, value] = m as unknown as [string, string, string];
  const text = value.trim();
  const inline = /^[[\-+.\d]/.test(text) || text === "true" || text === "false";
  let source = text;
  let where = `--input ${name}`;
  if (!inline) {
    if (text === "") throw new RunUsageError(`--input ${name}= needs a value: a JSON file or inline JSON`);
    where = text;
    try {
      source = await readFile(resolve(text), "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new RunInputError(
        code === "ENOENT"
          ? `input file '${text}' (for '${name}') does not exist`
          : `cannot read input file '${text}': ${(e as Error).message}`,
      );
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(source);
  } catch (e) {
    throw new RunInputError(`${where}: not valid JSON (${(e as Error).message})`);
  }
  return { name, parsed: parseNested(json, where) };
}

/** Bind the symbolic dims of the declared input shapes from the given ones (B from the leading axis). */
function bindDims(declared: ReadonlyMap<string, readonly Dim[]>, given: ReadonlyMap<string, Parsed>, dims: Map<string, number>): void {
  for (let pass = 0; pass < 3; pass++)
    for (const [name, shape] of declared) {
      const g = given.get(name)!;
      if (g.shape.length !== shape.length) continue; // reported after lowering, with the expected shape
      shape.forEach((d, i) => {
        if (d.evaluate(dims) !== undefined) return;
        const s = d.solveFor(g.shape[i]!);
        if (s && Number.isInteger(s.value) && s.value >= 1) dims.set(s.symbol, s.value);
      });
    }
}

function hostArray(dtype: string, p: Parsed, name: string): HostArray {
  const n = p.values.length;
  if (dtype === "bool") {
    const out = new Uint8Array(n);
    p.values.forEach((v, i) => {
      if (typeof v === "boolean") out[i] = v ? 1 : 0;
      else if (v === 0 || v === 1) out[i] = v;
      else throw new RunInputError(`input '${name}' is bool: value ${i} is ${v}, not true/false or 0/1`);
    });
    return out;
  }
  const nums = p.values.map((v, i) => {
    if (typeof v === "boolean") throw new RunInputError(`input '${name}' is ${dtype}: value ${i} is ${v}, not a number`);
    return v;
  });
  if (dtype === "f32") return Float32Array.from(nums);
  nums.forEach((v, i) => {
    if (!Number.isInteger(v) || Math.abs(v) > 0x7fffffff)
      throw new RunInputError(`input '${name}' is an integer tensor: value ${i} is ${v}`);
  });
  return Int32Array.from(nums);
}

/** Row-major values to nested arrays of `shape` (a scalar for []). */
function nest(data: ArrayLike<number>, shape: readonly number[], bool: boolean): unknown {
  const conv = (v: number): number | boolean | null => (bool ? v !== 0 : Number.isFinite(v) ? v : null);
  if (shape.length === 0) return conv(data[0]!);
  let at = 0;
  const build = (d: number): unknown[] =>
    Array.from({ length: shape[d]! }, () => (d === shape.length - 1 ? conv(data[at++]!) : build(d + 1)));
  return build(0);
}

function formatValue(v: number, bool: boolean, integer: boolean): string {
  if (bool) return v !== 0 ? "true" : "false";
  if (integer || Number.isInteger(v)) return String(v);
  if (!Number.isFinite(v)) return String(v);
  return String(Number(v.toPrecision(6)));
}

const MAX_PRINTED = 1000;

function formatTensor(data: ArrayLike<number>, shape: readonly number[], dtype: string): string {
  const bool = dtype === "bool";
  const integer = dtype === "i32";
  if (shape.length === 0) return formatValue(data[0]!, bool, integer);
  if (data.length > MAX_PRINTED) {
    const head = Array.from({ length: 20 }, (_, i) => formatValue(data[i]!, bool, integer)).join(", ");
    return `[${head}, ...] (${data.length} values; --json prints them all)`;
  }
  let at = 0;
  const build = (d: number, indent: string): string => {
    if (d === shape.length - 1) return `[${Array.from({ length: shape[d]! }, () => formatValue(data[at++]!, bool, integer)).join(", ")}]`;
    const rows = Array.from({ length: shape[d]! }, () => build(d + 1, indent + " "));
    return `[${rows.join(`,\n${indent} `)}]`;
  };
  return build(0, "");
}

/** The output's declared dtype (i64 class ids run as 32-bit integers). */
const typeName = (o: { dtype: string; declared?: TensorRef | undefined }, g: ModelGraph): string =>
  o.declared && g ? typeOfRef(g, o.declared).dtype : o.dtype;

export async function runInference(a: RunArgs): Promise<number> {
  const g = a.graph;
  const declared = new Map<string, { dtype: DType; shape: readonly Dim[] }>();
  const live = liveNodes(
    g,
    g.outputs.map((o) => o.ref.node),
  );
  for (const id of g.inputs) {
    const n = g.nodes[id] as InputNode;
    if (live[id]) declared.set(n.name, n.outputs[0]!); // a train section's inputs (labels) are not needed
  }
  const describe = (): string => [...declared].map(([n, t]) => `${n}: ${t.dtype}${fmtShape(t.shape)}`).join(", ") || "(no inputs)";

  // inputs: each once, every one the model takes, no others
  const given = new Map<string, Parsed>();
  const parsedArgs = await Promise.all(a.inputs.map(readInput));
  for (const { name, parsed } of parsedArgs) {
    if (given.has(name)) throw new RunUsageError(`--input ${name} is given twice`);
    if (!declared.has(name)) throw new RunUsageError(`model ${g.name} has no input '${name}'; it takes ${describe()}`);
    given.set(name, parsed);
  }
  const missing = [...declared.keys()].filter((n) => !given.has(n));
  if (missing.length)
    throw new RunUsageError(`model ${g.name} needs ${missing.map((m) => `--input ${m}=...`).join(" ")}; it takes ${describe()}`);

  for (const [name, t] of declared) {
    const p = given.get(name)!;
    if (p.shape.length !== t.shape.length)
      throw new RunInputError(
        `input '${name}' has shape ${fmtShape(p.shape)} (rank ${p.shape.length}), but the model expects ${t.dtype}${fmtShape(t.shape)} (rank ${t.shape.length})`,
      );
  }
  const dims = new Map(a.dims);
  bindDims(new Map([...declared].map(([n, t]) => [n, t.shape])), given, dims);
  const lowered = buildEvalGraph(g, dims);

  // shapes: the lowered inputs are at the bound dims; anything else is the input's fault
  for (const i of lowered.inputs) {
    const p = given.get(i.name)!;
    if (p.shape.length !== i.shape.length || p.shape.some((d, k) => d !== i.shape[k])) {
      const t = declared.get(i.name)!;
      throw new RunInputError(
        `input '${i.name}' has shape ${fmtShape(p.shape)}, but the model expects ${t.dtype}${fmtShape(t.shape)}` +
          (t.shape.some((d) => !d.isConstant) ? ` (here ${fmtShape(i.shape)})` : ""),
      );
    }
  }

  // weights: every parameter and buffer the forward pass reads, at its shape
  const file = await readSafetensors(a.weights).catch((e: Error) => {
    throw new RunInputError(e.message);
  });
  let weights: Map<string, Float32Array>;
  try {
    weights = matchWeights(file, lowered.params, { path: a.weights, model: g.name });
  } catch (e) {
    throw new RunInputError((e as Error).message);
  }

  const feeds = new Map<string, HostArray>();
  for (const i of lowered.inputs) feeds.set(i.name, hostArray(i.dtype, given.get(i.name)!, i.name));
  const graph = lowered.builder.graph();
  const names = lowered.outputs.map((o) => o.name);
  const values = a.backend === "webgpu" ? await forwardOnGpu(graph, weights, feeds, names) : forwardOnCpu(graph, weights, feeds, names);

  const b = lowered.builder;
  const outs = lowered.outputs.map((o) => ({
    name: o.name,
    shape: b.shape(o.node),
    dtype: b.dtype(o.node),
    declared: g.outputs.find((x) => x.name === o.name)?.ref,
    data: values.get(o.name)!,
  }));
  if (a.json) {
    const outputs: Record<string, unknown> = {};
    for (const o of outs)
      outputs[o.name] = { shape: o.shape, dtype: typeName(o, g), data: nest(o.data as ArrayLike<number>, o.shape, o.dtype === "bool") };
    process.stdout.write(JSON.stringify({ model: g.name, outputs }) + "\n");
  } else {
    for (const o of outs)
      process.stdout.write(
        `${o.name}: ${typeName(o, g)}${fmtShape(o.shape)}\n${formatTensor(o.data as ArrayLike<number>, o.shape, o.dtype)}\n`,
      );
  }
  return 0;
}

type Forward = (
  graph: PGraph,
  weights: ReadonlyMap<string, Float32Array>,
  feeds: ReadonlyMap<string, HostArray>,
  outputs: readonly string[],
) => Map<string, HostArray>;

/** One forward pass on the CPU executor; the outputs by name. */
const forwardOnCpu: Forward = (graph, weights, feeds, outputs) => {
  const program = compile(graph);
  for (const [name, w] of weights) program.setParam(name, w);
  program.run(feeds, { seed: 0 });
  return new Map(outputs.map((name) => [name, program.output(name)]));
};

/** One forward pass on WebGPU (one submit that also reads the outputs back). */
async function forwardOnGpu(...[graph, weights, feeds, outputs]: Parameters<Forward>): Promise<Map<string, HostArray>> {
  const program = await compileGpu(graph);
  try {
    for (const [name, w] of weights) program.setParam(name, w);
    return await program.run(feeds, { seed: 0, read: outputs });
  } finally {
    program.destroy();
  }
}
