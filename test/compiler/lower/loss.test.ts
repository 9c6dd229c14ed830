// Lowerings of the losses against PyTorch's formulas written out as plain loops here, and
// the worked numbers of ../shared/reference/ORACLES.md.

import { describe, expect, it } from "vitest";
import { ops } from "../../../compiler/ops/loss.js";
import type { DType } from "../../../compiler/ops/types.js";
import type { Attrs } from "../ops/rule-harness.js";
import { gradients } from "../../../compiler/autodiff.js";
import { evaluate, type HostArray } from "../../../runtime/cpu/reference.js";
import { lowerOp, run } from "./harness.js";

type In = { dtype: DType; shape: number[]; data: number[] };
const f32 = (shape: number[], data: number[]): In => ({ dtype: "f32", shape, data });
const i64 = (shape: number[], data: number[]): In => ({ dtype: "i64", shape, data });

/** Lower `name` on the given inputs and evaluate it: the output's shape and values. */
function loss(name: string, inputs: In[], attrs: Attrs = {}): { shape: readonly number[]; data: number[] } {
  const l = lowerOp(ops, name, inputs, attrs);
  const feeds = Object.fromEntries(inputs.map((x, i) => [`x${i}`, x.dtype === "f32" ? x.data : Int32Array.from(x.data)]));
  const [y] = run(l, feeds);
  return { shape: y!.shape, data: Array.from(y!.data) };
}

function near(got: readonly number[], want: readonly number[], tol = 1e-9): void {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => {
    if (Math.abs(got[i]! - w) > tol * Math.max(1, Math.abs(w)))
      expect.fail(`element ${i}: got ${got[i]}, want ${w} (all: ${got.join(", ")})`);
  });
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
const mean = (xs: readonly number[]): number => sum(xs) / xs.length;
const rowsOf = (data: readonly number[], c: number): number[][] =>
  Array.from({ length: data.length / c }, (_, i) => data.slice(i * c, (i + 1) * c));
const logSoftmax = (row: readonly number[]): number[] => {
  const m = Math.max(...row);
  const lse = m + Math.log(sum(row.map((v) => Math.exp(v - m))));
  return row.map((v) => v - lse);
};

/** torch.nn.functional.cross_entropy with class ids, following ATen: (1-ε)·nll + ε/C·smooth. */
function torchCrossEntropy(
  logits: number[][],
  target: number[],
  o: { weight?: number[]; ignore?: number; eps?: number; reduction: string; logProbs?: boolean },
): number[] {
  const c = logits[0]!.length;
  const w = o.weight ?? Array<number>(c).fill(1);
  const ignore = o.ignore ?? -100;
  const eps = o.eps ?? 0;
  const lp = logits.map((r) => (o.logProbs ? r : logSoftmax(r)));
  const nll = target.map((t, i) => (t === ignore ? 0 : -w[t]! * lp[i]![t]!));
  const smooth = target.map((t, i) => (t === ignore ? 0 : -sum(lp[i]!.map((v, k) => v * w[k]!))));
  const wsum = sum(target.map((t) => (t === ignore ? 0 : w[t]!)));
  if (o.reduction === "none") return nll.map((v, i) => (1 - eps) * v + (eps / c) * smooth[i]!);
  if (o.reduction === "sum") return [(1 - eps) * sum(nll) + (eps / c) * sum(smooth)];
  return [((1 - eps) * sum(nll)) / wsum + ((eps / c) * sum(smooth)) / wsum];
}

describe("cross_entropy", () => {
  it("matches the oracle: logits [1, 2, 3], target 2 → 0.40761", () => {
    const y = loss("cross_entropy", [f32([1, 3], [1, 2, 3]), i64([1], [2])]);
    expect(y.shape).toEqual([]);
    expect(y.data[0]).toBeCloseTo(0.40761, 5);
  });

  it("is ln 10 ≈ 2.3026 on uniform logits over 10 classes, and stable for huge logits", () => {
    expect(loss("cross_entropy", [f32([2, 10], Array(20).fill(0.7)), i64([2], [3, 9])]).data[0]).toBeCloseTo(Math.log(10), 12);
    near(loss("cross_entropy", [f32([2], [1000, 0]), i64([], [1])]).data, [1000]);
  });

  const logits = [0.2, -1.3, 2.2, 0.5, 1.1, 0.0, -0.4, 0.9, 3.0, -2.0, 0.3, 0.3, 1.5, -0.7, 0.1, 0.6];
  const target = [2, 0, 3, 1];
  const rows = rowsOf(logits, 4);
  const cases: { name: string; attrs: Attrs; o: { weight?: number[]; ignore?: number; eps?: number } }[] = [
    { name: "plain", attrs: {}, o: {} },
    { name: "class weights (weighted mean)", attrs: { weight: [0.5, 2, 1, 3] }, o: { weight: [0.5, 2, 1, 3] } },
    { name: "ignore_index", attrs: { ignore_index: 3 }, o: { ignore: 3 } },
    { name: "label smoothing", attrs: { label_smoothing: 0.2 }, o: { eps: 0.2 } },
    {
      name: "weights, smoothing and an ignored class together",
      attrs: { weight: [0.5, 2, 1, 3], label_smoothing: 0.1, ignore_index: 0 },
      o: { weight: [0.5, 2, 1, 3], eps: 0.1, ignore: 0 },
    },
  ];
  for (const c of cases)
    for (const reduction of ["mean", "sum", "none"])
      it(`class ids, ${c.name}, reduction ${reduction}`, () => {
        const y = loss("cross_entropy", [f32([4, 4], logits), i64([4], target)], { ...c.attrs, reduction });
        expect(y.shape).toEqual(reduction === "none" ? [4] : []);
        near(y.data, torchCrossEntropy(rows, target, { ...c.o, reduction }));
      });

  it("ignores rows whose target is the default ignore_index -100", () => {
    const y = loss("cross_entropy", [f32([2, 3], [1, 2, 3, 5, 0, 0]), i64([2], [2, -100])]);
    expect(y.data[0]).toBeCloseTo(0.40761, 5);
  });

  it("handles class axes last over extra axes: logits [2, 2, 3] with targets [2, 2]", () => {
    const lg = [1, 2, 3, 0, 0, 0, -1, 4, 2, 0.5, 0.5, 2];
    const tg = [2, 0, 1, 2];
    near(
      loss("cross_entropy", [f32([2, 2, 3], lg), i64([2, 2], tg)], { reduction: "none" }).data,
      torchCrossEntropy(rowsOf(lg, 3), tg, { reduction: "none" }),
    );
  });

  it("probability targets: -Σ w·y'·log p per row, mean over rows", () => {
    const probs = [0.1, 0.6, 0.3, 0.0, 0.25, 0.25, 0.25, 0.25, 1, 0, 0, 0, 0.5, 0, 0, 0.5];
    const w = [1, 2, 0.5, 1];
    const eps = 0.1;
    const per = rows.map((r, i) => {
      const lp = logSoftmax(r);
      return -sum(lp.map((v, k) => v * w[k]! * (probs[i * 4 + k]! * (1 - eps) + eps / 4)));
    });
    const attrs = { weight: w, label_smoothing: eps };
    near(loss("cross_entropy", [f32([4, 4], logits), f32([4, 4], probs)], attrs).data, [mean(per)]);
    near(loss("cross_entropy", [f32([4, 4], logits), f32([4, 4], probs)], { ...attrs, reduction: "none" }).data, per);
  });
});

describe("nll_loss", () => {
  const logp = rowsOf([-0.5, -1.2, -2.3, -0.1, -3.0, -2.5, -1.0, -0.7, -4.0], 3);
  const target = [1, 0, 2];
  for (const reduction of ["mean", "sum", "none"])
    it(`weighted, with an ignored row, reduction ${reduction}`, () => {
      const attrs = { weight: [2, 0.5, 1], ignore_index: 0, reduction };
      near(
        loss("nll_loss", [f32([3, 3], logp.flat()), i64([3], target)], attrs).data,
        torchCrossEntropy(logp, target, { weight: [2, 0.5, 1], ignore: 0, reduction, logProbs: true }),
      );
    });
});

describe("regression losses", () => {
  const a = [0.5, -2, 3, 0.1, 1.5, -0.2];
  const b = [0, 0, 2.5, 0.1, -1, 0.3];
  const d = a.map((v, i) => v - b[i]!);
  const pair = (name: string, attrs: Attrs = {}) => loss(name, [f32([2, 3], a), f32([2, 3], b)], { ...attrs, reduction: "none" }).data;

  it("mse and l1, with mean and sum", () => {
    near(
      pair("mse_loss"),
      d.map((v) => v * v),
    );
    near(pair("l1_loss"), d.map(Math.abs));
    near(loss("mse_loss", [f32([2, 3], a), f32([2, 3], b)]).data, [mean(d.map((v) => v * v))]);
    near(loss("l1_loss", [f32([2, 3], a), f32([2, 3], b)], { reduction: "sum" }).data, [sum(d.map(Math.abs))]);
  });

  it("broadcasts prediction and target", () => {
    const y = loss("mse_loss", [f32([2, 3], a), f32([3], [1, 2, 3])], { reduction: "none" });
    expect(y.shape).toEqual([2, 3]);
    near(
      y.data,
      a.map((v, i) => (v - [1, 2, 3][i % 3]!) ** 2),
    );
  });

  it("smooth_l1 matches the oracle (d = 0.5 → 0.125, d = 2 → 1.5) and PyTorch's beta", () => {
    near(loss("smooth_l1_loss", [f32([2], [0.5, 2]), f32([2], [0, 0])], { reduction: "none" }).data, [0.125, 1.5]);
    const beta = 0.7;
    near(
      pair("smooth_l1_loss", { beta }),
      d.map((v) => (Math.abs(v) < beta ? (0.5 * v * v) / beta : Math.abs(v) - 0.5 * beta)),
    );
    near(pair("smooth_l1_loss", { beta: 0 }), d.map(Math.abs));
  });

  it("huber with delta", () => {
    const delta = 1.2;
    near(
      pair("huber_loss", { delta }),
      d.map((v) => (Math.abs(v) < delta ? 0.5 * v * v : delta * (Math.abs(v) - 0.5 * delta))),
    );
  });

  it("gaussian_nll: 0.5·(log var + (mu - y)²/var), var clamped at eps, full adds log(2π)/2", () => {
    const v = [0.5, 1e-9, 2, 1, 0.1, 3];
    const want = (full: boolean) =>
      d.map((e, i) => 0.5 * (Math.log(Math.max(v[i]!, 1e-6)) + (e * e) / Math.max(v[i]!, 1e-6)) + (full ? 0.5 * Math.log(2 * Math.PI) : 0));
    const run3 = (full: boolean) =>
      loss("gaussian_nll", [f32([2, 3], a), f32([2, 3], v), f32([2, 3], b)], { full, reduction: "none" }).data;
    near(run3(false), want(false));
    near(run3(true), want(true));
  });
});

describe("binary losses", () => {
  const sig = (x: number): number => 1 / (1 + Math.exp(-x));
  const x = [-2, -0.5, 0, 0.3, 1.7, 4];
  const y = [0, 1, 0.5, 1, 0, 1];

  it("bce on probabilities, logs clamped at -100", () => {
    const p = x.map(sig);
    near(
      loss("bce_loss", [f32([6], p), f32([6], y)], { reduction: "none" }).data,
      p.map((q, i) => -(y[i]! * Math.log(q) + (1 - y[i]!) * Math.log(1 - q))),
    );
    near(loss("bce_loss", [f32([2], [0, 1]), f32([2], [1, 0])], { reduction: "none" }).data, [100, 100]);
  });

  it("bce_with_logits equals bce of the sigmoid, with pos_weight per class", () => {
    const pw = [3, 0.5, 1, 2, 1, 0.25];
    const want = x.map((v, i) => -(pw[i]! * y[i]! * Math.log(sig(v)) + (1 - y[i]!) * Math.log(1 - sig(v))));
    near(loss("bce_with_logits", [f32([6], x), f32([6], y)], { pos_weight: pw, reduction: "none" }).data, want);
    near(loss("bce_with_logits", [f32([6], x), f32([6], y)], { pos_weight: [2] }).data, [
      mean(x.map((v, i) => -(2 * y[i]! * Math.log(sig(v)) + (1 - y[i]!) * Math.log(1 - sig(v))))),
    ]);
  });

  it("bce_with_logits is stable for huge logits", () => {
    near(loss("bce_with_logits", [f32([3], [200, -200, 200]), f32([3], [0, 1, 1])], { reduction: "none" }).data, [200, 200, 0]);
  });

  it("hinge: max(0, margin - y·s) with integer labels", () => {
    near(
      loss("hinge_loss", [f32([4], [0.3, -2, 1.5, 0.9]), i64([4], [1, -1, -1, 1])], { margin: 1, reduction: "none" }).data,
      [0.7, 0, 2.5, 0.1],
    );
  });
});

describe("distribution losses", () => {
  it("kl_div: p·(log p - logq), 0 where p = 0; batchmean divides by the batch", () => {
    const p = [0.2, 0.8, 0, 0.5, 0.5, 0];
    const q = [0.3, 0.3, 0.4, 0.1, 0.6, 0.3];
    const logq = q.map(Math.log);
    const el = p.map((v, i) => (v === 0 ? 0 : v * (Math.log(v) - logq[i]!)));
    const kl = (reduction: string) => loss("kl_div", [f32([2, 3], logq), f32([2, 3], p)], { reduction }).data;
    near(kl("none"), el);
    near(kl("batchmean"), [sum(el) / 2]);
    near(kl("mean"), [sum(el) / 6]);
    near(kl("sum"), [sum(el)]);
  });

  it("kl_normal: -0.5·Σ(1 + logvar - mu² - exp(logvar)) per row, mean over rows", () => {
    const mu = [0.5, -1, 0, 2];
    const lv = [0, 0.3, -1, 0.5];
    const rows = [0, 1].map((r) => -0.5 * sum([0, 1].map((k) => 1 + lv[r * 2 + k]! - mu[r * 2 + k]! ** 2 - Math.exp(lv[r * 2 + k]!))));
    near(loss("kl_normal", [f32([2, 2], mu), f32([2, 2], lv)], { reduction: "none" }).data, rows);
    near(loss("kl_normal", [f32([2, 2], mu), f32([2, 2], lv)]).data, [mean(rows)]);
    near(loss("kl_normal", [f32([2], [0, 0]), f32([2], [0, 0])]).data, [0]);
  });
});

describe("embedding losses", () => {
  const dist = (u: number[], v: number[]): number => Math.sqrt(sum(u.map((x, i) => (x - v[i]! + 1e-6) ** 2)));
  const A = [
    [1, 0, 2],
    [0.5, -1, 0],
  ];
  const P = [
    [1, 0.5, 2],
    [0, 0, 0],
  ];
  const N = [
    [3, 0, 0],
    [0.5, -1, 0.2],
  ];

  it("triplet_margin_loss with PyTorch's pairwise distance (eps 1e-6)", () => {
    const want = A.map((a, i) => Math.max(dist(a, P[i]!) - dist(a, N[i]!) + 1, 0));
    near(
      loss("triplet_margin_loss", [f32([2, 3], A.flat()), f32([2, 3], P.flat()), f32([2, 3], N.flat())], { reduction: "none" }).data,
      want,
    );
  });

  it("contrastive_loss: y·d² + (1 - y)·max(0, margin - d)²", () => {
    const y = [1, 0];
    const want = A.map((a, i) => {
      const d = dist(a, P[i]!);
      return y[i]! * d * d + (1 - y[i]!) * Math.max(0, 2 - d) ** 2;
    });
    near(
      loss("contrastive_loss", [f32([2, 3], A.flat()), f32([2, 3], P.flat()), i64([2], y)], { margin: 2, reduction: "none" }).data,
      want,
    );
  });

  it("cosine_embedding_loss: 1 - cos for y = 1, max(0, cos - margin) for y = -1", () => {
    const cos = (u: number[], v: number[]) =>
      sum(u.map((x, i) => x * v[i]!)) / Math.sqrt((sum(u.map((x) => x * x)) + 1e-12) * (sum(v.map((x) => x * x)) + 1e-12));
    const B = [
      [2, 0.5, 1],
      [0.5, -1, 0.3],
    ];
    const want = [1 - cos(A[0]!, B[0]!), Math.max(0, cos(A[1]!, B[1]!) - 0.1)];
    near(
      loss("cosine_embedding_loss", [f32([2, 3], A.flat()), f32([2, 3], B.flat()), f32([2], [1, -1])], { margin: 0.1, reduction: "none" })
        .data,
      want,
    );
  });

  it("cosine_similarity along an axis, norms clamped at eps", () => {
    // columns of [[1, 0], [2, 0], [2, 0]] against [[0, 1], [3, 1], [4, 0]]
    const y = loss("cosine_similarity", [f32([3, 2], [1, 0, 2, 0, 2, 0]), f32([3, 2], [0, 1, 3, 1, 4, 0])], { axis: 0 });
    expect(y.shape).toEqual([2]);
    near(y.data, [14 / (3 * 5), 0]);
  });
});

describe("gradients through the lowering", () => {
  it("cross_entropy's gradient is (softmax - one_hot) / N, zero for ignored rows", () => {
    const logits = [1, 2, 3, 0.5, -1, 0, 4, 4, 4];
    const l = lowerOp(
      ops,
      "cross_entropy",
      [
        { dtype: "f32", shape: [3, 3] },
        { dtype: "i64", shape: [3] },
      ],
      { ignore_index: 0 },
    );
    const [g] = gradients(l.b, l.outputs[0]!, [l.b.inputs[0]!.node]);
    const values = evaluate(
      l.b.graph(),
      new Map<string, HostArray>([
        ["x0", Float64Array.from(logits)],
        ["x1", Int32Array.from([2, 0, 1])],
      ]),
    );
    const want = rowsOf(logits, 3).flatMap((r, i) =>
      i === 1 ? [0, 0, 0] : logSoftmax(r).map((v, k) => (Math.exp(v) - (k === [2, 0, 1][i] ? 1 : 0)) / 2),
    );
    near(Array.from(values.get(g!)!.data), want, 1e-12);
  });
});
