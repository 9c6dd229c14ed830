// Class ids outside [0, C): PyTorch raises; dlm's trainer refuses the batch with the value,
// and the cross-entropy graph itself never counts such a row in the mean.

import { describe, expect, it } from "vitest";
import { buildEvalGraph } from "../../compiler/training-graph.js";
import { compile } from "../../runtime/cpu/executor.js";
import { Trainer } from "../../runtime/trainer.js";
import { loadModel } from "./harness.js";

const SRC = `
model M {
  input z: f32[B, 3]
  output logits = z
}
train M {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = sgd(lr: 0.1)
}`;

describe("class ids out of range", () => {
  it("are refused by the trainer with the offending value", () => {
    const m = loadModel(SRC.replace("output logits = z", "output logits = linear(z, 3)"), "M");
    const t = new Trainer(m.graph, m.train!, { batch: 2 });
    const feeds = new Map<string, Float32Array | Int32Array>([
      ["z", Float32Array.of(1, 2, 3, 1, 2, 3)],
      ["labels", Int32Array.of(2, 7)],
    ]);
    expect(() => t.trainStep(feeds)).toThrow(/label 7 .* 3 classes/);
  });

  it("do not count in the mean: logits [1,2,3] twice with labels [2, 7] give the loss of the valid row alone", () => {
    const m = loadModel(SRC, "M");
    const lowered = buildEvalGraph(m.graph, new Map([["B", 2]]), m.train);
    const p = compile(lowered.builder.graph());
    p.run(
      new Map<string, Float32Array | Int32Array>([
        ["z", Float32Array.of(1, 2, 3, 1, 2, 3)],
        ["labels", Int32Array.of(2, 7)],
      ]),
    );
    // -log softmax([1,2,3])[2] = log(e + e² + e³) − 3 = 0.40761 (ORACLES.md)
    expect((p.output("loss") as Float32Array)[0]).toBeCloseTo(0.40761, 4);
  });
});
