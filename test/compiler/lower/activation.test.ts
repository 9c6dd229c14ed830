// Lowerings of the activations against PyTorch's formulas written out per element here, and
// the softmax-with-temperature figures of ../shared/reference/ORACLES.md.

import { describe, expect, it } from "vitest";
import { ops } from "../../../compiler/ops/activation.js";
import { erf } from "../../../runtime/cpu/ops-math.js";
import { f32, near, noise, one, seq } from "./family.js";

const xs = [-30, -3.5, -1, -0.25, 0, 0.3, 1, 2.5, 7, 30];
const X = f32([2, 5], xs);
const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
const softplus = (v: number, beta = 1): number => (beta * v > 20 ? v : Math.log1p(Math.exp(beta * v)) / beta);
const elu = (v: number, a: number): number => (v > 0 ? v : a * (Math.exp(v) - 1));
const relu6 = (v: number): number => Math.min(Math.max(v, 0), 6);

const POINTWISE: [string, Record<string, number | string>, (v: number) => number][] = [
  ["relu", {}, (v) => Math.max(v, 0)],
  ["relu6", {}, relu6],
  ["leaky_relu", {}, (v) => (v > 0 ? v : 0.01 * v)],
  ["leaky_relu", { alpha: 0.2 }, (v) => (v > 0 ? v : 0.2 * v)],
  ["elu", { alpha: 0.5 }, (v) => elu(v, 0.5)],
  ["selu", {}, (v) => 1.0507009873554805 * elu(v, 1.6732632423543772)],
  ["celu", { alpha: 2 }, (v) => Math.max(0, v) + Math.min(0, 2 * (Math.exp(v / 2) - 1))],
  ["gelu", {}, (v) => 0.5 * v * (1 + erf(v / Math.SQRT2))],
  ["gelu", { approximate: "tanh" }, (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))],
  ["silu", {}, (v) => v * sigmoid(v)],
  ["swish", {}, (v) => v * sigmoid(v)],
  ["mish", {}, (v) => v * Math.tanh(softplus(v))],
  ["sigmoid", {}, sigmoid],
  ["hard_sigmoid", {}, (v) => relu6(v + 3) / 6],
  ["tanh", {}, Math.tanh],
  ["hard_tanh", {}, (v) => Math.min(Math.max(v, -1), 1)],
  ["hard_tanh", { min: -2, max: 0.5 }, (v) => Math.min(Math.max(v, -2), 0.5)],
  ["softplus", {}, (v) => softplus(v)],
  ["softplus", { beta: 2 }, (v) => softplus(v, 2)],
  ["softsign", {}, (v) => v / (1 + Math.abs(v))],
  ["hard_swish", {}, (v) => (v * relu6(v + 3)) / 6],
  ["log_sigmoid", {}, (v) => -Math.log1p(Math.exp(-Math.abs(v))) + Math.min(v, 0)],
  ["step", {}, (v) => (v >= 0 ? 1 : 0)],
  ["sign", {}, Math.sign],
  ["identity", {}, (v) => v],
];

describe("pointwise activations", () => {
  it("cover every pointwise op", () => {
    const pointwise = ops.filter(
      (o) => o.inputs.length === 1 && !["prelu", "maxout", "softmax", "log_softmax", "softmin"].includes(o.name),
    );
    expect(new Set(POINTWISE.map((p) => p[0]))).toEqual(new Set(pointwise.map((o) => o.name)));
  });

  it.each(POINTWISE)("%s %j", (name, attrs, f) => {
    near(one(ops, name, [X], attrs), xs.map(f), 1e-12);
  });

  it("log_sigmoid and softplus stay finite far out", () => {
    const big = f32([2], [-800, 800]);
    near(one(ops, "log_sigmoid", [big]), [-800, 0]);
    near(one(ops, "softplus", [big]), [0, 800]);
  });
});

describe("softmax family", () => {
  it("softmax with temperature (ORACLES: η = (3, 0, 1))", () => {
    const eta = f32([3], [3, 0, 1]);
    const cases: [number, number[]][] = [
      [1, [0.8438, 0.042, 0.1142]],
      [0.5, [0.9796, 0.0024, 0.0179]],
      [2, [0.6285, 0.1402, 0.2312]],
      [10, [0.3907, 0.2894, 0.3199]],
    ];
    for (const [temperature, want] of cases) near(one(ops, "softmax", [eta], { temperature }), want, 2e-4);
  });

  const rows = [
    [1, 2, 3],
    [1000, 1001, 1002],
  ];
  const x = f32([2, 3], rows.flat());
  const soft = (r: number[]): number[] => {
    const m = Math.max(...r);
    const e = r.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b);
    return e.map((v) => v / s);
  };

  it("softmax / log_softmax / softmin along the last axis, stable for large inputs", () => {
    near(one(ops, "softmax", [x]), rows.flatMap(soft));
    near(
      one(ops, "log_softmax", [x]),
      rows.flatMap((r) => soft(r).map(Math.log)),
    );
    near(
      one(ops, "softmin", [x]),
      rows.flatMap((r) => soft(r.map((v) => -v))),
    );
  });

  it("normalises along axis 0", () => {
    const cols = [0, 1, 2].map((j) => soft(rows.map((r) => r[j]!)));
    near(
      one(ops, "softmax", [x], { axis: 0 }),
      [0, 1].flatMap((i) => cols.map((c) => c[i]!)),
    );
  });
});

describe("activations with parameters", () => {
  it("prelu: one shared slope, and one per channel (axis 1)", () => {
    const x = f32(
      [2, 3, 2],
      seq(12, (i) => i - 6),
    );
    near(
      one(ops, "prelu", [x], {}, { params: { weight: [0.25] } }),
      x.data.map((v) => (v > 0 ? v : 0.25 * v)),
    );
    const w = [0.1, 0.2, 0.3];
    near(
      one(ops, "prelu", [x], { num_parameters: 3 }, { params: { weight: w } }),
      x.data.map((v, i) => (v > 0 ? v : w[Math.floor(i / 2) % 3]! * v)),
    );
  });

  it("maxout: max over the pieces of unit o (rows o·pieces + k), against plain loops", () => {
    const [rows, inF, out, pieces] = [3, 4, 2, 3];
    const x = noise(rows * inF, 3);
    const w = noise(out * pieces * inF, 4);
    const b = noise(out * pieces, 5);
    const want: number[] = [];
    for (let r = 0; r < rows; r++)
      for (let o = 0; o < out; o++) {
        let m = -Infinity;
        for (let k = 0; k < pieces; k++) {
          const row = o * pieces + k;
          let acc = b[row]!;
          for (let i = 0; i < inF; i++) acc += x[r * inF + i]! * w[row * inF + i]!;
          m = Math.max(m, acc);
        }
        want.push(m);
      }
    near(one(ops, "maxout", [f32([rows, inF], x)], { out, pieces }, { params: { weight: w, bias: b } }), want);
  });
});
