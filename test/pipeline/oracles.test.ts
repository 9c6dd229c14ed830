// The worked numbers of ../shared/reference/ORACLES.md through the real pipeline: source text
// (an example of examples/ or a small inline model) → check → lower → the CPU executor (f32)
// and the float64 reference interpreter, or a training step through the Trainer. Inputs and
// weights are the oracle's (or the seed notes' it cites); expected values are the oracle's.

import { describe, expect, it } from "vitest";
import type { OpNode, TensorRef } from "../../compiler/ir/graph.js";
import { Trainer } from "../../runtime/trainer.js";
import { close, loadExample, loadModel, lossAndGrads, lowerAndRun, type Tensor } from "./harness.js";

/** Both CPU paths agree with the oracle: the executor in f32, the reference in float64. */
function expectBoth(
  r: { exec: Map<string, Tensor>; ref: Map<string, Tensor> },
  name: string,
  want: readonly number[],
  tol: number,
  shape?: number[],
) {
  const e = r.exec.get(name);
  const f = r.ref.get(name);
  expect(e, `output ${name}`).toBeDefined();
  if (shape) expect(e!.shape).toEqual(shape);
  expect(close(e!.data, want, tol), `${name} (executor, f32)`).toBeUndefined();
  expect(close(f!.data, want, tol), `${name} (reference, f64)`).toBeUndefined();
}

describe("seed 002 Example 1.4: one SGD step of the 2-2-2 ReLU network (examples/mlp_example_1_4.dlm)", () => {
  // The notes: h1 = ReLU(x1 w11 + x2 w21 + b1), y1 = ReLU(h1 w31 + h2 w41 + b3): w_ij joins unit i
  // to unit j (inputs 1, 2 → hidden 1, 2; hidden "3", "4" → outputs 1, 2). PyTorch's weight is
  // [out, in], so hidden.weight = [[w11, w21], [w12, w22]] and out.weight = [[w31, w41], [w32, w42]].
  const w = { w11: 1, w12: 0.5, w21: -0.5, w22: 1, w31: 0.5, w32: -2, w41: -1, w42: 0.5 };
  const weights = {
    "hidden.weight": [w.w11, w.w21, w.w12, w.w22],
    "hidden.bias": [-0.5, -0.5],
    "out.weight": [w.w31, w.w41, w.w32, w.w42],
    "out.bias": [1, 1],
  };
  const model = loadExample("mlp_example_1_4.dlm", "Example14");

  it("forward: hidden (0, 2), output (0, 2)", () => {
    // the hidden activation is the relu applied to the 'hidden' linear layer
    const g = model.graph;
    const relu = g.nodes.find(
      (n): n is OpNode => n.kind === "op" && n.op.name === "relu" && (g.nodes[n.inputs[0]!.node] as OpNode).instance === "hidden",
    )!;
    const hidden: TensorRef = { node: relu.id, index: 0 };
    const r = lowerAndRun(model, { x: [1, 2], ...weights }, { dims: { B: 1 }, extra: [{ name: "hidden", ref: hidden }] });
    expectBoth(r, "hidden", [0, 2], 1e-6, [1, 2]);
    expectBoth(r, "y", [0, 2], 1e-6, [1, 2]);
  });

  it("the train section's loss is 4 (mean over the two outputs), and its gradients give the notes' step", () => {
    const r = lossAndGrads(model, { x: [1, 2], t: [2, 4], ...weights }, { B: 1 });
    expectBoth(r, "loss", [4], 1e-6, []);
    // dL/dy2 = (y2 − t2) = −2 (the mean halves 2·(y2 − t2)); dL/dw42 = −2·h2 = −4; dL/dh2 = −2·w42 = −1,
    // so dL/dw12 = −1·x1 = −1 and dL/dw22 = −1·x2 = −2; w31's output unit is dead
    expectBoth(r, "grad:out.weight", [0, 0, 0, -4], 1e-6);
    expectBoth(r, "grad:hidden.weight", [0, 0, -1, -2], 1e-6);
  });

  it("Trainer: one step of the section's SGD (lr 0.01): w31 stays 0.5, w42 → 0.54, w22 → 1.02", () => {
    expect(model.train!.optimizer).toMatchObject({ name: "sgd", args: { lr: 0.01 } });
    const trainer = new Trainer(model.graph, model.train!, { batch: 1 });
    for (const [name, v] of Object.entries(weights)) trainer.values.get(name)!.set(v);
    const loss = trainer.trainStep(
      new Map([
        ["x", Float32Array.from([1, 2])],
        ["t", Float32Array.from([2, 4])],
      ]),
    );
    expect(loss).toBeCloseTo(4, 6);
    const out = trainer.values.get("out.weight")!;
    const hid = trainer.values.get("hidden.weight")!;
    expect(out[0]).toBe(0.5); // w31: exactly unchanged (zero gradient through the dead unit)
    expect(out[3]).toBeCloseTo(0.54, 6); // w42
    expect(hid[3]).toBeCloseTo(1.02, 6); // w22
    // nothing else moves but what feeds the live output y2
    expect(out[2]).toBeCloseTo(-2, 6); // w32: h1 = 0
    expect(hid[0]).toBe(1); // w11: hidden unit 1 is dead
  });
});

describe("seed 002 Example 4.4: convolution, ReLU and pooling (examples/conv_worked_examples.dlm)", () => {
  // X and W from the notes (~L1150); bias 2, zero padding 1
  const X = [
    [2, 1, 0, 0, 0, 0, 2, 1, 0, 2, 0, 1, 2, 1, 0, 1],
    [2, 2, 0, 0, 0, 0, 2, 1, 0, 0, 2, 0, 0, 1, 0, 1],
    [2, 1, 0, 0, 0, 0, 2, 1, 2, 0, 0, 0, 0, 1, 0, 1],
  ].flat();
  const W = [
    [1, 0, 0, 0, -2, 0, 0, 0, -1],
    [1, 2, 0, 2, 0, -1, 0, -1, 1],
    [0, 0, -2, 0, 1, 2, -2, 2, 0],
  ].flat();
  const model = loadExample("conv_worked_examples.dlm", "Example44");

  it("Y = ReLU(Σ Xᵢ ⋆ Wᵢ + 2), max pool [[10, 8], [4, 11]], average pool [[5.25, 3.5], [1.25, 6.75]]", () => {
    const g = model.graph;
    const relu = g.nodes.find((n): n is OpNode => n.kind === "op" && n.op.name === "relu")!;
    const r = lowerAndRun(
      model,
      { x: X, "conv.weight": W, "conv.bias": [2] },
      { dims: { B: 1 }, extra: [{ name: "Y", ref: { node: relu.id, index: 0 } }] },
    );
    expectBoth(r, "Y", [0, 5, 8, 0, 6, 10, 1, 5, 4, 0, 2, 11, 0, 1, 11, 3], 1e-6, [1, 1, 4, 4]);
    expectBoth(r, "maxpooled", [10, 8, 4, 11], 1e-6, [1, 1, 2, 2]);
    expectBoth(r, "avgpooled", [5.25, 3.5, 1.25, 6.75], 1e-6, [1, 1, 2, 2]);
  });

  it("corr2d and the transposed convolution of D2L", () => {
    const m = loadExample("conv_worked_examples.dlm", "Corr2DAndTransposed");
    const K = [0, 1, 2, 3];
    const r = lowerAndRun(
      m,
      { x: [0, 1, 2, 3, 4, 5, 6, 7, 8], z: [0, 1, 2, 3], "k_corr.weight": K, "k_trans.weight": K },
      { dims: { B: 1 } },
    );
    expectBoth(r, "corr", [19, 25, 37, 43], 1e-6, [1, 1, 2, 2]);
    expectBoth(r, "trans", [0, 0, 1, 0, 4, 6, 4, 12, 9], 1e-6, [1, 1, 3, 3]);
  });

  it("1-D cross-correlation with K = (1, 0, −1), valid and zero-padded", () => {
    const m = loadExample("conv_worked_examples.dlm", "Corr1D");
    const K = [1, 0, -1];
    const r = lowerAndRun(m, { x: [0, 1, 2, 4, 8, 4, 2, 1, 0], "k_valid.weight": K, "k_padded.weight": K }, { dims: { B: 1 } });
    expectBoth(r, "valid", [-2, -3, -6, 0, 6, 3, 2], 1e-6, [1, 1, 7]);
    expectBoth(r, "padded", [-1, -2, -3, -6, 0, 6, 3, 2, 1], 1e-6, [1, 1, 9]);
  });
});

describe("softmax, attention and masking", () => {
  it("softmax with temperature of η = (3, 0, 1) at T = 1, 0.5, 2, 10", () => {
    const m = loadModel(
      `model Temperatures {
        input eta: f32[B, 3]
        output t1 = softmax(eta)
        output t05 = softmax(eta, temperature: 0.5)
        output t2 = softmax(eta, temperature: 2.0)
        output t10 = softmax(eta, temperature: 10.0)
      }`,
      "Temperatures",
    );
    const r = lowerAndRun(m, { eta: [3, 0, 1] }, { dims: { B: 1 } });
    expectBoth(r, "t1", [0.8438, 0.042, 0.1142], 1e-4);
    expectBoth(r, "t05", [0.9796, 0.0024, 0.0179], 1e-4);
    expectBoth(r, "t2", [0.6285, 0.1402, 0.2312], 1e-4);
    expectBoth(r, "t10", [0.3907, 0.2894, 0.3199], 1e-4);
  });

  it("examples/softmax_regression.dlm at T = 0.5 gives the oracle's probabilities for logits (3, 0, 1)", () => {
    // an identity layer (weight I, bias 0) makes the logits the input
    const m = loadExample("softmax_regression.dlm", "SoftmaxRegression", "", { features: 3, classes: 3, temperature: 0.5 });
    const r = lowerAndRun(m, { x: [3, 0, 1], "layer.weight": [1, 0, 0, 0, 1, 0, 0, 0, 1], "layer.bias": [0, 0, 0] }, { dims: { B: 1 } });
    expectBoth(r, "probs", [0.9796, 0.0024, 0.0179], 1e-4);
  });

  it("dot-product attention weights of the keys The/dog/ate/the/cake (examples/attention.dlm DotProductLookup)", () => {
    // values = the identity, so the context vector is the attention weights; one query per batch row
    const m = loadExample("attention.dlm", "DotProductLookup", "", { dv: 5 });
    const keys = [0.1, 0, 2, 5, 4, 3, -4, 0, -3, -0.2, 0, 1, 5, -3, -4];
    const eye = [1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1];
    const queries = [
      [5, 0, 0],
      [-5, 0, 0],
      [5, 4, 0],
      [0, 0, 0],
    ];
    const r = lowerAndRun(
      m,
      { q: queries.flat(), k: queries.flatMap(() => keys), v: queries.flatMap(() => eye) },
      { dims: { B: queries.length } },
    );
    expectBoth(r, "c", [0, 0.5, 0, 0, 0.5, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0.2, 0.2, 0.2, 0.2, 0.2], 1e-6, [4, 1, 5]);
  });

  it("masked attention scores (3, 5, −1, 4, 3) with mask (1, 1, 1, 0, 0) (examples/masks.dlm)", () => {
    const r = lowerAndRun(loadExample("masks.dlm", "MaskedScores"), {});
    expectBoth(r, "weights", [0.1189, 0.8789, 0.0022, 0, 0], 1e-4, [1, 5]);
  });
});

describe("losses and activations", () => {
  const classifier = (classes: number) =>
    loadModel(
      `model Classifier(classes: int = ${classes}) {
        input logits: f32[B, classes]
        output p = softmax(logits)
      }
      train Classifier {
        input labels: i64[B]
        loss = cross_entropy(logits, labels)
        optimizer = sgd(lr: 0.1)
      }`,
      "Classifier",
    );

  it("cross-entropy of logits [1, 2, 3] with target class 2 is 0.40761; a 10-class uniform start ≈ 2.3026", () => {
    expectBoth(lossAndGrads(classifier(3), { logits: [1, 2, 3], labels: [2] }, { B: 1 }), "loss", [0.40761], 1e-5);
    expectBoth(lossAndGrads(classifier(10), { logits: Array(20).fill(0), labels: [3, 7] }, { B: 2 }), "loss", [2.3026], 1e-4);
  });

  it("smooth L1: d = 0.5 → 0.125, d = 2 → 1.5", () => {
    const m = loadModel(`model S { input a: f32[B, 2], b: f32[B, 2]\n output l = smooth_l1_loss(a, b, reduction: "none") }`, "S");
    expectBoth(lowerAndRun(m, { a: [0.5, 2], b: [0, 0] }, { dims: { B: 1 } }), "l", [0.125, 1.5], 1e-7);
  });

  it("σ'(0) = 0.25, through autodiff of the training graph", () => {
    const m = loadModel(
      `model Sig { input x: f32[B, 1]\n param w: f32[1] = zeros\n output s = sigmoid(x * w) }\ntrain Sig { loss = sum(s)\n optimizer = sgd(lr: 0.1) }`,
      "Sig",
    );
    expectBoth(lossAndGrads(m, { x: [1], w: [0] }, { B: 1 }), "grad:w", [0.25], 1e-7);
  });

  it("inverted dropout p = 0.5: survivors are scaled by 2; mask (1, 1, 0, 0) gives [0.6684, 1.6416, 0, 0]; identity in eval mode", () => {
    const m = loadModel(`model D { input x: f32[B, 4]\n output y = dropout(x, 0.5) }`, "D");
    const x = [0.3342, 0.8208, 0.3765, 0.182];
    let found = false;
    for (let seed = 0; seed < 200 && !found; seed++) {
      const r = lowerAndRun(m, { x }, { dims: { B: 1 }, training: true, seed });
      const y = r.exec.get("y")!.data;
      expect(r.ref.get("y")!.data.map((v) => Math.fround(v))).toEqual(y); // same draws on both paths
      y.forEach((v, i) => expect(v === 0 || Math.abs(v - 2 * x[i]!) < 1e-6, `seed ${seed}: ${y.join(", ")}`).toBe(true));
      if (y[0] !== 0 && y[1] !== 0 && y[2] === 0 && y[3] === 0) {
        expect(close(y, [0.6684, 1.6416, 0, 0], 1e-6)).toBeUndefined();
        found = true;
      }
    }
    expect(found, "no seed in 0..199 drew the mask (1, 1, 0, 0)").toBe(true);
    expectBoth(lowerAndRun(m, { x }, { dims: { B: 1 } }), "y", x, 1e-7);
  });
});

describe("gradients", () => {
  it("linear RNN h_t = W(u_t + h_{t−1}), T = 3, W = 2, u = 1: y = 14 and dy/dW = 17 (examples/rnn.dlm LinearRNN)", () => {
    const m = loadExample("rnn.dlm", "LinearRNN", "\ntrain LinearRNN {\n  loss = sum(y)\n  optimizer = sgd(lr: 1.0)\n}\n");
    const r = lossAndGrads(m, { u: [1, 1, 1], "hs.W": [2] }, { B: 1 });
    expectBoth(r, "y", [14], 1e-6, [1, 1]);
    expectBoth(r, "grad:hs.W", [17], 1e-6, [1, 1]);
  });

  it("Gumbel negative log-likelihood: autodiff matches the notes' dℓ/dμ and dℓ/dβ", () => {
    const m = loadModel(
      `model GumbelNLL(N: dim = 6) {
        input x: f32[N]
        param mu: f32[1] = zeros
        param beta: f32[1] = ones
        z = (x - mu) / beta
        output nll = sum(log(beta) + z + exp(-z))    // N ln β + (Σx − Nμ)/β + Σ exp(−(x − μ)/β)
      }
      train GumbelNLL {
        loss = nll
        optimizer = sgd(lr: 0.1)
      }`,
      "GumbelNLL",
    );
    const x = [0.5, 1.5, -0.3, 2.0, 0.9, 3.1];
    for (const [mu, beta] of [
      [0.4, 1.3],
      [-1, 0.5],
      [2, 2.5],
    ] as const) {
      const N = x.length;
      const sx = x.reduce((a, b) => a + b, 0);
      const e = x.map((xi) => Math.exp(-(xi - mu) / beta));
      const nll = N * Math.log(beta) + (sx - N * mu) / beta + e.reduce((a, b) => a + b, 0);
      const dmu = -N / beta + e.reduce((a, b) => a + b, 0) / beta;
      const dbeta = N / beta - (sx - N * mu) / beta ** 2 + x.reduce((a, xi, i) => a + (xi - mu) * e[i]!, 0) / beta ** 2;
      const r = lossAndGrads(m, { x, mu: [mu], beta: [beta] });
      expectBoth(r, "loss", [nll], 1e-5);
      expectBoth(r, "grad:mu", [dmu], 1e-5);
      expectBoth(r, "grad:beta", [dbeta], 1e-5);
    }
  });
});
