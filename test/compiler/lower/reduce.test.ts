// Lowerings of the reductions against plain loops written here (torch semantics: bool sums
// count, var/std population unless unbiased, torch.norm's p cases, first-index argmax).

import { describe, expect, it } from "vitest";
import { ops } from "../../../compiler/ops/reduce.js";
import { bool, f32, go, i64, near, one, seq } from "./family.js";

// x [2, 3] = [[1, -2, 3], [4, 0, -6]]
const v = [1, -2, 3, 4, 0, -6];
const X = f32([2, 3], v);
const rows = [v.slice(0, 3), v.slice(3)];
const cols = seq(3, (j) => [v[j]!, v[3 + j]!]);
const sum = (a: readonly number[]): number => a.reduce((p, q) => p + q, 0);
const mean = (a: readonly number[]): number => sum(a) / a.length;
const variance = (a: readonly number[], unbiased = false): number =>
  sum(a.map((q) => (q - mean(a)) ** 2)) / (a.length - (unbiased ? 1 : 0));
const lse = (a: readonly number[]): number => Math.log(sum(a.map(Math.exp)));
const prod = (a: readonly number[]): number => a.reduce((p, q) => p * q, 1);

const CASES: [string, Record<string, unknown>, (a: readonly number[]) => number][] = [
  ["sum", {}, sum],
  ["mean", {}, mean],
  ["max", {}, (a) => Math.max(...a)],
  ["min", {}, (a) => Math.min(...a)],
  ["prod", {}, prod],
  ["logsumexp", {}, lse],
  ["var", {}, (a) => variance(a)],
  ["var", { unbiased: true }, (a) => variance(a, true)],
  ["std", {}, (a) => Math.sqrt(variance(a))],
  ["std", { unbiased: true }, (a) => Math.sqrt(variance(a, true))],
  ["norm", {}, (a) => Math.hypot(...a)],
  ["norm", { p: 1 }, (a) => sum(a.map(Math.abs))],
  ["norm", { p: 3 }, (a) => Math.cbrt(sum(a.map((q) => Math.abs(q) ** 3)))],
  ["norm", { p: Infinity }, (a) => Math.max(...a.map(Math.abs))],
  ["norm", { p: 0 }, (a) => a.filter((q) => q !== 0).length],
];

describe("reductions", () => {
  it.each(CASES)("%s %j: all axes, each axis, keepdim", (name, attrs, f) => {
    near(one(ops, name, [X], attrs as never), [f(v)], 1e-12);
    near(one(ops, name, [X], { ...attrs, axis: 1 } as never), rows.map(f), 1e-12);
    const [y] = go(ops, name, [X], { ...attrs, axis: [0], keepdim: true } as never);
    expect(y!.shape).toEqual([1, 3]);
    near(y!.data, cols.map(f), 1e-12);
  });

  it("prod over an odd-length axis and over several axes", () => {
    const w = seq(2 * 5, (i) => (i % 3) - 1.5);
    near(one(ops, "prod", [f32([2, 5], w)], { axis: 1 }), [prod(w.slice(0, 5)), prod(w.slice(5))]);
    near(one(ops, "prod", [f32([2, 5], w)], { axis: [0, 1] }), [prod(w)]);
  });

  it("logsumexp is stable for large values and exact for -inf rows", () => {
    near(one(ops, "logsumexp", [f32([2], [1000, 1000])]), [1000 + Math.log(2)]);
    near(one(ops, "logsumexp", [f32([2], [-Infinity, -Infinity])]), [-Infinity]);
  });

  it("sum / max / min on integers and bools (a bool sum counts)", () => {
    near(one(ops, "sum", [i64([3], [1, 2, 3])]), [6]);
    near(one(ops, "sum", [bool([4], [1, 0, 1, 1])]), [3]);
    near(one(ops, "prod", [bool([2], [1, 1])]), [1]);
    near(one(ops, "max", [bool([3], [0, 1, 0])]), [1]);
    near(one(ops, "min", [bool([3], [0, 1, 0])]), [0]);
    near(one(ops, "max", [i64([3], [-1, 7, 2])]), [7]);
  });

  it("argmax / argmin: the last axis by default, the first extremum, flattened when axis is none", () => {
    const t = f32([2, 3], [1, 5, 5, -2, -2, 0]);
    near(one(ops, "argmax", [t]), [1, 2]);
    near(one(ops, "argmin", [t]), [0, 0]);
    near(one(ops, "argmax", [t], { axis: 0 }), [0, 0, 0]);
    near(one(ops, "argmax", [t], { axis: null }), [1]);
    const [k] = go(ops, "argmin", [t], { axis: null, keepdim: true });
    expect(k!.shape).toEqual([1, 1]);
    near(k!.data, [3]);
  });
});
