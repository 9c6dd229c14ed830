// The float32 executor: agreement with the float64 reference on random graphs covering every
// primitive, no typed-array allocation per run, buffer aliasing, parameters and feeds.
// (Hand-worked values per primitive run through both engines in reference.test.ts.)

import { afterEach, describe, expect, it } from "vitest";
import { BINARY, PrimBuilder, UNARY } from "../../compiler/prim/builder.ts";
import { compile } from "../../runtime/cpu/executor.ts";
import { evaluate, type HostArray } from "../../runtime/cpu/reference.ts";
import { Rng } from "../../runtime/rng.ts";
import { Gen, SCENARIOS } from "./primitive-scenarios.ts";

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
      "attention",
      "attention_grad",
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

describe("float32 sums over leading and middle axes", () => {
  it("sum each output in element order in float64, rounded once: the bits of a plain sequential sum", () => {
    for (const [shape, axes] of [
      [[7, 5], [0]],
      [[64, 12], [0]],
      [[3, 9, 4], [1]],
      [
        [2, 4, 3, 6],
        [1, 2],
      ],
    ] as const) {
      const b = new PrimBuilder();
      const x = b.input("x", shape, "f32");
      b.output("s", b.sum(x, axes));
      const n = shape.reduce((p, q) => p * q, 1);
      const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.3) * 10 ** ((i % 7) - 3));
      const prog = compile(b.graph());
      prog.run(new Map([["x", data]]));
      // independent: outer O, reduced R, inner I
      const first = axes[0]!;
      const last = axes.at(-1)!;
      const O = shape.slice(0, first).reduce((p, q) => p * q, 1);
      const R = shape.slice(first, last + 1).reduce((p, q) => p * q, 1);
      const I = shape.slice(last + 1).reduce((p, q) => p * q, 1);
      const want: number[] = [];
      for (let o = 0; o < O; o++)
        for (let i = 0; i < I; i++) {
          let s = 0;
          for (let r = 0; r < R; r++) s += data[(o * R + r) * I + i]!;
          want.push(Math.fround(s));
        }
      expect([...prog.output("s")], `${shape} over ${axes}`).toEqual(want);
    }
  });
});
