// The tiled GEMM every matrix-shaped WGSL kernel shares (matmul, implicit-GEMM convolutions and
// their gradients): C[z, m, n] = Σ_k A[z, m, k] · B[z, k, n] for z < batch, where the caller says
// how to read one element of A and B and how to write one of C. Reading through a function is
// what lets a convolution gather its im2col matrix on the fly instead of materialising it.
//
// Shape of the kernel (all sizes are baked in as constants):
//   - a workgroup owns a BM×BN tile of C and walks K in BK-deep slices staged in workgroup
//     memory (As holds A's slice transposed, k-major, so both tiles are read as vec4 rows);
//   - each thread owns a TM×TN register block of C: rows 4·(ty + i·TY) + r, columns
//     4·(tx + j·TX) + c, i.e. interleaved vec4 strips, so its vec4 reads from workgroup memory
//     do not collide with its neighbours' and its stores are coalesced;
//   - the next slice is fetched from global memory into registers while the current one is
//     multiplied (one register stage of prefetch); loaders and the epilogue are constant-trip
//     loops, which keeps the WGSL small enough for software drivers to compile quickly;
//   - loads are vec4 where the operand is contiguous along a multiple-of-4 axis; every load and
//     store is bounds-checked, so any M, N, K (odd, prime, 1) works;
//   - tile sizes come from chooseGemmTiles: by shape (skinny, small, batched-small) and by the
//     target's invocation and workgroup-storage limits.

import type { KernelTarget } from "./kernel.js";
import { spreadWorkgroups } from "./kernel.js";

export type GemmScalar = "f32" | "i32";

/** How to read one operand. Functions bodies are WGSL statements ending in `return`. */
export interface GemmOperand {
  /**
   * Body of `fn (z: u32, row: u32, k: u32) -> T` for A (row = m) or `fn (z: u32, k: u32, col: u32) -> T`
   * for B (col = n); called only with in-range indices.
   */
  readonly load: string;
  /** the axis along which consecutive elements are adjacent in memory: "k", or "outer" (m for A, n for B) */
  readonly contiguous: "k" | "outer";
  /**
   * Optional body returning vec4<T>: the 4 elements starting at the given indices along the
   * contiguous axis, whose start is a multiple of 4. Give it only when that axis' size is a
   * multiple of 4 (so a quad is wholly in range or wholly out).
   */
  readonly load4?: string;
}

export interface GemmProblem {
  readonly batch: number;
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly scalar: GemmScalar;
  /** module-scope WGSL the loads and stores use: bindings, helper functions */
  readonly declarations: string;
  readonly a: GemmOperand;
  readonly b: GemmOperand;
  /** body of `fn (z: u32, m: u32, n: u32, v: T)`: store one element of C (indices in range) */
  readonly store: string;
  /** optional body of `fn (z: u32, m: u32, n: u32, v: vec4<T>)` storing C[z, m, n..n+3]; only when N % 4 == 0 */
  readonly store4?: string;
}

/**
 * What a product kernel runs in place of writing C (epilogue.ts): module-scope WGSL declaring the
 * bindings after the operands' and `fn epilogue(i: u32, v: f32)`, which takes C's element at
 * flat index i. The kernel then declares no binding for C.
 */
export interface GemmEpilogue {
  readonly declarations: string;
}

/** One tiling: a BM×BN tile per workgroup, BK-deep k-slices, TM×TN outputs per thread. */
export interface GemmTiles {
  readonly BM: number;
  readonly BN: number;
  readonly BK: number;
  readonly TM: number;
  readonly TN: number;
}

/**
 * Candidate tilings, largest first, with a rough relative throughput per workgroup-slot
 * (arithmetic intensity: bigger tiles and register blocks reuse more). The 128×128/8×8 and
 * 64×64/4×4 shapes are the two that measured best on the H100 (../shared/gpu/README.md);
 * the small and skinny ones serve small, batched and matrix-vector-like products.
 */
export const GEMM_CANDIDATES: readonly (GemmTiles & { readonly speed: number })[] = [
  { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8, speed: 1.0 },
  { BM: 64, BN: 128, BK: 16, TM: 4, TN: 8, speed: 0.8 },
  { BM: 128, BN: 64, BK: 16, TM: 8, TN: 4, speed: 0.8 },
  { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, speed: 0.65 },
  { BM: 32, BN: 64, BK: 16, TM: 4, TN: 4, speed: 0.5 },
  { BM: 64, BN: 32, BK: 16, TM: 4, TN: 4, speed: 0.5 },
  { BM: 32, BN: 32, BK: 16, TM: 4, TN: 4, speed: 0.4 },
  { BM: 16, BN: 64, BK: 16, TM: 4, TN: 4, speed: 0.35 },
  { BM: 64, BN: 16, BK: 16, TM: 4, TN: 4, speed: 0.35 },
  { BM: 16, BN: 32, BK: 16, TM: 4, TN: 4, speed: 0.25 },
  { BM: 32, BN: 16, BK: 16, TM: 4, TN: 4, speed: 0.25 },
  { BM: 16, BN: 16, BK: 16, TM: 4, TN: 4, speed: 0.15 },
];

/**
 * Workgroups that run at once on a large GPU (an H100 has 132 multiprocessors): fewer tiles
 * than this leave it partly idle, so smaller tiles win for mid-sized products.
 */
const CONCURRENT_WORKGROUPS = 132;

export function gemmThreads(t: GemmTiles): number {
  return (t.BM / t.TM) * (t.BN / t.TN);
}

function gemmStorageBytes(t: GemmTiles): number {
  return (t.BM + t.BN) * t.BK * 4;
}

/**
 * The tiling with the least estimated time: waves of CONCURRENT_WORKGROUPS tiles, each costing
 * its padded area over its speed (so padding waste, idle multiprocessors and low reuse all
 * count). BK shrinks for short K.
 */
export function chooseGemmTiles(
  p: Pick<GemmProblem, "batch" | "M" | "N" | "K">,
  target: Pick<KernelTarget, "maxInvocationsPerWorkgroup" | "maxWorkgroupStorageBytes">,
): GemmTiles {
  let best: GemmTiles | undefined;
  let bestCost = Infinity;
  for (const c of GEMM_CANDIDATES) {
    if (gemmThreads(c) > target.maxInvocationsPerWorkgroup || gemmStorageBytes(c) > target.maxWorkgroupStorageBytes) continue;
    const tiles = p.batch * Math.ceil(p.M / c.BM) * Math.ceil(p.N / c.BN);
    const cost = Math.ceil(tiles / CONCURRENT_WORKGROUPS) * ((c.BM * c.BN) / c.speed);
    if (cost < bestCost) {
      bestCost = cost;
      best = c;
    }
  }
  if (!best) throw new Error("gemm: no tiling fits the device's workgroup limits");
  const BK = Math.min(best.BK, Math.max(4, Math.ceil(p.K / 4) * 4));
  return { BM: best.BM, BN: best.BN, BK, TM: best.TM, TN: best.TN };
}

/** The WGSL module (entry `main`) and dispatch size of a tiled GEMM. */
export function emitGemm(
  p: GemmProblem,
  tiles: GemmTiles,
  target: Pick<KernelTarget, "maxWorkgroupsPerDimension">,
): {
  code: string;
  workgroups: [number, number, number];
} {
  const { BM, BN, BK, TM, TN } = tiles;
  const T = p.scalar;
  const TX = BN / TN;
  const TY = BM / TM;
  const I = TM / 4;
  const J = TN / 4;
  const threads = TX * TY;
  const tilesM = Math.ceil(p.M / BM);
  const tilesN = Math.ceil(p.N / BN);
  const total = p.batch * tilesM * tilesN;
  const workgroups = spreadWorkgroups(total, 1, target);
  const zero = T === "f32" ? "0.0" : "0";
  const kQuads = p.K % 4 === 0 && BK % 4 === 0;
  const a = loaderPlan("A", p.a, T, BM, BK, threads, kQuads, p.M % 4 === 0);
  const b = loaderPlan("B", p.b, T, BN, BK, threads, kQuads, p.N % 4 === 0);
  const vecStore = p.store4 !== undefined && p.N % 4 === 0;
  const acc = (i: number, r: number, j: number) => `c${i}_${r}_${j}`;
  const accNames: string[] = [];
  for (let i = 0; i < I; i++) for (let r = 0; r < 4; r++) for (let j = 0; j < J; j++) accNames.push(acc(i, r, j));

  // Loops with constant trip counts rather than generator-unrolled statements: hardware
  // compilers unroll them anyway, and software drivers (SwiftShader) take minutes over the
  // hundreds of guarded branches an unrolled loader would be.
  const L: string[] = [p.declarations.trim(), ""];
  L.push(`fn loadA(z: u32, row: u32, k: u32) -> ${T} {\n${indent(p.a.load)}\n}`);
  if (a.vec4) L.push(`fn loadA4(z: u32, row: u32, k: u32) -> vec4<${T}> {\n${indent(p.a.load4!)}\n}`);
  L.push(`fn loadB(z: u32, k: u32, col: u32) -> ${T} {\n${indent(p.b.load)}\n}`);
  if (b.vec4) L.push(`fn loadB4(z: u32, k: u32, col: u32) -> vec4<${T}> {\n${indent(p.b.load4!)}\n}`);
  L.push(`fn storeC(z: u32, m: u32, n: u32, v: ${T}) {\n${indent(p.store)}\n}`);
  if (vecStore) L.push(`fn storeC4(z: u32, m: u32, n: u32, v: vec4<${T}>) {\n${indent(p.store4!)}\n}`);
  L.push(
    "",
    `const M = ${p.M}u;`,
    `const N = ${p.N}u;`,
    `const K = ${p.K}u;`,
    `// A's slice transposed (As[k·BM/4 + m/4][m%4] = A[m, k]) and B's slice, both read as vec4 rows`,
    `var<workgroup> As: array<vec4<${T}>, ${(BK * BM) / 4}>;`,
    `var<workgroup> Bs: array<vec4<${T}>, ${(BK * BN) / 4}>;`,
    "",
    ...a.functions,
    ...b.functions,
    `// C[m, n..n+3] from one accumulator quad, the parts inside C`,
    `fn storeQuad(z: u32, m: u32, n: u32, v: vec4<${T}>) {`,
    `  if (m >= M) { return; }`,
    ...(vecStore
      ? [`  if (n < N) { storeC4(z, m, n, v); }`]
      : [`  for (var q = 0u; q < 4u; q++) {`, `    if (n + q < N) { storeC(z, m, n + q, v[q]); }`, `  }`]),
    `}`,
    "",
    `@compute @workgroup_size(${TX}, ${TY})`,
    `fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) t: u32) {`,
    `  let tile = wid.x + wid.y * ${workgroups[0]}u;`,
    `  if (tile >= ${total}u) { return; }`,
    `  let n0 = (tile % ${tilesN}u) * ${BN}u;`,
    `  let m0 = ((tile / ${tilesN}u) % ${tilesM}u) * ${BM}u;`,
    `  let z = tile / ${tilesN * tilesM}u;`,
    `  let tx = lid.x;`,
    `  let ty = lid.y;`,
    ...accNames.map((c) => `  var ${c} = vec4<${T}>(${zero});`),
    // one register stage of prefetch: the next slice is fetched while this one is multiplied
    `  var ra: array<${a.type}, ${a.perThread}>;`,
    `  var rb: array<${b.type}, ${b.perThread}>;`,
    ...fetchBoth("  ", "0u"),
    `  for (var k0 = 0u; k0 < K; k0 += ${BK}u) {`,
    `    for (var l = 0u; l < ${a.perThread}u; l++) { stageA(t + l * ${threads}u, ra[l]); }`,
    `    for (var l = 0u; l < ${b.perThread}u; l++) { stageB(t + l * ${threads}u, rb[l]); }`,
    `    workgroupBarrier();`,
    `    if (k0 + ${BK}u < K) {`,
    ...fetchBoth("      ", `k0 + ${BK}u`),
    `    }`,
    `    for (var k = 0u; k < ${BK}u; k++) {`,
  );
  for (let i = 0; i < I; i++) L.push(`      let a${i} = As[k * ${BM / 4}u + ty + ${i * TY}u];`);
  for (let j = 0; j < J; j++) L.push(`      let b${j} = Bs[k * ${BN / 4}u + tx + ${j * TX}u];`);
  for (let i = 0; i < I; i++)
    for (let r = 0; r < 4; r++)
      for (let j = 0; j < J; j++) {
        const c = acc(i, r, j);
        const bcast = `vec4<${T}>(a${i}[${r}])`;
        L.push(T === "f32" ? `      ${c} = fma(${bcast}, b${j}, ${c});` : `      ${c} = ${c} + ${bcast} * b${j};`);
      }
  L.push(`    }`, `    workgroupBarrier();`, `  }`);
  // thread (tx, ty) holds rows 4·(ty + i·TY) + r and columns 4·(tx + j·TX)..+3
  L.push(
    `  var quads = array<vec4<${T}>, ${accNames.length}>(${accNames.join(", ")});`,
    `  for (var q = 0u; q < ${accNames.length}u; q++) {`,
    `    let i = q / ${4 * J}u;`,
    `    let r = (q / ${J}u) % 4u;`,
    `    let j = q % ${J}u;`,
    `    storeQuad(z, m0 + 4u * (ty + i * ${TY}u) + r, n0 + 4u * (tx + j * ${TX}u), quads[q]);`,
    `  }`,
    `}`,
  );
  return { code: L.join("\n") + "\n", workgroups };

  function fetchBoth(pad: string, k0: string): string[] {
    return [
      `${pad}for (var l = 0u; l < ${a.perThread}u; l++) { ra[l] = fetchA(z, m0, ${k0}, t + l * ${threads}u); }`,
      `${pad}for (var l = 0u; l < ${b.perThread}u; l++) { rb[l] = fetchB(z, n0, ${k0}, t + l * ${threads}u); }`,
    ];
  }
}

interface LoaderPlan {
  vec4: boolean;
  /** WGSL type of one load unit: T or vec4<T> */
  type: string;
  /** load units per thread per slice */
  perThread: number;
  /** `fetchX(z, o0, k0, u)`: unit u of the slice at (o0, k0), zero outside the operand; `stageX(u, v)`: into workgroup memory */
  functions: string[];
}

/**
 * How the threads load one BK×BO slice of an operand (BO = BM for A, BN for B): consecutive
 * units walk the operand's contiguous axis (coalesced), a quad at a time where vec4 loads are
 * allowed; thread t takes units t, t + threads, ...; units past the slice are skipped when
 * the count does not divide.
 */
function loaderPlan(
  name: "A" | "B",
  op: GemmOperand,
  scalar: GemmScalar,
  BO: number,
  BK: number,
  threads: number,
  kQuads: boolean,
  outerQuads: boolean,
): LoaderPlan {
  const vec4 = op.load4 !== undefined && (op.contiguous === "k" ? kQuads : outerQuads);
  const w = vec4 ? 4 : 1;
  const units = (BO * BK) / w;
  const perThread = Math.ceil(units / threads);
  const inSlice = units % threads === 0 ? "" : `u < ${units}u && `;
  const outerSize = name === "A" ? "M" : "N";
  const type = vec4 ? `vec4<${scalar}>` : scalar;
  const load = vec4 ? `load${name}4` : `load${name}`;
  const args = name === "A" ? "z, o0 + o, k0 + k" : "z, k0 + k, o0 + o";
  // coordinates of unit u inside the slice: o (outer axis) and k
  const coords =
    op.contiguous === "k"
      ? `  let o = u / ${BK / w}u;\n  let k = (u % ${BK / w}u) * ${w}u;`
      : `  let o = (u % ${BO / w}u) * ${w}u;\n  let k = u / ${BO / w}u;`;
  const cell = (k: string) => `${name}s[(${k}) * ${BO / 4}u + o / 4u]`;
  const store = !vec4
    ? [`  ${cell("k")}[o % 4u] = v;`]
    : op.contiguous === "outer"
      ? [`  ${cell("k")} = v;`]
      : [0, 1, 2, 3].map((c) => `  ${cell(`k + ${c}u`)}[o % 4u] = v[${c}];`);
  return {
    vec4,
    type,
    perThread,
    functions: [
      `fn fetch${name}(z: u32, o0: u32, k0: u32, u: u32) -> ${type} {`,
      coords,
      `  if (${inSlice}o0 + o < ${outerSize} && k0 + k < K) { return ${load}(${args}); }`,
      `  return ${type}();`,
      `}`,
      `fn stage${name}(u: u32, v: ${type}) {`,
      ...(inSlice ? [`  if (u >= ${units}u) { return; }`] : []),
      coords,
      ...store,
      `}`,
      "",
    ],
  };
}

function indent(body: string): string {
  return body
    .trim()
    .split("\n")
    .map((l) => "  " + l.trim())
    .join("\n");
}
