// Every example model exported to ONNX (the inference graph, with weights), run by
// onnxruntime-node, and compared with dlm's CPU executor in evaluation mode on the same weights
// and random inputs. The batch stays symbolic in the file (2 at run time); the models' other
// sizes are fixed small (at most 5) when exporting, and in the regular suite vocabularies and
// layer stacks are cut down (hyperparameters vocab = 50, depth = 2: the same ops, fewer and
// smaller copies). A model whose export is refused must be listed in
// UNSUPPORTED with the reason, so a regression shows. The largest models take minutes on a
// 2-core machine and run with `npm run test:onnx:long` (DLM_ONNX_LONG=1) instead.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ExportError } from "../../compiler/export/onnx/context.js";
import { Dim } from "../../compiler/dim.js";
import type { ModelGraph } from "../../compiler/ir/graph.js";
import { check } from "../../src/index.js";
import { compareWithDlm, exportForTest, randomOutputs } from "./onnx-harness.js";

const root = join(import.meta.dirname, "..", "..");
const examples = join(root, "examples");

/** Examples too large for the regular suite (ImageNet-sized images, BERT-sized tables): `npm run test:onnx:long`. */
const LONG = new Set([
  "alexnet",
  "bert_base",
  "convnext",
  "densenet121",
  "googlenet",
  "gpt2_small",
  "mobilenet_v2",
  "prompt_tuning",
  "resnet50",
  "unet",
  "vgg16",
  "vit_b16",
]);

/** "file:Model" → why ONNX export refuses it (today every example exports). */
const UNSUPPORTED: Readonly<Record<string, string>> = {};

interface Example {
  readonly key: string;
  readonly graph: ModelGraph;
}

/** Hyperparameter overrides of the regular suite (a model without such a hyperparameter ignores them). */
const SMALL = new Map([
  ["vocab", Dim.const(50)],
  ["src_vocab", Dim.const(50)],
  ["tgt_vocab", Dim.const(50)],
  ["depth", Dim.const(2)],
]);

function examplesOf(stem: string): Example[] {
  const r = check(join(examples, `${stem}.dlm`), long ? {} : { params: SMALL });
  return [...r.models].map(([name, m]) => {
    if (!m.graph) throw new Error(`${stem}: ${name} does not check`);
    return { key: `${stem}:${name}`, graph: m.graph };
  });
}

const long = process.env.DLM_ONNX_LONG === "1";
const stems = readdirSync(examples)
  .filter((f) => f.endsWith(".dlm"))
  .map((f) => f.slice(0, -4))
  .sort();
const cases = stems.filter((s) => LONG.has(s) === long).flatMap(examplesOf);

/** Run-time sizes: the batch 2, every other size its default capped at 5 (those fixed in the file keep their value). */
function runDims(g: ModelGraph, fixed: ReadonlyMap<string, number>): Map<string, number> {
  const dims = new Map<string, number>([["B", 2]]);
  for (const [k, v] of g.dimDefaults) if (k !== "B") dims.set(k, Math.min(v, 5));
  for (const [k, v] of fixed) dims.set(k, v);
  return dims;
}

describe("ONNX export of the examples, checked by onnxruntime", () => {
  it("the lists name real examples", () => {
    for (const s of LONG) expect(stems, `${s} is an example`).toContain(s);
    for (const key of Object.keys(UNSUPPORTED)) expect(stems, `${key} is an example`).toContain(key.split(":")[0]);
  });

  it.each(cases.map((c) => [c.key, c] as const))(
    "%s",
    async (key, { graph }) => {
      const reason = UNSUPPORTED[key];
      if (reason !== undefined) {
        expect(() => exportForTest(graph, new Map())).toThrow(ExportError);
        expect(() => exportForTest(graph, new Map())).toThrow(reason);
        return;
      }
      // sizes that are not the batch are fixed small where the model has a default, so big defaults (T = 128) stay cheap
      const given = new Map([...graph.dimDefaults].filter(([k]) => k !== "B").map(([k, v]) => [k, Math.min(v, 5)] as [string, number]));
      const { plan, weights, bytes } = exportForTest(graph, given);
      const r = await compareWithDlm(graph, bytes, weights, runDims(graph, plan.dims));
      expect(r.compared.length + randomOutputs(graph).size).toBe(graph.outputs.length);
    },
    600_000,
  );
});
