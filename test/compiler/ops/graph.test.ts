import { describe, expect, it } from "vitest";
import { ops } from "../../../compiler/ops/graph.js";
import { apply, evaluate, expectOpError, t } from "./rule-harness.js";

const run = (name: string, inputs: Parameters<typeof apply>[2], attrs: Parameters<typeof apply>[3] = {}) => apply(ops, name, inputs, attrs);

describe("segment reductions", () => {
  it("map x [E, ...] to [num_segments, ...] for sum/mean/max/min", () => {
    for (const k of ["sum", "mean", "max", "min"]) {
      const r = run(`segment_${k}`, [t("f32", "E", 16), t("i64", "E")], { num_segments: "N" });
      expect(r.shapes()).toEqual(["f32[N, 16]"]);
      expect(r.params).toEqual([]);
    }
    const sum = run("segment_sum", [t("f32", "E", 16), t("i64", "E")], { num_segments: "N" });
    expect(evaluate(sum.cost().flops, { E: 10, N: 4 })).toBe(160);
    const mean = run("segment_mean", [t("f32", "E", 16), t("i64", "E")], { num_segments: "N" });
    expect(evaluate(mean.cost().flops, { E: 10, N: 4 })).toBe(160 + 64);
    expect(evaluate(mean.cost().macs, { E: 10, N: 4 })).toBe(0);
    expect(run("segment_sum", [t("i64", 5), t("i32", 5)], { num_segments: 2 }).shapes()).toEqual(["i64[2]"]);
  });

  it("reject float ids, 2-D ids, a length mismatch and integer means", () => {
    expect(expectOpError(() => run("segment_sum", [t("f32", "E", 16), t("f32", "E")], { num_segments: 4 }), 1).options.code).toBe(
      "DLM3102",
    );
    expectOpError(() => run("segment_sum", [t("f32", "E", 16), t("i64", 2, "E")], { num_segments: 4 }), 1);
    expectOpError(() => run("segment_max", [t("f32", 10, 16), t("i64", 12)], { num_segments: 4 }), 1, /i64\[12\]/, /f32\[10, 16\]/);
    expectOpError(() => run("segment_mean", [t("i64", 10), t("i64", 10)], { num_segments: 4 }), 0);
    expectOpError(() => run("segment_sum", [t("f32", 10), t("i64", 10)], { num_segments: 0 }), "num_segments");
  });
});

describe("scatter_add, gcn_norm, degree", () => {
  it("scatter_add with a 1-D index or an index of x's shape", () => {
    expect(run("scatter_add", [t("f32", "E", 8), t("i64", "E")], { size: "N" }).shapes()).toEqual(["f32[N, 8]"]);
    expect(run("scatter_add", [t("f32", 4, "E"), t("i64", "E")], { size: 10, axis: -1 }).shapes()).toEqual(["f32[4, 10]"]);
    expect(run("scatter_add", [t("f32", 4, 6), t("i64", 4, 6)], { size: 3, axis: 1 }).shapes()).toEqual(["f32[4, 3]"]);
    expectOpError(() => run("scatter_add", [t("f32", 4, 6), t("i64", 5)], { size: 3 }), 1, /5 vs 4/);
    expectOpError(() => run("scatter_add", [t("f32", 4, 6), t("i64", 4, 5)], { size: 3 }), 1);
    expectOpError(() => run("scatter_add", [t("f32", 4, 6), t("i64", 4)], { size: 3, axis: 2 }), "axis");
  });

  it("gcn_norm keeps [N, N] and rejects non-square adjacencies", () => {
    const r = run("gcn_norm", [t("f32", "N", "N")]);
    expect(r.shapes()).toEqual(["f32[N, N]"]);
    expect(evaluate(r.cost().flops, { N: 10 })).toBe(3 * 100 + 20);
    expectOpError(() => run("gcn_norm", [t("f32", "N", "M")]), 0, /square/, /f32\[N, M\]/);
    expectOpError(() => run("gcn_norm", [t("f32", 5)]), 0);
  });

  it("degree counts an integer index into f32 [num_nodes]", () => {
    expect(run("degree", [t("i64", "E")], { num_nodes: "N" }).shapes()).toEqual(["f32[N]"]);
    expect(expectOpError(() => run("degree", [t("f32", "E")], { num_nodes: 3 }), 0).options.code).toBe("DLM3102");
  });
});
