// Shared by the code generation tests: generate a model's TypeScript module into the ignored
// tmp/ folder (so that it imports the runtime by a relative path) and import it.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { generateTsModule, type TsModuleOptions } from "../../compiler/codegen/ts.ts";
import { formatTs } from "../../compiler/codegen/format.ts";
import type { ModelGraph } from "../../compiler/ir/graph.ts";
import type { TrainSetup } from "../../compiler/train.ts";
import type { Buf, Feeds } from "../../runtime/module.ts";
import { relativeSpecifier } from "../../src/cli/compile.ts";
import { check } from "../../src/index.ts";

export const root = join(import.meta.dirname, "..", "..");
/** this test file's scratch folder (each test file loads its own copy of this module) */
export const tmpRoot = join(root, "tmp", "codegen-test", `${process.pid}-${Math.random().toString(36).slice(2, 10)}`);

/** The API every generated module exports. */
export interface GeneratedModule {
  readonly info: {
    model: string;
    seed: number;
    inputs: { name: string; dtype: string; shape: number[] }[];
    trainInputs: { name: string; dtype: string; shape: number[] }[];
    outputs: { name: string; dtype: string; shape: number[] }[];
    params: { name: string; shape: number[] }[];
  };
  forward(inputs: Feeds): ReadonlyMap<string, Buf>;
  trainStep(inputs: Feeds, lr?: number): number;
  evaluate(inputs: Feeds): { loss: number; outputs: ReadonlyMap<string, Buf> };
  parameters(): ReadonlyMap<string, Buf>;
  gradients(): ReadonlyMap<string, Float32Array>;
  loadWeights(w: Feeds): void;
  init(seed?: number): void;
  steps(): number;
}

export function loadExample(file: string, model: string): { graph: ModelGraph; train?: TrainSetup } {
  const r = check(join(root, "examples", file), { model });
  const m = r.models.get(model);
  if (!m?.graph) throw new Error(`${file}: no model ${model}`);
  return { graph: m.graph, ...(m.train ? { train: m.train } : {}) };
}

let counter = 0;

/** Generate (formatted), write under tmp/ and import. */
export async function generateAndImport(
  graph: ModelGraph,
  train: TrainSetup | undefined,
  dims: ReadonlyMap<string, number>,
  name: string,
  /** passes and memory budget, as `dlm compile` passes them */
  options: Pick<TsModuleOptions, "passes" | "memoryBudget"> = {},
): Promise<{ mod: GeneratedModule; code: string; path: string }> {
  const dir = join(tmpRoot, `${name}-${counter++}`);
  mkdirSync(dir, { recursive: true });
  const code = await formatTs(
    generateTsModule(graph, train, { ...options, dims, runtimeImport: relativeSpecifier(dir, join(root, "runtime", "module.js")) }),
  );
  const path = join(dir, "model.ts");
  writeFileSync(path, code);
  const mod = (await import(pathToFileURL(path).href)) as GeneratedModule;
  return { mod, code, path };
}

/** max |a − b| / max(1, |b|) */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!));
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}
