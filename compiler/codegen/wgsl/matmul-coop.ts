// The opt-in cooperative-matrix matmul: Dawn's `chromium_experimental_subgroup_matrix` WGSL
// extension (tensor cores on NVIDIA, simdgroup matrices on Apple). A subgroup multiplies
// fragments it loads straight from the storage buffers with subgroupMatrixLoad, accumulating a
// block of BLOCK_M × BLOCK_N result fragments in registers; one subgroup per workgroup (a
// workgroup of 32 invocations: on a device with smaller subgroups each subgroup computes the
// same block, which is redundant but still right).
//
// Its accuracy is the matrix unit's, not fp32 FMA's (tensor cores may round operands to
// TF32), so callers opting in accept a looser tolerance: COOP_RELATIVE_TOLERANCE.
//
// Written to the extension as Dawn ships it in the `webgpu` package used here:
//   subgroup_matrix_left<T, K, M>, subgroup_matrix_right<T, N, K>, subgroup_matrix_result<T, N, M>
//   (columns before rows), subgroupMatrixLoad<TYPE, row_major|col_major>(ptr, offset, stride),
//   subgroupMatrixStore<row_major>(ptr, offset, value, stride), subgroupMatrixMultiplyAccumulate.
// No adapter available to this project's CI offers the feature, so the kernel is only checked
// to parse (test/runtime/webgpu/matmul-kernel.test.ts); it has not run on hardware yet.
// `npm run bench:gpu -- --coop` runs it where the adapter has the feature, after checking its
// result against the tiled kernel's within COOP_RELATIVE_TOLERANCE.

import type { PNode } from "../../prim/ir.js";
import type { KernelTarget, WgslKernel } from "./kernel.js";
import { spreadWorkgroups } from "./kernel.js";
import type { MatmulGeometry } from "./matmul.js";
import { matmulLabel } from "./matmul.js";

/** Relative error (to Σ|a·b|) the cooperative path is allowed: TF32 keeps 10 mantissa bits. */
export const COOP_RELATIVE_TOLERANCE = 2 ** -10;

/** One fragment shape the adapter offers (GPUAdapterInfo.subgroupMatrixConfigs). */
export interface SubgroupMatrixShape {
  readonly M: number;
  readonly N: number;
  readonly K: number;
}

/** The fragment shape when the target does not list its configurations: 8×8×8 f32, the common one. */
const DEFAULT_SHAPE: SubgroupMatrixShape = { M: 8, N: 8, K: 8 };

/** Result fragments per subgroup along M and N (a 32×32 block with 8×8 fragments). */
const BLOCK_M = 4;
const BLOCK_N = 4;

/**
 * The cooperative-matrix kernel, or undefined when this product does not suit it (not f32, no
 * f32 fragment shape, or sizes that are not multiples of the block: those take the tiled path).
 */
export function coopMatmulKernel(node: PNode, g: MatmulGeometry, target: KernelTarget): WgslKernel | undefined {
  if (g.scalar !== "f32") return undefined;
  const shape = target.subgroupMatrixShapes ? target.subgroupMatrixShapes[0] : DEFAULT_SHAPE;
  if (!shape) return undefined;
  const bm = shape.M * BLOCK_M;
  const bn = shape.N * BLOCK_N;
  if (g.M % bm !== 0 || g.N % bn !== 0 || g.K % shape.K !== 0) return undefined;
  const tilesN = g.N / bn;
  const tilesM = g.M / bm;
  const total = g.batch * tilesM * tilesN;
  const workgroups = spreadWorkgroups(total, 1, target);
  const left = `subgroup_matrix_left<f32, ${shape.K}, ${shape.M}>`;
  const right = `subgroup_matrix_right<f32, ${shape.N}, ${shape.K}>`;
  const result = `subgroup_matrix_result<f32, ${shape.N}, ${shape.M}>`;
  // element offsets of fragment (row r, column k) of op(A) and (k, column c) of op(B)
  const aAt = (row: string, k: string) => (g.transA ? `aBase + (${k}) * ${g.M}u + ${row}` : `aBase + (${row}) * ${g.K}u + ${k}`);
  const bAt = (k: string, col: string) => (g.transB ? `bBase + (${col}) * ${g.K}u + ${k}` : `bBase + (${k}) * ${g.N}u + ${col}`);
  const aLayout = g.transA ? "col_major" : "row_major";
  const bLayout = g.transB ? "col_major" : "row_major";
  const aStride = g.transA ? g.M : g.K;
  const bStride = g.transB ? g.K : g.N;

  const L: string[] = [
    "enable chromium_experimental_subgroup_matrix;",
    "",
    "@group(0) @binding(0) var<storage, read> a: array<f32>;",
    "@group(0) @binding(1) var<storage, read> b: array<f32>;",
    "@group(0) @binding(2) var<storage, read_write> c: array<f32>;",
    "",
    `fn aBatch(z: u32) -> u32 { ${g.aBatchOffset} }`,
    `fn bBatch(z: u32) -> u32 { ${g.bBatchOffset} }`,
    "",
    "@compute @workgroup_size(32)",
    "fn main(@builtin(workgroup_id) wid: vec3u) {",
    `  let tile = wid.x + wid.y * ${workgroups[0]}u;`,
    `  if (tile >= ${total}u) { return; }`,
    `  let n0 = (tile % ${tilesN}u) * ${bn}u;`,
    `  let m0 = ((tile / ${tilesN}u) % ${tilesM}u) * ${bm}u;`,
    `  let z = tile / ${tilesN * tilesM}u;`,
    "  let aBase = aBatch(z);",
    "  let bBase = bBatch(z);",
  ];
  for (let i = 0; i < BLOCK_M; i++) for (let j = 0; j < BLOCK_N; j++) L.push(`  var c${i}_${j} = ${result}();`);
  L.push(`  for (var k = 0u; k < ${g.K}u; k += ${shape.K}u) {`);
  for (let i = 0; i < BLOCK_M; i++)
    L.push(`    let a${i} = subgroupMatrixLoad<${left}, ${aLayout}>(&a, ${aAt(`m0 + ${i * shape.M}u`, "k")}, ${aStride}u);`);
  for (let j = 0; j < BLOCK_N; j++)
    L.push(`    let b${j} = subgroupMatrixLoad<${right}, ${bLayout}>(&b, ${bAt("k", `n0 + ${j * shape.N}u`)}, ${bStride}u);`);
  for (let i = 0; i < BLOCK_M; i++)
    for (let j = 0; j < BLOCK_N; j++) L.push(`    c${i}_${j} = subgroupMatrixMultiplyAccumulate(a${i}, b${j}, c${i}_${j});`);
  L.push("  }");
  for (let i = 0; i < BLOCK_M; i++)
    for (let j = 0; j < BLOCK_N; j++)
      L.push(
        `  subgroupMatrixStore<row_major>(&c, z * ${g.M * g.N}u + (m0 + ${i * shape.M}u) * ${g.N}u + n0 + ${j * shape.N}u, c${i}_${j}, ${g.N}u);`,
      );
  L.push("}");
  return { label: `${matmulLabel(node, g)} cooperative ${bm}x${bn}`, code: L.join("\n") + "\n", workgroups };
}
