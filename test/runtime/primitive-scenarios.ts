// Random primitive graphs covering every primitive, shared by the executors' parity tests
// (test/runtime/executor.test.ts: CPU against the float64 reference; test/runtime/webgpu/:
// WebGPU against the CPU). A primitive missing from every scenario fails PRIMITIVE_COVERAGE's test.

import { attention, attentionGrad, type AttentionMask } from "../../compiler/prim/attention.ts";
import { BINARY, PrimBuilder, UNARY, type T } from "../../compiler/prim/builder.ts";
import type { PDType } from "../../compiler/prim/ir.ts";
import type { HostArray } from "../../runtime/cpu/reference.ts";
import { Rng } from "../../runtime/rng.ts";

// ---------------------------------------------------------------------------
// Random graphs

export class Gen {
  readonly b = new PrimBuilder();
  readonly feeds = new Map<string, HostArray>();
  private k = 0;
  constructor(readonly r: Rng) {}

  int(lo: number, hi: number): number {
    return lo + this.r.int(hi - lo + 1);
  }
  pick<X>(xs: readonly X[]): X {
    return xs[this.r.int(xs.length)]!;
  }
  shape(rank: number, max = 4): number[] {
    return Array.from({ length: rank }, () => this.int(1, max));
  }
  /** A fed input with random values: floats N(0, scale²), ints in [lo, hi], bools 0/1. */
  input(shape: readonly number[], dtype: PDType = "f32", scale = 1, lo = -5, hi = 5): T {
    const name = `in${this.k++}`;
    const n = shape.reduce((p, q) => p * q, 1);
    let data: HostArray;
    if (dtype === "f32") {
      data = new Float32Array(n);
      this.r.normal(data, 0, scale);
    } else if (dtype === "i32") data = Int32Array.from({ length: n }, () => this.int(lo, hi));
    else data = Uint8Array.from({ length: n }, () => this.r.int(2));
    this.feeds.set(name, data);
    return this.b.input(name, shape, dtype);
  }
  param(shape: readonly number[]): T {
    const name = `p${this.k++}`;
    const data = new Float32Array(shape.reduce((p, q) => p * q, 1));
    this.r.normal(data);
    this.feeds.set(name, data);
    return this.b.param(name, shape);
  }
  positive(shape: readonly number[]): T {
    return this.b.shift(this.b.unary("abs", this.input(shape)), 0.5);
  }
  /** Two shapes that broadcast to `out`: some axes set to 1, some leading axes dropped. */
  broadcastable(out: readonly number[]): number[] {
    const s = out.map((d) => (this.r.int(3) === 0 ? 1 : d));
    return s.slice(this.int(0, s.length));
  }
}

export type Scenario = (g: Gen) => void;

const UNARY_DOMAIN: Record<string, "positive" | "bool" | "scaled" | "any"> = {
  log: "positive",
  sqrt: "positive",
  rsqrt: "positive",
  reciprocal: "positive",
  log1p: "positive",
  not: "bool",
  floor: "scaled",
  ceil: "scaled",
  round: "scaled",
  sign: "scaled",
};

const window = (g: Gen, nd: number) => {
  const kernel = Array.from({ length: nd }, () => g.int(1, 3));
  const stride = Array.from({ length: nd }, () => g.int(1, 2));
  const dilation = Array.from({ length: nd }, () => g.int(1, 2));
  const padLo = kernel.map((k) => g.int(0, k - 1));
  const padHi = kernel.map((k) => g.int(0, k - 1));
  return { kernel, stride, dilation, padLo, padHi };
};

/** A spatial size large enough for the window on every axis. */
const spatial = (g: Gen, w: ReturnType<typeof window>) =>
  w.kernel.map((k, i) => g.int(Math.max(1, w.dilation[i]! * (k - 1) + 1 - w.padLo[i]! - w.padHi[i]!), 6));

export const SCENARIOS: Record<string, Scenario> = {
  leaves(g) {
    const s = g.shape(g.int(0, 3));
    g.b.plus(
      g.b.scalar(g.r.nextNormal(), "f32", s),
      g.b.tensor(
        [...Array(s.reduce((p, q) => p * q, 1)).keys()].map((i) => i * 0.5),
        s,
      ),
    );
    g.b.iota(g.shape(3), g.int(0, 2));
    g.b.times(g.b.random("uniform", s), g.b.random("normal", s));
    g.b.random("normal", [g.int(1, 7)]); // odd lengths discard half a pair
    g.b.sigmoid(g.param(s));
  },
  unary(g) {
    for (const op of UNARY) {
      const s = g.shape(g.int(0, 4));
      const dom = UNARY_DOMAIN[op] ?? "any";
      const x = dom === "positive" ? g.positive(s) : dom === "bool" ? g.input(s, "bool") : g.input(s, "f32", dom === "scaled" ? 3 : 1);
      g.b.unary(op, x);
    }
    g.b.unary("neg", g.input(g.shape(2), "i32"));
    g.b.unary("abs", g.input(g.shape(2), "i32"));
    g.b.unary("square", g.input(g.shape(2), "i32"));
  },
  binary(g) {
    for (const op of BINARY) {
      const out = g.shape(g.int(0, 4));
      const [sa, sb] = [g.broadcastable(out), g.broadcastable(out)];
      const logical = op === "and" || op === "or";
      const a = logical ? g.input(sa, "bool") : op === "pow" ? g.positive(sa) : g.input(sa);
      const b = logical ? g.input(sb, "bool") : op === "div" ? g.positive(sb) : g.input(sb);
      g.b.binary(op, a, b);
    }
    for (const op of ["add", "sub", "mul", "maximum", "minimum", "eq", "lt"] as const)
      g.b.binary(op, g.input([3, 4], "i32"), g.input([4], "i32"));
    g.b.binary("div", g.input([5], "i32", 1, -20, 20), g.input([5], "i32", 1, 1, 4));
    // the long-row paths of the fast ops: bias add, row scaling, scalar
    g.b.plus(g.input([16, 64]), g.input([64]));
    g.b.times(g.input([16, 64]), g.input([16, 1]));
    g.b.over(g.input([8, 33]), g.positive([]));
  },
  where(g) {
    const out = g.shape(g.int(1, 4));
    g.b.where(g.input(g.broadcastable(out), "bool"), g.input(g.broadcastable(out)), g.input(g.broadcastable(out)));
    g.b.where(g.input(out, "bool"), g.input(out, "i32"), g.input(out, "i32"));
  },
  cast(g) {
    const s = g.shape(3);
    g.b.cast(g.input(s, "f32", 4), "i32");
    g.b.cast(g.input(s, "f32"), "bool");
    g.b.cast(g.input(s, "i32"), "f32");
    g.b.cast(g.input(s, "bool"), "f32");
    g.b.cast(g.input(s, "i32"), "bool");
    g.b.stopGradient(g.input(s));
    g.b.reshape(g.input(s), [-1]);
  },
  reduce(g) {
    const s = g.shape(g.int(1, 4), 5);
    const axes = s.map((_, i) => i).filter(() => g.r.int(2) === 0);
    if (axes.length === 0) axes.push(g.int(0, s.length - 1));
    const keep = g.r.int(2) === 0;
    const x = g.input(s);
    g.b.sum(x, axes, keep);
    g.b.max(x, axes, keep);
    g.b.min(x, axes, keep);
    g.b.sum(g.input(s, "i32"), axes, keep);
    g.b.max(g.input(s, "bool"), axes, keep);
    g.b.min(g.input(s, "bool"), axes, keep);
    const axis = g.int(0, s.length - 1);
    g.b.argmax(x, axis, keep);
    g.b.argmax(x, axis, keep, true);
    g.b.mean(g.input([32, 100]), [1]); // a long contiguous row
  },
  movement(g) {
    const s = g.shape(g.int(1, 4));
    const x = g.input(s);
    const perm = s.map((_, i) => i).sort(() => g.r.nextDouble() - 0.5);
    g.b.add(
      "transpose",
      [x],
      { perm },
      perm.map((p) => s[p]!),
      "f32",
    ); // even the identity
    g.b.broadcastTo(g.input(g.broadcastable(s)), s);
    const starts = s.map((d) => g.int(0, d - 1));
    const ends = s.map((d, i) => g.int(starts[i]! + 1, d));
    g.b.slice(
      x,
      starts,
      ends,
      s.map(() => g.int(1, 3)),
    );
    g.b.pad(
      x,
      s.map(() => g.int(0, 2)),
      s.map(() => g.int(0, 2)),
      g.r.nextNormal(),
    );
    const axis = g.int(0, s.length - 1);
    g.b.concat(
      [0, 1, 2].map(() => g.input(s.map((d, i) => (i === axis ? g.int(1, 3) : d)))),
      axis,
    );
    g.b.pad(
      g.input(s, "bool"),
      s.map(() => 1),
      s.map(() => 0),
      1,
    );
  },
  indexing(g) {
    const s = g.shape(g.int(1, 3));
    const axis = g.int(0, s.length - 1);
    const idxShape = g.shape(g.int(0, 2));
    const idx = g.input(idxShape, "i32", 1, 0, s[axis]! - 1);
    g.b.gather(g.input(s), idx, axis);
    const size = g.int(1, 4);
    const uShape = [...s.slice(0, axis), ...idxShape, ...s.slice(axis + 1)];
    g.b.scatterAdd(g.input(uShape), g.input(idxShape, "i32", 1, 0, size - 1), axis, size);
    g.b.oneHot(g.input(idxShape, "i32", 1, -1, 4), 4);
    g.b.oneHot(g.input([3], "i32", 1, 0, 2), 3, "i32");
  },
  matmul(g) {
    const [M, K, N] = [g.int(1, 5), g.int(1, 5), g.int(1, 5)];
    const batch = g.shape(g.int(0, 2), 3);
    const [ta, tb] = [g.r.int(2) === 1, g.r.int(2) === 1];
    const a = g.input([...g.broadcastable(batch), ...(ta ? [K, M] : [M, K])]);
    const b = g.input([...g.broadcastable(batch), ...(tb ? [N, K] : [K, N])]);
    g.b.matmul(a, b, ta, tb);
    g.b.matmul(g.input([2, 40, 33]), g.input([33, 50])); // large enough for the blocked paths
    g.b.matmul(g.input([40, 33]), g.input([2, 50, 33]), false, true);
    g.b.matmul(g.input([2, 3], "i32"), g.input([3, 2], "i32"));
  },
  conv(g) {
    const nd = g.int(1, 4); // 4 spatial axes take the executor-local kernels
    const w = window(g, nd);
    const groups = g.pick([1, 1, 2]);
    const [B, Cg, Og] = [g.int(1, 2), g.int(1, 3), g.int(1, 3)];
    const inSize = spatial(g, w);
    const x = g.input([B, Cg * groups, ...inSize]);
    const wt = g.param([Og * groups, Cg, ...w.kernel]);
    const geo = { stride: w.stride, padLo: w.padLo, padHi: w.padHi, dilation: w.dilation };
    const y = g.b.conv(x, wt, geo, groups);
    const dy = g.input(g.b.shape(y));
    g.b.convInputGrad(dy, wt, inSize, geo, groups);
    g.b.convWeightGrad(x, dy, w.kernel, geo, groups);
    // 1x1 stride-1 convolutions (no im2col)
    const x1 = g.input([2, 4, 3, 5]);
    const w1 = g.param([6, 4, 1, 1]);
    const g1 = { stride: [1, 1], padLo: [0, 0], padHi: [0, 0], dilation: [1, 1] };
    const y1 = g.b.conv(x1, w1, g1, 1);
    g.b.convInputGrad(g.input(g.b.shape(y1)), w1, [3, 5], g1, 1);
    g.b.convWeightGrad(x1, g.input(g.b.shape(y1)), [1, 1], g1, 1);
  },
  pool(g) {
    const nd = g.int(1, 4); // 4 pooled axes take the executor-local kernels
    const w = window(g, nd);
    const lead = g.shape(g.int(0, 2), 3);
    const s = [...lead, ...spatial(g, w)];
    const x = g.input(s);
    const y = g.b.maxPool(x, w);
    const dy = g.input(g.b.shape(y));
    g.b.maxPoolGrad(x, dy, w);
    const cp = g.r.int(2) === 1;
    g.b.avgPool(x, w, cp);
    g.b.avgPoolGrad(dy, s, w, cp);
  },
  attention(g) {
    const b = g.b;
    const lead = g.shape(g.int(0, 2), 3);
    const [tq, tk, d, dv] = [g.int(1, 6), g.int(1, 6), g.int(1, 5), g.int(1, 5)];
    const kvLead = lead.map((n) => (g.r.int(2) === 1 ? 1 : n)); // shared key/value heads broadcast
    const [q, k, v] = [g.input([...lead, tq, d]), g.input([...kvLead, tk, d]), g.input([...kvLead, tk, dv])];
    const kind = g.pick<AttentionMask>(["none", "keep", "add"]);
    const maskShape = g.broadcastable([...lead, tq, tk]);
    // a bool mask always keeps key 0, so no query has all its keys hidden
    const firstKey = b.binary("eq", b.iota([tq, tk], 1), b.scalar(0, "i32"));
    const mask = kind === "none" ? undefined : kind === "keep" ? b.binary("or", g.input(maskShape, "bool"), firstKey) : g.input(maskShape);
    const attrs = { scale: 1 / Math.sqrt(d), causal: g.r.int(2) === 1, mask: kind };
    // attention() returns the output columns of the attention node's value
    const a = b.node(attention(b, q, k, v, mask, attrs)).inputs[0]!;
    attentionGrad(b, a, g.input(b.shape(a)));
    // several tiles of queries and keys
    const big = b.node(
      attention(b, g.input([1, 70, 4]), g.input([1, 300, 4]), g.input([1, 300, 3]), undefined, { scale: 0.5, causal: false, mask: "none" }),
    ).inputs[0]!;
    attentionGrad(b, big, g.input(b.shape(big)));
  },
};
