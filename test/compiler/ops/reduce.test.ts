import { describe, expect, it } from "vitest";
import { ops } from "../../../compiler/ops/reduce.js";
import { type Attrs, apply, evaluate, expectOpError, t } from "./rule-harness.js";

const run = (name: string, inputs: Parameters<typeof apply>[2], attrs: Attrs = {}) => apply(ops, name, inputs, attrs);

const X = t("f32", "B", "T", "D");

describe("reduce family", () => {
  it("defines the catalogue's reductions, each with a doc and category reduce", () => {
    expect(ops.map((o) => o.name).sort()).toEqual(
      ["argmax", "argmin", "logsumexp", "max", "mean", "min", "norm", "prod", "std", "sum", "var"].sort(),
    );
    for (const o of ops) {
      expect(o.category).toBe("reduce");
      expect(o.doc.length).toBeGreaterThan(10);
    }
  });

  it.each([
    // [axis, keepdim, expected]
    [undefined, false, "f32[]"],
    [undefined, true, "f32[1, 1, 1]"],
    [1, false, "f32[B, D]"],
    [-1, false, "f32[B, T]"],
    [-1, true, "f32[B, T, 1]"],
    [[0, 2], false, "f32[T]"],
    [[2, 0], true, "f32[1, T, 1]"],
    [[-1, 1], false, "f32[B]"],
  ] as const)("axis %j keepdim %s → %s, for every value reduction", (axis, keepdim, expected) => {
    for (const name of ["sum", "mean", "max", "min", "prod", "logsumexp", "var", "std", "norm"]) {
      const attrs: Attrs = { keepdim };
      if (axis !== undefined) attrs.axis = Array.isArray(axis) ? [...axis] : (axis as number);
      expect(run(name, [X], attrs).shapes()).toEqual([expected]);
    }
  });

  it("argmax/argmin reduce the last axis by default and give i64", () => {
    for (const name of ["argmax", "argmin"]) {
      expect(run(name, [X]).shapes()).toEqual(["i64[B, T]"]);
      expect(run(name, [X], { axis: 1, keepdim: true }).shapes()).toEqual(["i64[B, 1, D]"]);
      expect(run(name, [X], { axis: null }).shapes()).toEqual(["i64[]"]);
      expect(run(name, [t("i32", 5, 3)], { axis: 0 }).shapes()).toEqual(["i64[3]"]);
      expect(expectOpError(() => run(name, [t("bool", 4)]), 0, /bool\[4\]/).options.code).toBe("DLM3102");
    }
  });

  it("dtype rules: sum/prod count bools as i64, max/min keep, float-only reductions reject integers", () => {
    expect(run("sum", [t("bool", "B", 4)], { axis: 1 }).shapes()).toEqual(["i64[B]"]);
    expect(run("prod", [t("bool", 4)]).shapes()).toEqual(["i64[]"]);
    expect(run("sum", [t("i32", 4)]).shapes()).toEqual(["i32[]"]);
    expect(run("max", [t("bool", 4)]).shapes()).toEqual(["bool[]"]);
    expect(run("min", [t("f16", 4, 2)], { axis: 0 }).shapes()).toEqual(["f16[2]"]);
    for (const name of ["mean", "logsumexp", "var", "std", "norm"]) {
      const e = expectOpError(() => run(name, [t("i64", "B", 4)]), 0, /i64\[B, 4\]/);
      expect(e.options.code).toBe("DLM3102");
    }
  });

  it("rejects out-of-range, repeated and symbolic axes", () => {
    expectOpError(() => run("sum", [X], { axis: 3 }), "axis", /3 is out of range/, /rank 3/);
    expectOpError(() => run("mean", [X], { axis: [1, -2] }), "axis", /axis 1 more than once/);
    expectOpError(() => run("max", [X], { axis: "k" }), "axis", /constant/);
    expectOpError(() => run("argmax", [X], { axis: -4 }), "axis");
  });

  it("accepts the extra attributes (var/std unbiased, norm p)", () => {
    expect(run("var", [X], { axis: 1, unbiased: true }).shapes()).toEqual(["f32[B, D]"]);
    expect(run("std", [X], { unbiased: true }).shapes()).toEqual(["f32[]"]);
    expect(run("norm", [X], { axis: -1, p: 1 }).shapes()).toEqual(["f32[B, T]"]);
  });

  it.each([
    ["sum", 1],
    ["mean", 1],
    ["max", 1],
    ["min", 1],
    ["prod", 1],
    ["argmax", 1],
    ["argmin", 1],
    ["norm", 2],
    ["var", 3],
    ["std", 3],
    ["logsumexp", 4],
  ] as const)("%s costs %i flops per input element and no MACs", (name, perElement) => {
    const c = run(name, [X], { axis: -1 }).cost();
    const env = { B: 2, T: 3, D: 5 };
    expect(evaluate(c.flops, env)).toBe(2 * 3 * 5 * perElement);
    expect(evaluate(c.macs, env)).toBe(0);
  });
});
