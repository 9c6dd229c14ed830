// Every primitive against values worked out by hand (and the worked numbers of
// ../shared/reference/ORACLES.md), run through both the float64 reference and the float32
// executor; plus the reference's feed checks and its random stream.

import { describe, expect, it } from "vitest";
import { PrimBuilder, type T } from "../../compiler/prim/builder.ts";
import { compile } from "../../runtime/cpu/executor.ts";
import { SeededStream } from "../../runtime/cpu/ops-rng.ts";
import { erf } from "../../runtime/cpu/ops-math.ts";
import { evaluate, type HostArray } from "../../runtime/cpu/reference.ts";
import { Rng } from "../../runtime/rng.ts";

type Feeds = Record<string, HostArray>;

interface Case {
  name: string;
  build: (b: PrimBuilder) => T;
  feeds?: Feeds;
  shape?: number[];
  want: number[];
}

const f32 = (xs: number[]): Float32Array => Float32Array.from(xs);
const i32 = (xs: number[]): Int32Array => Int32Array.from(xs);
const u8 = (xs: number[]): Uint8Array => Uint8Array.from(xs);

const win = (
  kernel: number[],
  stride = kernel.map(() => 1),
  padLo = kernel.map(() => 0),
  padHi = padLo,
  dilation = kernel.map(() => 1),
) => ({
  kernel,
  stride,
  padLo,
  padHi,
  dilation,
});
const geo = (n: number, stride = Array(n).fill(1), padLo = Array(n).fill(0), padHi = padLo, dilation = Array(n).fill(1)) => ({
  stride,
  padLo,
  padHi,
  dilation,
});

/** Example 4.4 (seed 002): Y after conv + bias + ReLU. */
const Y44 = [0, 5, 8, 0, 6, 10, 1, 5, 4, 0, 2, 11, 0, 1, 11, 3];
const X3 = [0, 1, 2, 3, 4, 5, 6, 7, 8];
const K2 = [0, 1, 2, 3];
const signal = [0, 1, 2, 4, 8, 4, 2, 1, 0];
const M23 = [1, 2, 3, 4, 5, 6];

const un = (op: Parameters<PrimBuilder["unary"]>[0], xs: number[], want: number[]): Case => ({
  name: `${op} ${xs.join(",")}`,
  build: (b) => b.unary(op, b.tensor(xs, [xs.length])),
  want,
});
const cmp = (op: Parameters<PrimBuilder["binary"]>[0], want: number[]): Case => ({
  name: `${op} [1,2,3] vs 2`,
  build: (b) => b.binary(op, b.tensor([1, 2, 3], [3]), b.scalar(2)),
  want,
});

const CASES: Case[] = [
  // leaves
  { name: "const fill", build: (b) => b.scalar(2.5, "f32", [2, 2]), want: [2.5, 2.5, 2.5, 2.5] },
  { name: "const values", build: (b) => b.tensor([1, -2, 3], [3]), want: [1, -2, 3] },
  { name: "const bool", build: (b) => b.tensor([0, 3, 1], [3], "bool"), want: [0, 1, 1] },
  { name: "iota axis 1", build: (b) => b.iota([2, 3], 1), want: [0, 1, 2, 0, 1, 2] },
  { name: "iota axis 0", build: (b) => b.iota([2, 3], 0), want: [0, 0, 0, 1, 1, 1] },
  { name: "input", build: (b) => b.input("x", [2], "f32"), feeds: { x: f32([1.5, -2]) }, want: [1.5, -2] },
  { name: "param", build: (b) => b.param("w", [2]), feeds: { w: f32([3, 4]) }, want: [3, 4] },
  // unary
  un("neg", [-1.5, 0.5, 2], [1.5, -0.5, -2]),
  un("exp", [0, 1], [1, Math.E]),
  un("log", [1, Math.E], [0, 1]),
  un("sqrt", [4, 9], [2, 3]),
  un("rsqrt", [4, 0.25], [0.5, 2]),
  un("abs", [-1.5, 0, 2.5], [1.5, 0, 2.5]),
  un("sign", [-1.5, -0.5, 0, 0.5, 2.5], [-1, -1, 0, 1, 1]),
  un("tanh", [0, Math.log(2)], [0, 0.6]),
  un("sigmoid", [0, Math.log(3)], [0.5, 0.75]),
  un("relu", [-1.5, 0, 0.5], [0, 0, 0.5]),
  un("sin", [0, Math.PI / 2], [0, 1]),
  un("cos", [0, Math.PI], [1, -1]),
  un("erf", [0, 0.5, -1, 2], [0, 0.5204998778130465, -0.8427007929497149, 0.9953222650189527]),
  un("floor", [-1.5, -0.5, 0.5, 2.5], [-2, -1, 0, 2]),
  un("ceil", [-1.5, -0.5, 0.5, 2.5], [-1, 0, 1, 3]),
  un("round", [-1.5, -0.5, 0.5, 1.5, 2.5, 2.6], [-2, 0, 0, 2, 2, 3]),
  un("square", [-1.5, 3], [2.25, 9]),
  un("reciprocal", [2, -4], [0.5, -0.25]),
  un("log1p", [0, Math.E - 1], [0, 1]),
  { name: "not", build: (b) => b.unary("not", b.tensor([1, 0], [2], "bool")), want: [0, 1] },
  { name: "square i32", build: (b) => b.unary("square", b.tensor([-3, 4], [2], "i32")), want: [9, 16] },
  // binary, with broadcasting
  {
    name: "add [2,1]+[3]",
    build: (b) => b.plus(b.tensor([1, 2], [2, 1]), b.tensor([10, 20, 30], [3])),
    shape: [2, 3],
    want: [11, 21, 31, 12, 22, 32],
  },
  {
    name: "sub [2,1]-[3]",
    build: (b) => b.minus(b.tensor([1, 2], [2, 1]), b.tensor([10, 20, 30], [3])),
    want: [-9, -19, -29, -8, -18, -28],
  },
  { name: "mul by scalar", build: (b) => b.times(b.tensor([1, 2, 3, 4], [2, 2]), b.scalar(3)), want: [3, 6, 9, 12] },
  {
    name: "div [1,2]/[2,1]",
    build: (b) => b.over(b.tensor([1, 2], [1, 2]), b.tensor([2, 4], [2, 1])),
    shape: [2, 2],
    want: [0.5, 1, 0.25, 0.5],
  },
  { name: "pow", build: (b) => b.binary("pow", b.tensor([2, 3, 4], [3]), b.tensor([2, 0.5, -1], [3])), want: [4, Math.sqrt(3), 0.25] },
  { name: "maximum", build: (b) => b.binary("maximum", b.tensor([1, 5, 3], [3]), b.tensor([4, 2, 3], [3])), want: [4, 5, 3] },
  { name: "minimum", build: (b) => b.binary("minimum", b.tensor([1, 5, 3], [3]), b.tensor([4, 2, 3], [3])), want: [1, 2, 3] },
  cmp("eq", [0, 1, 0]),
  cmp("ne", [1, 0, 1]),
  cmp("lt", [1, 0, 0]),
  cmp("le", [1, 1, 0]),
  cmp("gt", [0, 0, 1]),
  cmp("ge", [0, 1, 1]),
  {
    name: "and",
    build: (b) => b.binary("and", b.tensor([1, 1, 0, 0], [4], "bool"), b.tensor([1, 0, 1, 0], [4], "bool")),
    want: [1, 0, 0, 0],
  },
  {
    name: "or",
    build: (b) => b.binary("or", b.tensor([1, 1, 0, 0], [4], "bool"), b.tensor([1, 0, 1, 0], [4], "bool")),
    want: [1, 1, 1, 0],
  },
  { name: "i32 div truncates", build: (b) => b.over(b.tensor([7, -7, 5], [3], "i32"), b.tensor([2, 2, 0], [3], "i32")), want: [3, -3, 0] },
  { name: "i32 mul wraps", build: (b) => b.times(b.tensor([65536, -3], [2], "i32"), b.tensor([65536, 5], [2], "i32")), want: [0, -15] },
  {
    name: "where broadcasts",
    build: (b) => b.where(b.tensor([1, 0], [2, 1], "bool"), b.tensor([1, 2, 3], [3]), b.scalar(0)),
    shape: [2, 3],
    want: [1, 2, 3, 0, 0, 0],
  },
  { name: "cast f32→i32 truncates", build: (b) => b.cast(b.tensor([-1.7, 2.7, 0], [3]), "i32"), want: [-1, 2, 0] },
  { name: "cast f32→bool", build: (b) => b.cast(b.tensor([-1.7, 0, 0.1], [3]), "bool"), want: [1, 0, 1] },
  { name: "cast bool→f32", build: (b) => b.cast(b.tensor([1, 0], [2], "bool"), "f32"), want: [1, 0] },
  { name: "stop_gradient", build: (b) => b.stopGradient(b.tensor([1, 2], [2])), want: [1, 2] },
  // reductions
  { name: "sum axis 0", build: (b) => b.sum(b.tensor(M23, [2, 3]), [0]), shape: [3], want: [5, 7, 9] },
  { name: "sum axis 1 keepdims", build: (b) => b.sum(b.tensor(M23, [2, 3]), [1], true), shape: [2, 1], want: [6, 15] },
  { name: "sum all", build: (b) => b.sum(b.tensor(M23, [2, 3])), shape: [], want: [21] },
  { name: "sum axes 0,2 of 0..7", build: (b) => b.sum(b.tensor([0, 1, 2, 3, 4, 5, 6, 7], [2, 2, 2]), [0, 2]), want: [10, 18] },
  { name: "max axis 1", build: (b) => b.max(b.tensor([1, 7, 3, 6, 5, 4], [2, 3]), [1]), want: [7, 6] },
  { name: "min axis 0", build: (b) => b.min(b.tensor([1, 7, 3, 6, 5, 2], [2, 3]), [0]), want: [1, 5, 2] },
  { name: "argmax first on ties", build: (b) => b.argmax(b.tensor([1, 3, 3, 5, 0, 5], [2, 3]), 1), want: [1, 0] },
  { name: "argmin axis 0", build: (b) => b.argmax(b.tensor([1, 3, 3, 0, 3, 5], [2, 3]), 0, false, true), want: [1, 0, 0] },
  // data movement
  { name: "reshape", build: (b) => b.reshape(b.tensor(M23, [2, 3]), [3, 2]), shape: [3, 2], want: M23 },
  { name: "transpose 2-d", build: (b) => b.transpose(b.tensor(M23, [2, 3]), [1, 0]), shape: [3, 2], want: [1, 4, 2, 5, 3, 6] },
  {
    name: "transpose 3-d",
    build: (b) => b.transpose(b.tensor([0, 1, 2, 3, 4, 5, 6, 7], [2, 2, 2]), [2, 0, 1]),
    want: [0, 2, 4, 6, 1, 3, 5, 7],
  },
  { name: "broadcast_to [3]→[2,3]", build: (b) => b.broadcastTo(b.tensor([1, 2, 3], [3]), [2, 3]), want: [1, 2, 3, 1, 2, 3] },
  { name: "broadcast_to [2,1]→[2,3]", build: (b) => b.broadcastTo(b.tensor([1, 2], [2, 1]), [2, 3]), want: [1, 1, 1, 2, 2, 2] },
  { name: "slice with step", build: (b) => b.slice(b.tensor(M23, [2, 3]), [0, 0], [2, 3], [1, 2]), shape: [2, 2], want: [1, 3, 4, 6] },
  { name: "slice 1:5:2", build: (b) => b.sliceAxis(b.tensor([0, 1, 2, 3, 4], [5]), 0, 1, 5, 2), want: [1, 3] },
  { name: "pad 1-d", build: (b) => b.pad(b.tensor([1, 2], [2]), [1], [2], 9), want: [9, 1, 2, 9, 9] },
  { name: "pad 2-d", build: (b) => b.pad(b.tensor([1, 2], [1, 2]), [1, 0], [0, 1]), shape: [2, 3], want: [0, 0, 0, 1, 2, 0] },
  {
    name: "concat axis 0",
    build: (b) => b.concat([b.tensor([1, 2], [1, 2]), b.tensor([3, 4, 5, 6], [2, 2])], 0),
    shape: [3, 2],
    want: [1, 2, 3, 4, 5, 6],
  },
  {
    name: "concat axis 1",
    build: (b) => b.concat([b.tensor([1, 2], [2, 1]), b.tensor([3, 4, 5, 6], [2, 2])], 1),
    shape: [2, 3],
    want: [1, 3, 4, 2, 5, 6],
  },
  {
    name: "gather 2-d indices, axis 0",
    build: (b) => b.gather(b.tensor(M23, [3, 2]), b.tensor([2, 0, 1, 1], [2, 2], "i32"), 0),
    shape: [2, 2, 2],
    want: [5, 6, 1, 2, 3, 4, 3, 4],
  },
  {
    name: "gather axis 1",
    build: (b) => b.gather(b.tensor(M23, [3, 2]), b.tensor([1, 0], [1, 2], "i32"), 1),
    shape: [3, 1, 2],
    want: [2, 1, 4, 3, 6, 5],
  },
  { name: "gather scalar index", build: (b) => b.gather(b.tensor(M23, [3, 2]), b.tensor([1], [], "i32"), 0), shape: [2], want: [3, 4] },
  {
    name: "scatter_add repeated indices",
    build: (b) => b.scatterAdd(b.tensor([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]), b.tensor([2, 0, 2, 1], [4], "i32"), 0, 3),
    shape: [3, 2],
    want: [3, 4, 7, 8, 6, 8],
  },
  {
    name: "scatter_add 2-d indices",
    build: (b) => b.scatterAdd(b.tensor([1, 2, 3, 4], [2, 2, 1]), b.tensor([0, 1, 1, 1], [2, 2], "i32"), 0, 2),
    shape: [2, 1],
    want: [1, 9],
  },
  {
    name: "scatter_add axis 1",
    build: (b) => b.scatterAdd(b.tensor([1, 2, 3, 4], [2, 2]), b.tensor([1, 1], [2], "i32"), 1, 3),
    shape: [2, 3],
    want: [0, 3, 0, 0, 7, 0],
  },
  {
    name: "one_hot (out of range → zeros)",
    build: (b) => b.oneHot(b.tensor([2, -1, 0], [3], "i32"), 3),
    shape: [3, 3],
    want: [0, 0, 1, 0, 0, 0, 1, 0, 0],
  },
  // matrix products
  {
    name: "matmul",
    build: (b) => b.matmul(b.tensor(M23, [2, 3]), b.tensor([7, 8, 9, 10, 11, 12], [3, 2])),
    shape: [2, 2],
    want: [58, 64, 139, 154],
  },
  {
    name: "matmul transA",
    build: (b) => b.matmul(b.tensor([1, 4, 2, 5, 3, 6], [3, 2]), b.tensor([7, 8, 9, 10, 11, 12], [3, 2]), true),
    want: [58, 64, 139, 154],
  },
  {
    name: "matmul transB",
    build: (b) => b.matmul(b.tensor(M23, [2, 3]), b.tensor([7, 9, 11, 8, 10, 12], [2, 3]), false, true),
    want: [58, 64, 139, 154],
  },
  {
    name: "matmul batch × matrix",
    build: (b) => b.matmul(b.tensor([1, 2, 3, 4], [2, 1, 2]), b.tensor([1, 1], [2, 1])),
    shape: [2, 1, 1],
    want: [3, 7],
  },
  {
    name: "matmul broadcast batches [2,1]×[1,3]",
    build: (b) => b.matmul(b.tensor([1, 2, 3, 4], [2, 1, 1, 2]), b.tensor([1, 1, 2, 1, 3, 1], [1, 3, 2, 1])),
    shape: [2, 3, 1, 1],
    want: [3, 4, 5, 7, 10, 13],
  },
  // convolution (ORACLES.md)
  {
    name: "corr2d oracle",
    build: (b) => b.conv(b.tensor(X3, [1, 1, 3, 3]), b.tensor(K2, [1, 1, 2, 2]), geo(2), 1),
    shape: [1, 1, 2, 2],
    want: [19, 25, 37, 43],
  },
  {
    name: "1-d corr, valid",
    build: (b) => b.conv(b.tensor(signal, [1, 1, 9]), b.tensor([1, 0, -1], [1, 1, 3]), geo(1), 1),
    want: [-2, -3, -6, 0, 6, 3, 2],
  },
  {
    name: "1-d corr, zero padding 1",
    build: (b) => b.conv(b.tensor(signal, [1, 1, 9]), b.tensor([1, 0, -1], [1, 1, 3]), geo(1, [1], [1]), 1),
    want: [-1, -2, -3, -6, 0, 6, 3, 2, 1],
  },
  {
    name: "conv groups 2",
    build: (b) => b.conv(b.tensor([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]), b.tensor([2, 3], [2, 1, 1, 1]), geo(2), 2),
    want: [2, 4, 6, 8, 15, 18, 21, 24],
  },
  {
    name: "conv stride 2 dilation 2",
    build: (b) => b.conv(b.tensor([0, 1, 2, 3, 4, 5, 6], [1, 1, 7]), b.tensor([1, 1], [1, 1, 2]), geo(1, [2], [0], [0], [2]), 1),
    want: [2, 6, 10],
  },
  {
    name: "conv two output channels sum input channels",
    build: (b) => b.conv(b.tensor([1, 2, 3, 4], [1, 2, 2]), b.tensor([1, 1, 1, -1], [2, 2, 1]), geo(1), 1),
    want: [4, 6, -2, -2],
  },
  {
    name: "transposed conv oracle",
    build: (b) => b.convInputGrad(b.tensor(K2, [1, 1, 2, 2]), b.tensor(K2, [1, 1, 2, 2]), [3, 3], geo(2), 1),
    shape: [1, 1, 3, 3],
    want: [0, 0, 1, 0, 4, 6, 4, 12, 9],
  },
  {
    name: "conv_weight_grad",
    build: (b) => b.convWeightGrad(b.tensor(X3, [1, 1, 3, 3]), b.scalar(1, "f32", [1, 1, 2, 2]), [2, 2], geo(2), 1),
    shape: [1, 1, 2, 2],
    want: [8, 12, 20, 24],
  },
  // pooling (Example 4.4 and padding rules)
  {
    name: "max pool Example 4.4",
    build: (b) => b.maxPool(b.tensor(Y44, [1, 1, 4, 4]), win([2, 2], [2, 2])),
    shape: [1, 1, 2, 2],
    want: [10, 8, 4, 11],
  },
  {
    name: "avg pool Example 4.4",
    build: (b) => b.avgPool(b.tensor(Y44, [1, 1, 4, 4]), win([2, 2], [2, 2]), false),
    want: [5.25, 3.5, 1.25, 6.75],
  },
  {
    name: "max pool: padding never wins",
    build: (b) => b.maxPool(b.tensor([-1, -2, -3], [1, 3]), win([2], [2], [1], [1])),
    want: [-1, -2],
  },
  { name: "avg pool countPad", build: (b) => b.avgPool(b.tensor([2, 4, 6], [1, 3]), win([2], [2], [1], [1]), true), want: [1, 5] },
  { name: "avg pool real cells only", build: (b) => b.avgPool(b.tensor([2, 4, 6], [1, 3]), win([2], [2], [1], [1]), false), want: [2, 5] },
  {
    name: "max_pool_grad routes to the first max",
    build: (b) => b.maxPoolGrad(b.tensor([1, 3, 3, 2], [1, 4]), b.tensor([1, 10, 100], [1, 3]), win([2])),
    shape: [1, 4],
    want: [0, 11, 100, 0],
  },
  { name: "avg_pool_grad", build: (b) => b.avgPoolGrad(b.tensor([2, 4], [1, 2]), [1, 3], win([2]), false), want: [1, 3, 2] },
  {
    name: "avg_pool_grad countPad",
    build: (b) => b.avgPoolGrad(b.tensor([4, 6], [1, 2]), [1, 3], win([2], [2], [1], [1]), true),
    want: [2, 3, 3],
  },
  {
    name: "avg_pool_grad real cells",
    build: (b) => b.avgPoolGrad(b.tensor([4, 6], [1, 2]), [1, 3], win([2], [2], [1], [1]), false),
    want: [4, 3, 3],
  },
];

const toMap = (feeds: Feeds = {}): Map<string, HostArray> => new Map(Object.entries(feeds));

function expectClose(got: ArrayLike<number>, want: readonly number[], rel: number): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i]!, want[i]!];
    if (Number.isNaN(w)) expect(g).toBeNaN();
    else if (Math.abs(g - w) > rel * Math.max(1, Math.abs(w)))
      expect.fail(`element ${i}: got ${g}, want ${w} (all: ${Array.from(got).join(", ")})`);
  }
}

const ENGINES = {
  reference: { rel: 1e-12, eval: (b: PrimBuilder, out: T, feeds?: Feeds) => evaluate(b.graph(), toMap(feeds)).get(out)! },
  executor: {
    rel: 1e-6,
    eval: (b: PrimBuilder, out: T, feeds?: Feeds) => {
      const p = compile(b.graph());
      p.run(toMap(feeds));
      return { data: p.buffer(out), shape: b.shape(out) };
    },
  },
};

for (const [engine, e] of Object.entries(ENGINES)) {
  describe(`${engine}: every primitive on hand-worked values`, () => {
    it.each(CASES.map((c) => [c.name, c] as const))("%s", (_name, c) => {
      const b = new PrimBuilder();
      const out = c.build(b);
      const v = e.eval(b, out, c.feeds);
      if (c.shape) expect([...v.shape]).toEqual(c.shape);
      expectClose(v.data, c.want, e.rel);
    });
  });
}

describe("reference", () => {
  it("covers every primitive in the cases", () => {
    const ops = new Set<string>();
    for (const c of CASES) {
      const b = new PrimBuilder();
      c.build(b);
      for (const n of b.nodes) ops.add(n.op);
    }
    const all = [
      "input",
      "param",
      "const",
      "iota",
      "rng_uniform",
      "rng_normal",
      "where",
      "cast",
      "stop_gradient",
      "reduce_sum",
      "reduce_max",
      "reduce_min",
    ];
    all.push(
      "argmax",
      "argmin",
      "reshape",
      "transpose",
      "broadcast_to",
      "slice",
      "pad",
      "concat",
      "gather",
      "scatter_add",
      "one_hot",
      "matmul",
      "conv",
    );
    all.push("conv_input_grad", "conv_weight_grad", "max_pool", "max_pool_grad", "avg_pool", "avg_pool_grad");
    const missing = all.filter((op) => !ops.has(op) && !op.startsWith("rng_"));
    expect(missing).toEqual([]);
  });

  it("computes floats in float64, i32 in Int32Array and bool in Uint8Array", () => {
    const b = new PrimBuilder();
    const x = b.input("x", [2], "f32");
    const s = b.plus(x, b.scalar(1e-10));
    const i = b.cast(x, "i32");
    const c = b.binary("gt", x, b.scalar(0));
    const v = evaluate(b.graph(), toMap({ x: f32([1, -2]) }));
    expect(v.get(s)!.data).toBeInstanceOf(Float64Array);
    expect(v.get(s)!.data[0]).toBe(1 + 1e-10); // not representable in float32
    expect(v.get(i)!.data).toBeInstanceOf(Int32Array);
    expect(v.get(c)!.data).toBeInstanceOf(Uint8Array);
    expect(v.get(x)!.data).toBeInstanceOf(Float64Array); // a Float32Array feed is widened
  });

  it("returns the value of every node", () => {
    const b = new PrimBuilder();
    const x = b.input("x", [3], "f32");
    b.exp(b.neg(x));
    const v = evaluate(b.graph(), toMap({ x: f32([0, 1, 2]) }));
    expect([...v.keys()]).toEqual([0, 1, 2]);
  });

  it("names a missing feed and a feed of the wrong length", () => {
    const b = new PrimBuilder();
    b.plus(b.input("tokens", [3], "f32"), b.param("layer.bias", [3]));
    expect(() => evaluate(b.graph(), toMap({ "layer.bias": f32([1, 2, 3]) }))).toThrow(/tokens/);
    expect(() => evaluate(b.graph(), toMap({ tokens: f32([1, 2, 3]) }))).toThrow(/layer\.bias/);
    expect(() => evaluate(b.graph(), toMap({ tokens: f32([1, 2]), "layer.bias": f32([1, 2, 3]) }))).toThrow(/tokens.*2/);
  });

  it("throws on out-of-range gather and scatter_add indices", () => {
    const b = new PrimBuilder();
    const idx = b.input("i", [2], "i32");
    b.gather(b.tensor(M23, [3, 2]), idx, 0);
    expect(() => evaluate(b.graph(), toMap({ i: i32([0, 3]) }))).toThrow(/gather.*index 3/);
    expect(() => evaluate(b.graph(), toMap({ i: i32([-1, 0]) }))).toThrow(/index -1/);
    const c = new PrimBuilder();
    c.scatterAdd(c.tensor([1, 2], [2]), c.tensor([0, 2], [2], "i32"), 0, 2);
    expect(() => evaluate(c.graph(), toMap())).toThrow(/scatter_add.*index 2/);
  });

  it("erf is accurate to about 1e-15 across its range", () => {
    // values from mpmath
    const table: [number, number][] = [
      [1e-8, 1.1283791670955126e-8],
      [0.1, 0.1124629160182849],
      [1, 0.8427007929497149],
      [2.9, 0.9999589021219005],
      [3, 0.9999779095030014],
      [4, 0.9999999845827421],
      [-5, -0.9999999999984626],
    ];
    for (const [x, want] of table) expect(Math.abs(erf(x) - want)).toBeLessThan(2e-15);
  });

  it("bool inputs count any non-zero byte as true", () => {
    const b = new PrimBuilder();
    const m = b.cast(b.input("m", [3], "bool"), "f32");
    expect([...evaluate(b.graph(), toMap({ m: u8([0, 7, 1]) })).get(m)!.data]).toEqual([0, 1, 1]);
  });
});

describe("reference random numbers", () => {
  function draw(seed: number) {
    const b = new PrimBuilder();
    const u = b.random("uniform", [5]);
    const n = b.random("normal", [3]);
    const v = evaluate(b.graph(), toMap(), { seed });
    return { u: [...v.get(u)!.data], n: [...v.get(n)!.data] };
  }

  it("is deterministic per seed and differs between seeds", () => {
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7).u).not.toEqual(draw(8).u);
  });

  it("draws Rng's stream in node order: uniform as Rng.uniform into f32, then normal as Rng.normal", () => {
    const r = new Rng(7);
    const u = new Float32Array(5);
    r.uniform(u);
    const n = new Float64Array(3);
    r.normal(n);
    const got = draw(7);
    expect(got.u).toEqual([...u]);
    expect(got.n).toEqual([...n]);
    for (const v of got.u) expect(v >= 0 && v < 1).toBe(true);
  });

  it("has the moments of U[0,1) and N(0,1)", () => {
    const s = new SeededStream(3);
    const u = new Float64Array(20000);
    const n = new Float64Array(20000);
    s.uniform(u);
    s.normal(n);
    const mean = (a: Float64Array) => a.reduce((p, q) => p + q, 0) / a.length;
    const v = (a: Float64Array) => mean(a.map((x) => x * x)) - mean(a) ** 2;
    expect(Math.abs(mean(u) - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(v(u) - 1 / 12)).toBeLessThan(0.005);
    expect(Math.abs(mean(n))).toBeLessThan(0.03);
    expect(Math.abs(v(n) - 1)).toBeLessThan(0.05);
  });
});
