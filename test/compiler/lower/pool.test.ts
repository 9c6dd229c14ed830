// Lowerings of the pools against seed 002's Example 4.4 (../shared/reference/ORACLES.md) and
// plain loops of PyTorch's definitions (padding, dilation, ceil_mode, count_include_pad,
// adaptive windows) written here.

import { describe, it } from "vitest";
import { ops } from "../../../compiler/ops/pool.js";
import { f32, i64, near, noise, one, seq } from "./family.js";

// Y of Example 4.4
const Y = f32([1, 1, 4, 4], [0, 5, 8, 0, 6, 10, 1, 5, 4, 0, 2, 11, 0, 1, 11, 3]);

interface P {
  k: number;
  s: number;
  p: number;
  d?: number;
  ceil?: boolean;
  countPad?: boolean;
}

/** torch's output size (ceil mode: the last window must start inside the input or the left padding) */
function outSize(n: number, { k, s, p, d = 1, ceil = false }: P): number {
  const span = n + 2 * p - d * (k - 1) - 1;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (o - 1) * s >= n + p) o--;
  return o;
}

/** 1-D pooling of each row (length n) of `x` by torch's definitions. */
function pool1d(x: readonly number[], n: number, kind: "max" | "avg", g: P): number[] {
  const d = g.d ?? 1;
  const o = outSize(n, g);
  const out: number[] = [];
  for (let r = 0; r < x.length / n; r++)
    for (let i = 0; i < o; i++) {
      const start = i * g.s - g.p;
      const vals: number[] = [];
      for (let j = 0; j < g.k; j++) {
        const q = start + j * d;
        if (q >= 0 && q < n) vals.push(x[r * n + q]!);
      }
      if (kind === "max") out.push(Math.max(...vals));
      else {
        // count_include_pad: the window clipped to the padded input [-p, n + p)
        const divisor = g.countPad ? Math.min(start + g.k, n + g.p) - start : vals.length;
        out.push(vals.reduce((a, b) => a + b, 0) / divisor);
      }
    }
  return out;
}

describe("seed 002 Example 4.4", () => {
  it("2x2 max pool [[10,8],[4,11]] and average pool [[5.25,3.5],[1.25,6.75]]", () => {
    near(one(ops, "maxpool2d", [Y], { kernel: 2 }), [10, 8, 4, 11]);
    near(one(ops, "avgpool2d", [Y], { kernel: 2 }), [5.25, 3.5, 1.25, 6.75]);
  });
});

describe("sliding pools against loops (1-D)", () => {
  const n = 10;
  const x = noise(2 * 3 * n, 61);
  const X = f32([2, 3, n], x);
  const cases: P[] = [
    { k: 3, s: 2, p: 1 },
    { k: 3, s: 2, p: 1, ceil: true },
    { k: 4, s: 3, p: 2, ceil: true },
    { k: 2, s: 3, p: 0, ceil: true },
    { k: 3, s: 1, p: 1, d: 2 },
    { k: 3, s: 3, p: 1, d: 2, ceil: true },
  ];
  it.each(cases)("maxpool1d %j", (g) => {
    near(
      one(ops, "maxpool1d", [X], { kernel: g.k, stride: g.s, padding: g.p, dilation: g.d ?? 1, ceil_mode: g.ceil ?? false }),
      pool1d(x, n, "max", g),
    );
  });
  it.each(cases.filter((g) => g.d === undefined).flatMap((g) => [g, { ...g, countPad: true }]))("avgpool1d %j", (g) => {
    near(
      one(ops, "avgpool1d", [X], {
        kernel: g.k,
        stride: g.s,
        padding: g.p,
        ceil_mode: g.ceil ?? false,
        count_include_pad: g.countPad ?? false,
      }),
      pool1d(x, n, "avg", g),
    );
  });
  it("maxpool on integers and unbatched input", () => {
    near(one(ops, "maxpool1d", [i64([1, 6], [3, -1, 4, 1, -5, 9])], { kernel: 2 }), [3, 4, 9]);
  });
});

describe("2-D and 3-D pools are separable boxes", () => {
  it("maxpool2d / avgpool2d with padding and ceil_mode against loops over both axes", () => {
    const [h, w] = [5, 6];
    const x = noise(h * w, 62);
    const gh: P = { k: 3, s: 2, p: 1, ceil: true };
    const gw: P = { k: 2, s: 2, p: 1, ceil: true };
    const [oh, ow] = [outSize(h, gh), outSize(w, gw)];
    const box = (kind: "max" | "avg"): number[] => {
      const out: number[] = [];
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          const vals: number[] = [];
          let area = 0;
          for (let a = 0; a < 3; a++)
            for (let b = 0; b < 2; b++) {
              const [r, c] = [i * 2 - 1 + a, j * 2 - 1 + b];
              if (r < h + 1 && c < w + 1) area++;
              if (r >= 0 && r < h && c >= 0 && c < w) vals.push(x[r * w + c]!);
            }
          out.push(kind === "max" ? Math.max(...vals) : vals.reduce((p, q) => p + q, 0) / area);
        }
      return out;
    };
    const attrs = { kernel: [3, 2], stride: 2, padding: 1, ceil_mode: true };
    near(one(ops, "maxpool2d", [f32([1, h, w], x)], attrs), box("max"));
    near(one(ops, "avgpool2d", [f32([1, h, w], x)], attrs), box("avg"));
  });

  it("maxpool3d / avgpool3d with a cube kernel", () => {
    const x = seq(2 * 2 * 4, (i) => (i * 7) % 11);
    const X = f32([1, 2, 2, 4], x);
    // windows [0..1]x[0..1]x[0..1] and [0..1]x[0..1]x[2..3]
    const win = (z: number): number[] => [0, 1].flatMap((a) => [0, 1].flatMap((b) => [0, 1].map((c) => x[a * 8 + b * 4 + z + c]!)));
    near(one(ops, "maxpool3d", [X], { kernel: 2 }), [Math.max(...win(0)), Math.max(...win(2))]);
    near(one(ops, "avgpool3d", [X], { kernel: 2 }), [win(0).reduce((p, q) => p + q) / 8, win(2).reduce((p, q) => p + q) / 8]);
  });

  it("lppool2d: the root of the sum of x^p over each window", () => {
    const x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    const want = [
      [1, 2, 5, 6],
      [3, 4, 7, 8],
      [9, 10, 13, 14],
      [11, 12, 15, 16],
    ].map((w) => Math.cbrt(w.reduce((a, v) => a + v ** 3, 0)));
    near(one(ops, "lppool2d", [f32([1, 1, 4, 4], x)], { p: 3, kernel: 2 }), want);
  });
});

describe("adaptive and global pools", () => {
  /** windows [floor(i·n/o), ceil((i+1)·n/o)) */
  const adaptive1d = (x: readonly number[], n: number, o: number, kind: "max" | "avg"): number[] =>
    seq(x.length / n).flatMap((r) =>
      seq(o, (i) => {
        const v = x.slice(r * n + Math.floor((i * n) / o), r * n + Math.ceil(((i + 1) * n) / o));
        return kind === "max" ? Math.max(...v) : v.reduce((a, b) => a + b, 0) / v.length;
      }),
    );
  const x = noise(2 * 7, 71);

  it.each([
    [7, 3],
    [7, 7],
    [7, 1],
    [6, 4],
    [6, 3],
  ])("adaptive 1-D pools: %i → %i", (n, o) => {
    const v = x.slice(0, 2 * n);
    near(one(ops, "adaptive_avgpool1d", [f32([1, 2, n], v)], { size: o }), adaptive1d(v, n, o, "avg"));
    near(one(ops, "adaptive_maxpool1d", [f32([1, 2, n], v)], { size: o }), adaptive1d(v, n, o, "max"));
  });

  it("adaptive 2-D / 3-D pools: windows per axis", () => {
    const v = noise(5 * 3, 72);
    // rows 5 → 2: [0, 3), [2, 5); cols 3 → 3: each column
    const rowWins = [
      [0, 3],
      [2, 5],
    ];
    const want = (kind: "max" | "avg"): number[] =>
      rowWins.flatMap(([a, b]) =>
        seq(3, (c) => {
          const col = seq(b! - a!, (r) => v[(a! + r) * 3 + c]!);
          return kind === "max" ? Math.max(...col) : col.reduce((p, q) => p + q) / col.length;
        }),
      );
    near(one(ops, "adaptive_avgpool2d", [f32([1, 5, 3], v)], { size: [2, 3] }), want("avg"));
    near(one(ops, "adaptive_maxpool2d", [f32([1, 5, 3], v)], { size: [2, 3] }), want("max"));
    near(one(ops, "adaptive_avgpool3d", [f32([1, 1, 1, 5, 3], v)], { size: [1, 2, 3] }), want("avg"));
  });

  it("global pools over every spatial axis, with keepdim", () => {
    const v = seq(2 * 3 * 4, (i) => (i * 5) % 13);
    const groups = seq(6, (g) => v.slice(g * 4, g * 4 + 4));
    near(
      one(ops, "global_avgpool", [f32([2, 3, 2, 2], v)]),
      groups.map((g) => g.reduce((a, b) => a + b) / 4),
    );
    near(
      one(ops, "global_maxpool", [f32([2, 3, 2, 2], v)], { keepdim: true }),
      groups.map((g) => Math.max(...g)),
    );
  });
});
