import { describe, expect, it } from "vitest";
import { ops } from "../../../compiler/ops/linear.js";
import { type TensorType, typeToString } from "../../../compiler/ops/types.js";
import { apply, evaluate, expectOpError, t } from "./rule-harness.js";

const run = (name: string, inputs: Parameters<typeof apply>[2], attrs: Parameters<typeof apply>[3] = {}) => apply(ops, name, inputs, attrs);

describe("linear", () => {
  it("400 -> 120: 48,000 MACs per sample and 48,120 params", () => {
    const r = run("linear", [t("f32", "B", 400)], { out: 120 });
    expect(r.shapes()).toEqual(["f32[B, 120]"]);
    expect(r.paramNames()).toEqual(["weight", "bias"]);
    expect(r.params.map((p) => p.shape.map(String))).toEqual([["120", "400"], ["120"]]);
    expect(r.paramCount()).toBe(48_120);
    expect(evaluate(r.cost().macs, { B: 1 })).toBe(48_000);
    expect(evaluate(r.cost().macs, { B: 32 })).toBe(32 * 48_000);
    expect(evaluate(r.cost().flops, { B: 32 })).toBe(0);
  });

  it("maps [..., in] to [..., out] for any leading axes", () => {
    const r = run("linear", [t("f32", "B", "T", 768)], { out: 3072 });
    expect(r.shapes()).toEqual(["f32[B, T, 3072]"]);
    expect(evaluate(r.cost().macs, { B: 2, T: 128 })).toBe(2 * 128 * 768 * 3072);
    expect(run("linear", [t("f32", 10)], { out: 3 }).shapes()).toEqual(["f32[3]"]);
    expect(run("linear", [t("bf16", "N", "D")], { out: "Z", bias: false }).shapes()).toEqual(["bf16[N, Z]"]);
  });

  it("MLP 784-512-512-10: 669,706 params and 668,672 MACs per sample", () => {
    let x: TensorType = t("f32", 1, 784);
    let params = 0;
    let macs = 0;
    for (const out of [512, 512, 10]) {
      const r = run("linear", [x], { out });
      params += r.paramCount();
      macs += evaluate(r.cost().macs);
      x = r.outputs[0]!;
    }
    expect(params).toBe(669_706);
    expect(macs).toBe(668_672);
  });

  it("initialises like torch.nn.Linear, or with the named initialiser", () => {
    const [w, b] = run("linear", [t("f32", "B", 400)], { out: 120 }).params;
    expect(w!.init).toBe("kaiming_uniform");
    expect(w!.initArgs!.a).toBeCloseTo(Math.sqrt(5), 12);
    expect(b!.init).toBe("uniform");
    expect(b!.initArgs!.bound).toBeCloseTo(0.05, 12);
    expect(b!.noDecay).toBe(true);
    const x = run("linear", [t("f32", "B", 400)], {
      out: 120,
      init: "xavier_uniform",
      bias: false,
    });
    expect(x.paramNames()).toEqual(["weight"]);
    expect(x.params[0]!.init).toBe("xavier_uniform");
  });

  it("rejects bad inputs and attributes", () => {
    expectOpError(() => run("linear", [t("f32")], { out: 3 }), 0, /rank >= 1/);
    const ids = expectOpError(() => run("linear", [t("i64", "B", "T")], { out: 3 }), 0, /i64\[B, T\]/);
    expect(ids.options.code).toBe("DLM3102");
    expect(ids.options.hint).toMatch(/embedding/);
    expectOpError(() => run("linear", [t("f32", 4, 8)], { out: 0 }), "out");
    expectOpError(() => run("linear", [t("f32", 4, 8)], { out: 3, init: "glorot" }), "init", /"xavier_uniform"/);
  });
});

describe("matmul", () => {
  // a, b, result, MACs (= prod(batch) * M * K * N)
  const cases: [TensorType, TensorType, string, number][] = [
    [t("f32", 2, 3), t("f32", 3, 4), "f32[2, 4]", 2 * 3 * 4],
    [t("f32", 3), t("f32", 3), "f32[]", 3],
    [t("f32", 3), t("f32", 5, 3, 4), "f32[5, 4]", 5 * 3 * 4],
    [t("f32", 5, 2, 3), t("f32", 3), "f32[5, 2]", 5 * 2 * 3],
    [t("f32", 7, 1, 2, 3), t("f32", 5, 3, 4), "f32[7, 5, 2, 4]", 7 * 5 * 2 * 3 * 4],
    [t("f32", 6, 2, 3), t("f32", 3, 4), "f32[6, 2, 4]", 6 * 2 * 3 * 4],
    [t("f64", 1, 3), t("f64", 3, 1), "f64[1, 1]", 3],
    [t("i32", 2, 2), t("i32", 2, 2), "i32[2, 2]", 8],
  ];
  it.each(cases.map(([a, b, s, m]) => [`${typeToString(a)} @ ${typeToString(b)}`, a, b, s, m] as const))(
    "%s",
    (_label, a, b, shape, macs) => {
      const r = run("matmul", [a, b]);
      expect(r.shapes()).toEqual([shape]);
      expect(evaluate(r.cost().macs)).toBe(macs);
      expect(r.params).toEqual([]);
    },
  );

  it("handles symbolic sizes (attention scores, logits)", () => {
    const s = run("matmul", [t("f32", "B", "H", "T", "d"), t("f32", "B", "H", "d", "S")]);
    expect(s.shapes()).toEqual(["f32[B, H, T, S]"]);
    expect(evaluate(s.cost().macs, { B: 2, H: 8, T: 10, S: 12, d: 64 })).toBe(2 * 8 * 10 * 12 * 64);
    expect(run("matmul", [t("f32", "B", "T", "D"), t("f32", "D", "V")]).shapes()).toEqual(["f32[B, T, V]"]);
    expect(run("matmul", [t("f32", "N", "N"), t("f32", "N", "F")]).shapes()).toEqual(["f32[N, F]"]);
  });

  it("names both shapes and the contracted dims when K differs, with a transpose hint", () => {
    const e = expectOpError(
      () => run("matmul", [t("f32", 2, 3), t("f32", 4, 5)]),
      undefined,
      /f32\[2, 3\]/,
      /f32\[4, 5\]/,
      /last dim is 3/,
      /second-to-last dim is 4/,
    );
    expect(e.options.hint).toMatch(/second-to-last/);
    expect(expectOpError(() => run("matmul", [t("f32", 2, 3), t("f32", 4, 3)]), undefined).options.hint).toMatch(/b\.T/);
    expect(expectOpError(() => run("matmul", [t("f32", 3, 2), t("f32", 3, 4)]), undefined).options.hint).toMatch(/a\.T/);
    expectOpError(() => run("matmul", [t("f32", "B", "T", "D"), t("f32", "E", "V")]), undefined, /D/, /E/);
    expectOpError(() => run("matmul", [t("f32", 3), t("f32", 4)]), undefined, /only dim is 4/);
  });

  it("rejects unbroadcastable batches, scalars and mixed dtypes", () => {
    expectOpError(() => run("matmul", [t("f32", 2, 3, 4), t("f32", 5, 4, 6)]), undefined, /batch dims/, /f32\[2, 3, 4\]/, /f32\[5, 4, 6\]/);
    expectOpError(() => run("matmul", [t("f32"), t("f32", 3)]), 0, /rank >= 1/);
    expect(expectOpError(() => run("matmul", [t("f32", 2, 3), t("f16", 3, 4)]), undefined, /f32/, /f16/).options.code).toBe("DLM3102");
    expect(expectOpError(() => run("matmul", [t("bool", 2, 3), t("bool", 3, 4)]), 0).options.code).toBe("DLM3102");
  });
});

describe("bilinear", () => {
  it("torch nn.Bilinear(20, 30, 40): 24,040 params", () => {
    const r = run("bilinear", [t("f32", 128, 20), t("f32", 128, 30)], {
      out: 40,
    });
    expect(r.shapes()).toEqual(["f32[128, 40]"]);
    expect(r.params.map((p) => p.shape.map(String))).toEqual([["40", "20", "30"], ["40"]]);
    expect(r.paramCount()).toBe(24_040);
    expect(evaluate(r.cost().macs)).toBe(128 * 40 * 20 * 30);
    expect(r.params[0]!.initArgs!.bound).toBeCloseTo(1 / Math.sqrt(20), 12);
    expect(r.params[1]!.initArgs!.bound).toBeCloseTo(1 / Math.sqrt(20), 12);
    expect(
      run("bilinear", [t("f32", "B", "T", 4), t("f32", "B", "T", 5)], {
        out: 3,
        bias: false,
      }).paramCount(),
    ).toBe(60);
  });

  it("needs matching leading axes", () => {
    expectOpError(() => run("bilinear", [t("f32", 8, 20), t("f32", 9, 30)], { out: 4 }), undefined, /f32\[8, 20\]/, /f32\[9, 30\]/);
    expectOpError(() => run("bilinear", [t("i64", 8, 20), t("f32", 8, 30)], { out: 4 }), 0);
  });
});

describe("einsum", () => {
  // equation, inputs, result, MACs (product of all index sizes; 0 for one operand)
  const cases: [string, TensorType[], string, number][] = [
    ["bij,bjk->bik", [t("f32", 4, 2, 3), t("f32", 4, 3, 5)], "f32[4, 2, 5]", 4 * 2 * 3 * 5],
    ["bsm,bm->bs", [t("f32", 2, 7, 16), t("f32", 2, 16)], "f32[2, 7]", 2 * 7 * 16],
    ["bs,bsm->bm", [t("f32", 2, 7), t("f32", 2, 7, 16)], "f32[2, 16]", 2 * 7 * 16],
    ["i,j->ij", [t("f32", 3), t("f32", 4)], "f32[3, 4]", 12],
    ["i,i->", [t("f32", 5), t("f32", 5)], "f32[]", 5],
    ["ij,jk", [t("f32", 2, 3), t("f32", 3, 4)], "f32[2, 4]", 24],
    [" ij , jk -> ki ", [t("f32", 2, 3), t("f32", 3, 4)], "f32[4, 2]", 24],
    ["ij->ji", [t("f32", 2, 3)], "f32[3, 2]", 0],
    ["ba", [t("f32", 2, 3)], "f32[3, 2]", 0],
    ["ii->i", [t("f32", 4, 4)], "f32[4]", 0],
    ["ii", [t("f32", 4, 4)], "f32[]", 0],
    ["...ij,...jk->...ik", [t("f32", 6, 8, 2, 3), t("f32", 8, 3, 4)], "f32[6, 8, 2, 4]", 6 * 8 * 2 * 3 * 4],
    ["b...,b...->b...", [t("f32", 2, 3, 4), t("f32", 2, 1, 4)], "f32[2, 3, 4]", 2 * 3 * 4],
    ["ij,jk,kl->il", [t("f32", 2, 3), t("f32", 3, 4), t("f32", 4, 5)], "f32[2, 5]", 2 * 3 * 4 * 5],
    ["bij,bjk->bik", [t("f32", 1, 2, 3), t("f32", 4, 3, 5)], "f32[4, 2, 5]", 4 * 2 * 3 * 5],
  ];
  it.each(cases)('"%s"', (equation, inputs, shape, macs) => {
    const r = run("einsum", inputs, { equation });
    expect(r.shapes()).toEqual([shape]);
    expect(evaluate(r.cost().macs)).toBe(macs);
  });

  it("works with symbolic sizes and counts one-operand work as flops", () => {
    const r = run("einsum", [t("f32", "B", "S", "M"), t("f32", "B", "M")], {
      equation: "bsm,bm->bs",
    });
    expect(r.shapes()).toEqual(["f32[B, S]"]);
    expect(evaluate(r.cost().macs, { B: 2, S: 3, M: 4 })).toBe(24);
    expect(evaluate(run("einsum", [t("f32", 3, 4)], { equation: "ij->j" }).cost().flops)).toBe(12);
  });

  it("validates the equation and shows it in the errors", () => {
    expectOpError(() => run("einsum", [t("f32", 2, 3)], { equation: "ij,jk->ik" }), "equation", /"ij,jk->ik"/, /2 operands but 1 tensor/);
    expectOpError(
      () =>
        run("einsum", [t("f32", 2, 3), t("f32", 3, 4)], {
          equation: "ij,j1->i",
        }),
      "equation",
      /invalid character '1'/,
    );
    expectOpError(() => run("einsum", [t("f32", 2, 3), t("f32", 3)], { equation: "ij,jk->ik" }), 1, /'jk' names 2 axes/, /f32\[3\]/);
    expectOpError(
      () =>
        run("einsum", [t("f32", 2, 3), t("f32", 4, 5)], {
          equation: "ij,jk->ik",
        }),
      1,
      /"ij,jk->ik"/,
      /index 'j' is 3 in operand 1/,
      /4 in operand 2/,
    );
    expectOpError(() => run("einsum", [t("f32", 4, 5)], { equation: "ii->i" }), 0, /index 'i'/);
    expectOpError(() => run("einsum", [t("f32", 2, 3)], { equation: "ij->iz" }), "equation", /'z' does not appear/);
    expectOpError(() => run("einsum", [t("f32", 2, 3)], { equation: "ij->ii" }), "equation", /appears twice/);
    expectOpError(() => run("einsum", [t("f32", 2, 3)], { equation: "ij->i->j" }), "equation", /more than one "->"/);
    expectOpError(
      () =>
        run("einsum", [t("f32", 2, 3, 4), t("f32", 5, 4)], {
          equation: "...j,...j->...",
        }),
      1,
      /"\.\.\."/,
    );
    expect(expectOpError(() => run("einsum", [t("f32", 2), t("f64", 2)], { equation: "i,i->" }), undefined).options.code).toBe("DLM3102");
  });
});
