import { describe, expect, it } from "vitest";
import { ops } from "../../../compiler/ops/loss.js";
import { apply, evaluate, expectOpError, t } from "./rule-harness.js";

const run = (name: string, inputs: Parameters<typeof apply>[2], attrs: Parameters<typeof apply>[3] = {}) => apply(ops, name, inputs, attrs);

describe("reductions", () => {
  it("every loss gives an f32 scalar for mean/sum and the per-element loss for none", () => {
    const cases: [string, Parameters<typeof apply>[2], string][] = [
      ["cross_entropy", [t("f32", "B", "T", 100), t("i64", "B", "T")], "f32[B, T]"],
      ["nll_loss", [t("f32", "B", 10), t("i64", "B")], "f32[B]"],
      ["mse_loss", [t("f32", "B", 3), t("f32", "B", 3)], "f32[B, 3]"],
      ["l1_loss", [t("f16", "B", 3), t("f16", "B", 3)], "f16[B, 3]"],
      ["smooth_l1_loss", [t("f32", "B", 3), t("f32", "B", 3)], "f32[B, 3]"],
      ["huber_loss", [t("f32", "B", 3), t("f32", "B", 3)], "f32[B, 3]"],
      ["bce_loss", [t("f32", "B", 1), t("f32", "B", 1)], "f32[B, 1]"],
      ["bce_with_logits", [t("f32", "B", 5), t("f32", "B", 5)], "f32[B, 5]"],
      ["kl_div", [t("f32", "B", 5), t("f32", "B", 5)], "f32[B, 5]"],
      ["kl_normal", [t("f32", "B", 32), t("f32", "B", 32)], "f32[B]"],
      ["hinge_loss", [t("f32", "B"), t("i64", "B")], "f32[B]"],
      ["triplet_margin_loss", [t("f32", "B", 64), t("f32", "B", 64), t("f32", "B", 64)], "f32[B]"],
      ["contrastive_loss", [t("f32", "B", 64), t("f32", "B", 64), t("f32", "B")], "f32[B]"],
      ["cosine_embedding_loss", [t("f32", "B", 64), t("f32", "B", 64), t("i64", "B")], "f32[B]"],
      ["gaussian_nll", [t("f32", "B", 4), t("f32", "B", 1), t("f32", "B", 4)], "f32[B, 4]"],
    ];
    for (const [name, inputs, none] of cases) {
      expect(run(name, inputs).shapes(), name).toEqual(["f32[]"]);
      expect(run(name, inputs, { reduction: "sum" }).shapes(), name).toEqual(["f32[]"]);
      expect(run(name, inputs, { reduction: "none" }).shapes(), name).toEqual([none]);
      expectOpError(() => run(name, inputs, { reduction: "avg" }), "reduction", /"mean", "sum", "none"/);
    }
    expect(run("kl_div", [t("f32", "B", 5), t("f32", "B", 5)], { reduction: "batchmean" }).shapes()).toEqual(["f32[]"]);
  });

  it("counts flops only, plus one accumulate per element when reducing", () => {
    const mse = run("mse_loss", [t("f32", "B", 10), t("f32", "B", 10)]);
    expect(evaluate(mse.cost().macs, { B: 4 })).toBe(0);
    expect(evaluate(mse.cost().flops, { B: 4 })).toBe(40 * 2 + 40);
    const none = run("mse_loss", [t("f32", "B", 10), t("f32", "B", 10)], { reduction: "none" });
    expect(evaluate(none.cost().flops, { B: 4 })).toBe(80);
    const ce = run("cross_entropy", [t("f32", "B", 10), t("i64", "B")]);
    expect(evaluate(ce.cost().flops, { B: 4 })).toBe(5 * 40 + 4 + 4);
  });
});

describe("cross_entropy and nll_loss", () => {
  it("accepts class ids of the leading shape or probabilities of the logits' shape", () => {
    run("cross_entropy", [t("f32", 10), t("i64")]);
    run("cross_entropy", [t("f32", "B", 10), t("f32", "B", 10)], { label_smoothing: 0.1 });
    run("cross_entropy", [t("f32", "B", 3), t("i64", "B")], { weight: [1, 2, 0.5], ignore_index: 0 });
  });

  it("shows both shapes and says the class axis is last", () => {
    const e = expectOpError(
      () => run("cross_entropy", [t("f32", "B", 10, "T"), t("i64", "B", "T")]),
      1,
      /i64\[B, T\]/,
      /f32\[B, 10, T\]/,
      /\[B, 10\]/,
    );
    expect(e.options.hint).toMatch(/class axis is last/);
    const oneHot = expectOpError(() => run("cross_entropy", [t("f32", "B", 10), t("i64", "B", 10)]), 1);
    expect(oneHot.options.hint).toMatch(/one-hot/);
    expectOpError(() => run("cross_entropy", [t("f32", "B", 10), t("f32", "B", 9)]), 1, /f32\[B, 9\]/, /f32\[B, 10\]/);
    expect(expectOpError(() => run("cross_entropy", [t("f32", "B", 10), t("bool", "B")]), 1).options.code).toBe("DLM3102");
    expect(expectOpError(() => run("cross_entropy", [t("i64", "B", 10), t("i64", "B")]), 0).options.code).toBe("DLM3102");
    expectOpError(() => run("cross_entropy", [t("f32", "B", 3), t("i64", "B")], { weight: [1, 2] }), "weight", /2 entries/, /3 classes/);
    expectOpError(() => run("cross_entropy", [t("f32", "B", 3), t("i64", "B")], { label_smoothing: 1.5 }), "label_smoothing");
    expect(expectOpError(() => run("nll_loss", [t("f32", "B", 3), t("f32", "B", 3)]), 1).options.code).toBe("DLM3102");
    expectOpError(() => run("nll_loss", [t("f32", "B", 3), t("i64", 7)]), 1, /i64\[7\]/);
  });
});

describe("pairwise and feature losses", () => {
  it("broadcast where torch allows and report both shapes otherwise", () => {
    expect(run("mse_loss", [t("f32", "B", 3), t("f32", 3)], { reduction: "none" }).shapes()).toEqual(["f32[B, 3]"]);
    expectOpError(() => run("mse_loss", [t("f32", "B", 3), t("f32", "B", 4)]), 1, /f32\[B, 3\]/, /f32\[B, 4\]/);
    expect(expectOpError(() => run("mse_loss", [t("f32", 3), t("f16", 3)]), undefined).options.code).toBe("DLM3102");
    expectOpError(() => run("bce_loss", [t("f32", 3), t("i64", 3)]), 1);
    expectOpError(() => run("bce_with_logits", [t("f32", "B", 5), t("f32", "B", 5)], { pos_weight: [1, 2] }), "pos_weight");
    run("bce_with_logits", [t("f32", "B", 5), t("f32", "B", 5)], { pos_weight: 3 });
    expectOpError(() => run("huber_loss", [t("f32", 3), t("f32", 3)], { delta: 0 }), "delta");
    expectOpError(() => run("hinge_loss", [t("f32", 3), t("bool", 3)]), 1);
    expectOpError(() => run("triplet_margin_loss", [t("f32", "B", 64), t("f32", "B", 64), t("f32", "B", 32)]), 2, /f32\[B, 32\]/);
    expectOpError(() => run("contrastive_loss", [t("f32", "B", 64), t("f32", "B", 64), t("f32", "B", 1)]), 2, /labels/);
    expectOpError(() => run("cosine_embedding_loss", [t("f32", 2, 4), t("f32", 2, 4), t("i64", 2)], { margin: 2 }), "margin");
    expectOpError(() => run("kl_normal", [t("f32", "B", 32), t("f32", "B", 16)]), 1);
    expectOpError(() => run("gaussian_nll", [t("f32", "B", 4), t("f32", "B", 3), t("f32", "B", 4)]), 1, /var/);
  });

  it("feature losses count per-feature and per-row flops", () => {
    const tr = run("triplet_margin_loss", [t("f32", "B", 64), t("f32", "B", 64), t("f32", "B", 64)], { reduction: "none" });
    expect(evaluate(tr.cost().flops, { B: 2 })).toBe(6 * 128 + 5 * 2);
    const kl = run("kl_normal", [t("f32", "B", 32), t("f32", "B", 32)]);
    expect(evaluate(kl.cost().flops, { B: 2 })).toBe(6 * 64 + 2);
  });

  it("cosine_similarity reduces the axis and keeps the dtype", () => {
    const r = run("cosine_similarity", [t("f16", "B", "T", 64), t("f16", "B", "T", 64)]);
    expect(r.shapes()).toEqual(["f16[B, T]"]);
    expect(run("cosine_similarity", [t("f32", "B", 64), t("f32", 64)], { axis: 0 }).shapes()).toEqual(["f32[64]"]);
    expect(evaluate(r.cost().flops, { B: 1, T: 2 })).toBe(6 * 128 + 3 * 2);
    expectOpError(() => run("cosine_similarity", [t("f32", 64), t("f32", 64)], { axis: 1 }), "axis");
  });
});
