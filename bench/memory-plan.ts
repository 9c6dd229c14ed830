// Static memory planning, measured: for each example's training step (at the dims the example
// tests train it at) and the reference models, the intermediates' bytes with a buffer per value
// (naive), the planned arena without and with in-place elementwise updates, and the lower
// bound (the largest total of simultaneously live bytes, a value and the one written in place
// over it counted once). The compiler's own figures: nothing runs, so they do not vary.
//
// npm run bench:plan [-- --reference] [-- MODEL...]

import { join } from "node:path";
import { buildTrainingGraph } from "../compiler/training-graph.js";
import { optimise } from "../compiler/passes/pipeline.js";
import { check } from "../src/index.js";
import { EXAMPLES_DIR, FAST, LONG } from "../tools/train-examples.js";

/** The reference models of the README's figures, at its stated dims. */
export const REFERENCE: readonly { file: string; model: string; dims: Record<string, number>; label: string }[] = [
  { file: "mlp_mnist.dlm", model: "NeuralNetwork", dims: { B: 64 }, label: "MLP (B=64)" },
  { file: "lenet5.dlm", model: "LeNet5MNIST", dims: { B: 64 }, label: "LeNet-5 (B=64)" },
  { file: "resnet18.dlm", model: "ResNet18", dims: { B: 1 }, label: "ResNet-18 (B=1)" },
  { file: "lstm_lm.dlm", model: "LSTMLanguageModel", dims: { B: 4, T: 16 }, label: "LSTM LM (B=4, T=16)" },
  {
    file: "transformer_encoder.dlm",
    model: "TransformerEncoderClassifier",
    dims: { B: 2, T: 64 },
    label: "6-layer transformer (B=2, T=64)",
  },
];

const args = process.argv.slice(2);
const only = args.filter((a) => !a.startsWith("--"));
const cases = args.includes("--reference")
  ? REFERENCE
  : [...FAST, ...LONG].map((r) => ({ file: r.file, model: r.model, dims: { B: r.batch, ...r.dims }, label: r.model }));

const kib = (b: number): string => (b / 1024).toFixed(1);
console.log(
  "| model (dims) | naive KiB | planned KiB, no in place | planned KiB | lower bound KiB | planned / naive | planned / lower bound |",
);
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const c of cases) {
  if (only.length && !only.some((o) => c.model.includes(o))) continue;
  const m = check(join(EXAMPLES_DIR, c.file)).models.get(c.model)!;
  const loss = m.train!.loss ?? m.train!.phases[0]!.loss!;
  const graph = buildTrainingGraph(m.graph!, loss, new Map(Object.entries(c.dims))).model.builder.graph();
  const before = optimise(graph, { inPlace: false }).memory!;
  const after = optimise(graph).memory!;
  console.log(
    `| ${c.label} | ${kib(after.naive)} | ${kib(before.planned)} | ${kib(after.planned)} | ${kib(after.lowerBound)} | ` +
      `${(after.planned / after.naive).toFixed(2)} | ${(after.planned / after.lowerBound).toFixed(3)} |`,
  );
}
