// compiler/codegen/wgsl/matmul.ts on the software adapter against the float64 reference: edge
// sizes (1, odd, prime, multiples of 4 and of the tiles), transposes, broadcast batches, i32, a
// randomized table, and each tiling the chooser can pick; the cooperative-matrix WGSL is
// checked to parse (no adapter here runs it).

import { afterAll, describe, expect, it } from "vitest";
import { broadcastShape, type PrimBuilder } from "../../../compiler/prim/builder.ts";
import { chooseGemmTiles, GEMM_CANDIDATES } from "../../../compiler/codegen/wgsl/gemm-tiles.ts";
import { matmulGeometry, matmulKernel, tiledMatmulKernel } from "../../../compiler/codegen/wgsl/matmul.ts";
import { coopMatmulKernel } from "../../../compiler/codegen/wgsl/matmul-coop.ts";
import type { KernelTarget, WgslGenerator } from "../../../compiler/codegen/wgsl/kernel.ts";
import type { PDType } from "../../../compiler/prim/ir.ts";
import { kernelTarget, releaseGpu } from "../../../runtime/webgpu/device.ts";
import { wgslErrors } from "../../../runtime/webgpu/run-kernel.ts";
import { gpuOrSkip } from "./helpers.ts";
import { checkKernels, type KernelCase } from "./kernel-check.ts";

const gpu = await gpuOrSkip();
afterAll(releaseGpu);

function matmulCase(a: number[], bShape: number[], transA = false, transB = false, dtype: PDType = "f32"): KernelCase {
  const [m, k] = transA ? [a.at(-1)!, a.at(-2)!] : [a.at(-2)!, a.at(-1)!];
  const n = transB ? bShape.at(-2)! : bShape.at(-1)!;
  const kb = transB ? bShape.at(-1)! : bShape.at(-2)!;
  if (k !== kb) throw new Error(`matmulCase: inner sizes ${k} and ${kb} differ`);
  const batch = broadcastShape("matmul", a.slice(0, -2), bShape.slice(0, -2));
  return {
    name: `[${a}]${transA ? "ᵀ" : ""} @ [${bShape}]${transB ? "ᵀ" : ""} ${dtype}`,
    inputs: [a, bShape],
    dtype,
    terms: k,
    // the node as the builder makes it (without its fold of a batch into M, to test batches)
    build: (b: PrimBuilder, [x, y]) => b.add("matmul", [x!, y!], { transA, transB }, [...batch, m, n], dtype),
  };
}

const EDGE: KernelCase[] = [
  matmulCase([1, 1], [1, 1]),
  matmulCase([1, 7], [7, 1]),
  matmulCase([3, 5], [5, 2]),
  matmulCase([4, 4], [4, 4]),
  matmulCase([13, 17], [17, 11]),
  matmulCase([16, 16], [16, 16]),
  matmulCase([8, 64], [64, 8]),
  matmulCase([33, 65], [65, 31]),
  matmulCase([1, 40], [40, 37]), // a row vector times a matrix
  matmulCase([37, 40], [40, 1]), // matrix times a column
  matmulCase([20, 3], [3, 24]), // K smaller than a slice
  matmulCase([5, 8], [12, 8], false, true),
  matmulCase([8, 5], [8, 12], true, false),
  matmulCase([7, 9], [11, 7], true, true),
  matmulCase([12, 16], [20, 12], true, true),
  matmulCase([2, 3, 6, 5], [2, 3, 5, 4]), // batch
  matmulCase([3, 1, 6, 5], [4, 5, 4]), // broadcast batch axes
  matmulCase([6, 5], [3, 5, 7]), // a 2-d operand against a batch
  matmulCase([4, 6, 8], [8, 12]), // batch against a matrix (not folded here)
  matmulCase([2, 8, 16], [2, 8, 16], false, true), // attention scores: q·kᵀ
  matmulCase([9, 11], [11, 6], false, false, "i32"),
  matmulCase([2, 4, 8], [2, 12, 8], false, true, "i32"),
  matmulCase([130, 20], [20, 129]), // just over a 128 tile
];

let r = 12345;
function pick(lo: number, hi: number): number {
  r = (Math.imul(r, 1103515245) + 12345) >>> 0;
  return lo + (r % (hi - lo + 1));
}

const RANDOM: KernelCase[] = Array.from({ length: 16 }, () => {
  const [m, k, n] = [pick(1, 48), pick(1, 48), pick(1, 48)];
  const transA = pick(0, 1) === 1;
  const transB = pick(0, 1) === 1;
  const batch = pick(0, 2) === 0 ? [pick(1, 3)] : [];
  const a = [...batch, ...(transA ? [k, m] : [m, k])];
  const b = [...(pick(0, 1) ? batch : []), ...(transB ? [n, k] : [k, n])];
  return matmulCase(a, b, transA, transB, pick(0, 5) === 0 ? "i32" : "f32");
});

describe.skipIf(!gpu)("matmul WGSL kernel", () => {
  it("matches the reference over edge cases and a random table", async () => {
    const results = await checkKernels(gpu!, matmulKernel, [...EDGE, ...RANDOM]);
    for (const res of results) expect(res.worst, `${res.name} [${res.label}]: ${res.detail}`).toBeLessThanOrEqual(1);
  });

  it("matches the reference with every candidate tiling, on edge-sized products", async () => {
    // each tiling on a product a little larger than its tile in M and N, so edge tiles are
    // partial; plain and transposed-batched forms alternate (software drivers take seconds to
    // compile each large tiling)
    const results = [];
    for (const [i, tiles] of GEMM_CANDIDATES.entries()) {
      const at: WgslGenerator = (node, shapes) => tiledMatmulKernel(node, matmulGeometry(node, shapes), kernelTarget(gpu!.device), tiles);
      const [m, n] = [tiles.BM + 3, tiles.BN + 1];
      const c = i % 2 === 0 ? matmulCase([m, 20], [20, n]) : matmulCase([2, 21, m], [n, 21], true, true);
      results.push(...(await checkKernels(gpu!, at, [c])));
    }
    for (const res of results) expect(res.worst, `${res.name} [${res.label}]: ${res.detail}`).toBeLessThanOrEqual(1);
  }, 240_000);

  it("picks small tiles on a device that allows small workgroups only", () => {
    const small: KernelTarget = { ...kernelTarget(gpu!.device), maxInvocationsPerWorkgroup: 16 };
    const shapes = [
      [19, 21],
      [21, 23],
    ];
    const node = { id: 2, op: "matmul", inputs: [0, 1], attrs: {}, shape: [19, 23], dtype: "f32" as const };
    expect(matmulKernel(node, shapes, small, ["f32", "f32"]).label).toContain("16x16");
  });
});

describe("matmul tile choice", () => {
  const h100 = { maxInvocationsPerWorkgroup: 1024, maxWorkgroupStorageBytes: 48 * 1024 };
  it("takes 128×128 tiles for large products and smaller ones where large tiles would idle the device", () => {
    expect(chooseGemmTiles({ batch: 1, M: 4096, N: 4096, K: 4096 }, h100)).toMatchObject({ BM: 128, BN: 128 });
    const mid = chooseGemmTiles({ batch: 1, M: 256, N: 256, K: 256 }, h100);
    expect(mid.BM * mid.BN).toBeLessThan(128 * 128);
    const skinny = chooseGemmTiles({ batch: 1, M: 4, N: 4096, K: 512 }, h100);
    expect(skinny.BM).toBe(16);
  });
  it("keeps within the device's invocation and storage limits and shortens BK for short K", () => {
    const t = chooseGemmTiles({ batch: 1, M: 4096, N: 4096, K: 4096 }, { maxInvocationsPerWorkgroup: 64, maxWorkgroupStorageBytes: 4096 });
    expect((t.BM / t.TM) * (t.BN / t.TN)).toBeLessThanOrEqual(64);
    expect((t.BM + t.BN) * t.BK * 4).toBeLessThanOrEqual(4096);
    expect(chooseGemmTiles({ batch: 1, M: 64, N: 64, K: 3 }, h100).BK).toBe(4);
  });
});

describe.skipIf(!gpu)("cooperative-matrix matmul (opt-in)", () => {
  // an adapter that offers 8×8×8 f32 fragments (none here does: the WGSL is only parsed)
  const coopTarget = (): KernelTarget => ({
    ...kernelTarget(gpu!.device),
    subgroupMatrix: true,
    subgroupMatrixShapes: [{ M: 8, N: 8, K: 8 }],
  });
  const node = (shapeA: number[], shapeB: number[], transA: boolean, transB: boolean) => {
    const c = matmulCase(shapeA, shapeB, transA, transB);
    return { id: 0, op: "matmul", inputs: [0, 1], attrs: { transA, transB }, shape: outShape(c), dtype: "f32" as const };
  };
  function outShape(c: KernelCase): number[] {
    const [a, b] = c.inputs as number[][];
    const transA = c.name.includes("]ᵀ @");
    const transB = c.name.endsWith("ᵀ f32");
    return [
      ...broadcastShape("matmul", a!.slice(0, -2), b!.slice(0, -2)),
      transA ? a!.at(-1)! : a!.at(-2)!,
      transB ? b!.at(-2)! : b!.at(-1)!,
    ];
  }

  it("is taken only for f32 products whose sizes are multiples of its block, else the tiled path", () => {
    const n = node([64, 32], [32, 96], false, false);
    expect(
      matmulKernel(
        n,
        [
          [64, 32],
          [32, 96],
        ],
        coopTarget(),
        ["f32", "f32"],
      ).label,
    ).toContain("cooperative");
    const odd = node([60, 32], [32, 96], false, false);
    expect(
      matmulKernel(
        odd,
        [
          [60, 32],
          [32, 96],
        ],
        coopTarget(),
        ["f32", "f32"],
      ).label,
    ).toContain("tiled");
    expect(
      matmulKernel(
        n,
        [
          [64, 32],
          [32, 96],
        ],
        { ...coopTarget(), subgroupMatrixShapes: [] },
        ["f32", "f32"],
      ).label,
    ).toContain("tiled");
  });

  it("emits WGSL that Dawn parses up to the extension it cannot enable here", async () => {
    for (const [a, b, ta, tb] of [
      [[64, 32], [32, 96], false, false],
      [[2, 32, 64], [2, 96, 32], true, true],
    ] as const) {
      const n = node([...a], [...b], ta, tb);
      const k = coopMatmulKernel(n, matmulGeometry(n, [a, b]), coopTarget())!;
      const errors = await wgslErrors(gpu!.device.createShaderModule({ code: k.code }));
      // the only error a device without the feature may report is the `enable` line itself
      const unexpected = errors.filter((e) => !e.startsWith("1:8 ") || !e.includes("chromium_experimental_subgroup_matrix"));
      expect(unexpected, k.code).toEqual([]);
    }
  });
});
