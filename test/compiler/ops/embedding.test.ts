import { describe, expect, it } from "vitest";
import { ops } from "../../../compiler/ops/embedding.js";
import { apply, evaluate, expectOpError, t } from "./rule-harness.js";

const run = (name: string, inputs: Parameters<typeof apply>[2], attrs: Parameters<typeof apply>[3] = {}) => apply(ops, name, inputs, attrs);

describe("embedding", () => {
  it("looks up ids [B, T] into [B, T, dim] with a [num, dim] table (BERT: 23,440,896 params)", () => {
    const r = run("embedding", [t("i64", "B", "T")], { num: 30522, dim: 768 });
    expect(r.shapes()).toEqual(["f32[B, T, 768]"]);
    expect(r.paramNames()).toEqual(["weight"]);
    expect(r.params[0]!.shape.map(String)).toEqual(["30522", "768"]);
    expect(r.params[0]!.init).toBe("normal");
    expect(r.paramCount()).toBe(23_440_896);
    const c = r.cost();
    expect(evaluate(c.macs)).toBe(0);
    expect(run("embedding", [t("i32")], { num: 10, dim: 4 }).shapes()).toEqual(["f32[4]"]);
  });

  it("rejects float ids with DLM3102 and the integer hint", () => {
    const e = expectOpError(() => run("embedding", [t("f32", "B", "T")], { num: 100, dim: 8 }), 0, /f32\[B, T\]/);
    expect(e.options.code).toBe("DLM3102");
    expect(e.options.hint).toBe("token ids must be an integer tensor (i32/i64)");
    expectOpError(() => run("embedding", [t("bool", 3)], { num: 100, dim: 8 }), 0);
  });

  it("checks num, dim and padding_idx", () => {
    expectOpError(() => run("embedding", [t("i64", 3)], { num: 0, dim: 8 }), "num");
    expectOpError(() => run("embedding", [t("i64", 3)], { num: 10, dim: -1 }), "dim");
    run("embedding", [t("i64", 3)], { num: 10, dim: 8, padding_idx: 0 });
    run("embedding", [t("i64", 3)], { num: 10, dim: 8, padding_idx: -10 });
    expectOpError(() => run("embedding", [t("i64", 3)], { num: 10, dim: 8, padding_idx: 10 }), "padding_idx", /10 rows/);
  });
});

describe("positional embeddings", () => {
  it("positional_embedding adds a [max_len, d] table and keeps the shape", () => {
    const r = run("positional_embedding", [t("f32", "B", "T", 768)], { max_len: 512 });
    expect(r.shapes()).toEqual(["f32[B, T, 768]"]);
    expect(r.paramCount()).toBe(512 * 768);
    expect(evaluate(r.cost().flops, { B: 2, T: 10 })).toBe(2 * 10 * 768);
    expectOpError(() => run("positional_embedding", [t("f32", 2, 600, 64)], { max_len: 512 }), 0, /T=600/, /max_len=512/);
    expectOpError(() => run("positional_embedding", [t("f32", 64)], { max_len: 512 }), 0);
  });

  it("sinusoidal_encoding has no params and needs an even d", () => {
    const r = run("sinusoidal_encoding", [t("f32", "B", "T", 512)]);
    expect(r.shapes()).toEqual(["f32[B, T, 512]"]);
    expect(r.params).toEqual([]);
    expectOpError(() => run("sinusoidal_encoding", [t("f32", "B", "T", 511)]), 0, /511/);
    expectOpError(() => run("sinusoidal_encoding", [t("i64", "B", "T", 512)]), 0);
  });
});
