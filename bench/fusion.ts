// Operator fusion, measured: kernels launched and bytes read and written per training step
// before and after fusion, and the CPU step time both ways (the median step), side by side in
// one run (the two programs alternate step by step, so drift in the machine's speed hits both
// alike).
//
// npm run bench:fusion [-- --steps N] [-- MODEL...]

import { join } from "node:path";
import { buildTrainingGraph } from "../compiler/training-graph.js";
import { optimise } from "../compiler/passes/pipeline.js";
import { DTYPE_BYTES } from "../compiler/passes/memory-plan.js";
import { NO_KERNEL } from "../compiler/passes/memory-report.js";
import { numelOf, type PGraph } from "../compiler/prim/ir.js";
import { compile } from "../runtime/cpu/executor.js";
import { check } from "../src/index.js";

const CASES: { file: string; model: string; dims: Record<string, number> }[] = [
  { file: "mlp_mnist.dlm", model: "NeuralNetwork", dims: { B: 64 } },
  { file: "lenet5.dlm", model: "LeNet5MNIST", dims: { B: 64 } },
  { file: "resnet18.dlm", model: "ResNet18", dims: { B: 1 } },
  { file: "lstm_lm.dlm", model: "LSTMLanguageModel", dims: { B: 4, T: 16 } },
  { file: "transformer_encoder.dlm", model: "TransformerEncoderClassifier", dims: { B: 2, T: 64 } },
];

/** Kernels per step and the bytes they read and write, with and without fusion (repeats merged either way). */
function traffic(source: PGraph): { kernels: [number, number]; bytes: [number, number]; memory: string } {
  // the graph as the executor runs it: rewritten, dead code dropped, repeats merged, fused, planned
  const { graph, live, representative, fusion: plan, memory } = optimise(source);
  const rep = representative!;
  const fusion = plan!;
  const size = (id: number): number => numelOf(graph.nodes[id]!.shape) * DTYPE_BYTES[graph.nodes[id]!.dtype];
  let kernels = 0;
  let bytes = 0;
  let fusedKernels = 0;
  let fusedBytes = 0;
  for (const n of graph.nodes) {
    if (!live[n.id] || rep[n.id] !== n.id || NO_KERNEL.has(n.op)) continue;
    const moved = size(n.id) + [...new Set(n.inputs.map((i) => rep[i]!))].reduce((s, i) => s + size(i), 0);
    kernels++;
    bytes += moved;
    if (fusion.groupOf[n.id]! < 0) {
      fusedKernels++;
      fusedBytes += moved;
    }
  }
  for (const g of fusion.groups) {
    fusedKernels++;
    fusedBytes += g.inputs.reduce((s, i) => s + size(i.node), 0) + g.outputs.reduce((s, o) => s + size(o), 0);
    // an epilogue's anchor reads its operands itself
    if (g.kind === "epilogue")
      fusedBytes += [...new Set(graph.nodes[g.members[0]!]!.inputs.map((i) => rep[i]!))].reduce((s, i) => s + size(i), 0);
  }
  const m = memory!;
  const ratios = `${(m.planned / m.naive).toFixed(2)} of naive, ${(m.planned / m.lowerBound).toFixed(3)}x lower bound`;
  return { kernels: [kernels, fusedKernels], bytes: [bytes, fusedBytes], memory: ratios };
}

function feedsFor(graph: PGraph): Map<string, Float32Array | Int32Array | Uint8Array> {
  const feeds = new Map<string, Float32Array | Int32Array | Uint8Array>();
  for (const i of graph.inputs) {
    const n = graph.nodes[i.node]!;
    const len = numelOf(n.shape);
    feeds.set(
      i.name,
      n.dtype === "f32" ? new Float32Array(len).fill(0.1) : n.dtype === "bool" ? new Uint8Array(len).fill(1) : new Int32Array(len),
    );
  }
  return feeds;
}

const args = process.argv.slice(2);
const stepsAt = args.indexOf("--steps");
const steps = stepsAt >= 0 ? Number(args[stepsAt + 1]) : 10;
const only = args.filter((a, i) => !a.startsWith("--") && i !== stepsAt + 1);
const mb = (b: number): string => (b / 2 ** 20).toFixed(1);
console.log("model                          kernels/step      MiB moved/step     ms/step (unfused → fused)   speed-up   arena (planned)");
for (const c of CASES) {
  if (only.length && !only.some((o) => c.model.includes(o))) continue;
  const m = check(join(import.meta.dirname, "..", "examples", c.file)).models.get(c.model)!;
  const graph = buildTrainingGraph(m.graph!, m.train!.loss!, new Map(Object.entries(c.dims))).model.builder.graph();
  const t = traffic(graph);
  const programs = [compile(graph, { fuse: false }), compile(graph)];
  const feeds = feedsFor(graph);
  const ms: [number[], number[]] = [[], []];
  for (let s = 0; s < 3; s++) for (const p of programs) p.run(feeds); // warm-up: the engine compiles the hot loops
  for (let s = 0; s < steps; s++)
    programs.forEach((p, k) => {
      const t0 = performance.now();
      p.run(feeds);
      ms[k].push(performance.now() - t0);
    });
  // medians: a step that lands on a burst of load from other processes does not count
  const [a, b] = ms.map((m) => m.sort((x, y) => x - y)[m.length >> 1]!) as [number, number];
  console.log(
    `${c.model.padEnd(30)} ${`${t.kernels[0]} → ${t.kernels[1]}`.padEnd(17)} ${`${mb(t.bytes[0])} → ${mb(t.bytes[1])}`.padEnd(18)} ${`${a.toFixed(1)} → ${b.toFixed(1)}`.padEnd(27)} ${`${(a / b).toFixed(2)}x`.padEnd(10)} ${t.memory}`,
  );
}
