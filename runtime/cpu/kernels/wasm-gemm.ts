// A WebAssembly SIMD128 GEMM macro-kernel, emitted as bytes from TypeScript (no external
// toolchain: the module is a few hundred bytes, built at first use and validated with
// `WebAssembly.validate`, so hosts without SIMD128 keep the JS path).
//
// Exports (all pointers are byte offsets into the exported memory `mem`):
//   pack(src, dst, strips, kc, lds): packs B panels (see below) from a row-major copy of B
//     staged in `mem` (row stride lds bytes), `strips` full NR-column strips of kc rows;
//   macro(ap, bp, cp, mTiles, nTiles, kc, ldc)
//     for jr in [0, nTiles), ir in [0, mTiles):
//       C[ir*MR .. +MR, jr*NR .. +NR] += Apanel(ir) · Bpanel(jr)
//   where
//     Apanel(ir) at ap + ir*MR*kc*4 holds kc steps of MR consecutive f32 (column k of the
//                MR-row strip of op(A));
//     Bpanel(jr) at bp + jr*NR*kc*4 holds kc steps of NR consecutive f32 (row k of the
//                NR-column strip of op(B));
//     C is row-major f32 with a row stride of ldc BYTES (a multiple of 16 keeps loads aligned);
//     kc must be a positive multiple of the unroll factor U (the packer zero-pads to it).
// The micro-kernel keeps MR*NR/4 f32x4 accumulators in locals; with the default 4x8 tile that is
// 8 accumulators + 2 B vectors + 1 broadcast A, which fits x64's 16 vector registers.
// With `fma` the multiply-add is `f32x4.relaxed_madd` (relaxed SIMD; opt-in in Node 20).

const I32 = 0x7f;
const V128 = 0x7b;

function uleb(n: number, out: number[]): void {
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
}

function sleb(n: number, out: number[]): void {
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return;
    }
    out.push(byte | 0x80);
  }
}

/** A tiny instruction emitter for the handful of opcodes the kernel needs. */
class Code {
  readonly b: number[] = [];
  get(i: number): this {
    this.b.push(0x20);
    uleb(i, this.b);
    return this;
  }
  set(i: number): this {
    this.b.push(0x21);
    uleb(i, this.b);
    return this;
  }
  i32(v: number): this {
    this.b.push(0x41);
    sleb(v, this.b);
    return this;
  }
  op(...bytes: number[]): this {
    this.b.push(...bytes);
    return this;
  }
  simd(opcode: number): this {
    this.b.push(0xfd);
    uleb(opcode, this.b);
    return this;
  }
  /** SIMD memory op with memarg (align log2, offset). */
  simdMem(opcode: number, align: number, offset: number): this {
    this.simd(opcode);
    uleb(align, this.b);
    uleb(offset, this.b);
    return this;
  }
  v128zero(): this {
    this.simd(0x0c);
    for (let i = 0; i < 16; i++) this.b.push(0);
    return this;
  }
  /** local[i] += k (i32). */
  addTo(i: number, k: number): this {
    return this.get(i).i32(k).op(0x6a).set(i);
  }
}

const OP = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  void: 0x40,
  i32add: 0x6a,
  i32sub: 0x6b,
  i32mul: 0x6c,
  i32ne: 0x47,
  i32ltU: 0x49,
} as const;

const SIMD = {
  load: 0x00,
  load32Splat: 0x09,
  store: 0x0b,
  f32x4add: 0xe4,
  f32x4mul: 0xe6,
  relaxedMadd: 0x105,
} as const;

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

export function emitGemmModule(shape: GemmKernelShape): Uint8Array<ArrayBuffer> {
  const { mr, nr, unroll, fma } = shape;
  if (nr % 4 !== 0) throw new Error("nr must be a multiple of 4");
  const nv = nr / 4;
  // params
  const AP = 0,
    BP = 1,
    CP = 2,
    MT = 3,
    NT = 4,
    KC = 5,
    LDC = 6;
  // i32 locals
  const JR = 7,
    IR = 8,
    A = 9,
    B = 10,
    C = 11,
    K = 12,
    BCOL = 13,
    CCOL = 14;
  const nI32 = 8;
  // v128 locals
  const V0 = 7 + nI32;
  const acc = (r: number, j: number) => V0 + r * nv + j;
  const bv = (j: number) => V0 + mr * nv + j;
  const AV = V0 + mr * nv + nv;
  const nV = mr * nv + nv + 1;

  const c = new Code();
  const panelA = mr * 4; // bytes per k step of an A panel
  const panelB = nr * 4;
  // bcol = bp; ccol = cp; jr = nTiles
  c.get(BP).set(BCOL).get(CP).set(CCOL).get(NT).set(JR);
  c.op(OP.block, OP.void, OP.loop, OP.void); // jr loop
  {
    c.get(JR).op(0x45).op(OP.brIf, 1); // if jr == 0 break
    // a = ap; c = ccol; ir = mTiles
    c.get(AP).set(A).get(CCOL).set(C).get(MT).set(IR);
    c.op(OP.block, OP.void, OP.loop, OP.void); // ir loop
    {
      c.get(IR).op(0x45).op(OP.brIf, 1);
      for (let r = 0; r < mr; r++) for (let j = 0; j < nv; j++) c.v128zero().set(acc(r, j));
      c.get(BCOL).set(B).get(KC).set(K);
      c.op(OP.loop, OP.void); // k loop (kc >= unroll > 0)
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
              if (fma) {
                c.get(AV).get(bv(j)).get(acc(r, j)).simd(SIMD.relaxedMadd).set(acc(r, j));
              } else {
                c.get(acc(r, j)).get(AV).get(bv(j)).simd(SIMD.f32x4mul).simd(SIMD.f32x4add).set(acc(r, j));
              }
            }
          }
        }
        c.addTo(A, panelA * unroll).addTo(B, panelB * unroll);
        c.get(K).i32(unroll).op(OP.i32sub).set(K);
        c.get(K).op(OP.brIf, 0);
      }
      c.op(OP.end);
      // C tile += acc; row pointer walks by ldc
      c.get(C).set(K); // reuse K as the row pointer
      for (let r = 0; r < mr; r++) {
        for (let j = 0; j < nv; j++) {
          c.get(K);
          c.get(K).simdMem(SIMD.load, 0, j * 16);
          c.get(acc(r, j)).simd(SIMD.f32x4add);
          c.simdMem(SIMD.store, 0, j * 16);
        }
        if (r < mr - 1) c.get(K).get(LDC).op(OP.i32add).set(K);
      }
      // next A panel already reached by a (it walked kc steps); c += mr * ldc
      c.get(C).get(LDC).i32(mr).op(OP.i32mul).op(OP.i32add).set(C);
      c.get(IR).i32(1).op(OP.i32sub).set(IR);
      c.op(OP.br, 0);
    }
    c.op(OP.end, OP.end);
    // bcol += nr*kc*4 ; ccol += nr*4
    c.get(BCOL).get(KC).i32(panelB).op(OP.i32mul).op(OP.i32add).set(BCOL);
    c.addTo(CCOL, panelB);
    c.get(JR).i32(1).op(OP.i32sub).set(JR);
    c.op(OP.br, 0);
  }
  c.op(OP.end, OP.end);
  c.op(OP.end); // function end

  const body: number[] = [];
  uleb(2, body); // two local groups
  uleb(nI32, body);
  body.push(I32);
  uleb(nV, body);
  body.push(V128);
  body.push(...c.b);

  // pack(src, dst, strips, kc, lds): for each of `strips` NR-column strips of a row-major source
  // (row stride lds BYTES, strip s at src + s*NR*4), copies its kc rows of NR f32 to dst
  // consecutively: the packed-B layout of macro, with v128 loads and stores (kc > 0).
  const [SRC, DST, ST, PKC, LDS, P, PK] = [0, 1, 2, 3, 4, 5, 6];
  const pk = new Code();
  pk.op(OP.block, OP.void, OP.loop, OP.void);
  {
    pk.get(ST).op(0x45).op(OP.brIf, 1);
    pk.get(SRC).set(P).get(PKC).set(PK);
    pk.op(OP.loop, OP.void);
    {
      for (let j = 0; j < nv; j++)
        pk.get(DST)
          .get(P)
          .simdMem(SIMD.load, 2, j * 16)
          .simdMem(SIMD.store, 2, j * 16);
      pk.get(P).get(LDS).op(OP.i32add).set(P);
      pk.addTo(DST, panelB);
      pk.get(PK).i32(1).op(OP.i32sub).set(PK);
      pk.get(PK).op(OP.brIf, 0);
    }
    pk.op(OP.end);
    pk.addTo(SRC, panelB);
    pk.get(ST).i32(1).op(OP.i32sub).set(ST);
    pk.op(OP.br, 0);
  }
  pk.op(OP.end, OP.end);
  pk.op(OP.end);
  const packBody: number[] = [];
  uleb(1, packBody);
  uleb(2, packBody);
  packBody.push(I32);
  packBody.push(...pk.b);

  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const section = (id: number, content: number[]) => {
    out.push(id);
    uleb(content.length, out);
    out.push(...content);
  };
  // type section: (i32 x7) -> (), (i32 x5) -> ()
  section(1, [2, 0x60, 7, I32, I32, I32, I32, I32, I32, I32, 0, 0x60, 5, I32, I32, I32, I32, I32, 0]);
  // function section
  section(3, [2, 0, 1]);
  // memory section: one memory, min 1 page, no max
  section(5, [1, 0x00, 1]);
  // export section: "macro" func 0, "pack" func 1, "mem" memory 0
  const exp: number[] = [3];
  const name = (s: string) => {
    uleb(s.length, exp);
    for (const ch of s) exp.push(ch.charCodeAt(0));
  };
  name("macro");
  exp.push(0x00, 0);
  name("pack");
  exp.push(0x00, 1);
  name("mem");
  exp.push(0x02, 0);
  section(7, exp);
  // code section
  const code: number[] = [2];
  uleb(body.length, code);
  code.push(...body);
  uleb(packBody.length, code);
  code.push(...packBody);
  section(10, code);
  return new Uint8Array(out);
}

export interface WasmGemm {
  readonly shape: GemmKernelShape;
  readonly macro: (ap: number, bp: number, cp: number, mTiles: number, nTiles: number, kc: number, ldcBytes: number) => void;
  /** Packs `strips` full NR-column strips of kc rows (row stride ldsBytes) from src to dst (byte offsets). */
  readonly pack: (src: number, dst: number, strips: number, kc: number, ldsBytes: number) => void;
  readonly memory: WebAssembly.Memory;
}

const instances = new Map<string, WasmGemm | null>();

/** Instantiates (once) the kernel for a tile shape; null when the host lacks the features. */
export function wasmGemm(shape: GemmKernelShape): WasmGemm | null {
  const key = `${shape.mr}x${shape.nr}u${shape.unroll}${shape.fma ? "f" : ""}`;
  const hit = instances.get(key);
  if (hit !== undefined) return hit;
  let result: WasmGemm | null = null;
  try {
    if (typeof WebAssembly === "object") {
      const bytes = emitGemmModule(shape);
      if (WebAssembly.validate(bytes)) {
        const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
        const ex = inst.exports as { macro: WasmGemm["macro"]; pack: WasmGemm["pack"]; mem: WebAssembly.Memory };
        result = { shape, macro: ex.macro, pack: ex.pack, memory: ex.mem };
      }
    }
  } catch {
    result = null;
  }
  instances.set(key, result);
  return result;
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

function emitSmallDot(R: number): number[] {
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
    c.get(J).op(0x45).op(OP.brIf, 1);
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
        .simd(0x1f)
        .op(0)
        .get(ACC + r)
        .simd(0x1f)
        .op(1)
        .op(0x92);
      c.get(ACC + r)
        .simd(0x1f)
        .op(2)
        .get(ACC + r)
        .simd(0x1f)
        .op(3)
        .op(0x92)
        .op(0x92);
      c.op(0x38, 2);
      uleb(r * 4, c.b);
    }
    c.get(B).get(LDB).op(OP.i32add).set(B);
    c.addTo(C, R * 4);
    c.get(J).i32(1).op(OP.i32sub).set(J);
    c.op(OP.br, 0);
  }
  c.op(OP.end, OP.end, OP.end);
  const body: number[] = [];
  uleb(2, body);
  uleb(nI32, body);
  body.push(I32);
  uleb(R + 1, body);
  body.push(V128);
  body.push(...c.b);
  return body;
}

function emitSmallAxpy(R: number): number[] {
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
    c.get(KC).op(0x45).op(OP.brIf, 1);
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
  c.op(OP.end, OP.end, OP.end);
  const body: number[] = [];
  uleb(2, body);
  uleb(nI32, body);
  body.push(I32);
  uleb(R + 1, body);
  body.push(V128);
  body.push(...c.b);
  return body;
}

export function emitSmallMModule(): Uint8Array<ArrayBuffer> {
  const funcs: { name: string; body: number[] }[] = [];
  for (const R of SMALLM_R) {
    funcs.push({ name: `dot${R}`, body: emitSmallDot(R) });
    funcs.push({ name: `axpy${R}`, body: emitSmallAxpy(R) });
  }
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const section = (id: number, content: number[]) => {
    out.push(id);
    uleb(content.length, out);
    out.push(...content);
  };
  section(1, [1, 0x60, 7, I32, I32, I32, I32, I32, I32, I32, 0]);
  const fsec: number[] = [];
  uleb(funcs.length, fsec);
  for (let i = 0; i < funcs.length; i++) fsec.push(0);
  section(3, fsec);
  section(5, [1, 0x00, 1]);
  const exp: number[] = [];
  uleb(funcs.length + 1, exp);
  const name = (s: string) => {
    uleb(s.length, exp);
    for (const ch of s) exp.push(ch.charCodeAt(0));
  };
  funcs.forEach((f, i) => {
    name(f.name);
    exp.push(0x00);
    uleb(i, exp);
  });
  name("mem");
  exp.push(0x02, 0);
  section(7, exp);
  const code: number[] = [];
  uleb(funcs.length, code);
  for (const f of funcs) {
    uleb(f.body.length, code);
    code.push(...f.body);
  }
  section(10, code);
  return new Uint8Array(out);
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
