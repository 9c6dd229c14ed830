// The float64 reference interpreter of the primitive IR: plain loops, no speed, obviously
// correct. It is the yardstick for the fast CPU executor and the WGSL backend, and the
// "float64 path" of finite-difference gradient checks.
//
// CONTRACT:
//   evaluate(graph, feeds, { seed }) → Map<node id, HostTensor> for every node.
//   Feeds are keyed by input name and by parameter name (Float32Array feeds are widened).
//   Floats are computed in float64 (Float64Array), integers in Int32Array, bools in Uint8Array
//   (0 or 1). rng_uniform/rng_normal draw, in node order, from one Philox stream seeded with
//   `seed` (default 0): see ops-rng.ts.
//
// Conventions every backend shares (the executor follows them exactly):
//   - i32 results are the float64 result stored as an Int32Array stores it (truncation toward
//     zero, then modulo 2^32; NaN and ±∞ give 0), except mul and square, which wrap exactly
//     (Math.imul). So i32 division truncates and division by zero gives 0.
//   - bool results are 0/1; bool inputs count any non-zero byte as true.
//   - round is half-to-even; sign(0) = 0; relu, maximum, minimum, reduce_max/min propagate NaN.
//   - cast to i32 truncates toward zero; cast to bool is x ≠ 0.
//   - reduce_sum/max on bool is "any", reduce_min on bool is "all".
//   - argmax/argmin take the first extremum (strict comparison from the first element).
//   - gather/scatter_add throw on an index outside [0, size).
//   - max_pool: padded cells never win; a window entirely in padding gives -∞.

import { numelOf, stridesOf, type PDType, type PGraph, type PNode } from "../../compiler/prim/ir.js";
import { BINARY_F, UNARY_F } from "./ops-math.js";
import { attentionGradReference, attentionReference } from "./reference-attention.js";
import { SeededStream } from "./ops-rng.js";

export type HostArray = Float64Array | Float32Array | Int32Array | Uint8Array;

export interface HostTensor {
  readonly shape: readonly number[];
  readonly data: HostArray;
}

type Shape = readonly number[];
type Attrs = Readonly<Record<string, unknown>>;
type Op = (n: PNode, xs: readonly HostTensor[], out: HostArray, rng: SeededStream) => void;

export function evaluate(graph: PGraph, feeds: ReadonlyMap<string, HostArray>, options: { seed?: number } = {}): Map<number, HostTensor> {
  const rng = new SeededStream(options.seed ?? 0);
  const values = new Map<number, HostTensor>();
  const names = new Map<number, string>();
  for (const i of graph.inputs) names.set(i.node, i.name);
  for (const p of graph.params) names.set(p.node, p.name);
  for (const n of graph.nodes) {
    const out = alloc(n.dtype, numelOf(n.shape));
    if (n.op === "input" || n.op === "param") {
      const name = names.get(n.id) ?? String(n.attrs["name"]);
      const feed = feeds.get(name);
      if (!feed) throw new Error(`reference: no feed for ${n.op} '${name}' (node ${n.id})`);
      if (feed.length !== out.length)
        throw new Error(`reference: feed '${name}' has ${feed.length} values, ${n.op} [${n.shape.join(", ")}] needs ${out.length}`);
      for (let i = 0; i < out.length; i++) out[i] = n.dtype === "bool" ? truth(feed[i]!) : feed[i]!;
    } else {
      const op = OPS[n.op];
      if (!op) throw new Error(`reference: unknown primitive '${n.op}' (node ${n.id})`);
      const xs = n.inputs.map((i) => {
        const v = values.get(i);
        if (!v) throw new Error(`reference: node ${n.id} (${n.op}) reads node ${i}, which comes later`);
        return v;
      });
      op(n, xs, out, rng);
    }
    values.set(n.id, { shape: n.shape, data: out });
  }
  return values;
}

// ---------------------------------------------------------------------------
// Helpers

function alloc(dtype: PDType, n: number): HostArray {
  return dtype === "f32" ? new Float64Array(n) : dtype === "i32" ? new Int32Array(n) : new Uint8Array(n);
}

function truth(v: number): number {
  return v !== 0 ? 1 : 0;
}

/** Calls fn with every multi-index of `shape` in row-major order (idx is reused: copy to keep). */
function walk(shape: Shape, fn: (idx: number[], flat: number) => void): void {
  const n = numelOf(shape);
  const idx = shape.map(() => 0);
  for (let flat = 0; flat < n; flat++) {
    fn(idx, flat);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
}

/** Row-major offset of `idx` in `shape`. */
function offset(shape: Shape, idx: readonly number[]): number {
  let off = 0;
  for (let d = 0; d < shape.length; d++) off = off * shape[d]! + idx[d]!;
  return off;
}

/** Offset in `shape` of the element broadcast (NumPy rules) to the output index `idx`. */
function broadcastOffset(shape: Shape, idx: readonly number[]): number {
  const lead = idx.length - shape.length;
  let off = 0;
  for (let d = 0; d < shape.length; d++) off = off * shape[d]! + (shape[d] === 1 ? 0 : idx[lead + d]!);
  return off;
}

function store(out: HostArray, i: number, v: number, dtype: PDType): void {
  out[i] = dtype === "bool" ? truth(v) : v;
}

function nums(a: Attrs, key: string): number[] {
  return a[key] as number[];
}

// ---------------------------------------------------------------------------
// Elementwise

function unary(n: PNode, [x]: readonly HostTensor[], out: HostArray): void {
  const f = n.dtype === "i32" && n.op === "square" ? (v: number) => Math.imul(v, v) : UNARY_F[n.op]!;
  for (let i = 0; i < out.length; i++) store(out, i, f(x!.data[i]!), n.dtype);
}

function binary(n: PNode, [a, b]: readonly HostTensor[], out: HostArray): void {
  const f = a!.data instanceof Int32Array && n.op === "mul" ? Math.imul : BINARY_F[n.op]!;
  walk(n.shape, (idx, i) => store(out, i, f(a!.data[broadcastOffset(a!.shape, idx)]!, b!.data[broadcastOffset(b!.shape, idx)]!), n.dtype));
}

function where(n: PNode, [c, a, b]: readonly HostTensor[], out: HostArray): void {
  walk(n.shape, (idx, i) => {
    const pick = c!.data[broadcastOffset(c!.shape, idx)] !== 0 ? a! : b!;
    out[i] = pick.data[broadcastOffset(pick.shape, idx)]!;
  });
}

function cast(n: PNode, [x]: readonly HostTensor[], out: HostArray): void {
  for (let i = 0; i < out.length; i++) store(out, i, x!.data[i]!, n.dtype);
}

function copy(_n: PNode, [x]: readonly HostTensor[], out: HostArray): void {
  out.set(x!.data);
}

// ---------------------------------------------------------------------------
// Leaves

function constant(n: PNode, _xs: readonly HostTensor[], out: HostArray): void {
  const values = n.attrs["values"] as readonly number[] | undefined;
  for (let i = 0; i < out.length; i++) store(out, i, values ? values[i]! : (n.attrs["value"] as number), n.dtype);
}

function iota(n: PNode, _xs: readonly HostTensor[], out: HostArray): void {
  const axis = n.attrs["axis"] as number;
  walk(n.shape, (idx, i) => (out[i] = idx[axis]!));
}

function rngUniform(_n: PNode, _xs: readonly HostTensor[], out: HostArray, rng: SeededStream): void {
  rng.uniform(out as Float64Array);
}

function rngNormal(_n: PNode, _xs: readonly HostTensor[], out: HostArray, rng: SeededStream): void {
  rng.normal(out as Float64Array);
}

// ---------------------------------------------------------------------------
// Reductions

/** The output index of input index `idx` when `axes` are reduced. */
function reducedIndex(idx: readonly number[], axes: readonly number[], keepdims: boolean): number[] {
  const o: number[] = [];
  idx.forEach((v, d) => {
    if (!axes.includes(d)) o.push(v);
    else if (keepdims) o.push(0);
  });
  return o;
}

function reduce(n: PNode, [x]: readonly HostTensor[], out: HostArray): void {
  const axes = nums(n.attrs, "axes");
  const keepdims = n.attrs["keepdims"] as boolean;
  const init = n.op === "reduce_sum" ? 0 : n.op === "reduce_max" ? -Infinity : Infinity;
  const f = n.op === "reduce_sum" ? (a: number, b: number) => a + b : n.op === "reduce_max" ? Math.max : Math.min;
  const acc = new Float64Array(out.length).fill(init);
  walk(x!.shape, (idx, i) => {
    const o = offset(n.shape, reducedIndex(idx, axes, keepdims));
    acc[o] = f(acc[o]!, x!.data[i]!);
  });
  for (let i = 0; i < out.length; i++) store(out, i, acc[i]!, n.dtype);
}

function argReduce(n: PNode, [x]: readonly HostTensor[], out: HostArray): void {
  const axis = n.attrs["axis"] as number;
  const better = n.op === "argmax" ? (v: number, b: number) => v > b : (v: number, b: number) => v < b;
  const kept = x!.shape.map((d, i) => (i === axis ? 1 : d));
  walk(kept, (idx, o) => {
    const j = [...idx];
    let best = x!.data[offset(x!.shape, j)]!;
    let at = 0;
    for (let r = 1; r < x!.shape[axis]!; r++) {
      j[axis] = r;
      const v = x!.data[offset(x!.shape, j)]!;
      if (better(v, best)) {
        best = v;
        at = r;
      }
    }
    out[o] = at;
  });
}

// ---------------------------------------------------------------------------
// Data movement

function transpose(n: PNode, [x]: readonly HostTensor[], out: HostArray): void {
  const perm = nums(n.attrs, "perm");
  const st = stridesOf(x!.shape);
  walk(n.shape, (idx, i) => {
    let off = 0;
    for (let d = 0; d < idx.length; d++) off += idx[d]! * st[perm[d]!]!;
    out[i] = x!.data[off]!;
  });
}

function broadcastTo(n: PNode, [x]: readonly HostTensor[], out: HostArray): void {
  walk(n.shape, (idx, i) => (out[i] = x!.data[broadcastOffset(x!.shape, idx)]!));
}

function slice(n: PNode, [x]: readonly HostTensor[], out: HostArray): void {
  const starts = nums(n.attrs, "starts");
  const steps = nums(n.attrs, "steps");
  walk(
    n.shape,
    (idx, i) =>
      (out[i] =
        x!.data[
          offset(
            x!.shape,
            idx.map((v, d) => starts[d]! + v * steps[d]!),
          )
        ]!),
  );
}

function pad(n: PNode, [x]: readonly HostTensor[], out: HostArray): void {
  const lo = nums(n.attrs, "lo");
  const value = n.attrs["value"] as number;
  walk(n.shape, (idx, i) => {
    const src = idx.map((v, d) => v - lo[d]!);
    const inside = src.every((v, d) => v >= 0 && v < x!.shape[d]!);
    store(out, i, inside ? x!.data[offset(x!.shape, src)]! : value, n.dtype);
  });
}

function concat(n: PNode, xs: readonly HostTensor[], out: HostArray): void {
  const axis = n.attrs["axis"] as number;
  walk(n.shape, (idx, i) => {
    let pos = idx[axis]!;
    let k = 0;
    while (pos >= xs[k]!.shape[axis]!) pos -= xs[k++]!.shape[axis]!;
    const src = [...idx];
    src[axis] = pos;
    out[i] = xs[k]!.data[offset(xs[k]!.shape, src)]!;
  });
}

function checkIndex(n: PNode, v: number, size: number): number {
  if (!(v >= 0 && v < size)) throw new Error(`${n.op} (node ${n.id}): index ${v} out of range [0, ${size})`);
  return v;
}

function gather(n: PNode, [x, ix]: readonly HostTensor[], out: HostArray): void {
  const axis = n.attrs["axis"] as number;
  const k = ix!.shape.length;
  walk(n.shape, (idx, i) => {
    const row = checkIndex(n, ix!.data[offset(ix!.shape, idx.slice(axis, axis + k))]!, x!.shape[axis]!);
    out[i] = x!.data[offset(x!.shape, [...idx.slice(0, axis), row, ...idx.slice(axis + k)])]!;
  });
}

function scatterAdd(n: PNode, [u, ix]: readonly HostTensor[], out: HostArray): void {
  const axis = n.attrs["axis"] as number;
  const size = n.attrs["size"] as number;
  const k = ix!.shape.length;
  walk(u!.shape, (idx, i) => {
    const row = checkIndex(n, ix!.data[offset(ix!.shape, idx.slice(axis, axis + k))]!, size);
    const o = offset(n.shape, [...idx.slice(0, axis), row, ...idx.slice(axis + k)]);
    out[o] = out[o]! + u!.data[i]!;
  });
}

function oneHot(n: PNode, [ix]: readonly HostTensor[], out: HostArray): void {
  const depth = n.attrs["depth"] as number;
  for (let i = 0; i < ix!.data.length; i++) {
    const v = ix!.data[i]!;
    if (v >= 0 && v < depth) out[i * depth + v] = 1;
  }
}

// ---------------------------------------------------------------------------
// Matrix products

function matmul(n: PNode, [a, b]: readonly HostTensor[], out: HostArray): void {
  const transA = n.attrs["transA"] === true;
  const transB = n.attrs["transB"] === true;
  const sa = a!.shape;
  const sb = b!.shape;
  const K = transA ? sa.at(-2)! : sa.at(-1)!;
  walk(n.shape, (idx, o) => {
    const batch = idx.slice(0, -2);
    const i = idx.at(-2)!;
    const j = idx.at(-1)!;
    let s = 0;
    for (let k = 0; k < K; k++) {
      const ai = broadcastOffset(sa, [...batch, ...(transA ? [k, i] : [i, k])]);
      const bi = broadcastOffset(sb, [...batch, ...(transB ? [j, k] : [k, j])]);
      s += a!.data[ai]! * b!.data[bi]!;
    }
    out[o] = s;
  });
}

// ---------------------------------------------------------------------------
// Convolution: y[b, o, p] = Σ_{c, k} x[b, g·Cg + c, p·s − lo + k·d] · w[o, c, k], g = o / Og

interface ConvGeom {
  stride: number[];
  padLo: number[];
  dilation: number[];
  groups: number;
}

function convGeom(a: Attrs): ConvGeom {
  return { stride: nums(a, "stride"), padLo: nums(a, "padLo"), dilation: nums(a, "dilation"), groups: a["groups"] as number };
}

/** Input position of output position p and kernel offset k, or null when it falls in padding. */
function inputPos(g: Omit<ConvGeom, "groups">, p: readonly number[], k: readonly number[], size: Shape): number[] | null {
  const q = p.map((v, i) => v * g.stride[i]! - g.padLo[i]! + k[i]! * g.dilation[i]!);
  return q.every((v, i) => v >= 0 && v < size[i]!) ? q : null;
}

/** Calls fn(b, o, c_in, p, k, q) for every term of the convolution sum whose input cell is real. */
function convTerms(
  xShape: Shape,
  wShape: Shape,
  yShape: Shape,
  g: ConvGeom,
  fn: (b: number, o: number, c: number, p: number[], k: number[], q: number[]) => void,
): void {
  const Og = wShape[0]! / g.groups;
  const Cg = wShape[1]!;
  walk(yShape, (yi) => {
    const [b, o] = [yi[0]!, yi[1]!];
    const p = yi.slice(2);
    walk(wShape.slice(1), (wi) => {
      const k = wi.slice(1);
      const q = inputPos(g, p, k, xShape.slice(2));
      if (q) fn(b, o, Math.floor(o / Og) * Cg + wi[0]!, p, k, q);
    });
  });
}

function conv(n: PNode, [x, w]: readonly HostTensor[], out: HostArray): void {
  const g = convGeom(n.attrs);
  const Cg = w!.shape[1]!;
  convTerms(x!.shape, w!.shape, n.shape, g, (b, o, c, p, k, q) => {
    const yo = offset(n.shape, [b, o, ...p]);
    out[yo] = out[yo]! + x!.data[offset(x!.shape, [b, c, ...q])]! * w!.data[offset(w!.shape, [o, c % Cg, ...k])]!;
  });
}

function convInputGrad(n: PNode, [dy, w]: readonly HostTensor[], out: HostArray): void {
  const g = convGeom(n.attrs);
  const Cg = w!.shape[1]!;
  convTerms(n.shape, w!.shape, dy!.shape, g, (b, o, c, p, k, q) => {
    const xo = offset(n.shape, [b, c, ...q]);
    out[xo] = out[xo]! + dy!.data[offset(dy!.shape, [b, o, ...p])]! * w!.data[offset(w!.shape, [o, c % Cg, ...k])]!;
  });
}

function convWeightGrad(n: PNode, [x, dy]: readonly HostTensor[], out: HostArray): void {
  const g = convGeom(n.attrs);
  const Cg = n.shape[1]!;
  convTerms(x!.shape, n.shape, dy!.shape, g, (b, o, c, p, k, q) => {
    const wo = offset(n.shape, [o, c % Cg, ...k]);
    out[wo] = out[wo]! + x!.data[offset(x!.shape, [b, c, ...q])]! * dy!.data[offset(dy!.shape, [b, o, ...p])]!;
  });
}

// ---------------------------------------------------------------------------
// Pooling over the trailing kernel.length axes

/** Calls fn(outIndex, cells) for every output cell with the input offsets of its window (null = padding), in kernel order. */
function poolWindows(a: Attrs, xShape: Shape, yShape: Shape, fn: (yo: number, cells: (number | null)[]) => void): void {
  const kernel = nums(a, "kernel");
  const g = { stride: nums(a, "stride"), padLo: nums(a, "padLo"), dilation: nums(a, "dilation") };
  const lead = xShape.length - kernel.length;
  walk(yShape, (yi, yo) => {
    const cells: (number | null)[] = [];
    walk(kernel, (k) => {
      const q = inputPos(g, yi.slice(lead), k, xShape.slice(lead));
      cells.push(q ? offset(xShape, [...yi.slice(0, lead), ...q]) : null);
    });
    fn(yo, cells);
  });
}

function maxPool(n: PNode, [x]: readonly HostTensor[], out: HostArray): void {
  poolWindows(n.attrs, x!.shape, n.shape, (yo, cells) => {
    let m = -Infinity;
    for (const c of cells) if (c !== null) m = Math.max(m, x!.data[c]!);
    out[yo] = m;
  });
}

function maxPoolGrad(n: PNode, [x, dy]: readonly HostTensor[], out: HostArray): void {
  poolWindows(n.attrs, x!.shape, dy!.shape, (yo, cells) => {
    let at: number | null = null;
    for (const c of cells) if (c !== null && (at === null || x!.data[c]! > x!.data[at]!)) at = c;
    if (at !== null) out[at] = out[at]! + dy!.data[yo]!;
  });
}

function avgDivisor(a: Attrs, cells: readonly (number | null)[]): number {
  return a["countPad"] === true ? cells.length : cells.filter((c) => c !== null).length;
}

function avgPool(n: PNode, [x]: readonly HostTensor[], out: HostArray): void {
  poolWindows(n.attrs, x!.shape, n.shape, (yo, cells) => {
    let s = 0;
    for (const c of cells) if (c !== null) s += x!.data[c]!;
    out[yo] = s / avgDivisor(n.attrs, cells);
  });
}

function avgPoolGrad(n: PNode, [dy]: readonly HostTensor[], out: HostArray): void {
  poolWindows(n.attrs, n.shape, dy!.shape, (yo, cells) => {
    const share = dy!.data[yo]! / avgDivisor(n.attrs, cells);
    for (const c of cells) if (c !== null) out[c] = out[c]! + share;
  });
}

// ---------------------------------------------------------------------------

const OPS: Record<string, Op> = {
  const: constant,
  iota,
  rng_uniform: rngUniform,
  rng_normal: rngNormal,
  ...Object.fromEntries(Object.keys(UNARY_F).map((k) => [k, unary])),
  ...Object.fromEntries(Object.keys(BINARY_F).map((k) => [k, binary])),
  where,
  cast,
  stop_gradient: copy,
  reshape: copy,
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
  matmul,
  conv,
  conv_input_grad: convInputGrad,
  conv_weight_grad: convWeightGrad,
  max_pool: maxPool,
  max_pool_grad: maxPoolGrad,
  avg_pool: avgPool,
  avg_pool_grad: avgPoolGrad,
  attention: attentionReference,
  attention_grad: attentionGradReference,
};
