// A direct stride-1 convolution in WebAssembly SIMD128 (conv.ts uses it for one-group stride-1
// convolutions up to K = inChannels·taps = 4096), where im2col + GEMM spends much of its time
// moving the K-times-larger column matrix rather than multiplying (most of it for a first layer,
// K = 27).
//
// The input of one batch item is staged zero-padded, so that with stride 1 every output position
// reads its window at a fixed offset from one base: over the flattened padded grid (row length
// Wp = padded width), output position q = (z·Hp + y)·Wp + x reads input q + offset(tap) for every
// tap (c, kz, ky, kx). The kernel computes NR consecutive positions at a time:
//
//   conv(xp, tab, wp, bp, yp, strips, taps, ldy, rowStrips, xSkip)
//     for s in [0, strips): for r in [0, MR): for i in [0, NR):
//       y[r·ldy + s·NR + i] = bias[r] + Σ_blocks Σ_{t in block} w[t·MR + r] · x[q(s) + i + tab[t]]
//   with x at xp, the i32 tap offsets tab[t] (bytes) at tab, MR interleaved output channels of
//   weights at wp, MR biases at bp, the outputs at yp with row stride ldy (bytes); q(s) advances
//   by NR per strip and by xSkip bytes more after every rowStrips strips. So with NR dividing the
//   output width, rows of outW/NR strips skip the Wp − outW padding positions and the outputs come
//   out dense; otherwise (rowStrips > strips) the kernel runs over the whole grid, the positions
//   past the end of each row included (the caller drops them).
// The register tile is the GEMM's (MR channels × NR positions, MR·NR/4 f32x4 accumulators);
// each tap loads NR inputs and splats MR weights.
//
// Rounding: both kernels sum in blocks, like the GEMM sums k blocks of at most 256 into C: the
// registers start from zero for each block of CONV_TAP_BLOCK taps (forward) or WGRAD_POSITIONS
// positions (weight gradient), and each block's sum is then added to the result in memory. One
// running sum over all of K = inChannels·taps (2304 for ResNet's 3x3 convolutions over 256
// channels) rounds about three times worse, which was enough to flip ReLU masks deep in
// ResNet-18 (a pre-activation of 1e-5 changing sign) and to move its gradients by 7e-2.

import { Code, OP, SIMD, type WasmFunction } from "./wasm-code.js";
import type { GemmKernelShape } from "./wasm-gemm.js";

const I32_LOAD = 0x28;
/** Taps summed in registers before the sum goes to the outputs (the GEMM's k block). */
const CONV_TAP_BLOCK = 256;
/** Positions per lane summed in registers before the weight gradient's sums go to dW. */
const WGRAD_POSITIONS = 256;

export function emitDirectConv(shape: GemmKernelShape): WasmFunction {
  const { mr, nr, fma } = shape;
  const nv = nr / 4;
  const [XP, TAB, WP, BP, YP, STRIPS, TAPS, LDY, ROW_STRIPS, X_SKIP] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [S, T, TB, W, X, Y, RS, REST] = [10, 11, 12, 13, 14, 15, 16, 17];
  const nI32 = 8;
  const V0 = 10 + nI32;
  const acc = (r: number, j: number) => V0 + r * nv + j;
  const xv = (j: number) => V0 + mr * nv + j;
  const WV = V0 + mr * nv + nv;
  const c = new Code();
  c.get(STRIPS).set(S).get(ROW_STRIPS).set(RS);
  c.whilePositive(S);
  {
    // the strip's outputs start as the biases
    c.get(YP).set(Y);
    for (let r = 0; r < mr; r++) {
      c.get(BP)
        .simdMem(SIMD.load32Splat, 2, r * 4)
        .set(WV);
      for (let j = 0; j < nv; j++)
        c.get(Y)
          .get(WV)
          .simdMem(SIMD.store, 2, j * 16);
      if (r < mr - 1) c.addLocal(Y, LDY);
    }
    c.get(TAB).set(TB).get(WP).set(W).get(TAPS).set(REST);
    c.op(OP.loop, OP.void); // tap blocks (taps >= 1)
    {
      for (let r = 0; r < mr; r++) for (let j = 0; j < nv; j++) c.v128zero().set(acc(r, j));
      // T = min(REST, CONV_TAP_BLOCK); REST -= T
      c.i32(CONV_TAP_BLOCK).get(REST).get(REST).i32(CONV_TAP_BLOCK).op(OP.i32gtS, OP.select).set(T);
      c.get(REST).get(T).op(OP.i32sub).set(REST);
      c.op(OP.loop, OP.void); // taps of the block
      {
        c.get(XP).get(TB).mem(I32_LOAD, 2, 0).op(OP.i32add).set(X);
        for (let j = 0; j < nv; j++)
          c.get(X)
            .simdMem(SIMD.load, 2, j * 16)
            .set(xv(j));
        for (let r = 0; r < mr; r++) {
          c.get(W)
            .simdMem(SIMD.load32Splat, 2, r * 4)
            .set(WV);
          for (let j = 0; j < nv; j++) {
            if (fma) c.get(WV).get(xv(j)).get(acc(r, j)).simd(SIMD.relaxedMadd).set(acc(r, j));
            else c.get(acc(r, j)).get(WV).get(xv(j)).simd(SIMD.f32x4mul).simd(SIMD.f32x4add).set(acc(r, j));
          }
        }
        c.addTo(TB, 4).addTo(W, mr * 4);
        c.get(T).i32(1).op(OP.i32sub).tee(T).op(OP.brIf, 0);
      }
      c.op(OP.end);
      // y += the block's sums
      c.get(YP).set(Y);
      for (let r = 0; r < mr; r++) {
        for (let j = 0; j < nv; j++)
          c.get(Y)
            .get(Y)
            .simdMem(SIMD.load, 2, j * 16)
            .get(acc(r, j))
            .simd(SIMD.f32x4add)
            .simdMem(SIMD.store, 2, j * 16);
        if (r < mr - 1) c.addLocal(Y, LDY);
      }
      c.get(REST).i32(0).op(OP.i32gtS, OP.brIf, 0);
    }
    c.op(OP.end);
    c.addTo(XP, nr * 4).addTo(YP, nr * 4);
    c.get(S).i32(1).op(OP.i32sub).set(S);
    c.get(RS).i32(1).op(OP.i32sub).tee(RS).op(OP.i32eqz, OP.if, OP.void);
    c.get(ROW_STRIPS).set(RS).addLocal(XP, X_SKIP);
    c.op(OP.end);
  }
  c.endLoop();
  return { name: "conv", params: 10, i32Locals: nI32, v128Locals: mr * nv + nv + 1, code: c };
}

/** Taps per weight-gradient tile (with MR output channels: MR·TAPS_PER_TILE accumulators). */
export const WGRAD_TAPS = 2;

// The weight gradient over the same padded grid: dW[o, t] += Σ_q dy[o, q] · x[q + tab[t]], with
// dy laid out on the grid (zero at the positions past the end of each output row):
//
//   convWeightGrad(dyp, ldy, xp, tab, tapBlocks, dwp, ldw, vectors)
//     for each block of WGRAD_TAPS taps (tapBlocks of them, tab advancing): for r in [0, MR):
//       dW[r·ldw + t] += Σ over q < 4·vectors of dy[r·ldy + q] · x[q + tab[t]]
//   (ldy, ldw in bytes; dW at dwp, the block's taps consecutive).
// The register tile is MR channels × WGRAD_TAPS taps of f32x4 partial sums over 4 consecutive
// positions; after every WGRAD_POSITIONS vectors the tile's sums are folded (lanes 0+1, 2+3,
// then together) and added to dW.
export function emitConvWeightGrad(shape: GemmKernelShape): WasmFunction {
  const { mr, fma } = shape;
  const tt = WGRAD_TAPS;
  const [DY, LDY, XP, TAB, BLOCKS, DW, LDW, VECTORS] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [TB, T, D, Q, QEND, QBLOCK, AT] = [8, 9, 10, 11, 12, 13, 14];
  const ROW = 15; // mr row pointers of dy
  const OFF = ROW + mr; // tt tap pointers into x
  const nI32 = 7 + mr + tt;
  const V0 = 8 + nI32;
  const acc = (r: number, j: number) => V0 + r * tt + j;
  const dv = (r: number) => V0 + mr * tt + r;
  const XV = V0 + mr * tt + mr;
  const c = new Code();
  for (let r = 0; r < mr; r++)
    c.get(DY)
      .get(LDY)
      .i32(r)
      .op(OP.i32mul, OP.i32add)
      .set(ROW + r);
  c.get(VECTORS).i32(16).op(OP.i32mul).set(QEND);
  c.get(TAB).set(TB).get(DW).set(D).get(BLOCKS).set(T);
  c.whilePositive(T);
  {
    for (let j = 0; j < tt; j++)
      c.get(XP)
        .get(TB)
        .mem(I32_LOAD, 2, j * 4)
        .op(OP.i32add)
        .set(OFF + j);
    c.i32(0).set(Q);
    c.op(OP.loop, OP.void); // position blocks (vectors >= 1)
    {
      for (let r = 0; r < mr; r++) for (let j = 0; j < tt; j++) c.v128zero().set(acc(r, j));
      // QBLOCK = min(Q + 16·WGRAD_POSITIONS, QEND)
      c.get(Q)
        .i32(16 * WGRAD_POSITIONS)
        .op(OP.i32add)
        .tee(QBLOCK)
        .get(QEND)
        .get(QBLOCK)
        .get(QEND)
        .op(OP.i32ltS, OP.select)
        .set(QBLOCK);
      c.op(OP.loop, OP.void);
      {
        for (let r = 0; r < mr; r++)
          c.get(ROW + r)
            .get(Q)
            .op(OP.i32add)
            .simdMem(SIMD.load, 2, 0)
            .set(dv(r));
        for (let j = 0; j < tt; j++) {
          c.get(OFF + j)
            .get(Q)
            .op(OP.i32add)
            .simdMem(SIMD.load, 2, 0)
            .set(XV);
          for (let r = 0; r < mr; r++) {
            if (fma) c.get(dv(r)).get(XV).get(acc(r, j)).simd(SIMD.relaxedMadd).set(acc(r, j));
            else c.get(acc(r, j)).get(dv(r)).get(XV).simd(SIMD.f32x4mul).simd(SIMD.f32x4add).set(acc(r, j));
          }
        }
        c.addTo(Q, 16);
        c.get(Q).get(QBLOCK).op(OP.i32ltS, OP.brIf, 0);
      }
      c.op(OP.end);
      for (let r = 0; r < mr; r++)
        for (let j = 0; j < tt; j++) {
          // dW[r, j] += (a0 + a1) + (a2 + a3)
          c.get(D).get(LDW).i32(r).op(OP.i32mul, OP.i32add).set(AT);
          c.get(AT)
            .get(AT)
            .mem(OP.f32load, 2, j * 4);
          c.get(acc(r, j)).lane(SIMD.f32x4extractLane, 0).get(acc(r, j)).lane(SIMD.f32x4extractLane, 1).op(OP.f32add);
          c.get(acc(r, j)).lane(SIMD.f32x4extractLane, 2).get(acc(r, j)).lane(SIMD.f32x4extractLane, 3).op(OP.f32add);
          c.op(OP.f32add, OP.f32add).mem(OP.f32store, 2, j * 4);
        }
      c.get(Q).get(QEND).op(OP.i32ltS, OP.brIf, 0);
    }
    c.op(OP.end);
    c.addTo(TB, tt * 4).addTo(D, tt * 4);
    c.get(T).i32(1).op(OP.i32sub).set(T);
  }
  c.endLoop();
  return { name: "convWeightGrad", params: 8, i32Locals: nI32, v128Locals: mr * tt + mr + 1, code: c };
}
