import { describe, expect, it } from "vitest";
import { ops } from "../../../compiler/ops/random.js";
import { apply, evaluate, expectOpError, find, t } from "./rule-harness.js";

const run = (name: string, inputs: Parameters<typeof apply>[2], attrs: Parameters<typeof apply>[3] = {}) => apply(ops, name, inputs, attrs);

describe("random ops", () => {
  it("are all stochastic; dropout and noise are mode-dependent", () => {
    for (const op of ops) expect(op.stochastic, op.name).toBe(true);
    for (const name of ["dropout", "dropout2d", "alpha_dropout", "gaussian_noise"]) expect(find(ops, name).modeDependent, name).toBe(true);
    for (const name of ["randn_like", "rand_like", "randn", "rand", "reparameterize", "gumbel_softmax"])
      expect(find(ops, name).modeDependent, name).toBeFalsy();
  });

  it("dropout keeps the shape and checks p in [0, 1)", () => {
    const r = run("dropout", [t("f32", "B", "T", 512)]);
    expect(r.shapes()).toEqual(["f32[B, T, 512]"]);
    expect(evaluate(r.cost().flops, { B: 1, T: 2 })).toBe(2 * 1024);
    run("dropout", [t("f32", 4)], { p: 0 });
    const e = expectOpError(() => run("dropout", [t("f32", 4)], { p: 1 }), "p", /\[0, 1\)/);
    expect(e.options.hint).toMatch(/DROPPING/);
    expect(expectOpError(() => run("dropout", [t("f32", 4)], { p: 30 }), "p").options.hint).toMatch(/0\.3/);
    expectOpError(() => run("dropout", [t("f32", 4)], { p: -0.1 }), "p");
    expectOpError(() => run("dropout", [t("i64", 4)]), 0);
    expect(run("alpha_dropout", [t("f32", "B", 4)], { p: 0.1 }).shapes()).toEqual(["f32[B, 4]"]);
  });

  it("dropout2d needs [B, C, H, W] or [C, H, W]", () => {
    const r = run("dropout2d", [t("f32", "B", 16, 8, 8)]);
    expect(r.shapes()).toEqual(["f32[B, 16, 8, 8]"]);
    expect(evaluate(r.cost().flops, { B: 2 })).toBe(2 * 16 * 64 + 2 * 16);
    expect(expectOpError(() => run("dropout2d", [t("f32", "B", 16)]), 0).options.code).toBe("DLM3103");
  });

  it("noise and random tensors", () => {
    expect(run("gaussian_noise", [t("f32", "B", 4)], { std: 0.1 }).shapes()).toEqual(["f32[B, 4]"]);
    expectOpError(() => run("gaussian_noise", [t("f32", "B", 4)], { std: -1 }), "std");
    expect(run("randn_like", [t("bf16", "B", 4)]).shapes()).toEqual(["bf16[B, 4]"]);
    expect(run("rand_like", [t("f32", 3)]).shapes()).toEqual(["f32[3]"]);
    expect(run("randn", [], { shape: ["B", 16] }).shapes()).toEqual(["f32[B, 16]"]);
    expect(run("rand", [], { shape: 5, dtype: "f16" }).shapes()).toEqual(["f16[5]"]);
    expect(expectOpError(() => run("randn", [], { shape: [2], dtype: "i64" }), "dtype").options.code).toBe("DLM3102");
    expectOpError(() => run("randn", [], { shape: [2, -1] }), "shape");
  });

  it("reparameterize and gumbel_softmax", () => {
    expect(run("reparameterize", [t("f32", "B", 32), t("f32", "B", 32)]).shapes()).toEqual(["f32[B, 32]"]);
    expectOpError(() => run("reparameterize", [t("f32", "B", 32), t("f32", "B", 16)]), 1, /f32\[B, 32\]/, /f32\[B, 16\]/);
    const g = run("gumbel_softmax", [t("f32", "B", 10)], { tau: 0.5, hard: true });
    expect(g.shapes()).toEqual(["f32[B, 10]"]);
    expect(evaluate(g.cost().flops, { B: 2 })).toBe(9 * 20);
    expectOpError(() => run("gumbel_softmax", [t("f32", "B", 10)], { tau: 0 }), "tau");
    expectOpError(() => run("gumbel_softmax", [t("f32", "B", 10)], { axis: 2 }), "axis");
  });
});
