// The gradient-checkpointing figures of the README (issue 5): the 100-block residual MLP under
// a budget of √100 blocks' activations, and a 12-layer transformer's √n schedule against the
// optimal chain schedule at the same memory. Every figure is the compiler's own report.
//   npm run bench:checkpoint

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Chain, checkpointStep, type CheckpointReport } from "../compiler/passes/checkpoint.js";
import { checkSource } from "../src/index.js";
import { buildTrainingGraph, type TrainingGraph } from "../compiler/training-graph.js";

const root = join(import.meta.dirname, "..");

function trainingGraph(text: string, file: string, model: string, dims: Record<string, number>): TrainingGraph {
  const r = checkSource(text, file, new Map(), { model });
  const m = r.models.get(model);
  if (!m?.graph || !m.train?.loss) throw new Error(`${model}: ${r.diagnostics.map((d) => d.message).join("; ")}`);
  return buildTrainingGraph(m.graph, m.train.loss, new Map(Object.entries(dims)));
}

const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;
const pct = (r: CheckpointReport): string => `${((100 * r.recompute_flops) / r.step_flops).toFixed(1)}%`;
const row = (label: string, r: CheckpointReport): string =>
  `| ${label} | ${r.policy} | ${kib(r.activation_memory.before)} | ${kib(r.activation_memory.after)} | ${r.recompute_flops.toLocaleString("en-US")} | ${pct(r)} |`;

const header = "| case | policy | arena without | arena with | recomputed FLOPs | of a step |\n|---|---|---:|---:|---:|---:|";

const mlpFile = join(root, "examples", "residual_mlp_100.dlm");
const mlp = trainingGraph(readFileSync(mlpFile, "utf8"), mlpFile, "ResidualMLP", { B: 16 });
const mlpGraph = mlp.model.builder.graph();
const chain = new Chain(mlpGraph, mlp.forwardEnd);
const blocks = chain.segments.filter((s) => /^blocks\.\d+\./.test(mlpGraph.nodes[s.boundary]!.instance ?? ""));
const blockBytes = blocks[Math.floor(blocks.length / 2)]!.keepBytes;
console.log(`residual MLP, 100 blocks, B = 16: one block keeps ${kib(blockBytes)} for the backward pass\n`);
console.log(header);
for (const [label, options] of [
  ["budget 10 blocks (auto)", { budget: 10 * blockBytes }],
  ["√n", { policy: "sqrt" }],
  ["selective", { policy: "selective" }],
] as const)
  console.log(row(label, checkpointStep(mlpGraph, mlp.forwardEnd, options).report));

const gptFile = join(root, "examples", "tiny_gpt_12.dlm");
const gpt = trainingGraph(readFileSync(gptFile, "utf8"), gptFile, "TinyGPT12", { B: 2 });
const gptGraph = gpt.model.builder.graph();
const sqrt = checkpointStep(gptGraph, gpt.forwardEnd, { policy: "sqrt" }).report;
console.log(`\n12-layer pre-norm transformer (d = 16, 2 heads, T = 8, B = 2), ${sqrt.segments} chain segments\n`);
console.log(header);
console.log(row("√n", sqrt));
for (const scale of [1, 1.25, 1.5, 2]) {
  const budget = Math.round(sqrt.activation_memory.after * scale);
  console.log(row(`DP at ${scale} × √n's arena`, checkpointStep(gptGraph, gpt.forwardEnd, { policy: "chain-dp", budget }).report));
}
