// Lowerings of the convolutions against the worked examples of ../shared/reference/ORACLES.md
// and a plain-loop N-D reference (PyTorch's cross-correlation, groups, dilation, padding modes)
// written here.

import { describe, it } from "vitest";
import { ops } from "../../../compiler/ops/conv.js";
import { f32, near, noise, one, strides } from "./family.js";

const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

function unravel(i: number, shape: readonly number[]): number[] {
  const st = strides(shape);
  return shape.map((d, k) => Math.floor(i / st[k]!) % d);
}

/** Source position for an out-of-range coordinate under a padding mode (undefined: a zero). */
function source(p: number, n: number, mode: string): number | undefined {
  if (p >= 0 && p < n) return p;
  if (mode === "zeros") return undefined;
  if (mode === "replicate") return p < 0 ? 0 : n - 1;
  if (mode === "circular") return (p + n) % n;
  return p < 0 ? -p : 2 * (n - 1) - p; // reflect
}

interface Geo {
  stride: number[];
  padLo: number[];
  padHi: number[];
  dilation: number[];
  groups: number;
  mode?: string;
}

/** torch convNd: x [B, C, *S], w [O, C/g, *K], bias [O] */
function convRef(
  x: readonly number[],
  xs: readonly number[],
  w: readonly number[],
  ws: readonly number[],
  g: Geo,
  bias?: readonly number[],
) {
  const n = xs.length - 2;
  const [B, C] = xs as [number, number];
  const O = ws[0]!;
  const cpg = C / g.groups;
  const opg = O / g.groups;
  const K = ws.slice(2);
  const outSp = xs
    .slice(2)
    .map((s, i) => Math.floor((s + g.padLo[i]! + g.padHi[i]! - g.dilation[i]! * (K[i]! - 1) - 1) / g.stride[i]!) + 1);
  const ys = [B, O, ...outSp];
  const xst = strides(xs);
  const wst = strides(ws);
  const y = new Array<number>(numel(ys)).fill(0);
  for (let i = 0; i < y.length; i++) {
    const [b, o, ...pos] = unravel(i, ys) as [number, number, ...number[]];
    let acc = bias ? bias[o]! : 0;
    const grp = Math.floor(o / opg);
    for (let c = 0; c < cpg; c++)
      for (let kk = 0; kk < numel(K); kk++) {
        const k = unravel(kk, K);
        let off = b * xst[0]! + (grp * cpg + c) * xst[1]!;
        let zero = false;
        for (let a = 0; a < n; a++) {
          const p = source(pos[a]! * g.stride[a]! - g.padLo[a]! + k[a]! * g.dilation[a]!, xs[a + 2]!, g.mode ?? "zeros");
          if (p === undefined) zero = true;
          else off += p * xst[a + 2]!;
        }
        if (zero) continue;
        acc += x[off]! * w[o * wst[0]! + c * wst[1]! + k.reduce((s, v, a) => s + v * wst[a + 2]!, 0)]!;
      }
    y[i] = acc;
  }
  return { shape: ys, data: y };
}

/** torch conv_transposeNd: x [B, C, *S], w [C, O/g, *K] */
function convTransposeRef(
  x: readonly number[],
  xs: readonly number[],
  w: readonly number[],
  ws: readonly number[],
  g: Geo & { outPad: number[] },
  bias?: readonly number[],
) {
  const n = xs.length - 2;
  const [B, C] = xs as [number, number];
  const opg = ws[1]!;
  const O = opg * g.groups;
  const cpg = C / g.groups;
  const K = ws.slice(2);
  const outSp = xs.slice(2).map((s, i) => (s - 1) * g.stride[i]! - 2 * g.padLo[i]! + g.dilation[i]! * (K[i]! - 1) + g.outPad[i]! + 1);
  const ys = [B, O, ...outSp];
  const yst = strides(ys);
  const wst = strides(ws);
  const y = new Array<number>(numel(ys)).fill(0);
  for (let i = 0; i < x.length; i++) {
    const [b, c, ...pos] = unravel(i, xs) as [number, number, ...number[]];
    const grp = Math.floor(c / cpg);
    for (let oo = 0; oo < opg; oo++)
      for (let kk = 0; kk < numel(K); kk++) {
        const k = unravel(kk, K);
        const q = pos.map((p, a) => p * g.stride[a]! - g.padLo[a]! + k[a]! * g.dilation[a]!);
        if (q.some((v, a) => v < 0 || v >= outSp[a]!)) continue;
        const o = grp * opg + oo;
        y[b * yst[0]! + o * yst[1]! + q.reduce((s, v, a) => s + v * yst[a + 2]!, 0)] +=
          x[i]! * w[c * wst[0]! + oo * wst[1]! + k.reduce((s, v, a) => s + v * wst[a + 2]!, 0)]!;
      }
  }
  if (bias) for (let i = 0; i < y.length; i++) y[i] += bias[unravel(i, ys)[1]!]!;
  void n;
  return { shape: ys, data: y };
}

describe("conv1d (ORACLES: K = (1, 0, -1) on 0 1 2 4 8 4 2 1 0)", () => {
  const x = f32([1, 1, 9], [0, 1, 2, 4, 8, 4, 2, 1, 0]);
  const weight = [1, 0, -1];
  it("valid", () => {
    near(one(ops, "conv1d", [x], { out: 1, kernel: 3, bias: false }, { params: { weight } }), [-2, -3, -6, 0, 6, 3, 2]);
  });
  it("zero padding 1, unbatched too", () => {
    const want = [-1, -2, -3, -6, 0, 6, 3, 2, 1];
    near(one(ops, "conv1d", [x], { out: 1, kernel: 3, padding: 1, bias: false }, { params: { weight } }), want);
    near(one(ops, "conv1d", [f32([1, 9], x.data)], { out: 1, kernel: 3, padding: 1, bias: false }, { params: { weight } }), want);
  });
});

describe("conv2d", () => {
  it("seed 002 Example 4.4: three channels, pad 1, bias 2, then ReLU", () => {
    const x = [
      [2, 1, 0, 0, 0, 0, 2, 1, 0, 2, 0, 1, 2, 1, 0, 1],
      [2, 2, 0, 0, 0, 0, 2, 1, 0, 0, 2, 0, 0, 1, 0, 1],
      [2, 1, 0, 0, 0, 0, 2, 1, 2, 0, 0, 0, 0, 1, 0, 1],
    ].flat();
    const weight = [
      [1, 0, 0, 0, -2, 0, 0, 0, -1],
      [1, 2, 0, 2, 0, -1, 0, -1, 1],
      [0, 0, -2, 0, 1, 2, -2, 2, 0],
    ].flat();
    const y = one(ops, "conv2d", [f32([1, 3, 4, 4], x)], { out: 1, kernel: 3, padding: 1 }, { params: { weight, bias: [2] } });
    near(
      y.map((v) => Math.max(v, 0)),
      [0, 5, 8, 0, 6, 10, 1, 5, 4, 0, 2, 11, 0, 1, 11, 3],
    );
  });

  it("ORACLES: corr2d([[0,1,2],[3,4,5],[6,7,8]], [[0,1],[2,3]]) = [[19,25],[37,43]]", () => {
    near(
      one(
        ops,
        "conv2d",
        [f32([1, 1, 3, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8])],
        { out: 1, kernel: 2, bias: false },
        { params: { weight: [0, 1, 2, 3] } },
      ),
      [19, 25, 37, 43],
    );
  });

  const xs = [2, 4, 7, 6];
  const x = noise(
    xs.reduce((a, b) => a * b),
    21,
  );
  const cases: [string, Record<string, unknown>, Geo, number[]][] = [
    [
      "stride 2, padding [1, 2], dilation [1, 2]",
      { stride: 2, padding: [1, 2], dilation: [1, 2] },
      { stride: [2, 2], padLo: [1, 2], padHi: [1, 2], dilation: [1, 2], groups: 1 },
      [6, 4, 3, 3],
    ],
    ["groups 2", { groups: 2 }, { stride: [1, 1], padLo: [0, 0], padHi: [0, 0], dilation: [1, 1], groups: 2 }, [6, 2, 3, 3]],
    ["depthwise", { groups: 4 }, { stride: [1, 1], padLo: [0, 0], padHi: [0, 0], dilation: [1, 1], groups: 4 }, [4, 1, 3, 2]],
    [
      '"same" with an even kernel (the extra pad goes after)',
      { padding: "same" },
      { stride: [1, 1], padLo: [1, 0], padHi: [1, 1], dilation: [1, 1], groups: 1 },
      [3, 4, 3, 2],
    ],
    ['"valid"', { padding: "valid" }, { stride: [1, 1], padLo: [0, 0], padHi: [0, 0], dilation: [1, 1], groups: 1 }, [3, 4, 3, 2]],
    ...(["reflect", "replicate", "circular"] as const).map((mode): [string, Record<string, unknown>, Geo, number[]] => [
      `padding_mode ${mode}`,
      { padding: [2, 1], padding_mode: mode },
      { stride: [1, 1], padLo: [2, 1], padHi: [2, 1], dilation: [1, 1], groups: 1, mode },
      [3, 4, 3, 3],
    ]),
  ];
  it.each(cases)("%s against loops", (_, attrs, geo, ws) => {
    const w = noise(
      ws.reduce((a, b) => a * b),
      22,
    );
    const bias = noise(ws[0]!, 23);
    const want = convRef(x, xs, w, ws, geo, bias);
    const got = one(ops, "conv2d", [f32(xs, x)], { out: ws[0]!, kernel: ws.slice(2), ...attrs } as never, { params: { weight: w, bias } });
    near(got, want.data);
  });
});

describe("conv3d", () => {
  it("stride, padding and groups against loops", () => {
    const xs = [1, 2, 4, 5, 3];
    const ws = [4, 1, 2, 3, 2];
    const x = noise(numel(xs), 31);
    const w = noise(numel(ws), 32);
    const geo = { stride: [2, 1, 1], padLo: [1, 1, 0], padHi: [1, 1, 0], dilation: [1, 1, 1], groups: 2 };
    const got = one(
      ops,
      "conv3d",
      [f32(xs, x)],
      { out: 4, kernel: [2, 3, 2], stride: [2, 1, 1], padding: [1, 1, 0], groups: 2, bias: false },
      { params: { weight: w } },
    );
    near(got, convRef(x, xs, w, ws, geo).data);
  });
});

describe("transposed convolutions", () => {
  it("ORACLES: [[0,1],[2,3]] with kernel [[0,1],[2,3]] → [[0,0,1],[0,4,6],[4,12,9]]", () => {
    near(
      one(
        ops,
        "conv_transpose2d",
        [f32([1, 1, 2, 2], [0, 1, 2, 3])],
        { out: 1, kernel: 2, bias: false },
        { params: { weight: [0, 1, 2, 3] } },
      ),
      [0, 0, 1, 0, 4, 6, 4, 12, 9],
    );
  });

  it("conv_transpose2d: stride 2, padding 1, output_padding 1, groups 2, dilation, bias against loops", () => {
    const xs = [2, 4, 3, 2];
    const ws = [4, 3, 3, 2];
    const x = noise(numel(xs), 41);
    const w = noise(numel(ws), 42);
    const bias = noise(6, 43);
    const geo = { stride: [2, 2], padLo: [1, 1], padHi: [1, 1], dilation: [1, 2], groups: 2, outPad: [1, 1] };
    const attrs = { out: 6, kernel: [3, 2], stride: 2, padding: 1, output_padding: 1, dilation: [1, 2], groups: 2 };
    near(
      one(ops, "conv_transpose2d", [f32(xs, x)], attrs, { params: { weight: w, bias } }),
      convTransposeRef(x, xs, w, ws, geo, bias).data,
    );
  });

  it("conv_transpose1d and conv_transpose3d against loops", () => {
    const x1 = noise(2 * 3 * 4, 51);
    const w1 = noise(3 * 2 * 3, 52);
    const g1 = { stride: [3], padLo: [1], padHi: [1], dilation: [1], groups: 1, outPad: [2] };
    near(
      one(
        ops,
        "conv_transpose1d",
        [f32([2, 3, 4], x1)],
        { out: 2, kernel: 3, stride: 3, padding: 1, output_padding: 2, bias: false },
        { params: { weight: w1 } },
      ),
      convTransposeRef(x1, [2, 3, 4], w1, [3, 2, 3], g1).data,
    );
    const x3 = noise(2 * 2 * 3 * 2, 53);
    const w3 = noise(2 * 2 * 2 * 2 * 2, 54);
    const g3 = { stride: [1, 2, 1], padLo: [0, 0, 0], padHi: [0, 0, 0], dilation: [1, 1, 1], groups: 1, outPad: [0, 0, 0] };
    near(
      one(
        ops,
        "conv_transpose3d",
        [f32([1, 2, 2, 3, 2], x3)],
        { out: 2, kernel: 2, stride: [1, 2, 1], bias: false },
        { params: { weight: w3 } },
      ),
      convTransposeRef(x3, [1, 2, 2, 3, 2], w3, [2, 2, 2, 2, 2], g3).data,
    );
  });
});
