import { describe, expect, it } from "vitest";
import { ops } from "../../../compiler/ops/activation.js";
import { apply, evaluate, expectOpError, t } from "./rule-harness.js";

const run = (name: string, inputs: Parameters<typeof apply>[2], attrs: Parameters<typeof apply>[3] = {}) => apply(ops, name, inputs, attrs);

// Forward flops per element, as the catalogue and the op docs state them (relu 1, sigmoid 4,
// gelu 8, softmax 5; the others ~1 per elementwise step).
const FLOPS_PER_ELEM: Record<string, number> = {
  relu: 1,
  relu6: 2,
  leaky_relu: 2,
  elu: 4,
  selu: 5,
  celu: 5,
  gelu: 8,
  silu: 5,
  swish: 5,
  mish: 8,
  sigmoid: 4,
  hard_sigmoid: 4,
  tanh: 4,
  hard_tanh: 2,
  softplus: 5,
  softsign: 3,
  hard_swish: 5,
  log_sigmoid: 4,
  step: 1,
  sign: 1,
  identity: 0,
  prelu: 2,
  softmax: 5,
  log_softmax: 5,
  softmin: 6,
};

describe("shape-preserving activations", () => {
  const names = Object.keys(FLOPS_PER_ELEM);

  it("the family is exactly the catalogue's list", () => {
    expect(ops.map((o) => o.name).sort()).toEqual([...names, "maxout"].sort());
    for (const op of ops) {
      expect(op.category, op.name).toBe("activation");
      expect(op.doc.length, op.name).toBeGreaterThan(0);
      expect(op.doc, op.name).not.toMatch(/\n/);
      expect(op.stochastic ?? false, op.name).toBe(false);
      expect(op.modeDependent ?? false, op.name).toBe(false);
    }
  });

  it("keep shape and dtype, including symbolic dims", () => {
    for (const name of names) {
      expect(run(name, [t("f32", "B", "T", 16)]).shapes(), name).toEqual(["f32[B, T, 16]"]);
      expect(run(name, [t("f16", "B", 3, 8, 8)]).shapes(), name).toEqual(["f16[B, 3, 8, 8]"]);
    }
  });

  it("reject integer and bool input with DLM3102", () => {
    for (const name of names)
      for (const dtype of ["i64", "bool"] as const) {
        const e = expectOpError(() => run(name, [t(dtype, "B", 4)]), 0, new RegExp(`${dtype}\\[B, 4\\]`));
        expect(e.options.code, name).toBe("DLM3102");
        expect(e.options.hint, name).toMatch(/cast/);
      }
  });

  it("count flops only, per element", () => {
    const n = 2 * 3 * 16;
    for (const name of names) {
      const c = run(name, [t("f32", "B", "T", 16)]).cost();
      expect(evaluate(c.macs, { B: 2, T: 3 }), name).toBe(0);
      expect(evaluate(c.flops, { B: 2, T: 3 }), name).toBe(FLOPS_PER_ELEM[name]! * n);
    }
  });

  it("only prelu and maxout have parameters", () => {
    for (const name of names.filter((n) => n !== "prelu")) expect(run(name, [t("f32", 4, 5)]).params, name).toEqual([]);
  });
});

describe("activation attributes", () => {
  it("accept valid settings", () => {
    run("leaky_relu", [t("f32", 3)], { alpha: 0.2 });
    run("elu", [t("f32", 3)], { alpha: 0.5 });
    run("celu", [t("f32", 3)], { alpha: 2 });
    run("gelu", [t("f32", 3)], { approximate: "tanh" });
    run("hard_tanh", [t("f32", 3)], { min: 0, max: 6 });
    run("softplus", [t("f32", 3)], { beta: 2 });
  });

  it("reject bad settings and point at the attribute", () => {
    expectOpError(() => run("gelu", [t("f32", 3)], { approximate: "erf" }), "approximate", /"none", "tanh"/, /"erf"/);
    expectOpError(() => run("hard_tanh", [t("f32", 3)], { min: 1, max: -1 }), "max", /min=1/, /max=-1/);
    expectOpError(() => run("hard_tanh", [t("f32", 3)], { min: 2, max: 2 }), "max");
    expectOpError(() => run("softplus", [t("f32", 3)], { beta: 0 }), "beta", /positive/);
    expectOpError(() => run("celu", [t("f32", 3)], { alpha: 0 }), "alpha");
    expectOpError(() => run("leaky_relu", [t("f32", 3)], { alpha: "big" }), "alpha");
  });
});

describe("softmax, log_softmax, softmin", () => {
  it("normalise along any valid axis", () => {
    expect(run("softmax", [t("f32", "B", "H", "T", "T")]).shapes()).toEqual(["f32[B, H, T, T]"]);
    expect(run("log_softmax", [t("f32", "B", 10)], { axis: 0 }).shapes()).toEqual(["f32[B, 10]"]);
    expect(run("softmin", [t("f32", "B", 10)], { axis: -2 }).shapes()).toEqual(["f32[B, 10]"]);
  });

  it("reject an out-of-range axis, a scalar and a non-positive temperature", () => {
    expectOpError(() => run("softmax", [t("f32", "B", 10)], { axis: 2 }), "axis", /rank 2/);
    expectOpError(() => run("softmin", [t("f32", "B", 10)], { axis: -3 }), "axis");
    expect(expectOpError(() => run("softmax", [t("f32")]), 0, /scalar/).options.code).toBe("DLM3103");
    expectOpError(() => run("softmax", [t("f32", 4)], { temperature: 0 }), "temperature", /positive/);
    expectOpError(() => run("log_softmax", [t("f32", 4)], { temperature: -1 }), "temperature");
  });

  it("a temperature other than 1 costs one more flop per element", () => {
    const x = t("f32", "B", 100);
    expect(evaluate(run("softmax", [x], { temperature: 2 }).cost().flops, { B: 3 })).toBe(6 * 300);
    expect(
      evaluate(run("log_softmax", [x], { temperature: 0.5 }).cost().flops, {
        B: 3,
      }),
    ).toBe(6 * 300);
    expect(evaluate(run("softmax", [x], { temperature: 1 }).cost().flops, { B: 3 })).toBe(5 * 300);
  });
});

describe("prelu", () => {
  it("defaults to one shared slope initialised to 0.25", () => {
    const r = run("prelu", [t("f32", "B", 64, 8, 8)]);
    expect(r.shapes()).toEqual(["f32[B, 64, 8, 8]"]);
    expect(r.paramNames()).toEqual(["weight"]);
    expect(r.params[0]!.shape.map(String)).toEqual(["1"]);
    expect(r.params[0]!.init).toBe("constant");
    expect(r.params[0]!.initArgs).toEqual({ value: 0.25 });
    expect(r.params[0]!.noDecay).toBe(true);
    expect(r.paramCount()).toBe(1);
  });

  it("takes one slope per channel (axis 1), also symbolic", () => {
    expect(
      run("prelu", [t("f32", "B", 64, 8, 8)], {
        num_parameters: 64,
      }).paramCount(),
    ).toBe(64);
    const sym = run("prelu", [t("f32", "B", "C", "H", "W")], {
      num_parameters: "C",
    });
    expect(sym.params[0]!.shape.map(String)).toEqual(["C"]);
    expect(sym.paramCount({ C: 32 })).toBe(32);
    expect(run("prelu", [t("f32", "B", 10)], { num_parameters: 10 }).paramCount()).toBe(10);
  });

  it("rejects a slope count that is not the channel count", () => {
    const e = expectOpError(
      () => run("prelu", [t("f32", "B", 64, 8, 8)], { num_parameters: 8 }),
      "num_parameters",
      /num_parameters=8/,
      /f32\[B, 64, 8, 8\]/,
    );
    expect(e.options.hint).toMatch(/num_parameters: 64/);
    expectOpError(() => run("prelu", [t("f32", 10)], { num_parameters: 10 }), "num_parameters", /rank 1/);
    expectOpError(() => run("prelu", [t("f32", "B", 10)], { num_parameters: 0 }), "num_parameters");
  });
});

describe("maxout", () => {
  it("is a linear to out·pieces features followed by a max over the pieces", () => {
    // seed 002 Example 2.6 / examples/maxout_mlp.dlm: 784 → 240 with 2 pieces
    const r = run("maxout", [t("f32", "B", 784)], { out: 240 });
    expect(r.shapes()).toEqual(["f32[B, 240]"]);
    expect(r.paramNames()).toEqual(["weight", "bias"]);
    expect(r.params[0]!.shape.map(String)).toEqual(["480", "784"]);
    expect(r.params[1]!.shape.map(String)).toEqual(["480"]);
    expect(r.params[0]!.init).toBe("kaiming_uniform");
    expect(r.params[0]!.initArgs).toEqual({ a: Math.sqrt(5) });
    expect(r.params[1]!.init).toBe("uniform");
    expect(r.params[1]!.initArgs).toEqual({ bound: 1 / 28 });
    expect(r.params[1]!.noDecay).toBe(true);
    expect(r.paramCount()).toBe(376_800);
    expect(run("maxout", [t("f32", "B", 240)], { out: 240, pieces: 2 }).paramCount()).toBe(115_680);
    const c = r.cost();
    expect(evaluate(c.macs, { B: 128 })).toBe(48_168_960); // 128 · 784 · 480
    expect(evaluate(c.flops, { B: 128 })).toBe(30_720); // 128 · 240 comparisons
  });

  it("maps the last axis of any leading shape", () => {
    const r = run("maxout", [t("f16", "B", "T", 10)], { out: 4, pieces: 3 });
    expect(r.shapes()).toEqual(["f16[B, T, 4]"]);
    expect(r.params[0]!.shape.map(String)).toEqual(["12", "10"]);
    expect(evaluate(r.cost().macs, { B: 2, T: 5 })).toBe(2 * 5 * 10 * 12);
    expect(evaluate(r.cost().flops, { B: 2, T: 5 })).toBe(2 * 5 * 4 * 2);
    const sym = run("maxout", [t("f32", "B", "D")], { out: "H", pieces: 2 });
    expect(sym.shapes()).toEqual(["f32[B, H]"]);
    expect(sym.paramCount({ D: 3, H: 5 })).toBe(10 * 3 + 10);
  });

  it("rejects scalars, integer input and non-positive sizes", () => {
    expect(expectOpError(() => run("maxout", [t("f32")], { out: 4 }), 0).options.code).toBe("DLM3103");
    expect(expectOpError(() => run("maxout", [t("i64", "B", 8)], { out: 4 }), 0).options.code).toBe("DLM3102");
    expectOpError(() => run("maxout", [t("f32", "B", 8)], { out: 0 }), "out");
    expectOpError(() => run("maxout", [t("f32", "B", 8)], { out: 4, pieces: 0 }), "pieces");
  });
});
