import { describe, expect, it } from "vitest";
import { ops as convOps } from "../../../compiler/ops/conv.js";
import { ops as linearOps } from "../../../compiler/ops/linear.js";
import { ops as poolOps } from "../../../compiler/ops/pool.js";
import type { TensorType } from "../../../compiler/ops/types.js";
import { type Applied, type Attrs, apply, evaluate, expectOpError, t } from "./rule-harness.js";

const run = (name: string, inputs: Parameters<typeof apply>[2], attrs: Parameters<typeof apply>[3] = {}) =>
  apply(convOps, name, inputs, attrs);

/** PyTorch's documented Conv output size, written out independently of the code under test. */
const convOut = (s: number, k: number, st = 1, p = 0, d = 1) => Math.floor((s + 2 * p - d * (k - 1) - 1) / st) + 1;
const convTOut = (s: number, k: number, st = 1, p = 0, op = 0, d = 1) => (s - 1) * st - 2 * p + d * (k - 1) + op + 1;

describe("conv shapes, params and MACs (constant sizes)", () => {
  // name, input, attrs, output, params, MACs (each computed by hand from the torch formulas)
  const cases: [string, string, TensorType, Attrs, string, number, number][] = [
    ["LeNet conv 3->6 k5 on 32x32", "conv2d", t("f32", 1, 3, 32, 32), { out: 6, kernel: 5 }, "f32[1, 6, 28, 28]", 6 * 3 * 25 + 6, 352_800],
    [
      "AlexNet conv1 3->64 k11 s4 p2 on 224",
      "conv2d",
      t("f32", 1, 3, 224, 224),
      { out: 64, kernel: 11, stride: 4, padding: 2 },
      "f32[1, 64, 55, 55]",
      23_296,
      70_276_800,
    ],
    [
      "ResNet stem 3->64 k7 s2 p3, no bias",
      "conv2d",
      t("f32", 1, 3, 224, 224),
      { out: 64, kernel: 7, stride: 2, padding: 3, bias: false },
      "f32[1, 64, 112, 112]",
      64 * 3 * 7 * 7,
      64 * 112 * 112 * 3 * 49,
    ],
    [
      "depthwise 7x7 on 3 channels (groups 3)",
      "conv2d",
      t("f32", 1, 3, 32, 32),
      { out: 3, kernel: 7, padding: 3, groups: 3, bias: false },
      "f32[1, 3, 32, 32]",
      147,
      3 * 32 * 32 * 49,
    ],
    [
      "MobileNet depthwise 3x3 s2 on 32@112",
      "conv2d",
      t("f32", 2, 32, 112, 112),
      { out: 32, kernel: 3, stride: 2, padding: 1, groups: 32, bias: false },
      "f32[2, 32, 56, 56]",
      32 * 9,
      2 * 32 * 56 * 56 * 9,
    ],
    ["pointwise 3->5", "conv2d", t("f32", 1, 3, 32, 32), { out: 5, kernel: 1, bias: false }, "f32[1, 5, 32, 32]", 15, 5 * 32 * 32 * 3],
    [
      "grouped 8->12, groups 4, k3 p1",
      "conv2d",
      t("f32", 1, 8, 10, 10),
      { out: 12, kernel: 3, padding: 1, groups: 4 },
      "f32[1, 12, 10, 10]",
      12 * 2 * 9 + 12,
      12 * 100 * 2 * 9,
    ],
    ["conv1d valid k3 on 9", "conv1d", t("f32", 1, 1, 9), { out: 1, kernel: 3, bias: false }, "f32[1, 1, 7]", 3, 7 * 3],
    ["conv1d padding 1 k3 on 9", "conv1d", t("f32", 1, 1, 9), { out: 1, kernel: 3, padding: 1, bias: false }, "f32[1, 1, 9]", 3, 9 * 3],
    [
      "conv1d dilation 2",
      "conv1d",
      t("f32", 4, 16, 100),
      { out: 32, kernel: 3, dilation: 2 },
      "f32[4, 32, 96]",
      32 * 16 * 3 + 32,
      4 * 32 * 96 * 16 * 3,
    ],
    [
      "C3D conv1 3->64 k3 p1",
      "conv3d",
      t("f32", 1, 3, 16, 112, 112),
      { out: 64, kernel: 3, padding: 1 },
      "f32[1, 64, 16, 112, 112]",
      64 * 3 * 27 + 64,
      64 * 16 * 112 * 112 * 3 * 27,
    ],
    [
      "per-axis lists k[3,5] p[1,2] s[1,2]",
      "conv2d",
      t("f32", 1, 4, 10, 20),
      { out: 2, kernel: [3, 5], padding: [1, 2], stride: [1, 2] },
      "f32[1, 2, 10, 10]",
      2 * 4 * 15 + 2,
      2 * 10 * 10 * 4 * 15,
    ],
    [
      'padding "same", even kernel',
      "conv2d",
      t("f32", 1, 3, 10, 10),
      { out: 8, kernel: 4, padding: "same" },
      "f32[1, 8, 10, 10]",
      8 * 3 * 16 + 8,
      8 * 100 * 3 * 16,
    ],
    [
      'padding "same", dilation 2',
      "conv2d",
      t("f32", 1, 3, 10, 10),
      { out: 8, kernel: 3, padding: "same", dilation: 2 },
      "f32[1, 8, 10, 10]",
      8 * 27 + 8,
      8 * 100 * 27,
    ],
    [
      'padding "valid"',
      "conv2d",
      t("f32", 1, 3, 10, 10),
      { out: 8, kernel: 3, padding: "valid" },
      "f32[1, 8, 8, 8]",
      8 * 27 + 8,
      8 * 64 * 27,
    ],
    ["unbatched [C, H, W]", "conv2d", t("f32", 3, 32, 32), { out: 6, kernel: 5 }, "f32[6, 28, 28]", 456, 352_800],
    [
      "padding_mode reflect keeps the shape rule",
      "conv2d",
      t("f32", 1, 3, 8, 8),
      { out: 4, kernel: 3, padding: 1, padding_mode: "reflect" },
      "f32[1, 4, 8, 8]",
      4 * 27 + 4,
      4 * 64 * 27,
    ],
    // transposed: weight [C, out/groups, *K]; MACs = B * C * prod(Sin) * (out/groups) * prod(K)
    [
      "ORACLES: transposed 2x2 with k2 → 3x3",
      "conv_transpose2d",
      t("f32", 1, 1, 2, 2),
      { out: 1, kernel: 2, bias: false },
      "f32[1, 1, 3, 3]",
      4,
      4 * 4,
    ],
    [
      "DCGAN 100->512 k4 on 1x1",
      "conv_transpose2d",
      t("f32", 1, 100, 1, 1),
      { out: 512, kernel: 4, bias: false },
      "f32[1, 512, 4, 4]",
      819_200,
      100 * 512 * 16,
    ],
    [
      "DCGAN 512->256 k4 s2 p1",
      "conv_transpose2d",
      t("f32", 1, 512, 4, 4),
      { out: 256, kernel: 4, stride: 2, padding: 1, bias: false },
      "f32[1, 256, 8, 8]",
      512 * 256 * 16,
      512 * 16 * 256 * 16,
    ],
    [
      "k3 s2 p1 output_padding 1 doubles 16 → 32",
      "conv_transpose2d",
      t("f32", 1, 8, 16, 16),
      { out: 4, kernel: 3, stride: 2, padding: 1, output_padding: 1 },
      "f32[1, 4, 32, 32]",
      8 * 4 * 9 + 4,
      8 * 256 * 4 * 9,
    ],
    [
      "grouped transposed 1d",
      "conv_transpose1d",
      t("f32", 2, 6, 10),
      { out: 9, kernel: 3, groups: 3 },
      "f32[2, 9, 12]",
      6 * 3 * 3 + 9,
      2 * 6 * 10 * 3 * 3,
    ],
    [
      "transposed 3d s2",
      "conv_transpose3d",
      t("f32", 1, 4, 3, 4, 5),
      { out: 2, kernel: 2, stride: 2 },
      "f32[1, 2, 6, 8, 10]",
      4 * 2 * 8 + 2,
      4 * 60 * 2 * 8,
    ],
  ];
  it.each(cases)("%s", (_label, name, x, attrs, shape, params, macs) => {
    const r = run(name, [x], attrs);
    expect(r.shapes()).toEqual([shape]);
    expect(r.paramCount()).toBe(params);
    const c = r.cost();
    expect(evaluate(c.macs)).toBe(macs);
    expect(evaluate(c.flops)).toBe(0);
  });

  it("agrees with the torch output-size formulas over a grid", () => {
    for (const s of [7, 8, 13, 32])
      for (const k of [1, 2, 3, 5])
        for (const st of [1, 2, 3])
          for (const p of [0, 1, 2])
            for (const d of [1, 2]) {
              const o = convOut(s, k, st, p, d);
              if (o > 0)
                expect(
                  run("conv1d", [t("f32", 1, 2, s)], {
                    out: 1,
                    kernel: k,
                    stride: st,
                    padding: p,
                    dilation: d,
                  }).shapes(),
                ).toEqual([`f32[1, 1, ${o}]`]);
              else
                expectOpError(
                  () =>
                    run("conv1d", [t("f32", 1, 2, s)], {
                      out: 1,
                      kernel: k,
                      stride: st,
                      padding: p,
                      dilation: d,
                    }),
                  undefined,
                  /too small/,
                );
              const op = st > 1 ? 1 : 0;
              expect(
                run("conv_transpose1d", [t("f32", 1, 2, s)], {
                  out: 1,
                  kernel: k,
                  stride: st,
                  padding: p,
                  output_padding: op,
                  dilation: d,
                }).shapes(),
              ).toEqual([`f32[1, 1, ${convTOut(s, k, st, p, op, d)}]`]);
            }
  });
});

describe("conv with symbolic sizes", () => {
  it("gives symbolic outputs that evaluate like the torch formula", () => {
    const r = run("conv2d", [t("f32", "B", 3, "H", "W")], {
      out: 16,
      kernel: 3,
      stride: 2,
    });
    const out = r.outputs[0]!.shape;
    expect(String(out[0])).toBe("B");
    expect(String(out[1])).toBe("16");
    expect(out[2]!.isConstant).toBe(false);
    for (const h of [3, 4, 5, 32, 33, 224]) {
      expect(evaluate(out[2]!, { H: h })).toBe(convOut(h, 3, 2));
      expect(evaluate(out[3]!, { W: h + 1 })).toBe(convOut(h + 1, 3, 2));
    }
    const macs = r.cost().macs;
    expect(evaluate(macs, { B: 2, H: 32, W: 32 })).toBe(2 * 16 * 15 * 15 * 3 * 9);
  });

  it("keeps stride-1 outputs polynomial and symbolic channels/out", () => {
    expect(
      run("conv2d", [t("f32", "B", "C", "H", "W")], {
        out: "F",
        kernel: 3,
        padding: 1,
      }).shapes(),
    ).toEqual(["f32[B, F, H, W]"]);
    expect(
      run("conv2d", [t("f32", "B", 3, "H", "W")], {
        out: 8,
        kernel: 5,
      }).shapes(),
    ).toEqual(["f32[B, 8, H - 4, W - 4]"]);
    const r = run("conv2d", [t("f32", "B", "C", "H", "W")], {
      out: "C",
      kernel: 3,
      padding: 1,
      groups: "C",
    });
    expect(r.params[0]!.shape.map(String)).toEqual(["C", "1", "3", "3"]);
    expect(evaluate(r.cost().macs, { B: 1, C: 8, H: 4, W: 4 })).toBe(8 * 16 * 9);
  });

  it("U-Net up-convolution k2 s2 doubles symbolic sizes", () => {
    const r = run("conv_transpose2d", [t("f32", "B", 128, "H", "W")], {
      out: 64,
      kernel: 2,
      stride: 2,
    });
    expect(r.shapes()).toEqual(["f32[B, 64, 2*H, 2*W]"]);
    expect(r.params.map((p) => p.shape.map(String))).toEqual([["128", "64", "2", "2"], ["64"]]);
    expect(evaluate(r.cost().macs, { B: 1, H: 28, W: 28 })).toBe(128 * 28 * 28 * 64 * 4);
  });
});

describe("conv params and init", () => {
  it("uses torch's default init: kaiming_uniform(a=sqrt 5) weights, U(±1/sqrt(fan_in)) bias", () => {
    const r = run("conv2d", [t("f32", "B", 3, 32, 32)], { out: 6, kernel: 5 });
    expect(r.paramNames()).toEqual(["weight", "bias"]);
    const [w, b] = r.params;
    expect(w!.shape.map(String)).toEqual(["6", "3", "5", "5"]);
    expect(w!.init).toBe("kaiming_uniform");
    expect(w!.initArgs!.a).toBeCloseTo(Math.sqrt(5), 12);
    expect(b!.init).toBe("uniform");
    expect(b!.initArgs!.bound).toBeCloseTo(1 / Math.sqrt(75), 12);
    expect(b!.noDecay).toBe(true);
    // transposed: fan_in = weight.size(1) * prod(K) = (out/groups) * 4
    const tr = run("conv_transpose2d", [t("f32", 1, 128, 4, 4)], {
      out: 64,
      kernel: 2,
      stride: 2,
    });
    expect(tr.params[1]!.initArgs!.bound).toBeCloseTo(1 / 16, 12);
    // grouped: fan_in = C/groups * prod(K)
    const g = run("conv1d", [t("f32", 1, 8, 10)], {
      out: 4,
      kernel: 3,
      groups: 2,
    });
    expect(g.params[1]!.initArgs!.bound).toBeCloseTo(1 / Math.sqrt(12), 12);
  });
});

describe("conv errors", () => {
  it("says which input size was too small and the minimum", () => {
    const e = expectOpError(
      () => run("conv2d", [t("f32", 1, 3, 4, 8)], { out: 6, kernel: 5 }),
      undefined,
      /too small/,
      /H=4/,
      /at least 5/,
      /f32\[1, 3, 4, 8\]/,
    );
    expect(e.options.hint).toBeDefined();
    expectOpError(
      () =>
        run("conv2d", [t("f32", 1, 3, 8, 2)], {
          out: 6,
          kernel: 5,
          padding: 1,
        }),
      undefined,
      /W=2/,
      /at least 3/,
    );
    expectOpError(() => run("conv1d", [t("f32", 1, 3, 4)], { out: 6, kernel: 3, dilation: 2 }), undefined, /L=4/, /at least 5/);
    expectOpError(() => run("conv3d", [t("f32", 1, 3, 2, 8, 8)], { out: 6, kernel: 3 }), undefined, /D=2/, /at least 3/);
    // transposed: too much padding
    expectOpError(
      () =>
        run("conv_transpose1d", [t("f32", 1, 3, 1)], {
          out: 2,
          kernel: 1,
          padding: 1,
        }),
      undefined,
      /L=1/,
      /at least 3/,
    );
  });

  it("checks groups divisibility, ranks, dtypes and attrs", () => {
    expectOpError(
      () =>
        run("conv2d", [t("f32", 1, 10, 8, 8)], {
          out: 6,
          kernel: 3,
          groups: 3,
        }),
      undefined,
      /C=10/,
      /f32\[1, 10, 8, 8\]/,
      /groups=3/,
    );
    expectOpError(
      () =>
        run("conv2d", [t("f32", 1, 8, 8, 8)], {
          out: 10,
          kernel: 3,
          groups: 4,
        }),
      undefined,
      /out=10 is not divisible by groups=4/,
    );
    expectOpError(
      () =>
        run("conv_transpose2d", [t("f32", 1, 8, 8, 8)], {
          out: 6,
          kernel: 3,
          groups: 4,
        }),
      undefined,
      /out=6 is not divisible/,
    );
    expect(expectOpError(() => run("conv2d", [t("f32", 3, 32)], { out: 6, kernel: 5 }), 0, /\[B, C, H, W\]/).options.code).toBe("DLM3103");
    expectOpError(() => run("conv1d", [t("f32", 1, 3, 32, 32)], { out: 6, kernel: 5 }), 0, /rank 3 or 2/);
    expect(expectOpError(() => run("conv2d", [t("u8", 1, 3, 32, 32)], { out: 6, kernel: 5 }), 0, /u8/).options.code).toBe("DLM3102");
    expectOpError(() => run("conv2d", [t("f32", 1, 3, 32, 32)], { out: 6, kernel: [3, 3, 3] }), "kernel", /needs 2 values/);
    expectOpError(() => run("conv3d", [t("f32", 1, 3, 8, 8, 8)], { out: 6, kernel: [3] }), "kernel", /needs 3 values/);
    expectOpError(() => run("conv2d", [t("f32", 1, 3, 32, 32)], { out: 6, kernel: 0 }), "kernel", /at least 1/);
    expectOpError(
      () =>
        run("conv2d", [t("f32", 1, 3, 32, 32)], {
          out: 6,
          kernel: 3,
          stride: 0,
        }),
      "stride",
    );
    expectOpError(
      () =>
        run("conv2d", [t("f32", 1, 3, 32, 32)], {
          out: 6,
          kernel: 3,
          padding: -1,
        }),
      "padding",
    );
    expectOpError(() => run("conv2d", [t("f32", 1, 3, 32, 32)], { out: 0, kernel: 3 }), "out");
    expectOpError(
      () =>
        run("conv2d", [t("f32", 1, 3, 32, 32)], {
          out: 6,
          kernel: 3,
          padding: "same",
          stride: 2,
        }),
      "padding",
      /stride 1/,
    );
    expectOpError(
      () =>
        run("conv2d", [t("f32", 1, 3, 32, 32)], {
          out: 6,
          kernel: 3,
          padding: "full",
        }),
      "padding",
      /"same"/,
    );
    expectOpError(
      () =>
        run("conv2d", [t("f32", 1, 3, 32, 32)], {
          out: 6,
          kernel: 3,
          padding_mode: "mirror",
        }),
      "padding_mode",
      /"reflect"/,
    );
    expectOpError(
      () =>
        run("conv_transpose2d", [t("f32", 1, 3, 8, 8)], {
          out: 6,
          kernel: 3,
          stride: 2,
          output_padding: 2,
        }),
      "output_padding",
      /smaller/,
    );
  });
});

describe("composed networks (conv + pool + linear)", () => {
  const step = (name: string, x: TensorType, attrs: Attrs = {}): Applied => apply([...convOps, ...poolOps, ...linearOps], name, [x], attrs);
  const flat = (x: TensorType): TensorType => ({
    dtype: x.dtype,
    shape: [x.shape[0]!, x.shape.slice(1).reduce((a, d) => a.mul(d))],
  });

  function chain(x: TensorType, layers: [string, Attrs][]): { y: TensorType; params: number; macs: number } {
    let params = 0;
    let macs = 0;
    for (const [name, attrs] of layers) {
      if (name === "flatten") {
        x = flat(x);
        continue;
      }
      const r = step(name, x, attrs);
      params += r.paramCount();
      macs += evaluate(r.cost().macs);
      x = r.outputs[0]!;
    }
    return { y: x, params, macs };
  }

  it("LeNet of seed 002: 62,006 params, 651,720 MACs per sample", () => {
    const { y, params, macs } = chain(t("f32", 1, 3, 32, 32), [
      ["conv2d", { out: 6, kernel: 5 }],
      ["maxpool2d", { kernel: 2, stride: 2 }],
      ["conv2d", { out: 16, kernel: 5 }],
      ["maxpool2d", { kernel: 2, stride: 2 }],
      ["flatten", {}],
      ["linear", { out: 120 }],
      ["linear", { out: 84 }],
      ["linear", { out: 10 }],
    ]);
    expect(y.shape.map(String)).toEqual(["1", "10"]);
    expect(params).toBe(62_006);
    expect(macs).toBe(651_720);
  });

  it("torchvision AlexNet: 61,100,840 params, ~0.714 GMACs", () => {
    const { y, params, macs } = chain(t("f32", 1, 3, 224, 224), [
      ["conv2d", { out: 64, kernel: 11, stride: 4, padding: 2 }],
      ["maxpool2d", { kernel: 3, stride: 2 }],
      ["conv2d", { out: 192, kernel: 5, padding: 2 }],
      ["maxpool2d", { kernel: 3, stride: 2 }],
      ["conv2d", { out: 384, kernel: 3, padding: 1 }],
      ["conv2d", { out: 256, kernel: 3, padding: 1 }],
      ["conv2d", { out: 256, kernel: 3, padding: 1 }],
      ["maxpool2d", { kernel: 3, stride: 2 }],
      ["adaptive_avgpool2d", { size: 6 }],
      ["flatten", {}],
      ["linear", { out: 4096 }],
      ["linear", { out: 4096 }],
      ["linear", { out: 1000 }],
    ]);
    expect(y.shape.map(String)).toEqual(["1", "1000"]);
    expect(params).toBe(61_100_840);
    const convs =
      64 * 55 * 55 * 3 * 121 + 192 * 27 * 27 * 64 * 25 + 384 * 13 * 13 * 192 * 9 + 256 * 13 * 13 * 384 * 9 + 256 * 13 * 13 * 256 * 9;
    expect(macs).toBe(convs + 9216 * 4096 + 4096 * 4096 + 4096 * 1000);
    expect(macs / 1e9).toBeCloseTo(0.714, 3);
  });
});
