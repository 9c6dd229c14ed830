// Every primitive's vector-Jacobian product against central finite differences on the
// float64 reference interpreter. A primitive that can carry a gradient and has no case
// here fails the suite, so a new primitive cannot arrive without a gradient test.

import { describe, expect, it } from "vitest";
import { gradients } from "../../compiler/autodiff.js";
import { attention } from "../../compiler/prim/attention.js";
import { PrimBuilder, type T, type Window } from "../../compiler/prim/builder.js";
import { numelOf, PRIMITIVES } from "../../compiler/prim/ir.js";
import { NON_DIFFERENTIABLE, VJP } from "../../compiler/prim/vjp.js";
import { evaluate, type HostArray } from "../../runtime/cpu/reference.js";

/** A deterministic stream of numbers in [lo, hi) (mulberry32), independent of the code under test. */
function stream(seed: number): (lo?: number, hi?: number) => number {
  let s = seed >>> 0;
  return (lo = -1, hi = 1) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return lo + (((t ^ (t >>> 14)) >>> 0) / 4294967296) * (hi - lo);
  };
}

interface Case {
  /** inputs: shape and the range values are drawn from (kept away from kinks and poles) */
  readonly inputs: readonly { shape: readonly number[]; lo?: number; hi?: number }[];
  readonly build: (b: PrimBuilder, xs: readonly T[]) => T;
}

const w2 = (k: number[], s = [1, 1], lo = [0, 0], hi = [0, 0], d = [1, 1]): Window => ({
  kernel: k,
  stride: s,
  padLo: lo,
  padHi: hi,
  dilation: d,
});
const away = { lo: 0.2, hi: 1.5 }; // positive, away from 0

const unaryCase = (op: Parameters<PrimBuilder["unary"]>[0], range: { lo?: number; hi?: number } = {}): Case => ({
  inputs: [{ shape: [2, 3], ...range }],
  build: (b, [x]) => b.unary(op, x!),
});
const binaryCase = (op: Parameters<PrimBuilder["binary"]>[0], range: { lo?: number; hi?: number } = {}): Case => ({
  inputs: [
    { shape: [2, 3], ...range },
    { shape: [3], ...range },
  ],
  build: (b, [x, y]) => b.binary(op, x!, y!),
});

export const CASES: Record<string, Case> = {
  neg: unaryCase("neg"),
  exp: unaryCase("exp"),
  log: unaryCase("log", away),
  sqrt: unaryCase("sqrt", away),
  rsqrt: unaryCase("rsqrt", away),
  abs: unaryCase("abs", away),
  tanh: unaryCase("tanh"),
  sigmoid: unaryCase("sigmoid"),
  relu: {
    inputs: [
      { shape: [2, 3], lo: 0.2, hi: 1 },
      { shape: [2, 3], lo: -1, hi: -0.2 },
    ],
    build: (b, [p, n]) => b.plus(b.relu(p!), b.relu(n!)),
  },
  sin: unaryCase("sin"),
  cos: unaryCase("cos"),
  erf: unaryCase("erf"),
  square: unaryCase("square"),
  reciprocal: unaryCase("reciprocal", away),
  log1p: unaryCase("log1p", away),
  add: binaryCase("add"),
  sub: binaryCase("sub"),
  mul: binaryCase("mul"),
  div: binaryCase("div", away),
  pow: binaryCase("pow", away),
  maximum: binaryCase("maximum"),
  minimum: binaryCase("minimum"),
  where: {
    inputs: [{ shape: [2, 3] }, { shape: [2, 3] }, { shape: [3] }],
    build: (b, [c, x, y]) => b.where(b.binary("gt", c!, b.scalar(0)), x!, y!),
  },
  reduce_sum: { inputs: [{ shape: [2, 3, 4] }], build: (b, [x]) => b.sum(x!, [0, 2]) },
  reduce_max: { inputs: [{ shape: [3, 4] }], build: (b, [x]) => b.max(x!, [1], true) },
  reduce_min: { inputs: [{ shape: [3, 4] }], build: (b, [x]) => b.min(x!, [0]) },
  reshape: { inputs: [{ shape: [2, 6] }], build: (b, [x]) => b.reshape(x!, [3, 4]) },
  transpose: { inputs: [{ shape: [2, 3, 4] }], build: (b, [x]) => b.transpose(x!, [2, 0, 1]) },
  broadcast_to: { inputs: [{ shape: [3, 1] }], build: (b, [x]) => b.broadcastTo(x!, [2, 3, 4]) },
  slice: { inputs: [{ shape: [5, 6] }], build: (b, [x]) => b.slice(x!, [1, 0], [4, 6], [1, 2]) },
  pad: { inputs: [{ shape: [2, 3] }], build: (b, [x]) => b.pad(x!, [1, 0], [0, 2], 0.5) },
  concat: { inputs: [{ shape: [2, 3] }, { shape: [2, 2] }], build: (b, [x, y]) => b.concat([x!, y!], 1) },
  gather: { inputs: [{ shape: [4, 3] }], build: (b, [x]) => b.gather(x!, b.tensor([2, 0, 2, 3, 1, 2], [2, 3], "i32"), 0) },
  scatter_add: { inputs: [{ shape: [2, 4] }], build: (b, [u]) => b.scatterAdd(u!, b.tensor([0, 2, 0, 1], [4], "i32"), 1, 3) },
  matmul: {
    inputs: [{ shape: [2, 3, 4] }, { shape: [4, 5] }, { shape: [4, 3] }, { shape: [5, 4] }],
    build: (b, [a, c, at, ct]) => {
      const plain = b.matmul(a!, b.reshape(c!, [1, 4, 5]));
      const both = b.matmul(b.reshape(at!, [1, 4, 3]), b.reshape(ct!, [1, 5, 4]), true, true);
      return b.plus(plain, b.broadcastTo(both, [2, 3, 5]));
    },
  },
  conv: {
    inputs: [{ shape: [2, 4, 5, 6] }, { shape: [6, 2, 3, 2] }],
    build: (b, [x, w]) => b.conv(x!, w!, { stride: [2, 1], padLo: [1, 0], padHi: [1, 1], dilation: [1, 2] }, 2),
  },
  conv_input_grad: {
    inputs: [{ shape: [1, 4, 3, 3] }, { shape: [4, 2, 2, 2] }],
    build: (b, [dy, w]) => b.convInputGrad(dy!, w!, [6, 6], { stride: [2, 2], padLo: [0, 0], padHi: [0, 0], dilation: [1, 1] }, 1),
  },
  conv_weight_grad: {
    inputs: [{ shape: [2, 2, 5, 5] }, { shape: [2, 3, 3, 3] }],
    build: (b, [x, dy]) => b.convWeightGrad(x!, dy!, [3, 3], { stride: [1, 1], padLo: [0, 0], padHi: [0, 0], dilation: [1, 1] }, 1),
  },
  max_pool: { inputs: [{ shape: [1, 2, 4, 5] }], build: (b, [x]) => b.maxPool(x!, w2([2, 2], [2, 2], [0, 1], [0, 0])) },
  avg_pool: { inputs: [{ shape: [1, 2, 4, 5] }], build: (b, [x]) => b.avgPool(x!, w2([3, 3], [1, 2], [1, 1], [1, 1]), false) },
  avg_pool_grad: { inputs: [{ shape: [1, 1, 2, 2] }], build: (b, [dy]) => b.avgPoolGrad(dy!, [1, 1, 4, 4], w2([2, 2], [2, 2]), true) },
  // the streaming backward (attention_grad) under a causal padding mask, and the unfused one a learned additive bias takes
  attention: {
    inputs: [{ shape: [2, 3, 4] }, { shape: [2, 5, 4] }, { shape: [2, 5, 3] }, { shape: [3, 5] }],
    build: (b, [q, k, v, bias]) => {
      const keep = b.tensor([1, 0, 1, 1, 0, 1, 1, 0, 1, 1], [2, 1, 5], "bool");
      const hidden = attention(b, q!, k!, v!, keep, { scale: 0.7, causal: true, mask: "keep" });
      const biased = attention(b, q!, k!, v!, bias, { scale: 0.5, causal: false, mask: "add" });
      return b.plus(hidden, biased);
    },
  },
};

/** loss = Σ y·r for a fixed random r, so every output element's gradient is checked. */
function withLoss(b: PrimBuilder, y: T, rand: () => number): T {
  const r = b.tensor(
    Array.from({ length: numelOf(b.shape(y)) }, () => rand()),
    b.shape(y),
  );
  return b.sum(b.times(y, r));
}

function checkCase(name: string, c: Case): void {
  const rand = stream(name.length * 7919 + name.charCodeAt(0));
  const b = new PrimBuilder();
  const xs = c.inputs.map((spec, i) => b.input(`x${i}`, spec.shape, "f32"));
  const feeds = new Map<string, HostArray>(
    c.inputs.map((spec, i) => [`x${i}`, Float64Array.from({ length: numelOf(spec.shape) }, () => rand(spec.lo ?? -1, spec.hi ?? 1))]),
  );
  const loss = withLoss(b, c.build(b, xs), rand);
  const grads = gradients(b, loss, xs);
  const values = evaluate(b.graph(), feeds);
  const lossAt = (): number => evaluate(b.graph(), feeds).get(loss)!.data[0]!;
  xs.forEach((x, i) => {
    const data = feeds.get(`x${i}`) as Float64Array;
    const analytic = grads[i] === undefined ? new Float64Array(data.length) : (values.get(grads[i]!)!.data as Float64Array);
    for (let k = 0; k < data.length; k++) {
      const keep = data[k]!;
      const h = 1e-6 * Math.max(1, Math.abs(keep));
      data[k] = keep + h;
      const up = lossAt();
      data[k] = keep - h;
      const down = lossAt();
      data[k] = keep;
      const numeric = (up - down) / (2 * h);
      expect(Math.abs(analytic[k]! - numeric), `${name}: d/dx${i}[${k}] analytic ${analytic[k]} vs numeric ${numeric}`).toBeLessThan(
        1e-6 * Math.max(1, Math.abs(numeric)),
      );
    }
  });
}

describe("vector-Jacobian products of the primitives", () => {
  it("every differentiable primitive has a VJP and a finite-difference case", () => {
    const differentiable = PRIMITIVES.filter((p) => !NON_DIFFERENTIABLE.has(p) && !p.endsWith("_grad"));
    for (const p of differentiable) {
      expect(VJP[p], `VJP for ${p}`).toBeDefined();
      expect(CASES[p], `finite-difference case for ${p}`).toBeDefined();
    }
    for (const p of Object.keys(VJP)) expect(CASES[p], `finite-difference case for ${p}`).toBeDefined();
  });

  it.each(Object.entries(CASES))("%s agrees with central differences", (name, c) => checkCase(name, c));
});

describe("the autodiff pass", () => {
  it("accumulates a value used several times (a shared weight applied at three steps)", () => {
    // h_t = W(u_t + h_{t-1}), h0 = 0, u = 1, T = 3, scalar W = 2: y = 14, dy/dW = 17 (ORACLES.md)
    const b = new PrimBuilder();
    const w = b.param("W", [1, 1]);
    const u = b.input("u", [1, 1], "f32");
    let h = b.scalar(0, "f32", [1, 1]);
    for (let t = 0; t < 3; t++) h = b.matmul(b.plus(u, h), w);
    const y = b.sum(h);
    const [g] = gradients(b, y, [w]);
    const v = evaluate(
      b.graph(),
      new Map([
        ["W", Float64Array.of(2)],
        ["u", Float64Array.of(1)],
      ]),
    );
    expect(v.get(y)!.data[0]).toBe(14);
    expect(v.get(g!)!.data[0]).toBe(17);
  });

  it("gives no gradient work to what the result does not depend on, and none through stop_gradient", () => {
    const b = new PrimBuilder();
    const x = b.input("x", [3], "f32");
    const unused = b.param("unused", [3]);
    const frozen = b.param("frozen", [3]);
    const y = b.sum(b.times(x, b.stopGradient(frozen)));
    const before = b.nodes.length;
    const [gx, gu, gf] = gradients(b, y, [x, unused, frozen]);
    expect(gu).toBeUndefined();
    expect(gf).toBeUndefined();
    expect(gx).toBeDefined();
    expect(b.nodes.length - before).toBeLessThan(6);
  });

  it("differentiates a backward graph again: second derivatives match the analytic ones", () => {
    // f(x) = Σ tanh(x)·x², f'(x) = (1 − tanh²)x² + 2x·tanh, f''(x) = −2 tanh (1 − tanh²) x² + 4x(1 − tanh²) + 2 tanh
    const b = new PrimBuilder();
    const x = b.input("x", [3], "f32");
    const f = b.sum(b.times(b.tanh(x), b.times(x, x)));
    const [g] = gradients(b, f, [x]);
    const [h] = gradients(b, b.sum(g!), [x]);
    const xs = [-0.7, 0.3, 1.2];
    const v = evaluate(b.graph(), new Map([["x", Float64Array.from(xs)]]));
    xs.forEach((x0, i) => {
      const t = Math.tanh(x0);
      expect(v.get(g!)!.data[i]).toBeCloseTo((1 - t * t) * x0 * x0 + 2 * x0 * t, 12);
      expect(v.get(h!)!.data[i]).toBeCloseTo(-2 * t * (1 - t * t) * x0 * x0 + 4 * x0 * (1 - t * t) + 2 * t, 12);
    });
  });

  it("Hessian-vector products through matmul and conv (second order on the heavy primitives)", () => {
    const rand = stream(99);
    const b = new PrimBuilder();
    const x = b.input("x", [1, 2, 4, 4], "f32");
    const w = b.input("w", [3, 2, 3, 3], "f32");
    const y = b.sum(b.unary("square", b.conv(x, w, { stride: [1, 1], padLo: [1, 1], padHi: [1, 1], dilation: [1, 1] }, 1)));
    const [gw] = gradients(b, y, [w]);
    const v = b.tensor(
      Array.from({ length: 54 }, () => rand()),
      [3, 2, 3, 3],
    );
    const [hv] = gradients(b, b.sum(b.times(gw!, v)), [w]);
    const feeds = new Map<string, HostArray>([
      ["x", Float64Array.from({ length: 32 }, () => rand())],
      ["w", Float64Array.from({ length: 54 }, () => rand())],
    ]);
    // central difference of the gradient along v
    const vData = evaluate(b.graph(), feeds).get(v)!.data;
    const wData = feeds.get("w") as Float64Array;
    const gradAt = (s: number): Float64Array => {
      const saved = Float64Array.from(wData);
      for (let i = 0; i < wData.length; i++) wData[i] = saved[i]! + s * vData[i]!;
      const r = Float64Array.from(evaluate(b.graph(), feeds).get(gw!)!.data);
      wData.set(saved);
      return r;
    };
    const up = gradAt(1e-5);
    const down = gradAt(-1e-5);
    const analytic = evaluate(b.graph(), feeds).get(hv!)!.data;
    for (let i = 0; i < 54; i++) expect(analytic[i]!).toBeCloseTo((up[i]! - down[i]!) / 2e-5, 5);
  });
});
