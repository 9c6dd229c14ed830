import { describe, expect, it } from "vitest";
import { ops } from "../../../compiler/ops/elementwise.js";
import type { DType } from "../../../compiler/ops/types.js";
import { apply, evaluate, expectOpError, t } from "./rule-harness.js";

const run = (name: string, inputs: Parameters<typeof apply>[2], attrs: Parameters<typeof apply>[3] = {}) => apply(ops, name, inputs, attrs);

// [name, dtypes it accepts, flops per element]
const UNARY: [string, "float" | "numeric" | "bool" | "any", number][] = [
  ["exp", "float", 1],
  ["log", "float", 1],
  ["log1p", "float", 1],
  ["sqrt", "float", 1],
  ["rsqrt", "float", 1],
  ["abs", "numeric", 1],
  ["neg", "numeric", 1],
  ["square", "numeric", 1],
  ["sin", "float", 1],
  ["cos", "float", 1],
  ["reciprocal", "float", 1],
  ["erf", "float", 1],
  ["floor", "numeric", 1],
  ["ceil", "numeric", 1],
  ["round", "numeric", 1],
  ["stop_gradient", "any", 0],
  ["logical_not", "bool", 1],
];
const ARITH = ["add", "sub", "mul", "div", "pow", "maximum", "minimum"];
const COMPARE = ["eq", "ne", "lt", "le", "gt", "ge"];
const LOGICAL = ["logical_and", "logical_or"];

function accepts(cls: string, d: DType): boolean {
  if (cls === "any") return true;
  if (cls === "bool") return d === "bool";
  if (cls === "numeric") return d !== "bool";
  return d === "f16" || d === "bf16" || d === "f32" || d === "f64";
}

describe("the elementwise family", () => {
  it("has exactly the catalogue's ops, all elementwise with a one-line doc", () => {
    const expected = [...UNARY.map((u) => u[0]), "cast", "clamp", ...ARITH, ...COMPARE, ...LOGICAL, "where"];
    expect(ops.map((o) => o.name).sort()).toEqual(expected.sort());
    for (const op of ops) {
      expect(op.category, op.name).toBe("elementwise");
      expect(op.doc, op.name).toMatch(/^[^\n]+$/);
    }
  });
});

describe("unary ops", () => {
  it("keep the shape and dtype of every dtype they accept, and reject the others with DLM3102", () => {
    const dtypes: DType[] = ["f32", "f16", "bf16", "i64", "i32", "bool"];
    for (const [name, cls] of UNARY)
      for (const d of dtypes) {
        if (accepts(cls, d)) expect(run(name, [t(d, "B", "T", 3)]).shapes(), `${name} ${d}`).toEqual([`${d}[B, T, 3]`]);
        else {
          const e = expectOpError(() => run(name, [t(d, "B", "T", 3)]), 0, new RegExp(`${d}\\[B, T, 3\\]`));
          expect(e.options.code, `${name} ${d}`).toBe("DLM3102");
          expect(e.options.hint, `${name} ${d}`).toBeTruthy();
        }
      }
  });

  it("count flops per element", () => {
    for (const [name, cls, per] of UNARY) {
      const d: DType = cls === "bool" ? "bool" : "f32";
      const c = run(name, [t(d, "B", 7)]).cost();
      expect(evaluate(c.flops, { B: 3 }), name).toBe(per * 21);
      expect(evaluate(c.macs, { B: 3 }), name).toBe(0);
    }
  });

  it("scalars stay scalars", () => {
    expect(run("neg", [t("f32")]).shapes()).toEqual(["f32[]"]);
    expect(run("neg", [t("i64")]).shapes()).toEqual(["i64[]"]);
  });
});

describe("cast and clamp", () => {
  it("cast changes only the dtype; the conversion costs 1 per element unless it is a no-op", () => {
    const r = run("cast", [t("bool", "B", "T")], { dtype: "f32" });
    expect(r.shapes()).toEqual(["f32[B, T]"]);
    expect(evaluate(r.cost().flops, { B: 2, T: 5 })).toBe(10);
    expect(run("cast", [t("f32", 4)], { dtype: "i64" }).shapes()).toEqual(["i64[4]"]);
    expect(evaluate(run("cast", [t("f32", 4)], { dtype: "f32" }).cost().flops)).toBe(0);
    expectOpError(() => run("cast", [t("f32", 4)], { dtype: "float" }), "dtype", /"float"/);
    expectOpError(() => run("cast", [t("f32", 4)]), "dtype");
  });

  it("clamp needs a bound and costs one comparison per bound", () => {
    expect(run("clamp", [t("f32", "B", 3)], { min: 0 }).shapes()).toEqual(["f32[B, 3]"]);
    expect(run("clamp", [t("i64", 3)], { min: 0, max: 5 }).shapes()).toEqual(["i64[3]"]);
    expect(
      evaluate(run("clamp", [t("f32", "B", 3)], { max: 1 }).cost().flops, {
        B: 4,
      }),
    ).toBe(12);
    expect(evaluate(run("clamp", [t("f32", "B", 3)], { min: -1, max: 1 }).cost().flops, { B: 4 })).toBe(24);
    expectOpError(() => run("clamp", [t("f32", 3)]), undefined, /at least one/);
    expect(expectOpError(() => run("clamp", [t("bool", 3)], { min: 0 }), 0).options.code).toBe("DLM3102");
    expectOpError(() => run("clamp", [t("f32", 3)], { min: "zero" }), "min");
  });
});

describe("binary ops", () => {
  const ALL = [...ARITH, ...COMPARE, ...LOGICAL];

  it("take two inputs a, b that both accept plain numbers", () => {
    for (const name of ALL) {
      const op = ops.find((o) => o.name === name)!;
      expect(
        op.inputs.map((i) => i.name),
        name,
      ).toEqual(["a", "b"]);
      expect(
        op.inputs.every((i) => i.acceptsScalar),
        name,
      ).toBe(true);
    }
  });

  it("broadcast as NumPy does, with symbolic dims", () => {
    const cases: [(string | number)[], (string | number)[], string][] = [
      [["B", 1, "T"], ["T", "T"], "[B, T, T]"],
      [["B", "T", "d"], ["T", "d"], "[B, T, d]"],
      [[], ["B", 3], "[B, 3]"],
      [["B", 3], [], "[B, 3]"],
      [[3, 1], [1, 4], "[3, 4]"],
      [["S", "S"], ["B", 1, 1, "S"], "[B, 1, S, S]"],
      [[5], [5], "[5]"],
    ];
    for (const [sa, sb, out] of cases) {
      for (const name of ARITH) expect(run(name, [t("f32", ...sa), t("f32", ...sb)]).shapes(), name).toEqual([`f32${out}`]);
      for (const name of COMPARE) expect(run(name, [t("f32", ...sa), t("f32", ...sb)]).shapes(), name).toEqual([`bool${out}`]);
      for (const name of LOGICAL) expect(run(name, [t("bool", ...sa), t("bool", ...sb)]).shapes(), name).toEqual([`bool${out}`]);
    }
  });

  // a mismatch between the operands underlines the whole expression (test/corpus/shape_broadcast.dlm)
  it("report both shapes and the clashing dim when they cannot broadcast (DLM3111)", () => {
    for (const name of ALL) {
      const d: DType = LOGICAL.includes(name) ? "bool" : "f32";
      const e = expectOpError(
        () => run(name, [t(d, "B", 3), t(d, "B", 4)]),
        undefined,
        new RegExp(`a ${d}\\[B, 3\\]`),
        new RegExp(`b ${d}\\[B, 4\\]`),
        /dimension -1 is 3 vs 4/,
      );
      expect(e.options.code, name).toBe("DLM3111");
      expect(e.options.hint, name).toMatch(/from the right/);
    }
    expectOpError(() => run("add", [t("f32", "B", "T"), t("f32", "T", "B")]), undefined, /dimension -1 is T vs B/);
    expect(run("mul", [t("f32", 2, 1, 5), t("f32", 3, 1)]).shapes()).toEqual(["f32[2, 3, 5]"]);
    expectOpError(() => run("mul", [t("f32", 2, 4, 5), t("f32", 3, 5)]), undefined, /dimension -2 is 4 vs 3/);
  });

  it("need equal dtypes (DLM3102), naming both operands", () => {
    for (const name of [...ARITH, ...COMPARE]) {
      const e = expectOpError(() => run(name, [t("f32", "B", 3), t("f16", "B", 3)]), undefined, /a is f32\[B, 3\]/, /b is f16\[B, 3\]/);
      expect(e.options.code, name).toBe("DLM3102");
      expect(e.options.hint, name).toMatch(/cast/);
      expect(expectOpError(() => run(name, [t("i64", 3), t("i32", 3)]), undefined).options.code, name).toBe("DLM3102");
    }
  });

  it("arithmetic keeps integer dtypes, except true division which gives f32", () => {
    expect(run("add", [t("i64", 3), t("i64", 3)]).shapes()).toEqual(["i64[3]"]);
    expect(run("pow", [t("i32", 3), t("i32", 1)]).shapes()).toEqual(["i32[3]"]);
    expect(run("div", [t("i64", "B"), t("i64", "B")]).shapes()).toEqual(["f32[B]"]);
    expect(run("div", [t("f16", "B"), t("f16", "B")]).shapes()).toEqual(["f16[B]"]);
    expect(run("eq", [t("bool", 2), t("bool", 2)]).shapes()).toEqual(["bool[2]"]);
    expect(run("lt", [t("i64", 2), t("i64")]).shapes()).toEqual(["bool[2]"]);
  });

  it("arithmetic rejects bools and logic rejects non-bools", () => {
    for (const name of ARITH) {
      const e = expectOpError(() => run(name, [t("bool", 3), t("bool", 3)]), 0, /bool\[3\]/);
      expect(e.options.code, name).toBe("DLM3102");
      expect(e.options.hint, name).toMatch(/logical_/);
    }
    for (const name of LOGICAL) {
      const e = expectOpError(() => run(name, [t("bool", 3), t("f32", 3)]), 1, /f32\[3\]/);
      expect(e.options.code, name).toBe("DLM3102");
      expect(e.options.hint, name).toMatch(/x > 0|cast\(x, bool\)/);
    }
  });

  it("cost one flop per element of the broadcast result", () => {
    for (const name of [...ARITH, ...COMPARE]) {
      const c = run(name, [t("f32", "B", 1, "T"), t("f32", "T", "T")]).cost();
      expect(evaluate(c.flops, { B: 2, T: 5 }), name).toBe(2 * 5 * 5);
      expect(evaluate(c.macs, { B: 2, T: 5 }), name).toBe(0);
    }
  });
});

describe("where", () => {
  it("selects with a bool condition; all three broadcast", () => {
    // examples/masks.dlm: where(keep, scores, -1e9) with keep, scores [1, 5] and a scalar
    expect(run("where", [t("bool", 1, 5), t("f32", 1, 5), t("f32")]).shapes()).toEqual(["f32[1, 5]"]);
    const r = run("where", [t("bool", "B", 1, 1, "S"), t("f32", "B", "H", "S", "S"), t("f32")]);
    expect(r.shapes()).toEqual(["f32[B, H, S, S]"]);
    expect(evaluate(r.cost().flops, { B: 2, H: 3, S: 4 })).toBe(2 * 3 * 4 * 4);
    expect(run("where", [t("bool", "T", "T"), t("i64", "T", 1), t("i64", 1, "T")]).shapes()).toEqual(["i64[T, T]"]);
    const op = ops.find((o) => o.name === "where")!;
    expect(op.inputs.map((i) => [i.name, i.acceptsScalar ?? false])).toEqual([
      ["cond", false],
      ["a", true],
      ["b", true],
    ]);
  });

  it("rejects a non-bool condition, mixed value dtypes and shapes that do not broadcast", () => {
    const c = expectOpError(() => run("where", [t("f32", 3), t("f32", 3), t("f32", 3)]), 0, /f32\[3\]/);
    expect(c.options.code).toBe("DLM3102");
    expect(c.options.hint).toMatch(/x > 0/);
    const d = expectOpError(() => run("where", [t("bool", 3), t("f32", 3), t("i64", 3)]), undefined, /f32\[3\]/, /i64\[3\]/);
    expect(d.options.code).toBe("DLM3102");
    expectOpError(() => run("where", [t("bool", 3), t("f32", 3), t("f32", 4)]), undefined, /b f32\[4\]/);
    expect(
      expectOpError(
        () => run("where", [t("bool", 2, 4), t("f32", 3), t("f32", 3)]),
        undefined,
        /condition bool\[2, 4\]/,
        /values f32\[3\]/,
        /dimension -1 is 4 vs 3/,
      ).options.code,
    ).toBe("DLM3111");
  });
});
