// Lowerings of the elementwise ops against JavaScript's Math per element (PyTorch semantics for
// integer division, casts, clamp and comparisons of bools).

import { describe, expect, it } from "vitest";
import { ops } from "../../../compiler/ops/elementwise.js";
import { erf } from "../../../runtime/cpu/ops-math.js";
import { bool, f32, go, i64, near, one } from "./family.js";

const xs = [-2.5, -1, -0.5, 0.25, 0.5, 1.5, 2.5, 3];
const pos = [0.1, 0.5, 1, 2, 3.5, 4, 9, 100];
const X = f32([2, 4], xs);
const half = (v: number): number => {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

const UNARY: [string, boolean, (v: number) => number][] = [
  ["exp", false, Math.exp],
  ["log", true, Math.log],
  ["log1p", true, Math.log1p],
  ["sqrt", true, Math.sqrt],
  ["rsqrt", true, (v) => 1 / Math.sqrt(v)],
  ["abs", false, Math.abs],
  ["neg", false, (v) => -v],
  ["square", false, (v) => v * v],
  ["sin", false, Math.sin],
  ["cos", false, Math.cos],
  ["reciprocal", false, (v) => 1 / v],
  ["erf", false, erf],
  ["floor", false, Math.floor],
  ["ceil", false, Math.ceil],
  ["round", false, half],
  ["stop_gradient", false, (v) => v],
];

describe("unary", () => {
  it.each(UNARY)("%s", (name, positive, f) => {
    const v = positive ? pos : xs;
    near(one(ops, name, [f32([2, 4], v)]), v.map(f), 1e-12);
  });

  it("rounding passes integers through; abs/neg/square work on integers", () => {
    const n = i64([3], [-3, 0, 4]);
    for (const name of ["floor", "ceil", "round"]) near(one(ops, name, [n]), [-3, 0, 4]);
    near(one(ops, "abs", [n]), [3, 0, 4]);
    near(one(ops, "square", [n]), [9, 0, 16]);
  });

  it("logical_not", () => {
    near(one(ops, "logical_not", [bool([3], [1, 0, 1])]), [0, 1, 0]);
  });
});

describe("cast and clamp", () => {
  it("float → integer truncates toward zero, → bool is nonzero, bool → float is 0/1", () => {
    near(one(ops, "cast", [X], { dtype: "i64" }), [-2, -1, 0, 0, 0, 1, 2, 3]);
    near(one(ops, "cast", [f32([3], [0, -0.5, 2])], { dtype: "bool" }), [0, 1, 1]);
    near(one(ops, "cast", [bool([2], [1, 0])], { dtype: "f32" }), [1, 0]);
  });

  it("clamp with one or both bounds", () => {
    near(
      one(ops, "clamp", [X], { min: 0 }),
      xs.map((v) => Math.max(v, 0)),
    );
    near(
      one(ops, "clamp", [X], { max: 1 }),
      xs.map((v) => Math.min(v, 1)),
    );
    near(
      one(ops, "clamp", [X], { min: -1, max: 1 }),
      xs.map((v) => Math.min(Math.max(v, -1), 1)),
    );
  });
});

describe("binary, broadcasting", () => {
  const a = f32([2, 3], [1, -2, 3, 4, 5, -6]);
  const b = f32([3], [2, 4, -1]);
  const bb = [2, 4, -1, 2, 4, -1];
  const BIN: [string, (p: number, q: number) => number][] = [
    ["add", (p, q) => p + q],
    ["sub", (p, q) => p - q],
    ["mul", (p, q) => p * q],
    ["div", (p, q) => p / q],
    ["pow", (p, q) => p ** q],
    ["maximum", Math.max],
    ["minimum", Math.min],
    ["eq", (p, q) => +(p === q)],
    ["ne", (p, q) => +(p !== q)],
    ["lt", (p, q) => +(p < q)],
    ["le", (p, q) => +(p <= q)],
    ["gt", (p, q) => +(p > q)],
    ["ge", (p, q) => +(p >= q)],
  ];
  it.each(BIN)("%s", (name, f) => {
    near(
      one(ops, name, [a, b]),
      a.data.map((v, i) => f(v, bb[i]!)),
      1e-12,
    );
  });

  it("integer division is true division (f32); bools compare as 0/1", () => {
    const [y] = go(ops, "div", [i64([2], [7, -7]), i64([1], [2])]);
    near(y!.data, [3.5, -3.5]);
    near(one(ops, "eq", [bool([2], [1, 0]), bool([2], [1, 1])]), [1, 0]);
    near(one(ops, "gt", [bool([2], [1, 0]), bool([2], [0, 0])]), [1, 0]);
  });

  it("logical_and / logical_or", () => {
    const p = bool([4], [0, 0, 1, 1]);
    const q = bool([4], [0, 1, 0, 1]);
    near(one(ops, "logical_and", [p, q]), [0, 0, 0, 1]);
    near(one(ops, "logical_or", [p, q]), [0, 1, 1, 1]);
  });

  it("where broadcasts all three", () => {
    near(one(ops, "where", [bool([2, 1], [1, 0]), a, b]), [1, -2, 3, 2, 4, -1]);
  });

  it("covers every op of the family", () => {
    const tested = new Set([
      ...UNARY.map((u) => u[0]),
      ...BIN.map((q) => q[0]),
      "logical_not",
      "cast",
      "clamp",
      "logical_and",
      "logical_or",
      "where",
    ]);
    expect(ops.map((o) => o.name).filter((n) => !tested.has(n))).toEqual([]);
  });
});
