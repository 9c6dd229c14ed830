// Builds primitive graphs with shape inference: lowering rules, autodiff (vector-Jacobian
// products are written with this same builder, so a backward graph can be differentiated
// again) and tests all construct nodes through here. A malformed request is a compiler bug,
// so it throws a plain Error naming the primitive and the shapes.

import type { SourceSite } from "../ir/graph.js";
import { BINARY, UNARY, numelOf, type PDType, type PGraph, type PNode } from "./ir.js";

export { BINARY, UNARY };

/** A node id: what every builder method takes and returns. */
export type T = number;

export type UnaryOp = (typeof UNARY)[number];

export type BinaryOp = (typeof BINARY)[number];
const COMPARISONS: ReadonlySet<string> = new Set(["eq", "ne", "lt", "le", "gt", "ge"]);
const LOGICAL: ReadonlySet<string> = new Set(["and", "or", "not"]);

/** Geometry shared by convolution and pooling: per spatial axis. */
export interface Window {
  readonly kernel: readonly number[];
  readonly stride: readonly number[];
  readonly padLo: readonly number[];
  readonly padHi: readonly number[];
  readonly dilation: readonly number[];
}

/** Output size of a sliding window along one axis (the caller applies ceil mode by padding). */
export function windowOut(size: number, k: number, s: number, lo: number, hi: number, d: number): number {
  return Math.floor((size + lo + hi - d * (k - 1) - 1) / s) + 1;
}

function fail(op: string, msg: string): never {
  throw new Error(`primitive ${op}: ${msg}`);
}

function show(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** NumPy broadcasting of two concrete shapes. */
export function broadcastShape(op: string, a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) fail(op, `cannot broadcast ${show(a)} with ${show(b)}`);
    out[i] = x === 1 ? y : x;
  }
  return out;
}

export class PrimBuilder {
  readonly nodes: PNode[] = [];
  readonly inputs: { name: string; node: number }[] = [];
  readonly params: { name: string; node: number }[] = [];
  readonly outputs: { name: string; node: number }[] = [];
  /** origin and instance stamped on the nodes built while lowering one high-level op */
  site: { origin?: SourceSite; instance?: string; checkpoint?: number; nofuse?: true } = {};
  /** identical constants are built once */
  private readonly constCache = new Map<string, T>();

  graph(): PGraph {
    return { nodes: this.nodes, inputs: this.inputs, params: this.params, outputs: this.outputs };
  }

  node(id: T): PNode {
    const n = this.nodes[id];
    if (!n) throw new Error(`no primitive node ${id}`);
    return n;
  }

  shape(id: T): readonly number[] {
    return this.node(id).shape;
  }

  dtype(id: T): PDType {
    return this.node(id).dtype;
  }

  rank(id: T): number {
    return this.node(id).shape.length;
  }

  /** Append a node whose shape and dtype the caller has worked out. */
  add(op: string, inputs: readonly T[], attrs: Record<string, unknown>, shape: readonly number[], dtype: PDType): T {
    for (const d of shape) if (!Number.isInteger(d) || d < 0) fail(op, `bad output shape ${show(shape)}`);
    const id = this.nodes.length;
    this.nodes.push({ id, op, inputs, attrs, shape, dtype, ...this.site });
    return id;
  }

  // ---------------------------------------------------------------------------
  // Leaves

  input(name: string, shape: readonly number[], dtype: PDType): T {
    const id = this.add("input", [], { name }, shape, dtype);
    this.inputs.push({ name, node: id });
    return id;
  }

  param(name: string, shape: readonly number[], dtype: PDType = "f32"): T {
    const id = this.add("param", [], { name }, shape, dtype);
    this.params.push({ name, node: id });
    return id;
  }

  output(name: string, id: T): void {
    this.outputs.push({ name, node: id });
  }

  /** A constant filled with one value (a scalar by default; broadcasting does the rest). */
  scalar(value: number, dtype: PDType = "f32", shape: readonly number[] = []): T {
    const key = `${dtype}:${show(shape)}:${Object.is(value, -0) ? "-0" : value}`;
    const hit = this.constCache.get(key);
    if (hit !== undefined) return hit;
    const id = this.add("const", [], { value }, shape, dtype);
    this.constCache.set(key, id);
    return id;
  }

  /** A constant tensor with the given row-major values. */
  tensor(values: readonly number[], shape: readonly number[], dtype: PDType = "f32"): T {
    if (values.length !== numelOf(shape)) fail("const", `${values.length} values for shape ${show(shape)}`);
    return this.add("const", [], { values: [...values] }, shape, dtype);
  }

  /** 0, 1, 2, ... along `axis`, broadcast over the rest of `shape` (i32). */
  iota(shape: readonly number[], axis = 0): T {
    return this.add("iota", [], { axis }, shape, "i32");
  }

  /** Fresh random numbers each run: uniform in [0, 1) or standard normal. */
  random(kind: "uniform" | "normal", shape: readonly number[]): T {
    return this.add(kind === "uniform" ? "rng_uniform" : "rng_normal", [], {}, shape, "f32");
  }

  // ---------------------------------------------------------------------------
  // Elementwise

  unary(op: UnaryOp, x: T): T {
    const dt = this.dtype(x);
    if (LOGICAL.has(op) !== (dt === "bool")) fail(op, `needs a ${LOGICAL.has(op) ? "bool" : "numeric"} input, got ${dt}`);
    return this.add(op, [x], {}, this.shape(x), dt);
  }

  binary(op: BinaryOp, a: T, b: T): T {
    const da = this.dtype(a);
    const db = this.dtype(b);
    if (da !== db) fail(op, `dtype ${da} vs ${db}`);
    if (LOGICAL.has(op) !== (da === "bool")) fail(op, `needs ${LOGICAL.has(op) ? "bool" : "numeric"} inputs, got ${da}`);
    const shape = broadcastShape(op, this.shape(a), this.shape(b));
    return this.add(op, [a, b], {}, shape, COMPARISONS.has(op) ? "bool" : da);
  }

  where(cond: T, a: T, b: T): T {
    if (this.dtype(cond) !== "bool") fail("where", `condition is ${this.dtype(cond)}`);
    if (this.dtype(a) !== this.dtype(b)) fail("where", `dtype ${this.dtype(a)} vs ${this.dtype(b)}`);
    const shape = broadcastShape("where", broadcastShape("where", this.shape(cond), this.shape(a)), this.shape(b));
    return this.add("where", [cond, a, b], {}, shape, this.dtype(a));
  }

  cast(x: T, dtype: PDType): T {
    return this.dtype(x) === dtype ? x : this.add("cast", [x], { dtype }, this.shape(x), dtype);
  }

  /** Identity in the forward pass; no gradient flows through it. */
  stopGradient(x: T): T {
    return this.add("stop_gradient", [x], {}, this.shape(x), this.dtype(x));
  }

  // Conveniences over the elementwise primitives
  neg = (x: T): T => this.unary("neg", x);
  exp = (x: T): T => this.unary("exp", x);
  log = (x: T): T => this.unary("log", x);
  sqrt = (x: T): T => this.unary("sqrt", x);
  tanh = (x: T): T => this.unary("tanh", x);
  sigmoid = (x: T): T => this.unary("sigmoid", x);
  relu = (x: T): T => this.unary("relu", x);
  plus = (a: T, b: T): T => this.binary("add", a, b);
  minus = (a: T, b: T): T => this.binary("sub", a, b);
  times = (a: T, b: T): T => this.binary("mul", a, b);
  over = (a: T, b: T): T => this.binary("div", a, b);
  /** x * c for a plain number c */
  scale = (x: T, c: number): T => (c === 1 ? x : this.binary("mul", x, this.scalar(c, this.dtype(x))));
  /** x + c for a plain number c */
  shift = (x: T, c: number): T => (c === 0 ? x : this.binary("add", x, this.scalar(c, this.dtype(x))));

  // ---------------------------------------------------------------------------
  // Reductions

  private reduceShape(op: string, x: T, axes: readonly number[], keepdims: boolean): { axes: number[]; shape: number[] } {
    const r = this.rank(x);
    const norm = [...new Set(axes.map((a) => (a < 0 ? a + r : a)))].sort((p, q) => p - q);
    for (const a of norm) if (a < 0 || a >= r) fail(op, `axis out of range for ${show(this.shape(x))}`);
    const shape = this.shape(x).flatMap((d, i) => (norm.includes(i) ? (keepdims ? [1] : []) : [d]));
    return { axes: norm, shape };
  }

  /** Sum over `axes` (all axes when omitted). */
  sum(x: T, axes?: readonly number[], keepdims = false): T {
    const r = this.reduceShape("reduce_sum", x, axes ?? this.shape(x).map((_, i) => i), keepdims);
    if (r.axes.length === 0) return x;
    return this.add("reduce_sum", [x], { axes: r.axes, keepdims }, r.shape, this.dtype(x));
  }

  max(x: T, axes?: readonly number[], keepdims = false): T {
    const r = this.reduceShape("reduce_max", x, axes ?? this.shape(x).map((_, i) => i), keepdims);
    if (r.axes.length === 0) return x;
    return this.add("reduce_max", [x], { axes: r.axes, keepdims }, r.shape, this.dtype(x));
  }

  min(x: T, axes?: readonly number[], keepdims = false): T {
    const r = this.reduceShape("reduce_min", x, axes ?? this.shape(x).map((_, i) => i), keepdims);
    if (r.axes.length === 0) return x;
    return this.add("reduce_min", [x], { axes: r.axes, keepdims }, r.shape, this.dtype(x));
  }

  mean(x: T, axes?: readonly number[], keepdims = false): T {
    const all = axes ?? this.shape(x).map((_, i) => i);
    const r = this.reduceShape("mean", x, all, keepdims);
    const count = r.axes.reduce((n, a) => n * this.shape(x)[a]!, 1);
    return this.scale(this.sum(x, all, keepdims), 1 / count);
  }

  /** Index of the largest element along `axis` (i32); ties pick the first. */
  argmax(x: T, axis: number, keepdims = false, smallest = false): T {
    const r = this.reduceShape("argmax", x, [axis], keepdims);
    return this.add(smallest ? "argmin" : "argmax", [x], { axis: r.axes[0], keepdims }, r.shape, "i32");
  }

  // ---------------------------------------------------------------------------
  // Data movement

  reshape(x: T, shape: readonly number[]): T {
    const from = this.shape(x);
    const known = shape.filter((d) => d !== -1);
    const free = shape.length - known.length;
    if (free > 1) fail("reshape", "more than one -1");
    const total = numelOf(from);
    const out = shape.map((d) => (d === -1 ? total / numelOf(known) : d));
    if (numelOf(out) !== total || out.some((d) => !Number.isInteger(d))) fail("reshape", `${show(from)} into ${show(shape)}`);
    if (out.length === from.length && out.every((d, i) => d === from[i])) return x;
    return this.add("reshape", [x], { shape: out }, out, this.dtype(x));
  }

  transpose(x: T, perm: readonly number[]): T {
    const s = this.shape(x);
    if (perm.length !== s.length || [...perm].sort((a, b) => a - b).some((p, i) => p !== i))
      fail("transpose", `bad permutation ${show(perm)} of ${show(s)}`);
    if (perm.every((p, i) => p === i)) return x;
    return this.add(
      "transpose",
      [x],
      { perm: [...perm] },
      perm.map((p) => s[p]!),
      this.dtype(x),
    );
  }

  /** Swap two axes (negative axes count from the end). */
  swapAxes(x: T, a: number, b: number): T {
    const r = this.rank(x);
    const perm = [...Array(r).keys()];
    const i = a < 0 ? a + r : a;
    const j = b < 0 ? b + r : b;
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
    return this.transpose(x, perm);
  }

  broadcastTo(x: T, shape: readonly number[]): T {
    const s = this.shape(x);
    const out = broadcastShape("broadcast_to", s, shape);
    if (out.length !== shape.length || out.some((d, i) => d !== shape[i])) fail("broadcast_to", `${show(s)} to ${show(shape)}`);
    if (s.length === shape.length && s.every((d, i) => d === shape[i])) return x;
    return this.add("broadcast_to", [x], { shape: [...shape] }, shape, this.dtype(x));
  }

  /** Sum `x` down to `shape` (the adjoint of broadcasting). */
  sumTo(x: T, shape: readonly number[]): T {
    const s = this.shape(x);
    const lead = s.length - shape.length;
    const axes: number[] = [];
    for (let i = 0; i < s.length; i++) if (i < lead || (shape[i - lead] === 1 && s[i] !== 1)) axes.push(i);
    const summed = this.sum(x, axes, true);
    return this.reshape(summed, shape);
  }

  /** Strided slice; `ends` exclusive, steps positive. */
  slice(x: T, starts: readonly number[], ends: readonly number[], steps?: readonly number[]): T {
    const s = this.shape(x);
    const st = steps ?? s.map(() => 1);
    const out = s.map((d, i) => {
      const a = starts[i]!;
      const e = ends[i]!;
      if (a < 0 || e > d || st[i]! < 1 || e < a) fail("slice", `bad range ${a}:${e}:${st[i]} of axis ${i} in ${show(s)}`);
      return Math.ceil((e - a) / st[i]!);
    });
    if (out.every((d, i) => d === s[i])) return x;
    return this.add("slice", [x], { starts: [...starts], ends: [...ends], steps: [...st] }, out, this.dtype(x));
  }

  /** Slice one axis: x[..., start:end:step, ...]. */
  sliceAxis(x: T, axis: number, start: number, end: number, step = 1): T {
    const s = this.shape(x);
    const a = axis < 0 ? axis + s.length : axis;
    return this.slice(
      x,
      s.map((_, i) => (i === a ? start : 0)),
      s.map((d, i) => (i === a ? end : d)),
      s.map((_, i) => (i === a ? step : 1)),
    );
  }

  /** Constant padding, `lo`/`hi` elements before/after each axis. */
  pad(x: T, lo: readonly number[], hi: readonly number[], value = 0): T {
    const s = this.shape(x);
    if (lo.every((p) => p === 0) && hi.every((p) => p === 0)) return x;
    const out = s.map((d, i) => d + lo[i]! + hi[i]!);
    return this.add("pad", [x], { lo: [...lo], hi: [...hi], value }, out, this.dtype(x));
  }

  concat(xs: readonly T[], axis: number): T {
    if (xs.length === 1) return xs[0]!;
    const s0 = this.shape(xs[0]!);
    const a = axis < 0 ? axis + s0.length : axis;
    let size = 0;
    for (const x of xs) {
      const s = this.shape(x);
      if (s.length !== s0.length || s.some((d, i) => i !== a && d !== s0[i])) fail("concat", `${show(s)} vs ${show(s0)} on axis ${a}`);
      if (this.dtype(x) !== this.dtype(xs[0]!)) fail("concat", "mixed dtypes");
      size += s[a]!;
    }
    return this.add(
      "concat",
      [...xs],
      { axis: a },
      s0.map((d, i) => (i === a ? size : d)),
      this.dtype(xs[0]!),
    );
  }

  /** index_select: rows of `x` along `axis` picked by the integer tensor `idx` (any rank). */
  gather(x: T, idx: T, axis: number): T {
    if (this.dtype(idx) !== "i32") fail("gather", `indices are ${this.dtype(idx)}`);
    const s = this.shape(x);
    const a = axis < 0 ? axis + s.length : axis;
    const out = [...s.slice(0, a), ...this.shape(idx), ...s.slice(a + 1)];
    return this.add("gather", [x, idx], { axis: a }, out, this.dtype(x));
  }

  /**
   * The adjoint of gather: a tensor of `size` rows along `axis`, zero except that
   * `updates` (shaped like gather's output) are added at the rows `idx` names.
   */
  scatterAdd(updates: T, idx: T, axis: number, size: number): T {
    if (this.dtype(idx) !== "i32") fail("scatter_add", `indices are ${this.dtype(idx)}`);
    const u = this.shape(updates);
    const k = this.rank(idx);
    const out = [...u.slice(0, axis), size, ...u.slice(axis + k)];
    return this.add("scatter_add", [updates, idx], { axis, size }, out, this.dtype(updates));
  }

  /** One-hot f32 vectors of `depth` for integer ids (out-of-range ids give zeros). */
  oneHot(idx: T, depth: number, dtype: PDType = "f32"): T {
    return this.add("one_hot", [idx], { depth }, [...this.shape(idx), depth], dtype);
  }

  // ---------------------------------------------------------------------------
  // Matrix products, convolution, pooling

  /** Batched matmul over the last two axes with broadcast batch axes; operands rank ≥ 2. */
  matmul(a: T, b: T, transA = false, transB = false): T {
    const sa = this.shape(a);
    const sb = this.shape(b);
    if (sa.length < 2 || sb.length < 2) fail("matmul", `operands must have rank ≥ 2, got ${show(sa)} and ${show(sb)}`);
    const [m, ka] = transA ? [sa.at(-1)!, sa.at(-2)!] : [sa.at(-2)!, sa.at(-1)!];
    const [kb, n] = transB ? [sb.at(-1)!, sb.at(-2)!] : [sb.at(-2)!, sb.at(-1)!];
    if (ka !== kb) fail("matmul", `inner sizes differ: ${show(sa)}${transA ? "ᵀ" : ""} @ ${show(sb)}${transB ? "ᵀ" : ""}`);
    // [..., M, K] @ [K, N]: fold the batch into M, so the product (and the weight gradient,
    // a single long-K product instead of a batch of small ones summed) is one large GEMM
    if (sa.length > 2 && sb.length === 2 && !transA) {
      const rows = numelOf(sa.slice(0, -1));
      const flat = this.matmul(this.reshape(a, [rows, ka]), b, false, transB);
      return this.reshape(flat, [...sa.slice(0, -1), n]);
    }
    const batch = broadcastShape("matmul", sa.slice(0, -2), sb.slice(0, -2));
    return this.add("matmul", [a, b], { transA, transB }, [...batch, m, n], this.dtype(a));
  }

  /** Convolution, NC* layout: x [B, C, *S], w [O, C/groups, *K] → [B, O, *S']. */
  conv(x: T, w: T, win: Omit<Window, "kernel">, groups: number): T {
    const sx = this.shape(x);
    const sw = this.shape(w);
    const n = sx.length - 2;
    if (sw.length !== n + 2 || sx[1] !== sw[1]! * groups || sw[0]! % groups !== 0)
      fail("conv", `x ${show(sx)}, w ${show(sw)}, groups ${groups}`);
    const kernel = sw.slice(2);
    const out = sx.slice(2).map((d, i) => windowOut(d, kernel[i]!, win.stride[i]!, win.padLo[i]!, win.padHi[i]!, win.dilation[i]!));
    if (out.some((d) => d <= 0)) fail("conv", `empty output for x ${show(sx)}, w ${show(sw)}`);
    return this.add("conv", [x, w], { ...win, kernel, groups }, [sx[0]!, sw[0]!, ...out], this.dtype(x));
  }

  /** The gradient of conv with respect to x (also transposed convolution): dy [B, O, *S'] → [B, C, *S]. */
  convInputGrad(dy: T, w: T, inSize: readonly number[], win: Omit<Window, "kernel">, groups: number): T {
    const sy = this.shape(dy);
    const sw = this.shape(w);
    return this.add(
      "conv_input_grad",
      [dy, w],
      { ...win, kernel: sw.slice(2), groups, inSize: [...inSize] },
      [sy[0]!, sw[1]! * groups, ...inSize],
      this.dtype(dy),
    );
  }

  /** The gradient of conv with respect to w: (x, dy) → [O, C/groups, *K]. */
  convWeightGrad(x: T, dy: T, kernel: readonly number[], win: Omit<Window, "kernel">, groups: number): T {
    const sx = this.shape(x);
    const sy = this.shape(dy);
    return this.add(
      "conv_weight_grad",
      [x, dy],
      { ...win, kernel: [...kernel], groups },
      [sy[1]!, sx[1]! / groups, ...kernel],
      this.dtype(x),
    );
  }

  /** Max pooling over the trailing `kernel.length` axes; padding never wins. */
  maxPool(x: T, win: Window): T {
    return this.add("max_pool", [x], { ...win }, this.poolShape(x, win), this.dtype(x));
  }

  maxPoolGrad(x: T, dy: T, win: Window): T {
    return this.add("max_pool_grad", [x, dy], { ...win }, this.shape(x), this.dtype(x));
  }

  /** Average pooling; `countPad` counts padded positions in the divisor (PyTorch's count_include_pad). */
  avgPool(x: T, win: Window, countPad: boolean): T {
    return this.add("avg_pool", [x], { ...win, countPad }, this.poolShape(x, win), this.dtype(x));
  }

  avgPoolGrad(dy: T, inShape: readonly number[], win: Window, countPad: boolean): T {
    return this.add("avg_pool_grad", [dy], { ...win, countPad, inShape: [...inShape] }, inShape, this.dtype(dy));
  }

  private poolShape(x: T, win: Window): number[] {
    const s = this.shape(x);
    const n = win.kernel.length;
    const lead = s.length - n;
    const out = s.slice(lead).map((d, i) => windowOut(d, win.kernel[i]!, win.stride[i]!, win.padLo[i]!, win.padHi[i]!, win.dilation[i]!));
    if (out.some((d) => d <= 0)) fail("pool", `empty output for ${show(s)}`);
    return [...s.slice(0, lead), ...out];
  }
}
