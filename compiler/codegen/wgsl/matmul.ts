// WGSL for the `matmul` primitive: C[..., M, N] = op(A)[..., M, K] · op(B)[..., K, N], op = an
// optional transpose of the last two axes (attrs transA, transB), batch axes broadcast as in
// NumPy, f32 or i32 (i32 wraps on overflow, as WGSL integer arithmetic does).
//
// The default path is the shared tiled GEMM (gemm-tiles.ts), with vec4 loads along whichever
// axis of each operand is contiguous and a multiple of 4. With target.subgroupMatrix (opt-in)
// and an f32 product, the cooperative-matrix path (matmul-coop.ts) is used where the shape suits
// it; its accuracy is that of the hardware's matrix units, not of fp32 FMA.

import type { PNode } from "../../prim/ir.js";
import { chooseGemmTiles, emitGemm, type GemmEpilogue, type GemmProblem, type GemmTiles } from "./gemm-tiles.js";
import type { KernelTarget, WgslGenerator, WgslKernel } from "./kernel.js";
import { coopMatmulKernel } from "./matmul-coop.js";

/** The geometry of one matmul node, as both matmul paths need it. */
export interface MatmulGeometry {
  readonly batch: number;
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly transA: boolean;
  readonly transB: boolean;
  readonly scalar: "f32" | "i32";
  /** WGSL body of `fn (z: u32) -> u32`: the element offset of batch z's matrix in A (resp. B) */
  readonly aBatchOffset: string;
  readonly bBatchOffset: string;
}

export function matmulGeometry(node: PNode, [sa, sb]: readonly (readonly number[])[]): MatmulGeometry {
  if (!sa || !sb || sa.length < 2 || sb.length < 2) throw new Error(`matmul kernel: node ${node.id} needs two operands of rank ≥ 2`);
  if (node.dtype !== "f32" && node.dtype !== "i32") throw new Error(`matmul kernel: unsupported dtype ${node.dtype}`);
  const transA = node.attrs["transA"] === true;
  const transB = node.attrs["transB"] === true;
  const M = node.shape.at(-2)!;
  const N = node.shape.at(-1)!;
  const K = transA ? sa.at(-2)! : sa.at(-1)!;
  const kb = transB ? sb.at(-1)! : sb.at(-2)!;
  if (K !== kb) throw new Error(`matmul kernel: node ${node.id} multiplies inner sizes ${K} and ${kb}`);
  const batchShape = node.shape.slice(0, -2);
  const batch = batchShape.reduce((x, y) => x * y, 1);
  return {
    batch,
    M,
    N,
    K,
    transA,
    transB,
    scalar: node.dtype,
    aBatchOffset: batchOffset(batchShape, sa.slice(0, -2), M * K),
    bBatchOffset: batchOffset(batchShape, sb.slice(0, -2), K * N),
  };
}

/**
 * `return` of the offset of batch z's matrix in an operand whose batch axes `own` broadcast to
 * `out` (right-aligned; an axis of size 1 repeats), each matrix holding `size` elements.
 */
function batchOffset(out: readonly number[], own: readonly number[], size: number): string {
  const terms: string[] = [];
  let outStride = 1;
  let ownStride = size;
  for (let i = out.length - 1; i >= 0; i--) {
    const d = own[own.length - out.length + i] ?? 1;
    if (d !== 1) terms.push(`((z / ${outStride}u) % ${out[i]}u) * ${ownStride}u`);
    outStride *= out[i]!;
    ownStride *= d;
  }
  return `return ${terms.length ? terms.join(" + ") : "0u"};`;
}

export const matmulKernel: WgslGenerator = (node, inputShapes, target) => {
  const g = matmulGeometry(node, inputShapes);
  if (target.subgroupMatrix) {
    const coop = coopMatmulKernel(node, g, target);
    if (coop) return coop;
  }
  return tiledMatmulKernel(node, g, target);
};

/** The fp32-FMA (or i32) tiled path, whatever the target offers; with `epilogue`, C's elements go through it instead of to binding 2. */
export function tiledMatmulKernel(
  node: PNode,
  g: MatmulGeometry,
  target: KernelTarget,
  forceTiles?: GemmTiles,
  epilogue?: GemmEpilogue,
): WgslKernel {
  const T = g.scalar;
  // vec4 views where the contiguous axis is a multiple of 4 (then every matrix and row starts on a quad)
  const aVec = (g.transA ? g.M : g.K) % 4 === 0;
  const bVec = (g.transB ? g.K : g.N) % 4 === 0;
  const cVec = !epilogue && g.N % 4 === 0;
  const elem = (vec: boolean) => (vec ? `vec4<${T}>` : T);
  const read = (buf: string, vec: boolean, index: string) => (vec ? `${buf}[(${index}) / 4u][(${index}) % 4u]` : `${buf}[${index}]`);
  const aIndex = g.transA ? `aBatch(z) + k * M + row` : `aBatch(z) + row * K + k`;
  const bIndex = g.transB ? `bBatch(z) + col * K + k` : `bBatch(z) + k * N + col`;
  const problem: GemmProblem = {
    batch: g.batch,
    M: g.M,
    N: g.N,
    K: g.K,
    scalar: T,
    declarations: [
      `@group(0) @binding(0) var<storage, read> a: array<${elem(aVec)}>;`,
      `@group(0) @binding(1) var<storage, read> b: array<${elem(bVec)}>;`,
      epilogue ? epilogue.declarations : `@group(0) @binding(2) var<storage, read_write> c: array<${elem(cVec)}>;`,
      `fn aBatch(z: u32) -> u32 { ${g.aBatchOffset} }`,
      `fn bBatch(z: u32) -> u32 { ${g.bBatchOffset} }`,
    ].join("\n"),
    a: {
      load: `return ${read("a", aVec, aIndex)};`,
      contiguous: g.transA ? "outer" : "k",
      load4: aVec ? `return a[(${aIndex}) / 4u];` : undefined,
    },
    b: {
      load: `return ${read("b", bVec, bIndex)};`,
      contiguous: g.transB ? "k" : "outer",
      load4: bVec ? `return b[(${bIndex}) / 4u];` : undefined,
    },
    store: epilogue
      ? `epilogue(z * M * N + m * N + n, v);`
      : cVec
        ? `c[(z * M * N + m * N + n) / 4u][n % 4u] = v;`
        : `c[z * M * N + m * N + n] = v;`,
    store4: cVec ? `c[(z * M * N + m * N + n) / 4u] = v;` : undefined,
  };
  const tiles = forceTiles ?? chooseGemmTiles(problem, target);
  const { code, workgroups } = emitGemm(problem, tiles, target);
  return { label: `${matmulLabel(node, g)} tiled ${tiles.BM}x${tiles.BN}`, code, workgroups };
}

export function matmulLabel(node: PNode, g: MatmulGeometry): string {
  const batch = g.batch > 1 ? `${g.batch}x ` : "";
  const t = `${g.transA ? "ᵀ" : ""}${g.transB ? " Bᵀ" : ""}`;
  return `matmul ${batch}${g.M}x${g.K}x${g.N}${t ? ` (${t.trim()})` : ""}${node.instance ? ` (layer ${node.instance})` : ""}`;
}
