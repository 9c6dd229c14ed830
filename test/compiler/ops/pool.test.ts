import { describe, expect, it } from "vitest";
import { ops } from "../../../compiler/ops/pool.js";
import type { TensorType } from "../../../compiler/ops/types.js";
import { type Attrs, apply, evaluate, expectOpError, t } from "./rule-harness.js";

const run = (name: string, inputs: Parameters<typeof apply>[2], attrs: Parameters<typeof apply>[3] = {}) => apply(ops, name, inputs, attrs);

/** torch's pooling_output_shape (aten/src/ATen/native/Pool.h), transcribed literally. */
function torchPoolOut(size: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const num = size + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0);
  let out = Math.floor(num / s) + 1;
  if (ceil && (out - 1) * s >= size + p) out--;
  return out;
}

describe("max / avg pooling shapes and flops", () => {
  // name, input, attrs, output, flops (= outputs * window size)
  const cases: [string, string, TensorType, Attrs, string, number][] = [
    ["LeNet avgpool 2 on 28", "avgpool2d", t("f32", 1, 6, 28, 28), { kernel: 2 }, "f32[1, 6, 14, 14]", 6 * 14 * 14 * 4],
    ["maxpool 2 stride 2", "maxpool2d", t("f32", 1, 6, 28, 28), { kernel: 2, stride: 2 }, "f32[1, 6, 14, 14]", 6 * 14 * 14 * 4],
    ["AlexNet maxpool 3 s2 on 55", "maxpool2d", t("f32", 1, 64, 55, 55), { kernel: 3, stride: 2 }, "f32[1, 64, 27, 27]", 64 * 27 * 27 * 9],
    [
      "ResNet stem maxpool 3 s2 p1 on 112",
      "maxpool2d",
      t("f32", 1, 64, 112, 112),
      { kernel: 3, stride: 2, padding: 1 },
      "f32[1, 64, 56, 56]",
      64 * 56 * 56 * 9,
    ],
    [
      "GoogLeNet maxpool1 ceil on 112",
      "maxpool2d",
      t("f32", 1, 64, 112, 112),
      { kernel: 3, stride: 2, ceil_mode: true },
      "f32[1, 64, 56, 56]",
      64 * 56 * 56 * 9,
    ],
    [
      "GoogLeNet maxpool2 ceil on 56",
      "maxpool2d",
      t("f32", 1, 192, 56, 56),
      { kernel: 3, stride: 2, ceil_mode: true },
      "f32[1, 192, 28, 28]",
      192 * 28 * 28 * 9,
    ],
    [
      "GoogLeNet maxpool4 k2 ceil on 14",
      "maxpool2d",
      t("f32", 1, 832, 14, 14),
      { kernel: 2, stride: 2, ceil_mode: true },
      "f32[1, 832, 7, 7]",
      832 * 49 * 4,
    ],
    [
      "inception branch k3 s1 p1 ceil",
      "maxpool2d",
      t("f32", 1, 192, 28, 28),
      { kernel: 3, stride: 1, padding: 1, ceil_mode: true },
      "f32[1, 192, 28, 28]",
      192 * 28 * 28 * 9,
    ],
    [
      "ceil: last window must start inside (k1 s2 on 4)",
      "maxpool1d",
      t("f32", 1, 1, 4),
      { kernel: 1, stride: 2, ceil_mode: true },
      "f32[1, 1, 2]",
      2,
    ],
    [
      "ceil: last window must start inside (k3 s3 p1 on 5)",
      "avgpool1d",
      t("f32", 1, 1, 5),
      { kernel: 3, stride: 3, padding: 1, ceil_mode: true },
      "f32[1, 1, 2]",
      6,
    ],
    [
      "ceil: window running past the end (k3 s2 on 2)",
      "maxpool1d",
      t("f32", 1, 1, 2),
      { kernel: 3, stride: 2, ceil_mode: true },
      "f32[1, 1, 1]",
      3,
    ],
    ["dilated maxpool", "maxpool1d", t("f32", 2, 4, 20), { kernel: 3, dilation: 2, stride: 1 }, "f32[2, 4, 16]", 2 * 4 * 16 * 3],
    ["per-axis kernel [2, 3]", "maxpool2d", t("f32", 1, 1, 8, 9), { kernel: [2, 3] }, "f32[1, 1, 4, 3]", 12 * 6],
    ["avgpool3d", "avgpool3d", t("f32", 1, 2, 8, 8, 8), { kernel: 2 }, "f32[1, 2, 4, 4, 4]", 2 * 64 * 8],
    [
      "maxpool3d s[1,2,2]",
      "maxpool3d",
      t("f32", 1, 2, 4, 8, 8),
      { kernel: [1, 2, 2], stride: [1, 2, 2] },
      "f32[1, 2, 4, 4, 4]",
      2 * 64 * 4,
    ],
    ["unbatched [C, H, W]", "maxpool2d", t("f32", 3, 8, 8), { kernel: 2 }, "f32[3, 4, 4]", 3 * 16 * 4],
    ["max pool of integers", "maxpool1d", t("i32", 1, 1, 6), { kernel: 2 }, "i32[1, 1, 3]", 6],
    [
      "avgpool count_include_pad false",
      "avgpool2d",
      t("f32", 1, 1, 5, 5),
      { kernel: 3, stride: 2, padding: 1, count_include_pad: false },
      "f32[1, 1, 3, 3]",
      9 * 9,
    ],
    ["seed 002 worked example: 2x2 max pool of 4x4", "maxpool2d", t("f32", 1, 1, 4, 4), { kernel: 2 }, "f32[1, 1, 2, 2]", 16],
  ];
  it.each(cases)("%s", (_label, name, x, attrs, shape, flops) => {
    const r = run(name, [x], attrs);
    expect(r.shapes()).toEqual([shape]);
    expect(r.params).toEqual([]);
    expect(evaluate(r.cost().macs)).toBe(0);
    expect(evaluate(r.cost().flops)).toBe(flops);
  });

  it("matches torch's floor/ceil output size over a grid, constant and symbolic", () => {
    for (const k of [1, 2, 3, 4, 5])
      for (const s of [1, 2, 3, 4])
        for (let p = 0; p <= Math.floor(k / 2); p++)
          for (const d of [1, 2])
            for (const ceil of [false, true]) {
              const attrs = {
                kernel: k,
                stride: s,
                padding: p,
                dilation: d,
                ceil_mode: ceil,
              };
              const sym = run("maxpool1d", [t("f32", "B", 1, "L")], attrs).outputs[0]!.shape[2]!;
              for (let size = 1; size <= 20; size++) {
                const want = torchPoolOut(size, k, s, p, d, ceil);
                if (want > 0) {
                  expect(run("maxpool1d", [t("f32", 1, 1, size)], attrs).shapes(), `L=${size} ${JSON.stringify(attrs)}`).toEqual([
                    `f32[1, 1, ${want}]`,
                  ]);
                  expect(evaluate(sym, { L: size }), `symbolic L=${size} ${JSON.stringify(attrs)}`).toBe(want);
                } else expectOpError(() => run("maxpool1d", [t("f32", 1, 1, size)], attrs), undefined, /too small/);
              }
            }
  });

  it("gives symbolic outputs for symbolic sizes", () => {
    const r = run("maxpool2d", [t("f32", "B", 64, "H", "W")], {
      kernel: 3,
      stride: 2,
      padding: 1,
    });
    const [, , h, w] = r.outputs[0]!.shape;
    expect(h!.isConstant).toBe(false);
    expect(evaluate(h!, { H: 112 })).toBe(56);
    expect(evaluate(w!, { W: 7 })).toBe(4);
    expect(run("avgpool2d", [t("f32", "B", "C", "H", "W")], { kernel: 1 }).shapes()).toEqual(["f32[B, C, H, W]"]);
    expect(evaluate(r.cost().flops, { B: 2, H: 112, W: 112 })).toBe(2 * 64 * 56 * 56 * 9);
  });
});

describe("pool errors", () => {
  it("says which input size was too small and the minimum", () => {
    expectOpError(() => run("maxpool2d", [t("f32", 1, 1, 2, 8)], { kernel: 3 }), undefined, /too small/, /H=2/, /at least 3/);
    expectOpError(() => run("avgpool1d", [t("f32", 1, 1, 2)], { kernel: 5, padding: 1 }), undefined, /L=2/, /at least 3/);
  });

  it("checks padding <= kernel/2, attrs, ranks and dtypes", () => {
    expectOpError(() => run("maxpool2d", [t("f32", 1, 1, 8, 8)], { kernel: 2, padding: 2 }), "padding", /half/);
    expectOpError(
      () =>
        run("avgpool2d", [t("f32", 1, 1, 8, 8)], {
          kernel: 3,
          padding: [1, 2],
        }),
      "padding",
      /axis W/,
    );
    expectOpError(() => run("maxpool2d", [t("f32", 1, 1, 8, 8)], { kernel: [2, 2, 2] }), "kernel", /needs 2 values/);
    expectOpError(() => run("maxpool2d", [t("f32", 1, 1, 8, 8)], { kernel: 2, stride: 0 }), "stride");
    expectOpError(() => run("maxpool1d", [t("f32", 1, 1, 8)], { kernel: 2, dilation: 0 }), "dilation");
    expectOpError(() => run("maxpool2d", [t("f32", 8, 8)], { kernel: 2 }), 0, /\[B, C, H, W\]/);
    expect(expectOpError(() => run("avgpool2d", [t("i64", 1, 1, 8, 8)], { kernel: 2 }), 0).options.code).toBe("DLM3102");
    expect(expectOpError(() => run("maxpool2d", [t("bool", 1, 1, 8, 8)], { kernel: 2 }), 0).options.code).toBe("DLM3102");
  });
});

describe("adaptive, global and LP pooling", () => {
  it("adaptive pools produce the requested size; flops are the exact window totals", () => {
    const a = run("adaptive_avgpool2d", [t("f32", "B", 256, 6, 6)], {
      size: 6,
    });
    expect(a.shapes()).toEqual(["f32[B, 256, 6, 6]"]);
    expect(evaluate(a.cost().flops, { B: 1 })).toBe(256 * 36);
    // 13 → 6: windows [0,3) [2,5) [4,7) [6,9) [8,11) [10,13), 3 each → 18 per axis
    const b = run("adaptive_avgpool2d", [t("f32", 1, 256, 13, 13)], {
      size: 6,
    });
    expect(b.shapes()).toEqual(["f32[1, 256, 6, 6]"]);
    expect(evaluate(b.cost().flops)).toBe(256 * 18 * 18);
    expect(
      run("adaptive_avgpool2d", [t("f32", "B", 512, "H", "W")], {
        size: [7, 7],
      }).shapes(),
    ).toEqual(["f32[B, 512, 7, 7]"]);
    expect(run("adaptive_maxpool1d", [t("f32", 4, 100)], { size: 10 }).shapes()).toEqual(["f32[4, 10]"]);
    expect(
      run("adaptive_maxpool2d", [t("f32", 2, 3, 10, 7)], {
        size: [5, 1],
      }).shapes(),
    ).toEqual(["f32[2, 3, 5, 1]"]);
    expect(
      run("adaptive_avgpool3d", [t("f32", 1, 3, 4, 8, 8)], {
        size: [1, 2, 2],
      }).shapes(),
    ).toEqual(["f32[1, 3, 1, 2, 2]"]);
    expectOpError(() => run("adaptive_avgpool2d", [t("f32", 1, 3, 8, 8)], { size: [2, 2, 2] }), "size", /needs 2 values/);
    expectOpError(() => run("adaptive_avgpool2d", [t("f32", 1, 3, 8, 8)], { size: 0 }), "size");
  });

  it("global pools reduce every spatial axis", () => {
    const r = run("global_avgpool", [t("f32", "B", 512, 7, 7)]);
    expect(r.shapes()).toEqual(["f32[B, 512]"]);
    expect(evaluate(r.cost().flops, { B: 2 })).toBe(2 * 512 * 49);
    expect(
      run("global_avgpool", [t("f32", "B", 512, 7, 7)], {
        keepdim: true,
      }).shapes(),
    ).toEqual(["f32[B, 512, 1, 1]"]);
    expect(run("global_maxpool", [t("f32", "B", 64, "T")]).shapes()).toEqual(["f32[B, 64]"]);
    expect(
      run("global_maxpool", [t("f32", 2, 8, 4, 4, 4)], {
        keepdim: true,
      }).shapes(),
    ).toEqual(["f32[2, 8, 1, 1, 1]"]);
    expectOpError(() => run("global_avgpool", [t("f32", "B", 512)]), 0, /rank >= 3/);
    expect(expectOpError(() => run("global_avgpool", [t("i32", 2, 3, 4)]), 0).options.code).toBe("DLM3102");
  });

  it("lppool2d: stride defaults to the kernel, p must be positive", () => {
    const r = run("lppool2d", [t("f32", 1, 3, 8, 8)], { p: 2, kernel: 2 });
    expect(r.shapes()).toEqual(["f32[1, 3, 4, 4]"]);
    expect(evaluate(r.cost().flops)).toBe(3 * 16 * (2 * 4 + 1));
    expect(
      run("lppool2d", [t("f32", 1, 3, 8, 8)], {
        p: 1.5,
        kernel: 3,
        stride: 1,
      }).shapes(),
    ).toEqual(["f32[1, 3, 6, 6]"]);
    expectOpError(() => run("lppool2d", [t("f32", 1, 3, 8, 8)], { p: 0, kernel: 2 }), "p");
    expectOpError(() => run("lppool2d", [t("f32", 1, 3, 1, 8)], { p: 2, kernel: 2 }), undefined, /H=1/, /at least 2/);
  });
});
