import { describe, expect, it } from "vitest";
import { ops } from "../../../compiler/ops/norm.js";
import { apply, evaluate, expectOpError, find, t } from "./rule-harness.js";

const run = (name: string, inputs: Parameters<typeof apply>[2], attrs: Parameters<typeof apply>[3] = {}) => apply(ops, name, inputs, attrs);

/** name:shape:init:flags for every parameter, for compact comparisons */
const paramTable = (r: ReturnType<typeof run>) =>
  r.params.map((p) => `${p.name}:[${p.shape.map(String).join(", ")}]:${p.init}${p.buffer ? ":buffer" : ""}${p.noDecay ? ":nodecay" : ""}`);

describe("norm family", () => {
  it("defines the catalogue's ops, each with a doc and category norm", () => {
    expect(ops.map((o) => o.name)).toEqual([
      "batchnorm",
      "layernorm",
      "rmsnorm",
      "instancenorm",
      "groupnorm",
      "local_response_norm",
      "l2_normalize",
    ]);
    for (const o of ops) {
      expect(o.category).toBe("norm");
      expect(o.doc.length).toBeGreaterThan(10);
    }
  });

  it("keeps x's shape and dtype", () => {
    const cases: [string, ReturnType<typeof t>, Record<string, number>][] = [
      ["batchnorm", t("f16", "B", 64, 56, 56), {}],
      ["layernorm", t("bf16", "B", "T", 768), {}],
      ["rmsnorm", t("f32", "B", "T", 4096), {}],
      ["instancenorm", t("f32", "B", 3, 32, 32), {}],
      ["groupnorm", t("f32", "B", 64, 16, 16), { groups: 32 }],
      ["local_response_norm", t("f32", "B", 96, 55, 55), { size: 5 }],
      ["l2_normalize", t("f64", "B", 128), {}],
    ];
    for (const [name, x, attrs] of cases) {
      const r = run(name, [x], attrs);
      expect(r.outputs).toEqual([x]);
    }
  });

  it("rejects integer input for every norm with DLM3102", () => {
    for (const o of ops) {
      const e = expectOpError(
        () =>
          run(o.name, [t("i64", 2, 8, 4, 4)], o.name === "groupnorm" ? { groups: 2 } : o.name === "local_response_norm" ? { size: 3 } : {}),
        0,
        /i64\[2, 8, 4, 4\]/,
      );
      expect(e.options.code).toBe("DLM3102");
    }
  });
});

describe("batchnorm", () => {
  it("has weight/bias (ones/zeros, no decay) and running-stat buffers of [C]", () => {
    const r = run("batchnorm", [t("f32", "B", 64, 56, 56)]);
    expect(paramTable(r)).toEqual([
      "weight:[64]:ones:nodecay",
      "bias:[64]:zeros:nodecay",
      "running_mean:[64]:zeros:buffer",
      "running_var:[64]:ones:buffer",
    ]);
    expect(find(ops, "batchnorm").modeDependent).toBe(true);
    // 2 * 64 * 56 * 56 elements, 4 flops each
    const c = r.cost();
    expect(evaluate(c.flops, { B: 2 })).toBe(1_605_632);
    expect(evaluate(c.macs, { B: 2 })).toBe(0);
  });

  it("accepts ranks 2..5 and rejects others with DLM3103", () => {
    for (const x of [t("f32", "B", 10), t("f32", "B", 10, 7), t("f32", "B", 3, 8, 8), t("f32", "B", 3, 4, 8, 8)])
      expect(run("batchnorm", [x]).params[0]!.shape.map(String)).toEqual([String(x.shape[1])]);
    expect(expectOpError(() => run("batchnorm", [t("f32", 10)]), 0, /rank 1/).options.code).toBe("DLM3103");
    expectOpError(() => run("batchnorm", [t("f32", 1, 2, 3, 4, 5, 6)]), 0, /rank 6/);
  });

  it("drops parameters or buffers when affine / track_running_stats are off", () => {
    const x = t("f32", "B", 16, 8, 8);
    expect(run("batchnorm", [x], { affine: false }).paramNames()).toEqual(["running_mean", "running_var"]);
    expect(run("batchnorm", [x], { track_running_stats: false }).paramNames()).toEqual(["weight", "bias"]);
    expect(run("batchnorm", [x], { affine: false, track_running_stats: false }).params).toEqual([]);
  });

  it("checks eps and momentum", () => {
    const x = t("f32", "B", 16);
    run("batchnorm", [x], { momentum: null });
    expectOpError(() => run("batchnorm", [x], { momentum: 1.5 }), "momentum", /momentum/);
    expectOpError(() => run("batchnorm", [x], { eps: -1e-5 }), "eps", /eps/);
  });
});

describe("layernorm and rmsnorm", () => {
  it("layernorm learns weight and bias of the last dim (BERT: 2 * 768 params, 8 flops/element)", () => {
    const r = run("layernorm", [t("f32", "B", "T", 768)], { eps: 1e-12 });
    expect(paramTable(r)).toEqual(["weight:[768]:ones:nodecay", "bias:[768]:zeros:nodecay"]);
    expect(r.paramCount()).toBe(1536);
    expect(evaluate(r.cost().flops, { B: 2, T: 5 })).toBe(2 * 5 * 768 * 8);
    expect(find(ops, "layernorm").modeDependent).toBeFalsy();
  });

  it("layernorm over several trailing dims, without bias, without affine", () => {
    expect(run("layernorm", [t("f32", "B", 4, 8)], { dims: 2 }).params.map((p) => p.shape.map(String))).toEqual([
      ["4", "8"],
      ["4", "8"],
    ]);
    expect(run("layernorm", [t("f32", "B", 32)], { bias: false }).paramNames()).toEqual(["weight"]);
    expect(run("layernorm", [t("f32", "B", 32)], { affine: false }).params).toEqual([]);
  });

  it("layernorm rejects dims larger than the rank, or below 1", () => {
    const e = expectOpError(() => run("layernorm", [t("f32", 4, 8)], { dims: 3 }), 0, /last 3 dims/, /f32\[4, 8\]/);
    expect(e.options.hint).toMatch(/at most 2/);
    expectOpError(() => run("layernorm", [t("f32", 4, 8)], { dims: 0 }), "dims");
  });

  it("rmsnorm has a scale weight only, eps 1e-6 by default, 4 flops/element", () => {
    const r = run("rmsnorm", [t("f32", "B", "T", 4096)]);
    expect(paramTable(r)).toEqual(["weight:[4096]:ones:nodecay"]);
    expect(find(ops, "rmsnorm").attrs.find((a) => a.name === "eps")!.default).toBe(1e-6);
    expect(evaluate(r.cost().flops, { B: 1, T: 3 })).toBe(3 * 4096 * 4);
    expect(run("rmsnorm", [t("f32", "B", 4096)], { affine: false }).params).toEqual([]);
  });
});

describe("instancenorm, groupnorm, local_response_norm, l2_normalize", () => {
  it("instancenorm has no parameters by default; affine and tracking add them", () => {
    const x = t("f32", "B", 3, 32, 32);
    expect(run("instancenorm", [x]).params).toEqual([]);
    expect(paramTable(run("instancenorm", [x], { affine: true, track_running_stats: true }))).toEqual([
      "weight:[3]:ones:nodecay",
      "bias:[3]:zeros:nodecay",
      "running_mean:[3]:zeros:buffer",
      "running_var:[3]:ones:buffer",
    ]);
    expectOpError(() => run("instancenorm", [t("f32", "B", 3)]), 0, /rank 2/);
  });

  it("groupnorm: weight/bias [C]; C must divide into the groups (hint names divisors)", () => {
    const r = run("groupnorm", [t("f32", "B", 64, 16, 16)], { groups: 32 });
    expect(paramTable(r)).toEqual(["weight:[64]:ones:nodecay", "bias:[64]:zeros:nodecay"]);
    expect(evaluate(r.cost().flops, { B: 2 })).toBe(2 * 64 * 16 * 16 * 8);
    const e = expectOpError(() => run("groupnorm", [t("f32", "B", 64, 8, 8)], { groups: 5 }), "groups", /64 channels/, /5 equal groups/);
    expect(e.options.hint).toContain("4 or 8");
    expect(
      run("groupnorm", [t("f32", "B", "C", 8)], {
        groups: 4,
      }).params[0]!.shape.map(String),
    ).toEqual(["C"]);
    expect(run("groupnorm", [t("f32", "B", 6)], { groups: 3, affine: false }).params).toEqual([]);
    expectOpError(() => run("groupnorm", [t("f32", "B", 6)], { groups: 0 }), "groups");
  });

  it("local_response_norm: no params, size + 4 flops per element, rank >= 3", () => {
    const r = run("local_response_norm", [t("f32", "B", 96, 55, 55)], {
      size: 5,
    });
    expect(r.params).toEqual([]);
    expect(evaluate(r.cost().flops, { B: 1 })).toBe(96 * 55 * 55 * 9);
    expectOpError(() => run("local_response_norm", [t("f32", "B", 96)], { size: 5 }), 0);
    expectOpError(() => run("local_response_norm", [t("f32", "B", 96, 8)], { size: 0 }), "size");
  });

  it("l2_normalize: any axis in range, 3 flops per element", () => {
    const r = run("l2_normalize", [t("f32", "B", 128)]);
    expect(r.params).toEqual([]);
    expect(evaluate(r.cost().flops, { B: 4 })).toBe(4 * 128 * 3);
    expect(run("l2_normalize", [t("f32", "B", 128)], { axis: 0 }).shapes()).toEqual(["f32[B, 128]"]);
    expectOpError(() => run("l2_normalize", [t("f32", "B", 128)], { axis: 2 }), "axis", /rank 2/);
  });
});
