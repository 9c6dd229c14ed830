// The per-primitive kernel builders of the CPU backend, as plain functions over explicit
// arguments: given a node's output buffer, its input buffers, its shapes and attributes, each
// builder plans once (index tables, geometry) and returns the kernel closure that computes the
// node, or null when there is nothing to do per run (leaves, aliases, constants filled here).
//
// The executor (runtime/cpu/executor.ts) and generated TypeScript modules
// (compiler/codegen/ts.ts, through runtime/module.ts) both run exactly these kernels.

import { numelOf, stridesOf, type PDType, type PNode } from "../../compiler/prim/ir.js";
import { matmul, type Epilogue, type MatmulOptions } from "./kernels/matmul.js";

export type { Epilogue } from "./kernels/matmul.js";
import { convBackwardInput, convBackwardWeight, convForward, convOutSize, type ConvGeometry } from "./kernels/conv.js";
import { avgPoolBackward, avgPoolForward, maxPoolBackward, maxPoolForward, type PoolGeometry } from "./kernels/pool.js";
import {
  convForward as localConvForward,
  convInputGrad as localConvInputGrad,
  convPlan,
  convWeightGrad as localConvWeightGrad,
  type WindowAttrs,
} from "./ops-conv.js";
import { BINARY_F, FAST_BINARY, UNARY_F, binaryRow, binarySame, rowsWithScalarKernel, unaryLoop, type Buf } from "./ops-elementwise.js";
import { broadcastStrides, copyRows, rowPlan } from "./ops-plan.js";
import {
  avgPool as localAvgPool,
  avgPoolGrad as localAvgPoolGrad,
  maxPool as localMaxPool,
  maxPoolGrad as localMaxPoolGrad,
  poolPlan,
} from "./ops-pool.js";
import { attentionGradKernel, attentionKernel } from "./ops-attention.js";
import type { SeededStream } from "./ops-rng.js";

export type { Buf } from "./ops-elementwise.js";

export type Kernel = () => void;

export interface Ctx {
  readonly n: PNode;
  readonly out: Buf;
  readonly ins: readonly Buf[];
  readonly shapes: readonly (readonly number[])[];
  readonly rng: SeededStream;
  /**
   * matmul and conv: the fused epilogue their output goes through instead of into `out` (which
   * is then not written; see kernels/matmul.ts)
   */
  readonly epilogue?: Epilogue;
}

/** The element type a buffer holds. */
export function dtypeOf(b: Buf): PDType {
  return b instanceof Float32Array ? "f32" : b instanceof Int32Array ? "i32" : "bool";
}

function nums(n: PNode, key: string): number[] {
  return n.attrs[key] as number[];
}

// ---------------------------------------------------------------------------
// Leaves

function constant({ n, out }: Ctx): null {
  const values = n.attrs["values"] as readonly number[] | undefined;
  const bool = n.dtype === "bool";
  for (let i = 0; i < out.length; i++) {
    const v = values ? values[i]! : (n.attrs["value"] as number);
    out[i] = bool ? (v !== 0 ? 1 : 0) : v;
  }
  return null;
}

function iota({ n, out }: Ctx): null {
  const axis = n.attrs["axis"] as number;
  const st = stridesOf(n.shape);
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(i / st[axis]!) % n.shape[axis]!;
  return null;
}

function rngUniform({ out, rng }: Ctx): Kernel {
  return () => rng.uniform(out as Float32Array);
}

function rngNormal({ out, rng }: Ctx): Kernel {
  return () => rng.normal(out as Float32Array);
}

// ---------------------------------------------------------------------------
// Elementwise

function unary({ n, out, ins }: Ctx): Kernel {
  return unaryLoop(n.op, n.dtype === "i32", out, ins[0]!, out.length);
}

function binary({ n, out, ins, shapes }: Ctx): Kernel {
  const [a, b] = [ins[0]!, ins[1]!];
  const i32mul = n.op === "mul" && a instanceof Int32Array;
  const code = i32mul ? -1 : (FAST_BINARY[n.op] ?? -1);
  const f = i32mul ? Math.imul : BINARY_F[n.op]!;
  const len = out.length;
  if (a.length === len && b.length === len) {
    if (code >= 0) return () => binarySame(code, out, a, b, len);
    return () => {
      for (let i = 0; i < len; i++) out[i] = f(a[i]!, b[i]!);
    };
  }
  const p = rowPlan(n.shape, [stridesOf(n.shape), broadcastStrides(shapes[0]!, n.shape), broadcastStrides(shapes[1]!, n.shape)]);
  const [oo, ao, bo] = p.offs as [Int32Array, Int32Array, Int32Array];
  const [, sa, sb] = p.inner as [number, number, number];
  const m = p.n;
  const withScalar = code >= 0 && sa === 1 && sb === 0 ? rowsWithScalarKernel(code, out, oo, a, ao, b, bo, p.rows, m) : null;
  if (withScalar) return withScalar;
  if (code >= 0)
    return () => {
      for (let r = 0; r < p.rows; r++) binaryRow(code, out, oo[r]!, a, ao[r]!, sa, b, bo[r]!, sb, m);
    };
  return () => {
    for (let r = 0; r < p.rows; r++) {
      const o0 = oo[r]!;
      const a0 = ao[r]!;
      const b0 = bo[r]!;
      for (let j = 0; j < m; j++) out[o0 + j] = f(a[a0 + j * sa]!, b[b0 + j * sb]!);
    }
  };
}

function where({ n, out, ins, shapes }: Ctx): Kernel {
  const [c, a, b] = [ins[0]!, ins[1]!, ins[2]!];
  const p = rowPlan(n.shape, [stridesOf(n.shape), ...shapes.map((s) => broadcastStrides(s, n.shape))]);
  const [oo, co, ao, bo] = p.offs as [Int32Array, Int32Array, Int32Array, Int32Array];
  const [, sc, sa, sb] = p.inner as [number, number, number, number];
  const m = p.n;
  return () => {
    for (let r = 0; r < p.rows; r++) {
      const o0 = oo[r]!;
      const c0 = co[r]!;
      const a0 = ao[r]!;
      const b0 = bo[r]!;
      for (let j = 0; j < m; j++) out[o0 + j] = c[c0 + j * sc] !== 0 ? a[a0 + j * sa]! : b[b0 + j * sb]!;
    }
  };
}

function cast({ n, out, ins }: Ctx): Kernel {
  const x = ins[0]!;
  const len = out.length;
  if (n.dtype === "bool")
    return () => {
      for (let i = 0; i < len; i++) out[i] = x[i] !== 0 ? 1 : 0;
    };
  return () => {
    for (let i = 0; i < len; i++) out[i] = x[i]!; // Int32Array stores truncate toward zero
  };
}

// ---------------------------------------------------------------------------
// Reductions

const SUM = 0;
const MAX = 1;
const MIN = 2;

/**
 * Splits x's axes into (outer kept O, reduced R, inner kept I) when the reduced axes (ignoring
 * unit axes) are adjacent; null otherwise.
 */
function oriSplit(shape: readonly number[], axes: readonly number[]): [number, number, number] | null {
  const red = shape.map((d, i) => d !== 1 && axes.includes(i));
  const first = red.indexOf(true);
  if (first < 0) return [numelOf(shape), 1, 1];
  const last = red.lastIndexOf(true);
  for (let i = first; i <= last; i++) if (!red[i] && shape[i] !== 1) return null;
  return [numelOf(shape.slice(0, first)), numelOf(shape.slice(first, last + 1)), numelOf(shape.slice(last + 1))];
}

function reduce({ n, out, ins, shapes }: Ctx): Kernel {
  const x = ins[0]!;
  const xs = shapes[0]!;
  const axes = nums(n, "axes");
  const kind = n.op === "reduce_sum" ? SUM : n.op === "reduce_max" ? MAX : MIN;
  const init = kind === SUM ? 0 : kind === MAX ? -Infinity : Infinity;
  const bool = n.dtype === "bool";
  const split = oriSplit(xs, axes);
  if (split && split[2] === 1 && !bool) {
    const [O, R] = split;
    return () => {
      for (let o = 0; o < O; o++) out[o] = fold(kind, init, x, o * R, 1, R);
    };
  }
  const acc = new Float64Array(out.length);
  const finish = (): void => {
    if (bool) for (let i = 0; i < out.length; i++) out[i] = acc[i] !== 0 ? 1 : 0;
    else for (let i = 0; i < out.length; i++) out[i] = acc[i]!;
  };
  if (split && kind === SUM && !bool && x instanceof Float32Array) {
    // a float32 sum over leading or middle axes (a bias gradient): four reduced rows per pass
    // over the accumulators, each column still summed in row order
    const [O, R, I] = split;
    const R4 = R & ~3;
    return () => {
      for (let o = 0; o < O; o++) {
        const ab = o * I;
        acc.fill(0, ab, ab + I);
        let xb = o * R * I;
        for (let r = 0; r < R4; r += 4, xb += 4 * I)
          for (let i = 0; i < I; i++) {
            const k = xb + i;
            acc[ab + i] = acc[ab + i]! + x[k]! + x[k + I]! + x[k + 2 * I]! + x[k + 3 * I]!;
          }
        for (let r = R4; r < R; r++, xb += I) for (let i = 0; i < I; i++) acc[ab + i] += x[xb + i]!;
      }
      finish();
    };
  }
  if (split) {
    const [O, R, I] = split;
    return () => {
      acc.fill(init);
      for (let o = 0; o < O; o++)
        for (let r = 0; r < R; r++) {
          const xb = (o * R + r) * I;
          const ab = o * I;
          if (kind === SUM) for (let i = 0; i < I; i++) acc[ab + i] += x[xb + i]!;
          else if (kind === MAX) for (let i = 0; i < I; i++) acc[ab + i] = Math.max(acc[ab + i]!, x[xb + i]!);
          else for (let i = 0; i < I; i++) acc[ab + i] = Math.min(acc[ab + i]!, x[xb + i]!);
        }
      finish();
    };
  }
  // general: each output's base offset, plus the offsets of the reduced sub-block
  const st = stridesOf(xs);
  const keptShape = xs.map((d, i) => (axes.includes(i) ? 1 : d));
  const redShape = xs.map((d, i) => (axes.includes(i) ? d : 1));
  const base = rowPlan(keptShape, [st]);
  const red = rowPlan(redShape, [st]);
  const bases = expand(base.offs[0]!, base.inner[0]!, base.n);
  const reds = expand(red.offs[0]!, red.inner[0]!, red.n);
  return () => {
    for (let o = 0; o < bases.length; o++) {
      const b = bases[o]!;
      let s = init;
      for (let k = 0; k < reds.length; k++) {
        const v = x[b + reds[k]!]!;
        s = kind === SUM ? s + v : kind === MAX ? Math.max(s, v) : Math.min(s, v);
      }
      acc[o] = s;
    }
    finish();
  };
}

/** Every offset of a row plan, in order. */
function expand(offs: Int32Array, step: number, n: number): Int32Array {
  const all = new Int32Array(offs.length * n);
  for (let r = 0; r < offs.length; r++) for (let j = 0; j < n; j++) all[r * n + j] = offs[r]! + j * step;
  return all;
}

function fold(kind: number, init: number, x: Buf, start: number, step: number, n: number): number {
  let s = init;
  if (kind === SUM) for (let j = 0; j < n; j++) s += x[start + j * step]!;
  else if (kind === MAX) for (let j = 0; j < n; j++) s = Math.max(s, x[start + j * step]!);
  else for (let j = 0; j < n; j++) s = Math.min(s, x[start + j * step]!);
  return s;
}

function argReduce({ n, out, ins, shapes }: Ctx): Kernel {
  const x = ins[0]!;
  const xs = shapes[0]!;
  const axis = n.attrs["axis"] as number;
  const O = numelOf(xs.slice(0, axis));
  const R = xs[axis]!;
  const I = numelOf(xs.slice(axis + 1));
  const max = n.op === "argmax";
  return () => {
    for (let o = 0; o < O; o++)
      for (let i = 0; i < I; i++) {
        const b = o * R * I + i;
        let best = x[b]!;
        let at = 0;
        for (let r = 1; r < R; r++) {
          const v = x[b + r * I]!;
          if (max ? v > best : v < best) {
            best = v;
            at = r;
          }
        }
        out[o * I + i] = at;
      }
  };
}

// ---------------------------------------------------------------------------
// Data movement

function copyKernel(out: Buf, x: Buf, p: ReturnType<typeof rowPlan>): Kernel {
  return () => copyRows(p, out, x);
}

function transpose({ n, out, ins, shapes }: Ctx): Kernel {
  const st = stridesOf(shapes[0]!);
  return copyKernel(out, ins[0]!, rowPlan(n.shape, [stridesOf(n.shape), nums(n, "perm").map((p) => st[p]!)]));
}

function broadcastTo({ n, out, ins, shapes }: Ctx): Kernel {
  return copyKernel(out, ins[0]!, rowPlan(n.shape, [stridesOf(n.shape), broadcastStrides(shapes[0]!, n.shape)]));
}

function slice({ n, out, ins, shapes }: Ctx): Kernel {
  const st = stridesOf(shapes[0]!);
  const starts = nums(n, "starts");
  const steps = nums(n, "steps");
  const base = starts.reduce((acc, s, i) => acc + s * st[i]!, 0);
  return copyKernel(out, ins[0]!, rowPlan(n.shape, [stridesOf(n.shape), st.map((s, i) => s * steps[i]!)], [0, base]));
}

function pad({ n, out, ins, shapes }: Ctx): Kernel {
  const v = n.attrs["value"] as number;
  const border = n.dtype === "bool" ? (v !== 0 ? 1 : 0) : v;
  const so = stridesOf(n.shape);
  const base = nums(n, "lo").reduce((acc, l, i) => acc + l * so[i]!, 0);
  const copy = copyKernel(out, ins[0]!, rowPlan(shapes[0]!, [so, stridesOf(shapes[0]!)], [base, 0]));
  // the border is written every run: the output's bytes may be shared with other values between runs
  return () => {
    out.fill(border);
    copy();
  };
}

function concat({ n, out, ins, shapes }: Ctx): Kernel {
  const axis = n.attrs["axis"] as number;
  const so = stridesOf(n.shape);
  let at = 0;
  const plans = shapes.map((s) => {
    const p = rowPlan(s, [so, stridesOf(s)], [at * so[axis]!, 0]);
    at += s[axis]!;
    return p;
  });
  return () => {
    for (let t = 0; t < plans.length; t++) copyRows(plans[t]!, out, ins[t]!);
  };
}

function indexError(n: PNode, v: number, size: number): Error {
  return new Error(`${n.op} (node ${n.id}): index ${v} out of range [0, ${size})`);
}

function gather({ n, out, ins, shapes }: Ctx): Kernel {
  const [x, idx] = [ins[0]!, ins[1]!];
  const xs = shapes[0]!;
  const axis = n.attrs["axis"] as number;
  const O = numelOf(xs.slice(0, axis));
  const A = xs[axis]!;
  const I = numelOf(xs.slice(axis + 1));
  const K = idx.length;
  return () => {
    for (let o = 0; o < O; o++)
      for (let k = 0; k < K; k++) {
        const id = idx[k]!;
        if (!(id >= 0 && id < A)) throw indexError(n, id, A);
        const src = (o * A + id) * I;
        const dst = (o * K + k) * I;
        for (let i = 0; i < I; i++) out[dst + i] = x[src + i]!;
      }
  };
}

function scatterAdd({ n, out, ins, shapes }: Ctx): Kernel {
  const [u, idx] = [ins[0]!, ins[1]!];
  const us = shapes[0]!;
  const axis = n.attrs["axis"] as number;
  const size = n.attrs["size"] as number;
  const k = shapes[1]!.length;
  const O = numelOf(us.slice(0, axis));
  const I = numelOf(us.slice(axis + k));
  const K = idx.length;
  return () => {
    out.fill(0);
    for (let o = 0; o < O; o++)
      for (let j = 0; j < K; j++) {
        const id = idx[j]!;
        if (!(id >= 0 && id < size)) throw indexError(n, id, size);
        const dst = (o * size + id) * I;
        const src = (o * K + j) * I;
        for (let i = 0; i < I; i++) out[dst + i] += u[src + i]!;
      }
  };
}

function oneHot({ n, out, ins }: Ctx): Kernel {
  const idx = ins[0]!;
  const depth = n.attrs["depth"] as number;
  return () => {
    out.fill(0);
    for (let k = 0; k < idx.length; k++) {
      const id = idx[k]!;
      if (id >= 0 && id < depth) out[k * depth + id] = 1;
    }
  };
}

// ---------------------------------------------------------------------------
// Matrix products, convolution, pooling

function matmulKernel({ n, out, ins, shapes, epilogue }: Ctx): Kernel {
  const [a, b] = [ins[0]!, ins[1]!];
  const [sa, sb] = [shapes[0]!, shapes[1]!];
  const transA = n.attrs["transA"] === true;
  const transB = n.attrs["transB"] === true;
  const M = n.shape.at(-2)!;
  const N = n.shape.at(-1)!;
  const K = transA ? sa.at(-2)! : sa.at(-1)!;
  const batchShape = n.shape.slice(0, -2);
  const batch = numelOf(batchShape);
  const [aMat, bMat] = [M * K, K * N];
  // per batch item: offsets of its A and B matrices under broadcasting
  const plan = rowPlan(batchShape, [
    broadcastStrides(sa.slice(0, -2), batchShape).map((s) => s * aMat),
    broadcastStrides(sb.slice(0, -2), batchShape).map((s) => s * bMat),
  ]);
  const aOffs = expand(plan.offs[0]!, plan.inner[0]!, plan.n);
  const bOffs = expand(plan.offs[1]!, plan.inner[1]!, plan.n);
  if (!(out instanceof Float32Array)) {
    if (epilogue) throw new Error(`executor: matmul (node ${n.id}) takes an epilogue on f32 only`);
    return () => {
      for (let t = 0; t < batch; t++) matmulInt(a, aOffs[t]!, b, bOffs[t]!, out, t * M * N, M, K, N, transA, transB);
    };
  }
  const [fa, fb] = [a as Float32Array, b as Float32Array];
  const aBatch = numelOf(sa.slice(0, -2));
  const bBatch = numelOf(sb.slice(0, -2));
  if ((aBatch === 1 || aBatch === batch) && (bBatch === 1 || bBatch === batch)) {
    const opts: MatmulOptions = {
      transA,
      transB,
      batch,
      strideA: aBatch === 1 ? 0 : aMat,
      strideB: bBatch === 1 ? 0 : bMat,
      strideC: M * N,
      ...(epilogue ? { epilogue } : {}),
    };
    return () => matmul(fa, fb, out, M, K, N, opts);
  }
  const items: MatmulOptions[] = [...Array(batch).keys()].map((t) => ({
    transA,
    transB,
    offsetA: aOffs[t]!,
    offsetB: bOffs[t]!,
    offsetC: t * M * N,
    ...(epilogue ? { epilogue } : {}),
  }));
  return () => {
    for (let t = 0; t < batch; t++) matmul(fa, fb, out, M, K, N, items[t]!);
  };
}

function matmulInt(
  a: Buf,
  ao: number,
  b: Buf,
  bo: number,
  c: Buf,
  co: number,
  M: number,
  K: number,
  N: number,
  tA: boolean,
  tB: boolean,
): void {
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s = (s + Math.imul(a[ao + (tA ? k * M + i : i * K + k)]!, b[bo + (tB ? j * K + k : k * N + j)]!)) | 0;
      c[co + i * N + j] = s;
    }
}

function windowOf(n: PNode): WindowAttrs {
  return { kernel: nums(n, "kernel"), stride: nums(n, "stride"), padLo: nums(n, "padLo"), dilation: nums(n, "dilation") };
}

function f32(ctx: Ctx): Float32Array[] {
  if (!(ctx.out instanceof Float32Array)) throw new Error(`executor: ${ctx.n.op} (node ${ctx.n.id}) supports f32 only, got ${ctx.n.dtype}`);
  return [ctx.out, ...(ctx.ins as Float32Array[])];
}

/**
 * The geometry for kernels/conv.ts, or null where it does not apply (it handles 1 to 3 spatial
 * axes; the executor-local ops-conv.ts takes any number).
 */
function convGeom(n: PNode, xShape: readonly number[], wShape: readonly number[], yShape: readonly number[]): ConvGeometry | null {
  const nd = xShape.length - 2;
  const g: ConvGeometry = {
    batch: xShape[0]!,
    inChannels: xShape[1]!,
    outChannels: wShape[0]!,
    groups: n.attrs["groups"] as number,
    inSize: xShape.slice(2),
    kernel: wShape.slice(2),
    stride: nums(n, "stride"),
    padLo: nums(n, "padLo"),
    padHi: nums(n, "padHi"),
    dilation: nums(n, "dilation"),
    outSize: yShape.slice(2),
  };
  const expect = convOutSize(g.inSize, g.kernel, g.stride, g.padLo, g.padHi, g.dilation);
  return nd >= 1 && nd <= 3 && expect.every((d, i) => d === g.outSize[i]) ? g : null;
}

function conv(ctx: Ctx): Kernel {
  const [y, x, w] = f32(ctx);
  const epilogue = ctx.epilogue;
  const g = convGeom(ctx.n, ctx.shapes[0]!, ctx.shapes[1]!, ctx.n.shape);
  if (g) {
    const opts = epilogue ? { epilogue } : {};
    return () => convForward(x!, w!, null, y!, g, opts);
  }
  const pl = convPlan(ctx.shapes[0]!, ctx.shapes[1]!, ctx.n.shape, windowOf(ctx.n), ctx.n.attrs["groups"] as number);
  if (!epilogue) return () => localConvForward(pl, x!, w!, y!);
  const t = new Float32Array(numelOf(ctx.n.shape)); // planned once: the product, then the epilogue over it
  return () => {
    localConvForward(pl, x!, w!, t);
    epilogue(t, 0, 0, t.length);
  };
}

function convInputGradK(ctx: Ctx): Kernel {
  const [dx, dy, w] = f32(ctx);
  const g = convGeom(ctx.n, ctx.n.shape, ctx.shapes[1]!, ctx.shapes[0]!);
  if (g) return () => convBackwardInput(dy!, w!, dx!, g);
  const pl = convPlan(ctx.n.shape, ctx.shapes[1]!, ctx.shapes[0]!, windowOf(ctx.n), ctx.n.attrs["groups"] as number);
  return () => localConvInputGrad(pl, dy!, w!, dx!);
}

function convWeightGradK(ctx: Ctx): Kernel {
  const [dw, x, dy] = f32(ctx);
  const g = convGeom(ctx.n, ctx.shapes[0]!, ctx.n.shape, ctx.shapes[1]!);
  if (g) return () => convBackwardWeight(x!, dy!, dw!, g);
  const pl = convPlan(ctx.shapes[0]!, ctx.n.shape, ctx.shapes[1]!, windowOf(ctx.n), ctx.n.attrs["groups"] as number);
  return () => localConvWeightGrad(pl, x!, dy!, dw!);
}

/** The geometry for kernels/pool.ts (every leading axis folded into the batch), or null beyond 3 pooled axes. */
function poolGeom(n: PNode, xShape: readonly number[], yShape: readonly number[]): PoolGeometry | null {
  const nd = nums(n, "kernel").length;
  if (nd < 1 || nd > 3) return null;
  const lead = xShape.length - nd;
  return {
    batch: numelOf(xShape.slice(0, lead)),
    channels: 1,
    inSize: xShape.slice(lead),
    kernel: nums(n, "kernel"),
    stride: nums(n, "stride"),
    padLo: nums(n, "padLo"),
    padHi: nums(n, "padHi"),
    dilation: nums(n, "dilation"),
    outSize: yShape.slice(lead),
  };
}

/**
 * The winners found by each compiled max_pool (kernels/pool.ts path), keyed by its input buffer,
 * for the max_pool_grad nodes of the same program. Buffers belong to one program, and builders
 * run in node order, so a grad node that finds an entry comes after that forward in every run;
 * x's buffer is written only by x's producer, which precedes the forward, so the winners are
 * those of the x the grad reads.
 */
const poolWinners = new WeakMap<Buf, { g: PoolGeometry; winners: Int32Array }[]>();

const sameNums = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

function samePool(a: PoolGeometry, b: PoolGeometry): boolean {
  return (
    a.batch === b.batch &&
    a.channels === b.channels &&
    sameNums(a.inSize, b.inSize) &&
    sameNums(a.kernel, b.kernel) &&
    sameNums(a.stride, b.stride) &&
    sameNums(a.padLo, b.padLo) &&
    sameNums(a.padHi, b.padHi) &&
    sameNums(a.dilation, b.dilation) &&
    sameNums(a.outSize, b.outSize)
  );
}

function maxPoolK(ctx: Ctx): Kernel {
  const [y, x] = f32(ctx);
  const g = poolGeom(ctx.n, ctx.shapes[0]!, ctx.n.shape);
  if (g) {
    const winners = new Int32Array(y!.length);
    const list = poolWinners.get(x!) ?? [];
    list.push({ g, winners });
    poolWinners.set(x!, list);
    return () => maxPoolForward(x!, y!, winners, g);
  }
  const pl = poolPlan(ctx.shapes[0]!, ctx.n.shape, windowOf(ctx.n), false);
  return () => localMaxPool(pl, x!, y!);
}

function maxPoolGradK(ctx: Ctx): Kernel {
  const [dx, x, dy] = f32(ctx);
  const g = poolGeom(ctx.n, ctx.shapes[0]!, ctx.shapes[1]!);
  if (g) {
    // reuse the winners of an earlier max_pool of the same x and window
    const hit = poolWinners.get(x!)?.find((e) => samePool(e.g, g));
    if (hit) return () => maxPoolBackward(dy!, hit.winners, dx!, g);
    // otherwise find them again into buffers planned once
    const y = new Float32Array(dy!.length);
    const winners = new Int32Array(dy!.length);
    return () => {
      maxPoolForward(x!, y, winners, g);
      maxPoolBackward(dy!, winners, dx!, g);
    };
  }
  const pl = poolPlan(ctx.shapes[0]!, ctx.shapes[1]!, windowOf(ctx.n), false);
  return () => localMaxPoolGrad(pl, x!, dy!, dx!);
}

function avgPoolK(ctx: Ctx): Kernel {
  const [y, x] = f32(ctx);
  const countPad = ctx.n.attrs["countPad"] === true;
  const g = poolGeom(ctx.n, ctx.shapes[0]!, ctx.n.shape);
  const opts = { countIncludePad: countPad };
  if (g) return () => avgPoolForward(x!, y!, g, opts);
  const pl = poolPlan(ctx.shapes[0]!, ctx.n.shape, windowOf(ctx.n), countPad);
  return () => localAvgPool(pl, x!, y!);
}

function avgPoolGradK(ctx: Ctx): Kernel {
  const [dx, dy] = f32(ctx);
  const countPad = ctx.n.attrs["countPad"] === true;
  const g = poolGeom(ctx.n, ctx.n.shape, ctx.shapes[0]!);
  const opts = { countIncludePad: countPad };
  if (g) return () => avgPoolBackward(dy!, dx!, g, opts);
  const pl = poolPlan(ctx.n.shape, ctx.shapes[0]!, windowOf(ctx.n), countPad);
  return () => localAvgPoolGrad(pl, dy!, dx!);
}

// ---------------------------------------------------------------------------

/** The output buffer an epilogue's product is given: it writes nothing there. */
const NOWHERE = new Float32Array(0);

/** The kernel of a matmul or conv node whose output goes through `epilogue` (a fused group's loop) instead of into memory. */
export function epilogueKernel(ctx: Omit<Ctx, "out" | "epilogue">, epilogue: Epilogue): Kernel {
  const build = ctx.n.op === "matmul" ? matmulKernel : ctx.n.op === "conv" ? conv : undefined;
  if (!build) throw new Error(`executor: '${ctx.n.op}' (node ${ctx.n.id}) takes no epilogue`);
  return build({ ...ctx, out: NOWHERE, epilogue });
}

const none = (): null => null;

export const BUILDERS: Record<string, (ctx: Ctx) => Kernel | null> = {
  input: none,
  param: none,
  const: constant,
  iota,
  rng_uniform: rngUniform,
  rng_normal: rngNormal,
  ...Object.fromEntries(Object.keys(UNARY_F).map((k) => [k, unary])),
  ...Object.fromEntries(Object.keys(BINARY_F).map((k) => [k, binary])),
  where,
  cast,
  stop_gradient: none,
  reshape: none,
  reduce_sum: reduce,
  reduce_max: reduce,
  reduce_min: reduce,
  argmax: argReduce,
  argmin: argReduce,
  transpose,
  broadcast_to: broadcastTo,
  slice,
  pad,
  concat,
  gather,
  scatter_add: scatterAdd,
  one_hot: oneHot,
  matmul: matmulKernel,
  conv,
  conv_input_grad: convInputGradK,
  conv_weight_grad: convWeightGradK,
  max_pool: maxPoolK,
  max_pool_grad: maxPoolGradK,
  avg_pool: avgPoolK,
  avg_pool_grad: avgPoolGradK,
  attention: attentionKernel,
  attention_grad: attentionGradKernel,
};
