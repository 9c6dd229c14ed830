// The float32 executor: agreement with the float64 reference on random graphs covering every
// primitive, no typed-array allocation per run, buffer aliasing, parameters and feeds.
// (Hand-worked values per primitive run through both engines in reference.test.ts.)

import { afterEach, describe, expect, it } from "vitest";
import { BINARY, PrimBuilder, UNARY, type T } from "../../compiler/prim/builder.ts";
import type { PDType } from "../../compiler/prim/ir.ts";
import { compile } from "../../runtime/cpu/executor.ts";
import { evaluate, type HostArray } from "../../runtime/cpu/reference.ts";
import { Rng } from "../../runtime/rng.ts";

// ---------------------------------------------------------------------------
// Random graphs

class Gen {
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

type Scenario = (g: Gen) => void;

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

const SCENARIOS: Record<string, Scenario> = {
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
};

/**
 * |f32 − f64| ≤ 1e-4 · max(1, |f64|) for floats; exact for i32 and bool. Every node is checked
 * on a program with a buffer per node, and again on a memory-planned program: there each node
 * gets a copy (a cast to its own dtype) at the end of the graph, the copies are the outputs, so
 * every original node is an intermediate in the shared arena, and the arena is poisoned before
 * the run: a kernel that leaves part of its output unwritten shows.
 */
function agree(g: Gen, seed: number): void {
  const graph = g.b.graph();
  const ref = evaluate(graph, g.feeds, { seed });
  const prog = compile(graph, { plan: false, fuse: false });
  prog.run(g.feeds, { seed });
  const copies = graph.nodes.map((n, i) => ({ ...n, id: graph.nodes.length + i, op: "cast", inputs: [n.id], attrs: { dtype: n.dtype } }));
  const planned = compile(
    { ...graph, nodes: [...graph.nodes, ...copies], outputs: copies.map((c) => ({ name: `copy${c.id}`, node: c.id })) },
    { poisonArena: true },
  );
  planned.run(g.feeds, { seed });
  const check = (n: (typeof graph.nodes)[number], got: ArrayLike<number>): void => {
    const want = ref.get(n.id)!.data;
    expect(got.length, `node ${n.id} ${n.op}`).toBe(want.length);
    for (let i = 0; i < want.length; i++) {
      const [a, w] = [got[i]!, want[i]!];
      const ok =
        n.dtype === "f32" ? (Number.isNaN(w) ? Number.isNaN(a) : a === w || Math.abs(a - w) <= 1e-4 * Math.max(1, Math.abs(w))) : a === w;
      if (!ok) expect.fail(`node ${n.id} (${n.op} [${n.shape.join(",")}] ${n.dtype}) element ${i}: executor ${a}, reference ${w}`);
    }
  };
  for (const n of graph.nodes) check(n, prog.buffer(n.id));
  for (const [i, n] of graph.nodes.entries()) check(n, planned.output(`copy${copies[i]!.id}`));
}

describe("executor agrees with the float64 reference on random graphs", () => {
  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    it(name, () => {
      for (let trial = 0; trial < 12; trial++) {
        const g = new Gen(new Rng(1000 * trial + name.length));
        scenario(g);
        agree(g, trial);
      }
    });
  }

  it("covers every primitive", () => {
    const seen = new Set<string>();
    for (const scenario of Object.values(SCENARIOS)) {
      const g = new Gen(new Rng(5));
      scenario(g);
      for (const n of g.b.nodes) seen.add(n.op);
    }
    const all = [
      ...UNARY,
      ...BINARY,
      "input",
      "param",
      "const",
      "iota",
      "rng_uniform",
      "rng_normal",
      "where",
      "cast",
      "stop_gradient",
      "reshape",
    ];
    all.push("reduce_sum", "reduce_max", "reduce_min", "argmax", "argmin", "transpose", "broadcast_to", "slice", "pad", "concat", "gather");
    all.push(
      "scatter_add",
      "one_hot",
      "matmul",
      "conv",
      "conv_input_grad",
      "conv_weight_grad",
      "max_pool",
      "max_pool_grad",
      "avg_pool",
      "avg_pool_grad",
    );
    expect(all.filter((op) => !seen.has(op))).toEqual([]);
  });

  it("a random composite network (mlp + conv + softmax + loss) agrees", () => {
    const g = new Gen(new Rng(42));
    const { b } = g;
    const x = g.input([4, 3, 8, 8]);
    const w1 = g.param([8, 3, 3, 3]);
    const geo = { stride: [1, 1], padLo: [1, 1], padHi: [1, 1], dilation: [1, 1] };
    const h = b.relu(b.conv(x, w1, geo, 1));
    const p = b.maxPool(h, { kernel: [2, 2], stride: [2, 2], padLo: [0, 0], padHi: [0, 0], dilation: [1, 1] });
    const flat = b.reshape(p, [4, -1]);
    const logits = b.plus(b.matmul(flat, g.param([8 * 4 * 4, 10])), g.param([10]));
    const m = b.stopGradient(b.max(logits, [1], true));
    const z = b.minus(logits, m);
    const lse = b.log(b.sum(b.exp(z), [1], true));
    const labels = g.input([4], "i32", 1, 0, 9);
    const nll = b.neg(b.sum(b.times(b.minus(z, lse), b.oneHot(labels, 10)), [1]));
    b.output("loss", b.mean(nll));
    agree(g, 0);
  });
});

// ---------------------------------------------------------------------------

describe("executor runs", () => {
  const CTORS = [
    "Float32Array",
    "Float64Array",
    "Int32Array",
    "Uint8Array",
    "Uint32Array",
    "Int8Array",
    "Int16Array",
    "Uint16Array",
    "ArrayBuffer",
  ] as const;
  const saved = new Map<string, unknown>();
  afterEach(() => {
    for (const [k, v] of saved) (globalThis as Record<string, unknown>)[k] = v;
    saved.clear();
  });

  it("allocate no typed arrays after the first run", () => {
    const g = new Gen(new Rng(9));
    for (const s of Object.values(SCENARIOS)) s(g);
    const prog = compile(g.b.graph());
    prog.run(g.feeds, { seed: 1 });
    const before = g.b.nodes.map((n) => (prog.computed(n.id) ? prog.buffer(n.id) : undefined));
    let constructed = 0;
    for (const name of CTORS) {
      const orig = (globalThis as Record<string, unknown>)[name] as new (...a: unknown[]) => unknown;
      saved.set(name, orig);
      (globalThis as Record<string, unknown>)[name] = new Proxy(orig, {
        construct(target, args, newTarget) {
          constructed++;
          return Reflect.construct(target, args, newTarget);
        },
      });
    }
    // sanity: the spy sees allocations made by module code
    new Float32Array(1);
    expect(constructed).toBe(1);
    constructed = 0;
    for (let i = 0; i < 3; i++) prog.run(g.feeds, { seed: i });
    prog.run(g.feeds);
    expect(constructed).toBe(0);
    g.b.nodes.forEach((n, i) => expect(prog.computed(n.id) ? prog.buffer(n.id) : undefined).toBe(before[i]));
  });

  it("reshape and stop_gradient alias their input's buffer; consts are filled once", () => {
    const b = new PrimBuilder();
    const x = b.input("x", [2, 3], "f32");
    const r = b.reshape(x, [3, 2]);
    const s = b.stopGradient(r);
    const c = b.tensor([1, 2, 3], [3]);
    const prog = compile(b.graph());
    expect(prog.buffer(r)).toBe(prog.buffer(x));
    expect(prog.buffer(s)).toBe(prog.buffer(x));
    expect([...prog.buffer(c)]).toEqual([1, 2, 3]); // before any run
    prog.run(new Map([["x", Float32Array.of(1, 2, 3, 4, 5, 6)]]));
    expect([...prog.buffer(s)]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("keeps parameters in persistent buffers the caller updates in place", () => {
    const b = new PrimBuilder();
    const w = b.param("w", [2]);
    const y = b.times(b.input("x", [2], "f32"), w);
    b.output("y", y);
    const prog = compile(b.graph());
    const feeds = new Map([["x", Float32Array.of(3, 4)]]);
    prog.setParam("w", [1, 2]);
    prog.run(feeds);
    expect([...prog.output("y")]).toEqual([3, 8]);
    prog.param("w")[0] = 10; // in place, as an optimiser does
    prog.run(feeds);
    expect([...prog.output("y")]).toEqual([30, 8]);
    prog.run(new Map<string, HostArray>([...feeds, ["w", Float64Array.of(-1, -1)]])); // a feed named like a parameter is copied in
    expect([...prog.param("w")]).toEqual([-1, -1]);
    expect(prog.param("w")).toBe(prog.buffer(w));
    expect(() => prog.setParam("w", [1, 2, 3])).toThrow(/'w'.*3/);
    expect(() => prog.param("nope")).toThrow(/nope/);
  });

  it("names a missing feed and a feed of the wrong length", () => {
    const b = new PrimBuilder();
    b.exp(b.input("tokens", [3], "f32"));
    const prog = compile(b.graph());
    expect(() => prog.run(new Map())).toThrow(/tokens/);
    expect(() => prog.run(new Map([["tokens", new Float32Array(2)]]))).toThrow(/tokens.*2/);
  });

  it("throws on an out-of-range gather index", () => {
    const b = new PrimBuilder();
    b.gather(b.tensor([1, 2, 3], [3]), b.input("i", [1], "i32"), 0);
    const prog = compile(b.graph());
    expect(() => prog.run(new Map([["i", Int32Array.of(3)]]))).toThrow(/gather.*index 3/);
  });

  it("draws fresh random numbers each run unless seeded, reproducibly", () => {
    const b = new PrimBuilder();
    const u = b.random("uniform", [4]);
    const draws = (p: ReturnType<typeof compile>, seeds: (number | undefined)[]) =>
      seeds.map((seed) => {
        p.run(new Map(), seed === undefined ? {} : { seed });
        return [...p.buffer(u)];
      });
    const [a, b2, c] = draws(compile(b.graph()), [undefined, undefined, 5]);
    expect(a).not.toEqual(b2);
    expect(draws(compile(b.graph()), [undefined, undefined])).toEqual([a, b2]);
    expect(draws(compile(b.graph(), { seed: 99 }), [5])[0]).toEqual(c);
  });
});
