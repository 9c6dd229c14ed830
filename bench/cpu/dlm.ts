// dlm's side of the CPU benchmark: every case is a .dlm model, checked and lowered by the
// compiler and run by the CPU executor, as a user would run it.
//   matmul, conv2d forward: a one-op model compiled for inference (compile() of
//     buildEvalGraph); timed: program.run(feeds), which copies the feeds into its buffers too.
//   training steps: runtime/trainer.ts's Trainer.trainStep (forward, loss, backward, SGD).

import { buildEvalGraph } from "../../compiler/training-graph.js";
import { compile } from "../../runtime/cpu/executor.js";
import { Trainer } from "../../runtime/trainer.js";
import { checkSource } from "../../src/index.js";
import { BATCH, CONV, LR, heUniform, labels, uniform, type Impl, type Prepared } from "./common.js";

export const MLP_SOURCE = `
model MLP {
  input x: f32[B, 784]
  output logits = x |> linear(256) |> relu |> linear(128) |> relu |> linear(10)
}
train MLP {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = sgd(lr: ${LR})
  batch = ${BATCH}
}
`;

export const LENET_SOURCE = `
model LeNet {
  input x: f32[B, 1, 28, 28]
  features = x
    |> conv2d(6, 5, padding: 2) |> relu |> maxpool2d(2)
    |> conv2d(16, 5) |> relu |> maxpool2d(2)
    |> conv2d(120, 5) |> relu
  h: f32[B, 120] = flatten(features)
  output logits = h |> linear(84) |> relu |> linear(10)
}
train LeNet {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = sgd(lr: ${LR})
  batch = ${BATCH}
}
`;

const matmulSource = (n: number) => `
model MatMul {
  input a: f32[${n}, ${n}]
  input b: f32[${n}, ${n}]
  output c = matmul(a, b)
}
`;

const CONV_SOURCE = `
model Conv {
  input x: f32[${CONV.batch}, ${CONV.cin}, ${CONV.h}, ${CONV.w}]
  output y = conv2d(x, ${CONV.cout}, ${CONV.k}, padding: ${CONV.pad})
}
`;

function model(source: string, name: string) {
  const r = checkSource(source, `${name}.dlm`);
  const m = r.models.get(name);
  if (!m?.graph) throw new Error(`bench: ${name} does not check: ${JSON.stringify(r.diagnostics.map((d) => d.message))}`);
  return m;
}

/** A Trainer for the MLP or LeNet at batch 64 and the feeds of one synthetic batch. */
export function trainer(which: "mlp" | "lenet"): { trainer: Trainer; feeds: Map<string, Float32Array | Int32Array> } {
  const m = which === "mlp" ? model(MLP_SOURCE, "MLP") : model(LENET_SOURCE, "LeNet");
  const t = new Trainer(m.graph!, m.train!, { batch: BATCH, seed: 1 });
  const x = uniform(BATCH * 784, 11);
  return {
    trainer: t,
    feeds: new Map<string, Float32Array | Int32Array>([
      ["x", x],
      ["labels", labels(BATCH)],
    ]),
  };
}

export const dlm: Impl = async (caseName) => {
  if (caseName === "matmul-256" || caseName === "matmul-1024") {
    const n = caseName === "matmul-256" ? 256 : 1024;
    const m = model(matmulSource(n), "MatMul");
    const program = compile(buildEvalGraph(m.graph!, new Map()).builder.graph());
    const feeds = new Map([
      ["a", uniform(n * n, 1)],
      ["b", uniform(n * n, 2)],
    ]);
    return { step: () => program.run(feeds) } satisfies Prepared;
  }
  if (caseName === "conv2d-fwd") {
    const m = model(CONV_SOURCE, "Conv");
    const lowered = buildEvalGraph(m.graph!, new Map());
    const program = compile(lowered.builder.graph());
    const fanIn = CONV.cin * CONV.k * CONV.k;
    for (const p of lowered.params)
      program.setParam(p.name, p.shape.length > 1 ? heUniform(CONV.cout * fanIn, fanIn, 3) : uniform(CONV.cout, 4));
    const feeds = new Map([["x", uniform(CONV.batch * CONV.cin * CONV.h * CONV.w, 5)]]);
    return { step: () => program.run(feeds) };
  }
  if (caseName === "mlp-train" || caseName === "lenet-train") {
    const { trainer: t, feeds } = trainer(caseName === "mlp-train" ? "mlp" : "lenet");
    if (caseName === "lenet-train") feeds.set("x", uniform(BATCH * 28 * 28, 11));
    return {
      step: () => {
        t.trainStep(feeds);
      },
    };
  }
  return { na: "unknown case" };
};
