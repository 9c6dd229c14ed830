// Optimiser updates in WebAssembly SIMD128 (runtime/optim.ts calls them through update.ts): a
// parameter update is a few multiply-adds per element over arrays of up to millions of floats,
// which a JS loop runs at about 3 ns per element (scalar, float64, a typed-array store with a
// rounding each) and f32x4 at a small fraction of that, the copies into the heap included.
// All pointers are BYTE offsets into the kernel heap; n counts floats and is a multiple of 4;
// the scalar coefficients are f32 values at `coef`.
//
//   sgd(w, g, n, coef)                     coef = [lr, wd]
//     w ← w − lr·(g + wd·w)
//   sgdMomentum(w, g, buf, n, coef, first, nesterov)
//                                          coef = [lr, wd, μ, 1 − dampening]
//     g' = g + wd·w;  v = first ? g' : μ·buf + (1 − dampening)·g';  buf ← v;
//     w ← w − lr·(nesterov ? g' + μ·v : v)
//   adam(w, g, m, v, n, coef)              coef = [shrink, l2, β1, 1 − β1, β2, 1 − β2, step, √bc2, eps]
//     w' = shrink·w;  g' = g + l2·w';  m ← β1·m + (1 − β1)·g';  v ← β2·v + (1 − β2)·g'·g';
//     w ← w' − step·m / (√v/√bc2 + eps)
// The same formulas as the JS updates, in float32 arithmetic, so results agree to rounding.

import { Code, OP, SIMD, type WasmFunction } from "./wasm-code.js";

/** Loads coefficient k (f32 at coef + 4k) into every lane of local `to`. */
function splatCoef(c: Code, coef: number, k: number, to: number): void {
  c.get(coef)
    .simdMem(SIMD.load32Splat, 2, 4 * k)
    .set(to);
}

/** local `to` = v128.load(local ptr). */
function load(c: Code, ptr: number, to: number): void {
  c.get(ptr).simdMem(SIMD.load, 4, 0).set(to);
}

/** v128.store(local ptr, local from). */
function store(c: Code, ptr: number, from: number): void {
  c.get(ptr).get(from).simdMem(SIMD.store, 4, 0);
}

/** Advances every pointer local by one f32x4 and n by 4. */
function advance(c: Code, ptrs: readonly number[], n: number): void {
  for (const p of ptrs) c.addTo(p, 16);
  c.addTo(n, -4);
}

export function emitSgd(): WasmFunction {
  const [W, G, N, COEF] = [0, 1, 2, 3];
  const [LR, WD, WV, GV] = [4, 5, 6, 7];
  const c = new Code();
  splatCoef(c, COEF, 0, LR);
  splatCoef(c, COEF, 1, WD);
  c.whilePositive(N);
  load(c, W, WV);
  // g' = g + wd·w, then w − lr·g'
  c.get(G).simdMem(SIMD.load, 4, 0).get(WD).get(WV).simd(SIMD.f32x4mul).simd(SIMD.f32x4add).set(GV);
  c.get(W).get(WV).get(LR).get(GV).simd(SIMD.f32x4mul).simd(SIMD.f32x4sub).simdMem(SIMD.store, 4, 0);
  advance(c, [W, G], N);
  c.endLoop();
  return { name: "sgd", params: 4, i32Locals: 0, v128Locals: 4, code: c };
}

export function emitSgdMomentum(): WasmFunction {
  const [W, G, BUF, N, COEF, FIRST, NESTEROV] = [0, 1, 2, 3, 4, 5, 6];
  const [LR, WD, MU, DAMP, FIRSTM, NESTM, WV, GV, VV] = [7, 8, 9, 10, 11, 12, 13, 14, 15];
  const c = new Code();
  splatCoef(c, COEF, 0, LR);
  splatCoef(c, COEF, 1, WD);
  splatCoef(c, COEF, 2, MU);
  splatCoef(c, COEF, 3, DAMP);
  // all-ones lane masks from the 0/1 flags, for bitselect
  c.i32(0).get(FIRST).op(OP.i32sub).simd(SIMD.i32x4splat).set(FIRSTM);
  c.i32(0).get(NESTEROV).op(OP.i32sub).simd(SIMD.i32x4splat).set(NESTM);
  c.whilePositive(N);
  load(c, W, WV);
  c.get(G).simdMem(SIMD.load, 4, 0).get(WD).get(WV).simd(SIMD.f32x4mul).simd(SIMD.f32x4add).set(GV);
  // v = first ? g' : μ·buf + damp·g'
  c.get(GV)
    .get(MU)
    .get(BUF)
    .simdMem(SIMD.load, 4, 0)
    .simd(SIMD.f32x4mul)
    .get(DAMP)
    .get(GV)
    .simd(SIMD.f32x4mul)
    .simd(SIMD.f32x4add)
    .get(FIRSTM)
    .simd(SIMD.bitselect)
    .set(VV);
  store(c, BUF, VV);
  // w − lr·(nesterov ? g' + μ·v : v)
  c.get(W)
    .get(WV)
    .get(LR)
    .get(GV)
    .get(MU)
    .get(VV)
    .simd(SIMD.f32x4mul)
    .simd(SIMD.f32x4add)
    .get(VV)
    .get(NESTM)
    .simd(SIMD.bitselect)
    .simd(SIMD.f32x4mul)
    .simd(SIMD.f32x4sub)
    .simdMem(SIMD.store, 4, 0);
  advance(c, [W, G, BUF], N);
  c.endLoop();
  return { name: "sgdMomentum", params: 7, i32Locals: 0, v128Locals: 9, code: c };
}

export function emitAdam(): WasmFunction {
  const [W, G, M, V, N, COEF] = [0, 1, 2, 3, 4, 5];
  const [SHRINK, L2, B1, B1C, B2, B2C, STEP, SBC2, EPS] = [6, 7, 8, 9, 10, 11, 12, 13, 14];
  const [WV, GV, MV, VV] = [15, 16, 17, 18];
  const c = new Code();
  [SHRINK, L2, B1, B1C, B2, B2C, STEP, SBC2, EPS].forEach((local, k) => splatCoef(c, COEF, k, local));
  c.whilePositive(N);
  c.get(W).simdMem(SIMD.load, 4, 0).get(SHRINK).simd(SIMD.f32x4mul).set(WV);
  c.get(G).simdMem(SIMD.load, 4, 0).get(L2).get(WV).simd(SIMD.f32x4mul).simd(SIMD.f32x4add).set(GV);
  // m = β1·m + (1 − β1)·g'
  c.get(B1).get(M).simdMem(SIMD.load, 4, 0).simd(SIMD.f32x4mul).get(B1C).get(GV).simd(SIMD.f32x4mul).simd(SIMD.f32x4add).set(MV);
  store(c, M, MV);
  // v = β2·v + (1 − β2)·g'·g'
  c.get(B2)
    .get(V)
    .simdMem(SIMD.load, 4, 0)
    .simd(SIMD.f32x4mul)
    .get(B2C)
    .get(GV)
    .simd(SIMD.f32x4mul)
    .get(GV)
    .simd(SIMD.f32x4mul)
    .simd(SIMD.f32x4add)
    .set(VV);
  store(c, V, VV);
  // w = w' − step·m / (√v/√bc2 + eps)
  c.get(W)
    .get(WV)
    .get(STEP)
    .get(MV)
    .simd(SIMD.f32x4mul)
    .get(VV)
    .simd(SIMD.f32x4sqrt)
    .get(SBC2)
    .simd(SIMD.f32x4div)
    .get(EPS)
    .simd(SIMD.f32x4add)
    .simd(SIMD.f32x4div)
    .simd(SIMD.f32x4sub)
    .simdMem(SIMD.store, 4, 0);
  advance(c, [W, G, M, V], N);
  c.endLoop();
  return { name: "adam", params: 6, i32Locals: 0, v128Locals: 13, code: c };
}

export function emitOptimizerFunctions(): WasmFunction[] {
  return [emitSgd(), emitSgdMomentum(), emitAdam()];
}
