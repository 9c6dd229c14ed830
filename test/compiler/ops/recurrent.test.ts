import { describe, expect, it } from "vitest";
import { ops } from "../../../compiler/ops/recurrent.js";
import { apply, evaluate, expectOpError, t } from "./rule-harness.js";

const run = (name: string, inputs: Parameters<typeof apply>[2], attrs: Parameters<typeof apply>[3] = {}) => apply(ops, name, inputs, attrs);

describe("rnn / lstm / gru layers", () => {
  it("nn.RNN(10, 20, num_layers=2) has 1,480 params with torch's names", () => {
    const r = run("rnn", [t("f32", "B", "T", 10)], { hidden: 20, layers: 2 });
    expect(r.shapes()).toEqual(["f32[B, T, 20]", "f32[2, B, 20]"]);
    expect(r.paramCount()).toBe(1480);
    expect(r.paramNames()).toEqual([
      "weight_ih_l0",
      "weight_hh_l0",
      "bias_ih_l0",
      "bias_hh_l0",
      "weight_ih_l1",
      "weight_hh_l1",
      "bias_ih_l1",
      "bias_hh_l1",
    ]);
    expect(r.params[4]!.shape.map(String)).toEqual(["20", "20"]);
    const c = r.cost();
    // B*T*gates*hidden*(in_k + hidden) summed over layers
    expect(evaluate(c.macs, { B: 3, T: 7 })).toBe(3 * 7 * 20 * (10 + 20) + 3 * 7 * 20 * (20 + 20));
    expect(evaluate(c.flops, { B: 3, T: 7 })).toBe(3 * 7 * 2 * 20 * 5);
  });

  it("LSTM(10, 20) = 2,560 params, GRU(10, 20) = 1,920", () => {
    const l = run("lstm", [t("f32", "B", "T", 10)], { hidden: 20 });
    expect(l.shapes()).toEqual(["f32[B, T, 20]", "f32[1, B, 20]", "f32[1, B, 20]"]);
    expect(l.paramCount()).toBe(2560);
    expect(l.params[0]!.shape.map(String)).toEqual(["80", "10"]);
    expect(evaluate(l.cost().macs, { B: 1, T: 1 })).toBe(4 * 20 * (10 + 20));
    const g = run("gru", [t("f32", "B", "T", 10)], { hidden: 20 });
    expect(g.shapes()).toEqual(["f32[B, T, 20]", "f32[1, B, 20]"]);
    expect(g.paramCount()).toBe(1920);
    expect(evaluate(g.cost().macs, { B: 2, T: 5 })).toBe(2 * 5 * 3 * 20 * 30);
    expect(evaluate(g.cost().flops, { B: 2, T: 5 })).toBe(2 * 5 * 20 * 20);
  });

  it("bidirectional stacks name reverse weights and feed dirs*hidden to layer 1", () => {
    const r = run("lstm", [t("f32", "B", "T", 10)], { hidden: 20, layers: 2, bidirectional: true });
    expect(r.shapes()).toEqual(["f32[B, T, 40]", "f32[4, B, 20]", "f32[4, B, 20]"]);
    const names = r.paramNames();
    expect(names.slice(0, 8)).toEqual([
      "weight_ih_l0",
      "weight_hh_l0",
      "bias_ih_l0",
      "bias_hh_l0",
      "weight_ih_l0_reverse",
      "weight_hh_l0_reverse",
      "bias_ih_l0_reverse",
      "bias_hh_l0_reverse",
    ]);
    expect(r.params[names.indexOf("weight_ih_l1_reverse")]!.shape.map(String)).toEqual(["80", "40"]);
    // torch: sum(p.numel()) for nn.LSTM(10, 20, 2, bidirectional=True)
    expect(r.paramCount()).toBe(2 * (80 * 10 + 80 * 20 + 160) + 2 * (80 * 40 + 80 * 20 + 160));
    const env = { B: 2, T: 3 };
    expect(evaluate(r.cost().macs, env)).toBe(2 * 3 * 2 * 4 * 20 * (10 + 20) + 2 * 3 * 2 * 4 * 20 * (40 + 20));
  });

  it("projected LSTM (proj_size) and options", () => {
    const r = run("lstm", [t("f32", "B", "T", 10)], { hidden: 20, proj: 5 });
    expect(r.shapes()).toEqual(["f32[B, T, 5]", "f32[1, B, 5]", "f32[1, B, 20]"]);
    expect(r.paramNames()).toEqual(["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0"]);
    expect(r.paramCount()).toBe(80 * 10 + 80 * 5 + 160 + 5 * 20);
    expect(run("gru", [t("f32", "B", "T", 10)], { hidden: 20, bias: false }).paramCount()).toBe(3 * 20 * 30);
    expect(evaluate(run("rnn", [t("f32", 1, 1, 10)], { hidden: 20, nonlinearity: "relu" }).cost().flops)).toBe(40);
    expect(run("gru", [t("f32", "T", 10)], { hidden: 20 }).shapes()).toEqual(["f32[T, 20]", "f32[1, 20]"]);
    expect(run("rnn", [t("f32", "B", "T", "D")], { hidden: "H" }).shapes()).toEqual(["f32[B, T, H]", "f32[1, B, H]"]);
  });

  it("checks initial states and attributes", () => {
    run("lstm", [t("f32", "B", "T", 10), t("f32", 2, "B", 20), t("f32", 2, "B", 20)], { hidden: 20, layers: 2 });
    expectOpError(() => run("gru", [t("f32", "B", "T", 10), t("f32", "B", 20)], { hidden: 20 }), 1, /\[1, B, 20\]/, /f32\[B, 20\]/);
    expectOpError(() => run("lstm", [t("f32", "B", "T", 10), undefined, t("f32", 1, "B", 21)], { hidden: 20 }), 2, /c0/);
    expectOpError(() => run("rnn", [t("f32", 10)], { hidden: 20 }), 0, /rank 3 or 2/);
    expect(expectOpError(() => run("rnn", [t("f32", 2, "B", "T", 10)], { hidden: 20 }), 0).options.code).toBe("DLM3103");
    expectOpError(() => run("rnn", [t("f32", "B", "T", 10)], { hidden: 20, nonlinearity: "sigmoid" }), "nonlinearity", /"tanh", "relu"/);
    expectOpError(() => run("rnn", [t("f32", "B", "T", 10)], { hidden: 0 }), "hidden");
    expectOpError(() => run("lstm", [t("f32", "B", "T", 10)], { hidden: 20, layers: 0 }), "layers");
    expectOpError(() => run("lstm", [t("f32", "B", "T", 10)], { hidden: 20, proj: 20 }), "proj");
    const ids = expectOpError(() => run("lstm", [t("i64", "B", "T")], { hidden: 20 }), 0, /i64\[B, T\]/);
    expect(ids.options.code).toBe("DLM3102");
    expect(ids.options.hint).toMatch(/embedding/);
  });
});

describe("cells", () => {
  it("rnn_cell / lstm_cell / gru_cell shapes, params and MACs", () => {
    const r = run("rnn_cell", [t("f32", "B", 10)], { hidden: 20 });
    expect(r.shapes()).toEqual(["f32[B, 20]"]);
    expect(r.paramNames()).toEqual(["weight_ih", "weight_hh", "bias_ih", "bias_hh"]);
    expect(r.paramCount()).toBe(20 * 30 + 40);
    const l = run("lstm_cell", [t("f32", "B", 10), t("f32", "B", 20), t("f32", "B", 20)], { hidden: 20 });
    expect(l.shapes()).toEqual(["f32[B, 20]", "f32[B, 20]"]);
    expect(l.paramCount()).toBe(2560);
    expect(evaluate(l.cost().macs, { B: 4 })).toBe(4 * 4 * 20 * 30);
    expect(evaluate(l.cost().flops, { B: 4 })).toBe(4 * 20 * 28);
    const g = run("gru_cell", [t("f32", 10)], { hidden: 20 });
    expect(g.shapes()).toEqual(["f32[20]"]);
    expect(g.paramCount()).toBe(1920);
    expect(evaluate(g.cost().macs)).toBe(3 * 20 * 30);
    expectOpError(() => run("gru_cell", [t("f32", "B", 10), t("f32", "B", 21)], { hidden: 20 }), 1, /\[B, 20\]/);
    expectOpError(() => run("lstm_cell", [t("f32", "B", "T", 10)], { hidden: 20 }), 0);
  });
});
