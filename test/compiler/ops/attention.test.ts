import { describe, expect, it } from "vitest";
import { ops } from "../../../compiler/ops/attention.js";
import { apply, evaluate, expectOpError, t } from "./rule-harness.js";

const run = (name: string, inputs: Parameters<typeof apply>[2], attrs: Parameters<typeof apply>[3] = {}) => apply(ops, name, inputs, attrs);

describe("scaled_dot_product_attention", () => {
  it("maps q [..., Tq, d], k [..., Tk, d], v [..., Tk, dv] to [..., Tq, dv] with symbolic dims", () => {
    const r = run("scaled_dot_product_attention", [t("f32", "B", 8, "T", 64), t("f32", "B", 8, "S", 64), t("f32", "B", 8, "S", 32)]);
    expect(r.shapes()).toEqual(["f32[B, 8, T, 32]"]);
    const c = r.cost();
    expect(evaluate(c.macs, { B: 2, T: 10, S: 20 })).toBe(2 * 8 * 10 * 20 * (64 + 32));
    expect(evaluate(c.flops, { B: 2, T: 10, S: 20 })).toBe(5 * 2 * 8 * 10 * 20);
  });

  it("broadcasts leading axes and accepts masks that broadcast onto the scores", () => {
    const r = run("scaled_dot_product_attention", [
      t("f32", "B", 4, 10, 16),
      t("f32", 1, 4, 12, 16),
      t("f32", 4, 12, 16),
      t("bool", 10, 12),
    ]);
    expect(r.shapes()).toEqual(["f32[B, 4, 10, 16]"]);
    run("scaled_dot_product_attention", [t("f32", 10, 16), t("f32", 12, 16), t("f32", 12, 16), t("f32", 1, 12)], {
      causal: true,
      scale: 0.5,
    });
  });

  it("rejects mismatched feature sizes, sequence lengths and masks", () => {
    expectOpError(
      () => run("scaled_dot_product_attention", [t("f32", 2, 10, 64), t("f32", 2, 12, 32), t("f32", 2, 12, 32)]),
      1,
      /f32\[2, 10, 64\]/,
      /f32\[2, 12, 32\]/,
    );
    expectOpError(
      () => run("scaled_dot_product_attention", [t("f32", 2, 10, 64), t("f32", 2, 12, 64), t("f32", 2, 11, 32)]),
      2,
      /12 vs 11/,
    );
    expectOpError(
      () => run("scaled_dot_product_attention", [t("f32", 2, 10, 64), t("f32", 3, 12, 64), t("f32", 3, 12, 64)]),
      1,
      /cannot be broadcast/,
    );
    expectOpError(
      () => run("scaled_dot_product_attention", [t("f32", 10, 8), t("f32", 12, 8), t("f32", 12, 8), t("bool", 10, 10)]),
      3,
      /does not broadcast/,
    );
    const e = expectOpError(
      () => run("scaled_dot_product_attention", [t("f32", 10, 8), t("f32", 12, 8), t("f32", 12, 8), t("i64", 10, 12)]),
      3,
    );
    expect(e.options.code).toBe("DLM3102");
    expectOpError(
      () => run("scaled_dot_product_attention", [t("f32", 10, 8), t("f32", 12, 8), t("f32", 12, 8)], { dropout: 1.0 }),
      "dropout",
    );
    expectOpError(() => run("scaled_dot_product_attention", [t("i32", 10, 8), t("f32", 12, 8), t("f32", 12, 8)]), 0);
  });
});

describe("multihead_attention", () => {
  it("has 1,050,624 parameters for d=512, H=8 with biases", () => {
    const r = run("multihead_attention", [t("f32", "B", "T", 512)], { heads: 8 });
    expect(r.shapes()).toEqual(["f32[B, T, 512]"]);
    expect(r.paramCount()).toBe(1_050_624);
    expect(r.paramNames()).toEqual([
      "q_proj.weight",
      "q_proj.bias",
      "k_proj.weight",
      "k_proj.bias",
      "v_proj.weight",
      "v_proj.bias",
      "out_proj.weight",
      "out_proj.bias",
    ]);
  });

  it("BERT-base self-attention: 2,362,368 parameters and fvcore's MACs", () => {
    const r = run("multihead_attention", [t("f32", "B", "T", 768)], { heads: 12 });
    expect(r.paramCount()).toBe(2_362_368);
    const c = r.cost();
    expect(evaluate(c.macs, { B: 1, T: 128 })).toBe(4 * 128 * 768 * 768 + 2 * 128 * 128 * 768);
    expect(evaluate(c.macs, { B: 3, T: 128 })).toBe(3 * (4 * 128 * 768 * 768 + 2 * 128 * 128 * 768));
    expect(evaluate(c.flops, { B: 1, T: 128 })).toBe(5 * 12 * 128 * 128);
  });

  it("drops biases with bias: false and sizes k/v projections for grouped and cross attention", () => {
    expect(run("multihead_attention", [t("f32", 2, 10, 512)], { heads: 8, bias: false }).paramCount()).toBe(4 * 512 * 512);
    // multi-query: one kv head of size 64
    const mq = run("multihead_attention", [t("f32", 2, 10, 512)], { heads: 8, kv_heads: 1 });
    expect(mq.params.find((p) => p.name === "k_proj.weight")!.shape.map(String)).toEqual(["64", "512"]);
    expect(mq.paramCount()).toBe(2 * (512 * 512 + 512) + 2 * (64 * 512 + 64));
    // cross attention: kv [B, S, 256]
    const x = run("multihead_attention", [t("f32", "B", "T", 512), t("f32", "B", "S", 256)], { heads: 8 });
    expect(x.shapes()).toEqual(["f32[B, T, 512]"]);
    expect(x.params.find((p) => p.name === "v_proj.weight")!.shape.map(String)).toEqual(["512", "256"]);
    const env = { B: 2, T: 10, S: 7 };
    expect(evaluate(x.cost().macs, env)).toBe(2 * 2 * 10 * 512 * 512 + 2 * 2 * 7 * 256 * 512 + 2 * 2 * 10 * 7 * 512);
  });

  it("accepts unbatched input, masks of the score shape, and rope with an even head size", () => {
    expect(run("multihead_attention", [t("f32", "T", 64)], { heads: 4 }).shapes()).toEqual(["f32[T, 64]"]);
    run("multihead_attention", [t("f32", "B", "T", 64), undefined, t("bool", "B", 1, 1, "T")], { heads: 4, causal: true });
    const r = run("multihead_attention", [t("f32", 1, 16, 64)], { heads: 4, rope: true });
    expect(evaluate(r.cost().flops)).toBe(5 * 4 * 16 * 16 + 3 * 2 * 16 * 64);
  });

  it("reports d not divisible by heads with both numbers", () => {
    const e = expectOpError(() => run("multihead_attention", [t("f32", "B", "T", 500)], { heads: 8 }), "heads", /d=500/, /heads=8/);
    expect(e.options.hint).toMatch(/5 or 10/);
    expectOpError(() => run("multihead_attention", [t("f32", 2, 10, 512)], { heads: 8, kv_heads: 3 }), "kv_heads", /heads=8/, /kv_heads=3/);
    expectOpError(() => run("multihead_attention", [t("f32", 2, 10, 24)], { heads: 8, rope: true }), "rope", /head size/);
    expectOpError(() => run("multihead_attention", [t("f32", 2, 10, 64), t("f32", 3, 7, 64)], { heads: 8 }), 1, /batch/);
    expectOpError(
      () => run("multihead_attention", [t("f32", 2, 10, 64), undefined, t("bool", 2, 10, 10)], { heads: 8 }),
      2,
      /\[2, 8, 10, 10\]/,
    );
    const r = expectOpError(() => run("multihead_attention", [t("f32", 10, 2, 4, 64)], { heads: 8 }), 0);
    expect(r.options.code).toBe("DLM3103");
  });
});

describe("apply_rope and relative_position_bias", () => {
  it("rope keeps the shape and counts 3 flops per element", () => {
    const r = run("apply_rope", [t("f32", "B", 8, "T", 64)]);
    expect(r.shapes()).toEqual(["f32[B, 8, T, 64]"]);
    expect(evaluate(r.cost().flops, { B: 2, T: 5 })).toBe(3 * 2 * 8 * 5 * 64);
    expect(evaluate(r.cost().macs)).toBe(0);
    expectOpError(() => run("apply_rope", [t("f32", "T", 63)]), 0, /63/);
    expectOpError(() => run("apply_rope", [t("f32", "T", 64)], { base: 0 }), "base");
  });

  it("relative position bias has a [num_buckets, heads] table and a [heads, q, k] output", () => {
    const r = run("relative_position_bias", [], { q_len: "T", k_len: "T", heads: 12 });
    expect(r.shapes()).toEqual(["f32[12, T, T]"]);
    expect(r.paramNames()).toEqual(["weight"]);
    expect(r.paramCount()).toBe(32 * 12);
    expectOpError(() => run("relative_position_bias", [], { q_len: 0, k_len: 4, heads: 2 }), "q_len");
    expectOpError(() => run("relative_position_bias", [], { q_len: 4, k_len: 4, heads: 2, max_distance: 4 }), "max_distance");
  });
});
