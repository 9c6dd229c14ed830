// Streaming (flash) attention, measured: the planned activation arena and the CPU time of one
// training step with the attention primitives run by the streaming kernels and expanded into
// the unfused primitives (`--no-flash-attention`), side by side in one run (the two programs
// alternate step by step, so drift in the machine's speed hits both alike; medians reported).
//
// npm run bench:attention [-- --steps N] [-- --dim T=512] [-- --dim B=1]

import { join } from "node:path";
import { buildTrainingGraph } from "../compiler/training-graph.js";
import { numelOf, type PGraph } from "../compiler/prim/ir.js";
import { compile } from "../runtime/cpu/executor.js";
import { check } from "../src/index.js";

const args = process.argv.slice(2);
const flag = (name: string): string[] => args.flatMap((a, i) => (a === name && args[i + 1] !== undefined ? [args[i + 1]!] : []));
const steps = Number(flag("--steps").at(-1) ?? 5);
const dims: Record<string, number> = { B: 2, T: 256 };
for (const d of flag("--dim")) {
  const [k, v] = d.split("=");
  dims[k!] = Number(v);
}

// the 6-layer encoder of examples/transformer_encoder.dlm (d = 512, 8 heads) without dropout on
// the attention weights, which the streaming kernel does not take (it falls back to the unfused path)
const file = join(import.meta.dirname, "..", "examples", "transformer_encoder.dlm");
const m = check(file, { params: new Map([["drop", 0]]) }).models.get("TransformerEncoderClassifier")!;
const graph = buildTrainingGraph(m.graph!, m.train!.loss!, new Map(Object.entries(dims))).model.builder.graph();

function feedsFor(g: PGraph): Map<string, Float32Array | Int32Array | Uint8Array> {
  const feeds = new Map<string, Float32Array | Int32Array | Uint8Array>();
  for (const i of g.inputs) {
    const n = g.nodes[i.node]!;
    const len = numelOf(n.shape);
    feeds.set(
      i.name,
      n.dtype === "f32" ? new Float32Array(len).fill(0.1) : n.dtype === "bool" ? new Uint8Array(len).fill(1) : new Int32Array(len),
    );
  }
  return feeds;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const mib = (b: number): string => (b / 2 ** 20).toFixed(1);
const programs = [compile(graph, { flashAttention: false }), compile(graph)];
const feeds = feedsFor(graph);
const times: number[][] = [[], []];
for (const p of programs) p.run(feeds); // warm-up: the engine compiles the hot loops
for (let s = 0; s < steps; s++)
  programs.forEach((p, k) => {
    const t0 = performance.now();
    p.run(feeds);
    times[k]!.push(performance.now() - t0);
  });
const [unfused, flash] = programs.map((p) => p.memory.planned);
const [a, b] = times.map(median);
console.log(
  `6-layer transformer encoder (d = 512, 8 heads), training step at ${Object.entries(dims)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ")}, ${steps} steps`,
);
console.log(`planned arena MiB   unfused ${mib(unfused!)}  streaming ${mib(flash!)}  (${(flash! / unfused!).toFixed(2)}x)`);
console.log(`ms/step (median)    unfused ${a!.toFixed(0)}  streaming ${b!.toFixed(0)}  (speed-up ${(a! / b!).toFixed(2)}x)`);
