// WebAssembly SIMD128 GEMM kernels, emitted as bytes (see wasm-code.ts). They work on matrices
// held in the kernel heap (wasm-heap.ts); all pointers and strides are BYTE offsets into it.
//
//   packA(src, rs, cs, dst, rows, kc, kcp)
//     packs op(A) (element (i, k) at src + i*rs + k*cs) as ceil(rows/MR) strips of MR rows, each
//     kcp steps of MR consecutive f32 (column k of the strip); rows past `rows` and steps past kc
//     are zero.
//   packB(src, rs, cs, dst, cols, kc, kcp)
//     packs op(B) (element (k, j) at src + k*rs + j*cs) as ceil(cols/NR) strips of NR columns,
//     each kcp steps of NR consecutive f32 (row k of the strip), zero-padded likewise.
//   macro(ap, bp, cp, rows, cols, kcp, ldc, beta)
//     C[0..rows, 0..cols] (row stride ldc) = beta·C + Apacked · Bpacked, beta 0 or 1, tile by
//     tile: column strips outside, row strips inside. Full MR×NR tiles load and store f32x4;
//     edge tiles store lane by lane, so C needs no padding. Every element of C is the same
//     instruction sequence (its tile's k loop, then one add or store) wherever the tile lies.
// The register tile keeps MR*NR/4 f32x4 accumulators in locals: with the default 4x8 tile, 8
// accumulators + 2 B vectors + 1 broadcast A, which fits x64's 16 vector registers. The k loop
// is unrolled `unroll` times (kcp must be a multiple of it). With `fma` the multiply-add is
// `f32x4.relaxed_madd` (relaxed SIMD; opt-in in Node 20).
//
// The small-M kernels (dot/axpy, below) are a separate module with a memory of its own.

import { assembleModule, Code, OP, SIMD, type MemorySpec, type WasmFunction } from "./wasm-code.js";

export interface GemmKernelShape {
  /** Rows of the register tile. */
  mr: number;
  /** Columns of the register tile (multiple of 4). */
  nr: number;
  /** Unroll of the k loop; packed panels are zero-padded so kc % unroll == 0. */
  unroll: number;
  /** Use f32x4.relaxed_madd (relaxed SIMD). */
  fma: boolean;
}

const I32_AND = 0x71;
const F32_RESULT = 0x7d;

export function emitMacro(shape: GemmKernelShape): WasmFunction {
  const { mr, nr, unroll, fma } = shape;
  if (nr % 4 !== 0) throw new Error("nr must be a multiple of 4");
  const nv = nr / 4;
  const [AP, BP, CP, ROWS, COLS, KC, LDC, BETA] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [JL, IL, A, B, C, K, BCOL, CCOL, P] = [8, 9, 10, 11, 12, 13, 14, 15, 16];
  const nI32 = 9;
  const V0 = 8 + nI32;
  const acc = (r: number, j: number) => V0 + r * nv + j;
  const bv = (j: number) => V0 + mr * nv + j;
  const AV = V0 + mr * nv + nv;
  const panelA = mr * 4; // bytes per k step of an A strip
  const panelB = nr * 4;

  const c = new Code();
  const nextRow = (r: number) => {
    if (r < mr - 1) c.addLocal(P, LDC);
  };
  c.get(BP).set(BCOL).get(CP).set(CCOL).get(COLS).set(JL);
  c.whilePositive(JL);
  {
    c.get(AP).set(A).get(CCOL).set(C).get(ROWS).set(IL);
    c.whilePositive(IL);
    {
      for (let r = 0; r < mr; r++) for (let j = 0; j < nv; j++) c.v128zero().set(acc(r, j));
      c.get(BCOL).set(B).get(KC).set(K);
      c.op(OP.loop, OP.void); // k loop (kcp >= unroll > 0)
      {
        for (let u = 0; u < unroll; u++) {
          for (let j = 0; j < nv; j++)
            c.get(B)
              .simdMem(SIMD.load, 4, u * panelB + j * 16)
              .set(bv(j));
          for (let r = 0; r < mr; r++) {
            c.get(A)
              .simdMem(SIMD.load32Splat, 2, u * panelA + r * 4)
              .set(AV);
            for (let j = 0; j < nv; j++) {
              if (fma) c.get(AV).get(bv(j)).get(acc(r, j)).simd(SIMD.relaxedMadd).set(acc(r, j));
              else c.get(acc(r, j)).get(AV).get(bv(j)).simd(SIMD.f32x4mul).simd(SIMD.f32x4add).set(acc(r, j));
            }
          }
        }
        c.addTo(A, panelA * unroll).addTo(B, panelB * unroll);
        c.get(K).i32(unroll).op(OP.i32sub).tee(K).op(OP.brIf, 0);
      }
      c.op(OP.end);
      // store the tile: whole (f32x4) when it lies inside C, else lane by lane
      c.get(IL).i32(mr).op(OP.i32geS).get(JL).i32(nr).op(OP.i32geS, I32_AND);
      c.op(OP.if, OP.void);
      {
        c.get(C).set(P).get(BETA).op(OP.if, OP.void);
        for (let r = 0; r < mr; r++) {
          for (let j = 0; j < nv; j++)
            c.get(P)
              .get(P)
              .simdMem(SIMD.load, 0, j * 16)
              .get(acc(r, j))
              .simd(SIMD.f32x4add)
              .simdMem(SIMD.store, 0, j * 16);
          nextRow(r);
        }
        c.op(OP.else);
        for (let r = 0; r < mr; r++) {
          for (let j = 0; j < nv; j++)
            c.get(P)
              .get(acc(r, j))
              .simdMem(SIMD.store, 0, j * 16);
          nextRow(r);
        }
        c.op(OP.end);
      }
      c.op(OP.else);
      for (const add of [true, false]) {
        if (add) c.get(BETA).op(OP.if, OP.void);
        else c.op(OP.else);
        c.get(C).set(P);
        for (let r = 0; r < mr; r++) {
          c.get(IL).i32(r).op(OP.i32gtS, OP.if, OP.void);
          for (let j = 0; j < nv; j++)
            for (let l = 0; l < 4; l++) {
              const col = j * 4 + l;
              c.get(JL).i32(col).op(OP.i32gtS, OP.if, OP.void);
              c.get(P);
              if (add) c.get(P).mem(OP.f32load, 2, col * 4);
              c.get(acc(r, j)).lane(SIMD.f32x4extractLane, l);
              if (add) c.op(OP.f32add);
              c.mem(OP.f32store, 2, col * 4);
              c.op(OP.end);
            }
          c.op(OP.end);
          nextRow(r);
        }
      }
      c.op(OP.end, OP.end);
      c.get(C).get(LDC).i32(mr).op(OP.i32mul, OP.i32add).set(C);
      c.get(IL).i32(mr).op(OP.i32sub).set(IL);
    }
    c.endLoop();
    c.get(BCOL).get(KC).i32(panelB).op(OP.i32mul, OP.i32add).set(BCOL);
    c.addTo(CCOL, panelB);
    c.get(JL).i32(nr).op(OP.i32sub).set(JL);
  }
  c.endLoop();
  return { name: "macro", params: 8, i32Locals: nI32, v128Locals: mr * nv + nv + 1, code: c };
}

/** Zero-fills `count` steps of `width` f32 at local DST, advancing it (count in local N, consumed). */
function zeroSteps(c: Code, dst: number, n: number, width: number): void {
  c.whilePositive(n);
  for (let i = 0; i < width; i++)
    c.get(dst)
      .f32zero()
      .mem(OP.f32store, 2, i * 4);
  c.addTo(dst, width * 4);
  c.get(n).i32(1).op(OP.i32sub).set(n);
  c.endLoop();
}

/** `value at local q + off`, or 0 when local `left` <= idx (the element lies outside the matrix). */
function loadOrZero(c: Code, left: number, idx: number, q: number, off: number): void {
  c.get(left).i32(idx).op(OP.i32gtS, OP.if, F32_RESULT);
  c.get(q).mem(OP.f32load, 2, off);
  c.op(OP.else).f32zero().op(OP.end);
}

export function emitPackA(shape: GemmKernelShape): WasmFunction {
  const { mr } = shape;
  const [SRC, RS, CS, DST, ROWS, KC, KCP] = [0, 1, 2, 3, 4, 5, 6];
  const [RL, STRIP, P, K, Q] = [7, 8, 9, 10, 11];
  const c = new Code();
  c.get(SRC).set(STRIP).get(ROWS).set(RL);
  c.whilePositive(RL);
  {
    c.get(STRIP).set(P).get(KC).set(K);
    c.get(RL).i32(mr).op(OP.i32geS, OP.if, OP.void);
    {
      c.whilePositive(K);
      c.get(P).set(Q);
      for (let r = 0; r < mr; r++) {
        c.get(DST)
          .get(Q)
          .mem(OP.f32load, 2, 0)
          .mem(OP.f32store, 2, r * 4);
        if (r < mr - 1) c.addLocal(Q, RS);
      }
      c.addTo(DST, mr * 4).addLocal(P, CS);
      c.get(K).i32(1).op(OP.i32sub).set(K);
      c.endLoop();
    }
    c.op(OP.else);
    {
      c.whilePositive(K);
      c.get(P).set(Q);
      for (let r = 0; r < mr; r++) {
        c.get(DST);
        loadOrZero(c, RL, r, Q, 0);
        c.mem(OP.f32store, 2, r * 4);
        if (r < mr - 1) c.addLocal(Q, RS);
      }
      c.addTo(DST, mr * 4).addLocal(P, CS);
      c.get(K).i32(1).op(OP.i32sub).set(K);
      c.endLoop();
    }
    c.op(OP.end);
    c.get(KCP).get(KC).op(OP.i32sub).set(K);
    zeroSteps(c, DST, K, mr);
    c.get(STRIP).get(RS).i32(mr).op(OP.i32mul, OP.i32add).set(STRIP);
    c.get(RL).i32(mr).op(OP.i32sub).set(RL);
  }
  c.endLoop();
  return { name: "packA", params: 7, i32Locals: 5, v128Locals: 0, code: c };
}

export function emitPackB(shape: GemmKernelShape): WasmFunction {
  const { nr } = shape;
  const nv = nr / 4;
  const [SRC, RS, CS, DST, COLS, KC, KCP] = [0, 1, 2, 3, 4, 5, 6];
  const [CL, STRIP, P, K, Q] = [7, 8, 9, 10, 11];
  const c = new Code();
  const nextStep = () => {
    c.addTo(DST, nr * 4).addLocal(P, RS);
    c.get(K).i32(1).op(OP.i32sub).set(K);
  };
  c.get(SRC).set(STRIP).get(COLS).set(CL);
  c.whilePositive(CL);
  {
    c.get(STRIP).set(P).get(KC).set(K);
    c.get(CL).i32(nr).op(OP.i32geS);
    c.op(OP.if, OP.void);
    {
      c.get(CS).i32(4).op(OP.i32eq, OP.if, OP.void);
      // a whole strip of contiguous columns: f32x4 copies
      c.whilePositive(K);
      for (let j = 0; j < nv; j++)
        c.get(DST)
          .get(P)
          .simdMem(SIMD.load, 2, j * 16)
          .simdMem(SIMD.store, 2, j * 16);
      nextStep();
      c.endLoop();
      c.op(OP.else);
      // a whole strip of strided columns (transposed B): gather
      c.whilePositive(K);
      c.get(P).set(Q);
      for (let j = 0; j < nr; j++) {
        c.get(DST)
          .get(Q)
          .mem(OP.f32load, 2, 0)
          .mem(OP.f32store, 2, j * 4);
        if (j < nr - 1) c.addLocal(Q, CS);
      }
      nextStep();
      c.endLoop();
      c.op(OP.end);
    }
    c.op(OP.else);
    {
      // the last, partial strip
      c.whilePositive(K);
      c.get(P).set(Q);
      for (let j = 0; j < nr; j++) {
        c.get(DST);
        loadOrZero(c, CL, j, Q, 0);
        c.mem(OP.f32store, 2, j * 4);
        if (j < nr - 1) c.addLocal(Q, CS);
      }
      nextStep();
      c.endLoop();
    }
    c.op(OP.end);
    c.get(KCP).get(KC).op(OP.i32sub).set(K);
    zeroSteps(c, DST, K, nr);
    c.get(STRIP).get(CS).i32(nr).op(OP.i32mul, OP.i32add).set(STRIP);
    c.get(CL).i32(nr).op(OP.i32sub).set(CL);
  }
  c.endLoop();
  return { name: "packB", params: 7, i32Locals: 5, v128Locals: 0, code: c };
}

/** The GEMM functions for one tile shape, in the order the kernel heap instantiates them. */
export function emitGemmFunctions(shape: GemmKernelShape): WasmFunction[] {
  return [emitPackA(shape), emitPackB(shape), emitMacro(shape)];
}

/** A stand-alone module of the GEMM functions (memory of its own): validation, tests. */
export function emitGemmModule(shape: GemmKernelShape): Uint8Array<ArrayBuffer> {
  return assembleModule(emitGemmFunctions(shape), { kind: "own" });
}

/** Whether SIMD128 (and, separately, relaxed-SIMD FMA) modules validate on this host. */
export function wasmSimdSupport(): { simd: boolean; relaxed: boolean } {
  const ok = (fma: boolean) => {
    try {
      return typeof WebAssembly === "object" && WebAssembly.validate(emitGemmModule({ mr: 1, nr: 4, unroll: 1, fma }));
    } catch {
      return false;
    }
  };
  return { simd: ok(false), relaxed: ok(true) };
}

// ---------------------------------------------------------------------------------------------
// Small-M kernels (a few rows of A against a big B that is not packed). Exports, for R in
// SMALLM_R (pointers and strides in BYTES into `mem`):
//   dotR(ap, bp, ctp, n, k4b, lda, ldb): for j in [0, n): for r in [0, R):
//       Ct[j*R + r] = sum over kk < k4b/4 of A[r*lda + kk] · B[j*ldb + kk]
//     (B rows contiguous along k; k4b a positive multiple of 16; f32x4 accumulators, one per row);
//   axpyR(ap, bp, cp, k, n4b, ldb, ldc): for kk in [0, k): for r in [0, R):
//       C[r*ldc + 0 .. n4b) += At[kk*R + r] · B[kk*ldb + 0 .. n4b)
//     (At is op(A) transposed, R values per k step; n4b a positive multiple of 16).

export const SMALLM_R = [4, 8] as const;

function emitSmallDot(R: number): WasmFunction {
  const [AP, BP, CP, N, K4B, LDA, LDB] = [0, 1, 2, 3, 4, 5, 6];
  const J = 7,
    KK = 8,
    B = 9,
    C = 10,
    AR = 11;
  const nI32 = 4 + R;
  const ACC = 7 + nI32,
    BV = ACC + R;
  const c = new Code();
  for (let r = 0; r < R; r++)
    c.get(AP)
      .get(LDA)
      .i32(r)
      .op(OP.i32mul)
      .op(OP.i32add)
      .set(AR + r);
  c.get(BP).set(B).get(CP).set(C).get(N).set(J);
  c.op(OP.block, OP.void, OP.loop, OP.void);
  {
    c.get(J).op(OP.i32eqz).op(OP.brIf, 1);
    for (let r = 0; r < R; r++) c.v128zero().set(ACC + r);
    c.i32(0).set(KK);
    c.op(OP.loop, OP.void);
    {
      c.get(B).get(KK).op(OP.i32add).simdMem(SIMD.load, 2, 0).set(BV);
      for (let r = 0; r < R; r++) {
        c.get(ACC + r);
        c.get(AR + r)
          .get(KK)
          .op(OP.i32add)
          .simdMem(SIMD.load, 2, 0);
        c.get(BV)
          .simd(SIMD.f32x4mul)
          .simd(SIMD.f32x4add)
          .set(ACC + r);
      }
      c.addTo(KK, 16);
      c.get(KK).get(K4B).op(OP.i32ltU).op(OP.brIf, 0);
    }
    c.op(OP.end);
    for (let r = 0; r < R; r++) {
      c.get(C);
      c.get(ACC + r)
        .lane(SIMD.f32x4extractLane, 0)
        .get(ACC + r)
        .lane(SIMD.f32x4extractLane, 1)
        .op(OP.f32add);
      c.get(ACC + r)
        .lane(SIMD.f32x4extractLane, 2)
        .get(ACC + r)
        .lane(SIMD.f32x4extractLane, 3)
        .op(OP.f32add)
        .op(OP.f32add);
      c.mem(OP.f32store, 2, r * 4);
    }
    c.get(B).get(LDB).op(OP.i32add).set(B);
    c.addTo(C, R * 4);
    c.get(J).i32(1).op(OP.i32sub).set(J);
    c.op(OP.br, 0);
  }
  c.op(OP.end, OP.end);
  return { name: `dot${R}`, params: 7, i32Locals: nI32, v128Locals: R + 1, code: c };
}

function emitSmallAxpy(R: number): WasmFunction {
  const [AP, BP, CP, KN, N4B, LDB, LDC] = [0, 1, 2, 3, 4, 5, 6];
  const KC = 7,
    JJ = 8,
    B = 9,
    A = 10,
    CR = 11;
  const nI32 = 4 + R;
  const AV = 7 + nI32,
    BV = AV + R;
  const c = new Code();
  for (let r = 0; r < R; r++)
    c.get(CP)
      .get(LDC)
      .i32(r)
      .op(OP.i32mul)
      .op(OP.i32add)
      .set(CR + r);
  c.get(BP).set(B).get(AP).set(A).get(KN).set(KC);
  c.op(OP.block, OP.void, OP.loop, OP.void);
  {
    c.get(KC).op(OP.i32eqz).op(OP.brIf, 1);
    for (let r = 0; r < R; r++)
      c.get(A)
        .simdMem(SIMD.load32Splat, 2, r * 4)
        .set(AV + r);
    c.i32(0).set(JJ);
    c.op(OP.loop, OP.void);
    {
      c.get(B).get(JJ).op(OP.i32add).simdMem(SIMD.load, 2, 0).set(BV);
      for (let r = 0; r < R; r++) {
        c.get(CR + r)
          .get(JJ)
          .op(OP.i32add);
        c.get(CR + r)
          .get(JJ)
          .op(OP.i32add)
          .simdMem(SIMD.load, 2, 0);
        c.get(AV + r)
          .get(BV)
          .simd(SIMD.f32x4mul)
          .simd(SIMD.f32x4add);
        c.simdMem(SIMD.store, 2, 0);
      }
      c.addTo(JJ, 16);
      c.get(JJ).get(N4B).op(OP.i32ltU).op(OP.brIf, 0);
    }
    c.op(OP.end);
    c.get(B).get(LDB).op(OP.i32add).set(B);
    c.addTo(A, R * 4);
    c.get(KC).i32(1).op(OP.i32sub).set(KC);
    c.op(OP.br, 0);
  }
  c.op(OP.end, OP.end);
  return { name: `axpy${R}`, params: 7, i32Locals: nI32, v128Locals: R + 1, code: c };
}

export function emitSmallMModule(memory: MemorySpec = { kind: "own" }): Uint8Array<ArrayBuffer> {
  return assembleModule(
    SMALLM_R.flatMap((R) => [emitSmallDot(R), emitSmallAxpy(R)]),
    memory,
  );
}

type SmallFn = (p0: number, p1: number, p2: number, p3: number, p4: number, p5: number, p6: number) => void;

export interface WasmSmallM {
  /** dot[R] / axpy[R] for R in SMALLM_R (see above). */
  readonly dot: Record<number, SmallFn>;
  readonly axpy: Record<number, SmallFn>;
  readonly memory: WebAssembly.Memory;
}

let smallM: WasmSmallM | null | undefined;

/** Instantiates (once) the small-M kernels; null when the host lacks SIMD128. */
export function wasmSmallM(): WasmSmallM | null {
  if (smallM !== undefined) return smallM;
  smallM = null;
  try {
    if (typeof WebAssembly === "object") {
      const bytes = emitSmallMModule();
      if (WebAssembly.validate(bytes)) {
        const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as Record<string, SmallFn> & {
          mem: WebAssembly.Memory;
        };
        const dot: Record<number, SmallFn> = {};
        const axpy: Record<number, SmallFn> = {};
        for (const R of SMALLM_R) {
          dot[R] = ex[`dot${R}`]!;
          axpy[R] = ex[`axpy${R}`]!;
        }
        smallM = { dot, axpy, memory: ex.mem };
      }
    }
  } catch {
    smallM = null;
  }
  return smallM;
}
