// compiler/codegen/wgsl/conv.ts on the software adapter against the float64 reference: the
// implicit-GEMM forward, input-gradient and weight-gradient kernels over strides, padding
// (asymmetric too), dilation, groups and one to three spatial axes, forced onto the GEMM path
// even where convolution would pick the direct kernel; and which path convolution picks.

import { afterAll, describe, expect, it } from "vitest";
import {
  convKernel,
  convWeightGradKernel,
  gemmConvInputGradKernel,
  gemmConvKernel,
  gemmConvWeightGradKernel,
} from "../../../compiler/codegen/wgsl/conv.ts";
import type { WgslGenerator } from "../../../compiler/codegen/wgsl/kernel.ts";
import { PrimBuilder } from "../../../compiler/prim/builder.ts";
import { numelOf } from "../../../compiler/prim/ir.ts";
import { kernelTarget, releaseGpu } from "../../../runtime/webgpu/device.ts";
import { gpuOrSkip } from "./helpers.ts";
import { checkKernels, type KernelCase } from "./kernel-check.ts";

const gpu = await gpuOrSkip();
afterAll(releaseGpu);

interface Geometry {
  readonly B: number;
  readonly C: number;
  readonly O: number;
  readonly groups: number;
  readonly inSize: readonly number[];
  readonly kernel: readonly number[];
  readonly stride: readonly number[];
  readonly padLo: readonly number[];
  readonly padHi: readonly number[];
  readonly dilation: readonly number[];
}

const GEOMETRIES: Geometry[] = [
  // 3x3, padding 1, stride 1 (a ResNet body convolution, small)
  { B: 2, C: 8, O: 12, groups: 1, inSize: [6, 5], kernel: [3, 3], stride: [1, 1], padLo: [1, 1], padHi: [1, 1], dilation: [1, 1] },
  // stride 2, asymmetric padding, odd sizes
  { B: 1, C: 5, O: 9, groups: 1, inSize: [7, 9], kernel: [3, 2], stride: [2, 2], padLo: [1, 0], padHi: [0, 1], dilation: [1, 1] },
  // dilation and groups
  { B: 2, C: 6, O: 8, groups: 2, inSize: [9, 8], kernel: [3, 3], stride: [1, 2], padLo: [2, 1], padHi: [2, 1], dilation: [2, 1] },
  // 1x1, stride 2 (a ResNet shortcut)
  { B: 3, C: 16, O: 8, groups: 1, inSize: [5, 5], kernel: [1, 1], stride: [2, 2], padLo: [0, 0], padHi: [0, 0], dilation: [1, 1] },
  // 1-d and 3-d
  { B: 2, C: 4, O: 10, groups: 1, inSize: [17], kernel: [5], stride: [3], padLo: [2], padHi: [1], dilation: [1] },
  {
    B: 1,
    C: 4,
    O: 6,
    groups: 2,
    inSize: [4, 5, 3],
    kernel: [2, 3, 2],
    stride: [1, 2, 1],
    padLo: [1, 1, 0],
    padHi: [0, 1, 1],
    dilation: [1, 1, 2],
  },
  // depthwise (groups = channels)
  { B: 2, C: 4, O: 4, groups: 4, inSize: [6, 6], kernel: [3, 3], stride: [1, 1], padLo: [1, 1], padHi: [1, 1], dilation: [1, 1] },
];

const name = (g: Geometry) =>
  `B${g.B} C${g.C} O${g.O} g${g.groups} in [${g.inSize}] k [${g.kernel}] s [${g.stride}] pad [${g.padLo}]/[${g.padHi}] d [${g.dilation}]`;

function outSize(g: Geometry): number[] {
  return g.inSize.map((n, d) => Math.floor((n + g.padLo[d]! + g.padHi[d]! - g.dilation[d]! * (g.kernel[d]! - 1) - 1) / g.stride[d]!) + 1);
}

const win = (g: Geometry) => ({ stride: [...g.stride], padLo: [...g.padLo], padHi: [...g.padHi], dilation: [...g.dilation] });
const xShape = (g: Geometry) => [g.B, g.C, ...g.inSize];
const wShape = (g: Geometry) => [g.O, g.C / g.groups, ...g.kernel];
const yShape = (g: Geometry) => [g.B, g.O, ...outSize(g)];
const KK = (g: Geometry) => numelOf(g.kernel);

const forward = (g: Geometry): KernelCase => ({
  name: `conv ${name(g)}`,
  inputs: [xShape(g), wShape(g)],
  dtype: "f32",
  terms: (g.C / g.groups) * KK(g),
  build: (b: PrimBuilder, [x, w]) => b.conv(x!, w!, win(g), g.groups),
});
const inputGrad = (g: Geometry): KernelCase => ({
  name: `conv_input_grad ${name(g)}`,
  inputs: [yShape(g), wShape(g)],
  dtype: "f32",
  terms: (g.O / g.groups) * KK(g),
  build: (b: PrimBuilder, [dy, w]) => b.convInputGrad(dy!, w!, g.inSize, win(g), g.groups),
});
const weightGrad = (g: Geometry): KernelCase => ({
  name: `conv_weight_grad ${name(g)}`,
  inputs: [xShape(g), yShape(g)],
  dtype: "f32",
  terms: g.B * numelOf(outSize(g)),
  build: (b: PrimBuilder, [x, dy]) => b.convWeightGrad(x!, dy!, g.kernel, win(g), g.groups),
});

const expectAll = (results: Awaited<ReturnType<typeof checkKernels>>) => {
  for (const res of results) expect(res.worst, `${res.name} [${res.label}]: ${res.detail}`).toBeLessThanOrEqual(1);
};

describe.skipIf(!gpu)("implicit-GEMM convolution kernels", () => {
  const forced =
    (gen: typeof gemmConvKernel): WgslGenerator =>
    (node, shapes) =>
      gen(node, shapes, kernelTarget(gpu!.device));

  it("forward matches the reference", async () => {
    expectAll(await checkKernels(gpu!, forced(gemmConvKernel), GEOMETRIES.map(forward)));
  });
  it("input gradient matches the reference", async () => {
    expectAll(await checkKernels(gpu!, forced(gemmConvInputGradKernel), GEOMETRIES.map(inputGrad)));
  });
  it("weight gradient matches the reference", async () => {
    expectAll(await checkKernels(gpu!, forced(gemmConvWeightGradKernel), GEOMETRIES.map(weightGrad)));
  });
});

describe("convolution kernel choice", () => {
  const target = {
    maxWorkgroupsPerDimension: 65535,
    maxInvocationsPerWorkgroup: 256,
    maxWorkgroupStorageBytes: 16384,
    subgroups: false,
    subgroupMatrix: false,
  };
  const node = (g: Geometry, op: "forward" | "weight") => {
    const b = new PrimBuilder();
    const x = b.input("x", xShape(g), "f32");
    if (op === "forward") return { b, id: b.conv(x, b.input("w", wShape(g), "f32"), win(g), g.groups) };
    return { b, id: b.convWeightGrad(x, b.input("dy", yShape(g), "f32"), g.kernel, win(g), g.groups) };
  };
  it("takes the implicit GEMM for channel-rich convolutions and the direct kernel for depthwise ones", () => {
    const rich = GEOMETRIES[0]!;
    const depthwise = GEOMETRIES.at(-1)!;
    for (const [g, want] of [
      [rich, "implicit GEMM"],
      [depthwise, "conv ["],
    ] as const) {
      const f = node(g, "forward");
      const label = convKernel(f.b.graph().nodes[f.id]!, [xShape(g), wShape(g)], target, ["f32", "f32"]).label;
      expect(label.includes("implicit GEMM"), label).toBe(want === "implicit GEMM");
      const w = node(g, "weight");
      const wl = convWeightGradKernel(w.b.graph().nodes[w.id]!, [xShape(g), yShape(g)], target, ["f32", "f32"]).label;
      expect(wl.includes("implicit GEMM"), wl).toBe(want === "implicit GEMM");
    }
  });
});
