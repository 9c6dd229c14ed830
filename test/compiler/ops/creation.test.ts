import { describe, expect, it } from "vitest";
import { Dim } from "../../../compiler/dim.js";
import { ops } from "../../../compiler/ops/creation.js";
import { apply, evaluate, expectOpError, t } from "./rule-harness.js";

const run = (name: string, inputs: Parameters<typeof apply>[2], attrs: Parameters<typeof apply>[3] = {}) => apply(ops, name, inputs, attrs);

/** Integers reach `any` attributes as Dims, as the elaborator passes them. */
const ints = (...xs: number[]) => xs.map((x) => Dim.const(x));

describe("the creation family", () => {
  it("has exactly the catalogue's ops, none with params, all free", () => {
    expect(ops.map((o) => o.name).sort()).toEqual(
      [
        "zeros",
        "ones",
        "full",
        "zeros_like",
        "ones_like",
        "full_like",
        "arange",
        "eye",
        "causal_mask",
        "sinusoidal_positions",
        "constant",
      ].sort(),
    );
    const valid: [string, Parameters<typeof apply>[2], Parameters<typeof apply>[3]][] = [
      ["zeros", [], { shape: ["B", 4] }],
      ["ones", [], { shape: ["B", 4] }],
      ["full", [], { shape: ["B", 4], value: 0.5 }],
      ["zeros_like", [t("f32", "B", 4)], {}],
      ["ones_like", [t("f32", "B", 4)], {}],
      ["full_like", [t("f32", "B", 4)], { value: 2 }],
      ["arange", [], { n: "T" }],
      ["eye", [], { n: "N" }],
      ["causal_mask", [], { T: "T" }],
      ["sinusoidal_positions", [], { T: "T", d: 8 }],
      ["constant", [], { value: [1.5, 2.5] }],
    ];
    for (const [name, inputs, attrs] of valid) {
      const r = run(name, inputs, attrs);
      expect(r.op.category, name).toBe("creation");
      expect(r.op.doc, name).toMatch(/^[^\n]+$/);
      expect(r.params, name).toEqual([]);
      const c = r.cost();
      expect(evaluate(c.flops, { B: 3, T: 5, N: 2 }), name).toBe(0);
      expect(evaluate(c.macs, { B: 3, T: 5, N: 2 }), name).toBe(0);
    }
  });
});

describe("zeros, ones, full", () => {
  it("make f32 tensors of a possibly symbolic shape", () => {
    // std/vision.dlm: ones([B, 1, 1, 1]) for the stochastic-depth mask
    expect(run("ones", [], { shape: ["B", 1, 1, 1] }).shapes()).toEqual(["f32[B, 1, 1, 1]"]);
    expect(run("zeros", [], { shape: ["B", "T", 768] }).shapes()).toEqual(["f32[B, T, 768]"]);
    expect(run("zeros", [], { shape: [] }).shapes()).toEqual(["f32[]"]);
    expect(run("zeros", [], { shape: 5 }).shapes()).toEqual(["f32[5]"]);
    // examples/prompt_tuning.dlm: ones([B, prompt_len], dtype: bool)
    expect(run("ones", [], { shape: ["B", 20], dtype: "bool" }).shapes()).toEqual(["bool[B, 20]"]);
    expect(run("full", [], { shape: [2, "T"], value: 7, dtype: "i64" }).shapes()).toEqual(["i64[2, T]"]);
    expect(
      run("full", [], {
        shape: [2],
        value: Dim.const(3),
        dtype: "i32",
      }).shapes(),
    ).toEqual(["i32[2]"]);
    expect(run("full", [], { shape: [2], value: true, dtype: "bool" }).shapes()).toEqual(["bool[2]"]);
  });

  it("take their shape the way the elaborator gives it for a scan state", () => {
    // the elaborator builds zeros/ones with attrs { shape: Dim[], dtype }
    const op = ops.find((o) => o.name === "zeros")!;
    const r = op.infer({
      inputs: [],
      attrs: { shape: [Dim.sym("B"), Dim.const(16)], dtype: "f16" },
    });
    expect(r.outputs.map((o) => `${o.dtype}[${o.shape.join(", ")}]`)).toEqual(["f16[B, 16]"]);
  });

  it("reject bad dtypes, negative sizes and unusable values", () => {
    const e = expectOpError(() => run("zeros", [], { shape: [2], dtype: "float32" }), "dtype", /"float32"/);
    expect(e.options.hint).toMatch(/f32/);
    expectOpError(() => run("ones", [], { shape: [2, -1] }), "shape", /negative/);
    const zeros = ops.find((o) => o.name === "zeros")!;
    expectOpError(
      () =>
        zeros.infer({
          inputs: [],
          attrs: { shape: ["a", Dim.const(2)], dtype: "f32" },
        }),
      "shape",
      /"a"/,
    );
    expectOpError(() => run("full", [], { shape: [2], value: 0.5, dtype: "i64" }), "value", /0\.5/, /i64/);
    expectOpError(() => run("full", [], { shape: [2], value: "one" }), "value", /"one"/);
    expectOpError(() => run("full", [], { shape: [2], value: Dim.sym("T") }), "value", /symbolic/);
  });
});

describe("zeros_like, ones_like, full_like", () => {
  it("copy x's shape and dtype", () => {
    for (const name of ["zeros_like", "ones_like"]) {
      expect(run(name, [t("f32", "B", 1)]).shapes(), name).toEqual(["f32[B, 1]"]);
      expect(run(name, [t("i64", "B", "T")]).shapes(), name).toEqual(["i64[B, T]"]);
      expect(run(name, [t("bool")]).shapes(), name).toEqual(["bool[]"]);
    }
    expect(run("full_like", [t("f16", "B", 3)], { value: -1e9 }).shapes()).toEqual(["f16[B, 3]"]);
    expectOpError(() => run("full_like", [t("i32", 3)], { value: 0.25 }), "value", /i32/);
    expectOpError(() => run("full_like", [t("f32", 3)]), "value");
  });
});

describe("arange, eye, causal_mask, sinusoidal_positions", () => {
  it("arange(T) gives the positions [T] as i64 (bert/gpt-2 position ids)", () => {
    expect(run("arange", [], { n: "T" }).shapes()).toEqual(["i64[T]"]);
    expect(run("arange", [], { n: 10, start: 2 }).shapes()).toEqual(["i64[8]"]);
    expect(run("arange", [], { n: 4, start: 4 }).shapes()).toEqual(["i64[0]"]);
    const sym = run("arange", [], { n: "T", start: 1 });
    expect(evaluate(sym.outputs[0]!.shape[0]!, { T: 7 })).toBe(6);
    expect(run("arange", [], { n: 5, dtype: "f32" }).shapes()).toEqual(["f32[5]"]);
    expectOpError(() => run("arange", [], { n: 3, start: 5 }), "start", /start=5/, /n=3/);
    expect(expectOpError(() => run("arange", [], { n: 3, dtype: "bool" }), "dtype").options.code).toBe("DLM3102");
    const arange = ops.find((o) => o.name === "arange")!;
    expectOpError(
      () =>
        arange.infer({
          inputs: [],
          attrs: { n: 2.5, start: Dim.const(0), dtype: "i64" },
        }),
      "n",
      /2\.5/,
    );
  });

  it("eye(N) is an [N, N] identity", () => {
    expect(run("eye", [], { n: "N" }).shapes()).toEqual(["f32[N, N]"]);
    expect(run("eye", [], { n: 3, dtype: "bool" }).shapes()).toEqual(["bool[3, 3]"]);
    expectOpError(() => run("eye", [], { n: -2 }), "n", /negative/);
  });

  it("causal_mask(T) is bool [T, T]", () => {
    expect(run("causal_mask", [], { T: "S" }).shapes()).toEqual(["bool[S, S]"]);
    expect(run("causal_mask", [], { T: 64 }).shapes()).toEqual(["bool[64, 64]"]);
    expectOpError(() => run("causal_mask", [], { T: -1 }), "T");
  });

  it("sinusoidal_positions(T, d) is f32 [T, d] with d even", () => {
    expect(run("sinusoidal_positions", [], { T: "T", d: 512 }).shapes()).toEqual(["f32[T, 512]"]);
    expect(run("sinusoidal_positions", [], { T: 50, d: "D" }).shapes()).toEqual(["f32[50, D]"]);
    const e = expectOpError(() => run("sinusoidal_positions", [], { T: "T", d: 511 }), "d", /d=511/);
    expect(e.options.hint).toMatch(/512/);
  });
});

describe("constant", () => {
  it("takes its shape from the nesting (examples/masks.dlm)", () => {
    expect(run("constant", [], { value: [[3.0, 5.0, -1.0, 4.0, 3.0]] }).shapes()).toEqual(["f32[1, 5]"]);
    expect(
      run("constant", [], {
        value: [ints(1, 1, 1, 0, 0)],
        dtype: "bool",
      }).shapes(),
    ).toEqual(["bool[1, 5]"]);
    expect(
      run("constant", [], {
        value: [ints(1, 2), ints(3, 4), ints(5, 6)],
        dtype: "i64",
      }).shapes(),
    ).toEqual(["i64[3, 2]"]);
    expect(run("constant", [], { value: 0.5 }).shapes()).toEqual(["f32[]"]);
    expect(run("constant", [], { value: Dim.const(2) }).shapes()).toEqual(["f32[]"]);
    expect(run("constant", [], { value: [] }).shapes()).toEqual(["f32[0]"]);
    expect(
      run("constant", [], {
        value: [[[true], [false]]],
        dtype: "bool",
      }).shapes(),
    ).toEqual(["bool[1, 2, 1]"]);
  });

  it("rejects ragged lists, non-numbers and fractions for integer dtypes", () => {
    const e = expectOpError(() => run("constant", [], { value: [[1.0, 2.0], [3.0]] }), "value", /ragged/, /value\[1\]/, /\[2\]/, /\[1\]/);
    expect(e.options.hint).toMatch(/same length/);
    expectOpError(() => run("constant", [], { value: [1.0, [2.0]] }), "value", /ragged/);
    expectOpError(() => run("constant", [], { value: [[1.0, "x"]] }), "value", /value\[0\]\[1\]/, /"x"/);
    expectOpError(() => run("constant", [], { value: [0.5, 1.5], dtype: "i32" }), "value", /value\[0\]/, /i32/);
    expectOpError(() => run("constant", [], { value: [Dim.sym("T")] }), "value", /symbolic/);
    expectOpError(() => run("constant", [], {}), "value");
  });
});
