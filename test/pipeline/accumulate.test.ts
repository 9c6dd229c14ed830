// Gradient accumulation: with `accumulate = 2`, two micro-batches make one optimiser step
// whose gradient is their mean, the same step one batch of both would make (no batch
// statistics or dropout here, so the two must agree to rounding).

import { describe, expect, it } from "vitest";
import { Trainer } from "../../runtime/trainer.js";
import { loadModel } from "./harness.js";

const model = (batchLine: string, accumulate: string) => `
model M {
  input x: f32[B, 3]
  output logits = x |> linear(4) |> tanh |> linear(2)
}
train M {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = sgd(lr: 0.5, momentum: 0.9)
  ${batchLine}
  ${accumulate}
}`;

describe("gradient accumulation", () => {
  it("two micro-batches of 2 step like one batch of 4", () => {
    const x = [0.1, -0.4, 0.9, 1.2, 0.3, -0.7, -0.5, 0.8, 0.2, 0.6, -1.1, 0.4];
    const y = [0, 1, 1, 0];
    const whole = loadModel(model("batch = 4", ""), "M");
    const split = loadModel(model("batch = 2", "accumulate = 2"), "M");
    const a = new Trainer(whole.graph, whole.train!, { seed: 3 });
    const b = new Trainer(split.graph, split.train!, { seed: 3 });
    for (let step = 0; step < 3; step++) {
      a.trainStep(
        new Map<string, Float32Array | Int32Array>([
          ["x", Float32Array.from(x)],
          ["labels", Int32Array.from(y)],
        ]),
      );
      for (const half of [0, 1])
        b.trainStep(
          new Map<string, Float32Array | Int32Array>([
            ["x", Float32Array.from(x.slice(half * 6, half * 6 + 6))],
            ["labels", Int32Array.from(y.slice(half * 2, half * 2 + 2))],
          ]),
        );
    }
    for (const [name, v] of a.values) {
      const w = b.values.get(name)!;
      v.forEach((e, i) => expect(w[i]).toBeCloseTo(e, 5));
    }
    // and the parameters did move
    expect([...a.values.values()].some((v, k) => v.some((e) => Math.abs(e) > 0))).toBe(true);
  });
});
