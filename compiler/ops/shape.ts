// Shape manipulation: views and copies that move data without arithmetic — reshape,
// flatten, transposes, squeeze/unsqueeze, concatenation and splitting, slicing and
// indexing (the lowering of `x[...]`), gathers, padding, tiling and broadcasting, ViT
// patches, pixel shuffle, one-hot encoding and repeat_interleave.
//
// Cost: zero for every op here (data movement, no flops or MACs).

import { Dim, type Shape, shapeToString } from "../dim.js";
import {
  ONE,
  axesAttr,
  divideExactly,
  enumAttr,
  prodRange,
  requireAtLeast,
  requireIntegerInput,
  requireMinRank,
  requirePositiveDim,
  sameDim,
} from "./builders.js";
import {
  type AttrValue,
  type InferContext,
  type InferResult,
  type OpDef,
  type TensorType,
  OpError,
  ZERO_COST,
  constIntAttr,
  floatAttr,
  input,
  intAttr,
  intsAttr,
  numel,
  requireRank,
  stringAttr,
  typeToString,
} from "./types.js";
import type { T } from "../prim/builder.js";
import { type Lower, ints, map1, need, normAxis, num, outShape, padAxis, str, unsqueeze as insertAxis } from "./lowering.js";
import type { LowerContext } from "./types.js";
import { TO_END, type OnnxContext } from "../export/onnx/context.js";
import { reshapeTo, squeeze as squeezeAxes, swapPerm, toOutputShape, unsqueeze as unsqueezeAxes, value } from "../export/onnx/helpers.js";
import { arg, pyCall, rankOf, withTorch, type TorchContext, type TorchMapping, type TorchTable } from "./torch-mapping.js";

// ---------------------------------------------------------------------------
// Shared pieces

/** Every shape op: category "shape", zero cost. */
function shapeOp(def: Omit<OpDef, "category" | "cost">): OpDef {
  return { ...def, category: "shape", cost: () => ZERO_COST };
}

/** One output: x's dtype with a new shape. */
function same(x: TensorType, shape: Shape): InferResult {
  return { outputs: [{ dtype: x.dtype, shape }] };
}

/** `shape` with axis `axis` replaced by `d`. */
function withAxis(shape: Shape, axis: number, d: Dim): Dim[] {
  const out = shape.slice();
  out[axis] = d;
  return out;
}

/** A constant axis of x (or of a tensor of rank `rank`, for inserting ops), negative from the end. */
function axisIn(ctx: InferContext, name: string, x: TensorType, rank = x.shape.length): number {
  const d = intAttr(ctx, name);
  const c = d.constant;
  if (c === undefined)
    throw new OpError(`'${name}' must be known at compile time, got ${d}`, {
      at: name,
    });
  const a = c < 0 ? c + rank : c;
  if (a < 0 || a >= rank)
    throw new OpError(`${name} ${c} is out of range for x ${typeToString(x)}`, {
      at: name,
      hint: rank === 0 ? "x is a scalar and has no axes" : `${name} must be in ${-rank}..${rank - 1}`,
    });
  return a;
}

/** A size that may not be negative (when known). */
function nonNegative(d: Dim, name: string): Dim {
  const c = d.constant;
  if (c !== undefined && c < 0) throw new OpError(`'${name}' has a negative size ${c}`, { at: name });
  return d;
}

/**
 * A list of sizes with at most one -1, made to hold exactly `total` elements. `subject`
 * names what is being reshaped, for the messages.
 */
function resolveSizes(sizes: readonly Dim[], total: Dim, name: string, subject: string): Dim[] {
  let inferred = -1;
  sizes.forEach((d, i) => {
    if (d.constant === -1) {
      if (inferred >= 0) throw new OpError(`only one size in '${name}' may be -1, got ${shapeToString(sizes)}`, { at: name });
      inferred = i;
    } else nonNegative(d, name);
  });
  let known = ONE;
  sizes.forEach((d, i) => {
    if (i !== inferred) known = known.mul(d);
  });
  if (inferred < 0) {
    if (total.equals(known)) return sizes.slice();
    throw new OpError(`cannot reshape ${subject} (${total} elements) into ${shapeToString(sizes)} (${known} elements)`, {
      at: name,
      hint: "the element counts must match; write -1 for one size to have it inferred",
    });
  }
  const q = divideExactly(total, known);
  if (!q) {
    const decided = total.isConstant && known.isConstant;
    throw new OpError(
      `cannot reshape ${subject} (${total} elements) into ${shapeToString(sizes)}: ${total} is ${decided ? "not" : "not known to be"} divisible by ${known}`,
      {
        at: name,
        hint: decided ? "the element counts must match" : "give that size explicitly instead of -1",
      },
    );
  }
  const out = sizes.slice();
  out[inferred] = q;
  return out;
}

/**
 * `a / b` for spatial splits (patches, pixel shuffle): exact when decidable, an error when
 * constants do not divide, floor division when symbolic and undecidable.
 */
function divideDim(a: Dim, b: Dim, message: () => string, at: string | number, hint: string): Dim {
  const q = divideExactly(a, b);
  if (q) return q;
  if (a.isConstant && b.isConstant) throw new OpError(message(), { at, hint });
  return a.floordiv(b);
}

/** The first of variadic inputs, which must not be empty. */
function requireSome(op: string, ctx: InferContext): TensorType {
  if (!ctx.inputs[0]) throw new OpError(`${op} needs at least one tensor`, { at: 0 });
  return ctx.inputs[0];
}

/** Variadic inputs (concat, stack): same dtype, rank and dims except `except`. */
function matchingInputs(op: string, ctx: InferContext, except: number | undefined): TensorType[] {
  requireSome(op, ctx);
  const xs = ctx.inputs.map((_, i) => input(ctx, i));
  const first = xs[0]!;
  const r = first.shape.length;
  xs.forEach((t, i) => {
    if (i === 0) return;
    const which = `input #${i + 1} ${typeToString(t)}`;
    if (t.dtype !== first.dtype)
      throw new OpError(`${which} has dtype ${t.dtype} but input #1 ${typeToString(first)} has ${first.dtype}`, {
        at: i,
        code: "DLM3102",
        hint: `convert it with cast(x, ${first.dtype})`,
      });
    if (t.shape.length !== r)
      throw new OpError(`${which} has rank ${t.shape.length} but input #1 ${typeToString(first)} has rank ${r}`, {
        at: i,
        code: "DLM3103",
      });
    for (let d = 0; d < r; d++)
      if (d !== except && !sameDim(t.shape[d]!, first.shape[d]!))
        throw new OpError(`${which} does not match input #1 ${typeToString(first)} at dim ${d} (${t.shape[d]} vs ${first.shape[d]})`, {
          at: i,
          hint: except === undefined ? `${op} needs tensors of identical shape` : `all dims except the ${op} axis ${except} must match`,
        });
  });
  return xs;
}

/** One output per size along `axis` (split, chunk). */
function splitOutputs(x: TensorType, axis: number, sizes: readonly Dim[]): InferResult {
  return {
    outputs: sizes.map((s) => ({
      dtype: x.dtype,
      shape: withAxis(x.shape, axis, s),
    })),
  };
}

// ---------------------------------------------------------------------------
// Lowering helpers

/** Same elements, the shape the rule promised (reshape, flatten, squeeze, ...). */
const toOutShape: Lower = map1((x, ctx) => ctx.b.reshape(x, outShape(ctx)));

/** Consecutive slices of x along `axis`, one per output, sized as the outputs. */
const splitLower: Lower = (ctx) => {
  const x = need(ctx, 0);
  const axis = normAxis(num(ctx, "axis"), ctx.b.rank(x));
  let at = 0;
  return ctx.outputs.map((o) => ctx.b.sliceAxis(x, axis, at, (at += o.shape[axis]!)));
};

/** ONNX Split into the outputs' sizes along `axis` (split, chunk). */
function splitOnnx(ctx: OnnxContext): string[] {
  const axis = normAxis(ctx.int("axis"), input(ctx, 0).shape.length);
  const sizes = ctx.shape(ctx.outputs.map((o) => o.shape[axis]!));
  return ctx.node("Split", [value(ctx, 0), sizes], { axis }, ctx.outputs.length);
}

/** ONNX Pad's names of the padding modes. */
const ONNX_PAD_MODES: Readonly<Record<string, string>> = { constant: "constant", reflect: "reflect", replicate: "edge", circular: "wrap" };

/** x's axis `axis` of size d becomes [d, k] via broadcasting, then is merged: each entry k times in place. */
function repeatEach(ctx: LowerContext, x: T, axis: number, k: number): T {
  const { b } = ctx;
  const s = b.shape(x);
  const u = insertAxis(ctx, x, axis + 1);
  const big = b.broadcastTo(u, [...s.slice(0, axis + 1), k, ...s.slice(axis + 1)]);
  return b.reshape(
    big,
    s.map((d, i) => (i === axis ? d * k : d)),
  );
}

/** Python index / slice bound: negatives count from the end, clamped to [0, size]. */
function bound(v: number, size: number): number {
  return Math.min(Math.max(v < 0 ? v + size : v, 0), size);
}

// ---------------------------------------------------------------------------
// Reshaping

const reshape = shapeOp({
  name: "reshape",
  doc: "same elements in a new shape; one size may be -1 (inferred), sizes may be symbolic",
  inputs: [{ name: "x" }],
  attrs: [
    {
      name: "shape",
      type: "ints",
      doc: "the new shape, e.g. [B, T, heads, -1]",
    },
  ],
  infer(ctx) {
    const x = input(ctx, 0);
    return same(x, resolveSizes(intsAttr(ctx, "shape"), numel(x.shape), "shape", `x ${typeToString(x)}`));
  },
  lower: toOutShape,
  onnx: toOutputShape,
});

const flatten = shapeOp({
  name: "flatten",
  doc: "merges axes start..end (inclusive) into one: [B, C, H, W] → [B, C*H*W]",
  inputs: [{ name: "x" }],
  attrs: [
    { name: "start", type: "int", default: Dim.const(1) },
    { name: "end", type: "int", default: Dim.const(-1) },
  ],
  infer(ctx) {
    const x = input(ctx, 0);
    if (x.shape.length === 0) return same(x, [ONE]);
    const s = axisIn(ctx, "start", x);
    const e = axisIn(ctx, "end", x);
    if (s > e) throw new OpError(`start axis ${s} comes after end axis ${e} for x ${typeToString(x)}`, { at: "start" });
    return same(x, [...x.shape.slice(0, s), prodRange(x.shape, s, e + 1), ...x.shape.slice(e + 1)]);
  },
  lower: toOutShape,
  onnx: toOutputShape,
});

const unflatten = shapeOp({
  name: "unflatten",
  doc: "splits one axis into several: unflatten(x, 2, [heads, -1]) on [B, T, D] → [B, T, heads, D/heads]",
  inputs: [{ name: "x" }],
  attrs: [
    { name: "axis", type: "int" },
    { name: "sizes", type: "ints", doc: "the new sizes; one may be -1" },
  ],
  infer(ctx) {
    const x = input(ctx, 0);
    const axis = axisIn(ctx, "axis", x);
    const d = x.shape[axis]!;
    const sizes = resolveSizes(intsAttr(ctx, "sizes"), d, "sizes", `axis ${axis} of x ${typeToString(x)}`);
    return same(x, [...x.shape.slice(0, axis), ...sizes, ...x.shape.slice(axis + 1)]);
  },
  lower: toOutShape,
  onnx: toOutputShape,
});

const transpose = shapeOp({
  name: "transpose",
  doc: "swaps two axes (default the last two; `.T`); identity on vectors and scalars",
  inputs: [{ name: "x" }],
  attrs: [
    { name: "dim0", type: "int", default: Dim.const(-2) },
    { name: "dim1", type: "int", default: Dim.const(-1) },
  ],
  infer(ctx) {
    const x = input(ctx, 0);
    // `.T` of a vector is the vector itself (NumPy, PyTorch)
    if (x.shape.length < 2 && intAttr(ctx, "dim0").equals(-2) && intAttr(ctx, "dim1").equals(-1)) return same(x, x.shape);
    const a = axisIn(ctx, "dim0", x);
    const b = axisIn(ctx, "dim1", x);
    const shape = x.shape.slice();
    shape[a] = x.shape[b]!;
    shape[b] = x.shape[a]!;
    return same(x, shape);
  },
  lower: map1((x, ctx) => (ctx.b.rank(x) < 2 ? x : ctx.b.swapAxes(x, num(ctx, "dim0"), num(ctx, "dim1")))),
  onnx(ctx) {
    const r = input(ctx, 0).shape.length;
    if (r < 2) return [value(ctx, 0)];
    return [ctx.op("Transpose", [value(ctx, 0)], { perm: swapPerm(r, ctx.int("dim0"), ctx.int("dim1")) })];
  },
});

const permute = shapeOp({
  name: "permute",
  doc: "reorders all axes: permute(x, [0, 2, 3, 1]) turns [B, C, H, W] into [B, H, W, C]",
  inputs: [{ name: "x" }],
  attrs: [
    {
      name: "dims",
      type: "ints",
      doc: "a permutation of 0..rank-1 (negatives count from the end)",
    },
  ],
  infer(ctx) {
    const x = input(ctx, 0);
    const r = x.shape.length;
    const dims = intsAttr(ctx, "dims");
    const list = shapeToString(dims);
    if (dims.length !== r)
      throw new OpError(`permute needs ${r} dims for x ${typeToString(x)}, got ${dims.length}: ${list}`, {
        at: "dims",
      });
    const seen = new Set<number>();
    const shape = dims.map((d) => {
      const c = d.constant;
      const a = c !== undefined && c < 0 ? c + r : c;
      if (a === undefined || a < 0 || a >= r || seen.has(a))
        throw new OpError(`dims ${list} is not a permutation of 0..${r - 1} for x ${typeToString(x)}`, {
          at: "dims",
          hint: a !== undefined && seen.has(a) ? `axis ${a} appears twice` : `each axis must be a constant in ${-r}..${r - 1}`,
        });
      seen.add(a);
      return x.shape[a]!;
    });
    return same(x, shape);
  },
  lower: map1((x, ctx) =>
    ctx.b.transpose(
      x,
      ints(ctx, "dims").map((d) => normAxis(d, ctx.b.rank(x))),
    ),
  ),
  onnx(ctx) {
    const r = input(ctx, 0).shape.length;
    return [ctx.op("Transpose", [value(ctx, 0)], { perm: intsAttr(ctx, "dims").map((d) => normAxis(d.constant!, r)) })];
  },
});

const squeeze = shapeOp({
  name: "squeeze",
  doc: "removes size-1 axes: the given axis (or list), or every constant size-1 axis when none",
  inputs: [{ name: "x" }],
  attrs: [{ name: "axis", type: "ints", default: null }],
  infer(ctx) {
    const x = input(ctx, 0);
    const axes = axesAttr(ctx, "axis", x.shape.length);
    if (axes === undefined)
      return same(
        x,
        x.shape.filter((d) => !d.equals(1)),
      );
    for (const a of axes)
      if (!x.shape[a]!.equals(1))
        throw new OpError(`cannot squeeze axis ${a} of x ${typeToString(x)}: its size is ${x.shape[a]}, not 1`, {
          at: "axis",
          hint: "only size-1 axes can be squeezed; to pick one element use x[..., 0] or index(x, axis, 0)",
        });
    return same(
      x,
      x.shape.filter((_, i) => !axes.includes(i)),
    );
  },
  lower: toOutShape,
  // without axes: the axes the shape rule dropped (size 1 at export time; never "whatever is 1 at run time")
  onnx(ctx) {
    const x = input(ctx, 0);
    const axes = axesAttr(ctx, "axis", x.shape.length) ?? x.shape.flatMap((d, i) => (d.equals(1) ? [i] : []));
    return [axes.length === 0 ? value(ctx, 0) : squeezeAxes(ctx, value(ctx, 0), axes)];
  },
});

const unsqueeze = shapeOp({
  name: "unsqueeze",
  doc: "inserts a size-1 axis at `axis` (negative counts from the end of the result)",
  inputs: [{ name: "x" }],
  attrs: [{ name: "axis", type: "int" }],
  infer(ctx) {
    const x = input(ctx, 0);
    const a = axisIn(ctx, "axis", x, x.shape.length + 1);
    return same(x, [...x.shape.slice(0, a), ONE, ...x.shape.slice(a)]);
  },
  lower: toOutShape,
  onnx(ctx) {
    const rank = ctx.outputs[0]!.shape.length;
    return [unsqueezeAxes(ctx, value(ctx, 0), [normAxis(ctx.int("axis"), rank)])];
  },
});

// ---------------------------------------------------------------------------
// Joining and splitting

const concat = shapeOp({
  name: "concat",
  doc: "joins tensors along an existing axis; all other dims must match",
  inputs: [{ name: "xs", variadic: true }],
  attrs: [{ name: "axis", type: "int", default: Dim.const(-1) }],
  infer(ctx) {
    const first = requireSome("concat", ctx);
    if (first.shape.length === 0)
      throw new OpError(`cannot concatenate scalars (${typeToString(first)})`, {
        at: 0,
        hint: "stack(...) joins scalars into a vector",
      });
    const axis = axisIn(ctx, "axis", first);
    const xs = matchingInputs("concat", ctx, axis);
    return same(
      first,
      withAxis(
        first.shape,
        axis,
        xs.reduce((acc, t) => acc.add(t.shape[axis]!), Dim.const(0)),
      ),
    );
  },
  lower: (ctx) => [
    ctx.b.concat(
      ctx.inputs.map((_, i) => need(ctx, i)),
      num(ctx, "axis"),
    ),
  ],
  onnx(ctx) {
    const values = ctx.values.map((_, i) => value(ctx, i));
    return [values.length === 1 ? values[0]! : ctx.op("Concat", values, { axis: ctx.int("axis") })];
  },
});

const stack = shapeOp({
  name: "stack",
  doc: "joins equally shaped tensors along a new axis",
  inputs: [{ name: "xs", variadic: true }],
  attrs: [{ name: "axis", type: "int", default: Dim.const(0) }],
  infer(ctx) {
    const xs = matchingInputs("stack", ctx, undefined);
    const first = xs[0]!;
    const a = axisIn(ctx, "axis", first, first.shape.length + 1);
    return same(first, [...first.shape.slice(0, a), Dim.const(xs.length), ...first.shape.slice(a)]);
  },
  lower: (ctx) => {
    const xs = ctx.inputs.map((_, i) => need(ctx, i));
    const axis = normAxis(num(ctx, "axis"), ctx.b.rank(xs[0]!) + 1);
    return [
      ctx.b.concat(
        xs.map((x) => insertAxis(ctx, x, axis)),
        axis,
      ),
    ];
  },
  onnx(ctx) {
    const axis = normAxis(ctx.int("axis"), ctx.outputs[0]!.shape.length);
    const parts = ctx.values.map((_, i) => unsqueezeAxes(ctx, value(ctx, i), [axis]));
    return [parts.length === 1 ? parts[0]! : ctx.op("Concat", parts, { axis })];
  },
});

const split = shapeOp({
  name: "split",
  doc: "splits x along axis into `sections` equal parts (an int) or parts of the listed sizes; several outputs",
  inputs: [{ name: "x" }],
  attrs: [
    {
      name: "sections",
      type: "ints",
      doc: "number of equal parts, or a list of sizes",
    },
    { name: "axis", type: "int", default: Dim.const(-1) },
  ],
  infer(ctx) {
    const x = input(ctx, 0);
    const axis = axisIn(ctx, "axis", x);
    const d = x.shape[axis]!;
    const where = `axis ${axis} of x ${typeToString(x)}`;
    if (Array.isArray(ctx.attrs.sections)) {
      const sizes = intsAttr(ctx, "sections").map((s) => nonNegative(s, "sections"));
      const sum = sizes.reduce((acc, s) => acc.add(s), Dim.const(0));
      if (!sum.equals(d))
        throw new OpError(`split sizes ${shapeToString(sizes)} add up to ${sum}, but ${where} has size ${d}`, {
          at: "sections",
        });
      return splitOutputs(x, axis, sizes);
    }
    const n = requireAtLeast(constIntAttr(ctx, "sections"), 1, "sections");
    const size = divideExactly(d, Dim.const(n));
    if (!size)
      throw new OpError(`${where} (size ${d}) cannot be split into ${n} equal parts`, {
        at: "sections",
        hint: "give a list of part sizes instead, e.g. sections: [a, b]",
      });
    return splitOutputs(
      x,
      axis,
      Array.from({ length: n }, () => size),
    );
  },
  lower: splitLower,
  onnx: splitOnnx,
});

const chunk = shapeOp({
  name: "chunk",
  doc: "torch.chunk: `chunks` parts of size ceil(n / chunks) along axis, the last possibly smaller",
  inputs: [{ name: "x" }],
  attrs: [
    { name: "chunks", type: "int" },
    { name: "axis", type: "int", default: Dim.const(-1) },
  ],
  infer(ctx) {
    const x = input(ctx, 0);
    const axis = axisIn(ctx, "axis", x);
    const n = requireAtLeast(constIntAttr(ctx, "chunks"), 1, "chunks");
    const d = x.shape[axis]!;
    const equal = divideExactly(d, Dim.const(n));
    if (equal)
      return splitOutputs(
        x,
        axis,
        Array.from({ length: n }, () => equal),
      );
    const len = d.constant;
    if (len === undefined)
      throw new OpError(
        `the chunk sizes of axis ${axis} of x ${typeToString(x)} depend on the value of ${d}, which is not known to be divisible by ${n}`,
        { at: "chunks", hint: "use split with a list of sizes" },
      );
    const size = Math.ceil(len / n);
    const count = Math.ceil(len / size);
    const sizes = Array.from({ length: count }, (_, i) => Dim.const(i < count - 1 ? size : len - size * (count - 1)));
    return splitOutputs(x, axis, sizes);
  },
  lower: splitLower,
  onnx: splitOnnx,
});

// ---------------------------------------------------------------------------
// Slicing and indexing (x[a:b], x[:, -1], x[:, [0, 2]], x[idx])

/** A Python slice bound: negative constants count from the end; clamped to [0, size]. */
function sliceBound(v: Dim, size: Dim): Dim {
  const c = v.constant;
  let b = c !== undefined && c < 0 ? size.add(c) : v;
  const over = b.sub(size).constant;
  if (over !== undefined && over > 0) b = size;
  const bc = b.constant;
  if (bc !== undefined && bc < 0) b = Dim.const(0);
  return b;
}

const slice = shapeOp({
  name: "slice",
  doc: "x[start:end:step] along one axis, with Python's negative indices and clamping; bounds may be symbolic",
  inputs: [{ name: "x" }],
  attrs: [
    { name: "axis", type: "int" },
    { name: "start", type: "int", default: Dim.const(0) },
    {
      name: "end",
      type: "int",
      default: null,
      doc: "exclusive; none: the end of the axis",
    },
    { name: "step", type: "int", default: Dim.const(1) },
  ],
  infer(ctx) {
    const x = input(ctx, 0);
    const axis = axisIn(ctx, "axis", x);
    const size = x.shape[axis]!;
    const step = requireAtLeast(constIntAttr(ctx, "step"), 1, "step");
    const start = sliceBound(ctx.attrs.start == null ? Dim.const(0) : intAttr(ctx, "start"), size);
    const end = sliceBound(ctx.attrs.end == null ? size : intAttr(ctx, "end"), size);
    const span = end.sub(start);
    const c = span.constant;
    const len = c !== undefined ? Dim.const(Math.max(0, Math.ceil(c / step))) : span.ceildiv(step);
    return same(x, withAxis(x.shape, axis, len));
  },
  lower: map1((x, ctx) => {
    const axis = normAxis(num(ctx, "axis"), ctx.b.rank(x));
    const size = ctx.b.shape(x)[axis]!;
    const start = bound(num(ctx, "start"), size);
    const end = Math.max(start, ctx.attrs.end == null ? size : bound(num(ctx, "end"), size));
    return ctx.b.sliceAxis(x, axis, start, end, num(ctx, "step"));
  }),
  // ONNX's Slice has Python's semantics: negative bounds count from the end, and bounds clamp
  onnx(ctx) {
    const axis = normAxis(ctx.int("axis"), input(ctx, 0).shape.length);
    const bound = (name: string, none: number): string => (ctx.attrs[name] == null ? ctx.ints([none]) : ctx.shape([intAttr(ctx, name)]));
    return [ctx.op("Slice", [value(ctx, 0), bound("start", 0), bound("end", TO_END), ctx.ints([axis]), ctx.ints([ctx.int("step")])])];
  },
});

const index = shapeOp({
  name: "index",
  doc: "x[..., i, ...]: picks position `index` on one axis and removes that axis (negative from the end)",
  inputs: [{ name: "x" }],
  attrs: [
    { name: "axis", type: "int" },
    { name: "index", type: "int" },
  ],
  infer(ctx) {
    const x = input(ctx, 0);
    const axis = axisIn(ctx, "axis", x);
    const size = x.shape[axis]!;
    const i = intAttr(ctx, "index");
    const ic = i.constant;
    const n = size.constant;
    const past = i.sub(size).constant;
    const out = ic !== undefined && n !== undefined ? ic < -n || ic >= n : past !== undefined && past >= 0;
    if (out)
      throw new OpError(`index ${i} is out of range for axis ${axis} of x ${typeToString(x)} (size ${size})`, {
        at: "index",
        hint: n !== undefined ? `valid indices are ${-n}..${n - 1}` : undefined,
      });
    return same(
      x,
      x.shape.filter((_, k) => k !== axis),
    );
  },
  lower: map1((x, ctx) => {
    const axis = normAxis(num(ctx, "axis"), ctx.b.rank(x));
    const i = normAxis(num(ctx, "index"), ctx.b.shape(x)[axis]!);
    return ctx.b.reshape(ctx.b.sliceAxis(x, axis, i, i + 1), outShape(ctx));
  }),
  onnx(ctx) {
    const axis = normAxis(ctx.int("axis"), input(ctx, 0).shape.length);
    return [ctx.op("Gather", [value(ctx, 0), ctx.size(intAttr(ctx, "index"))], { axis })];
  },
});

const take = shapeOp({
  name: "take",
  doc: "index_select: the entries of x at integer `indices` (a tensor, or a list attr) along axis",
  inputs: [{ name: "x" }, { name: "indices", optional: true, integer: true }],
  attrs: [
    {
      name: "indices",
      type: "ints",
      default: null,
      doc: "constant positions, when not given as a tensor",
    },
    { name: "axis", type: "int", default: Dim.const(0) },
  ],
  infer(ctx) {
    const x = input(ctx, 0);
    const tensor = ctx.inputs[1];
    const list: AttrValue = ctx.attrs.indices ?? null;
    if (tensor && list !== null) throw new OpError("give the indices either as a tensor or as a list, not both", { at: "indices" });
    if (!tensor && list === null) throw new OpError("take needs indices: an integer tensor or a list of integers", { at: "indices" });
    const axis = axisIn(ctx, "axis", x);
    let mid: Shape;
    if (tensor) {
      requireIntegerInput("take", tensor, 1, "indices");
      mid = tensor.shape;
    } else {
      const idx = intsAttr(ctx, "indices");
      const n = x.shape[axis]!.constant;
      for (const i of idx) {
        const c = i.constant;
        if (c !== undefined && n !== undefined && (c < -n || c >= n))
          throw new OpError(`index ${c} is out of range for axis ${axis} of x ${typeToString(x)} (size ${n})`, {
            at: "indices",
            hint: `valid indices are ${-n}..${n - 1}`,
          });
      }
      mid = [Dim.const(idx.length)];
    }
    return same(x, [...x.shape.slice(0, axis), ...mid, ...x.shape.slice(axis + 1)]);
  },
  lower: (ctx) => {
    const { b } = ctx;
    const x = need(ctx, 0);
    const axis = normAxis(num(ctx, "axis"), b.rank(x));
    const size = b.shape(x)[axis]!;
    const list = ctx.inputs[1] === undefined ? ints(ctx, "indices").map((i) => normAxis(i, size)) : undefined;
    const idx = list ? b.tensor(list, [list.length], "i32") : need(ctx, 1);
    return [b.gather(x, idx, axis)];
  },
  onnx(ctx) {
    const axis = normAxis(ctx.int("axis"), input(ctx, 0).shape.length);
    const indices = ctx.values[1] ?? ctx.ints(intsAttr(ctx, "indices").map((d) => ctx.known(d, "an index")));
    return [ctx.op("Gather", [value(ctx, 0), indices], { axis })];
  },
});

const gather = shapeOp({
  name: "gather",
  doc: "torch.gather: out[i][j] = x[index[i][j]][j] along axis; the output has index's shape",
  inputs: [{ name: "x" }, { name: "index", integer: true }],
  attrs: [{ name: "axis", type: "int" }],
  infer(ctx) {
    const x = input(ctx, 0);
    const idx = input(ctx, 1);
    requireIntegerInput("gather", idx, 1, "index");
    const axis = axisIn(ctx, "axis", x);
    if (idx.shape.length !== x.shape.length)
      throw new OpError(`index ${typeToString(idx)} must have the rank of x ${typeToString(x)}`, {
        at: 1,
        code: "DLM3103",
      });
    idx.shape.forEach((d, k) => {
      const over = d.sub(x.shape[k]!).constant;
      if (k !== axis && over !== undefined && over > 0)
        throw new OpError(`index ${typeToString(idx)} is larger than x ${typeToString(x)} at dim ${k}`, {
          at: 1,
          hint: `index may not exceed x on dims other than the gather axis ${axis}`,
        });
    });
    return same(x, idx.shape);
  },
  lower: (ctx) => {
    // flat positions into x: index's own coordinates, with `index` itself on the gather axis
    const { b } = ctx;
    const x = need(ctx, 0);
    const idx = need(ctx, 1);
    const s = b.shape(x);
    const axis = normAxis(num(ctx, "axis"), s.length);
    const at = b.shape(idx);
    let flat: T = b.scalar(0, "i32");
    let stride = 1;
    for (let k = s.length - 1; k >= 0; k--) {
      const coord = k === axis ? idx : b.iota(at, k);
      flat = b.plus(flat, b.binary("mul", coord, b.scalar(stride, "i32")));
      stride *= s[k]!;
    }
    return [b.gather(b.reshape(x, [stride]), b.broadcastTo(flat, at), 0)];
  },
  onnx(ctx) {
    const axis = normAxis(ctx.int("axis"), input(ctx, 0).shape.length);
    return [ctx.op("GatherElements", [value(ctx, 0), value(ctx, 1)], { axis })];
  },
});

// ---------------------------------------------------------------------------
// Padding, tiling, broadcasting

const PAD_MODES = ["constant", "reflect", "replicate", "circular"] as const;

const pad = shapeOp({
  name: "pad",
  doc: "pads x; pads in torch order (last dim first, (left, right) pairs); negative pads crop",
  inputs: [{ name: "x" }],
  attrs: [
    { name: "pads", type: "ints", doc: "[left, right, top, bottom, ...]" },
    { name: "value", type: "float", default: 0.0 },
    { name: "mode", type: "string", default: "constant" },
  ],
  infer(ctx) {
    const x = input(ctx, 0);
    const r = x.shape.length;
    const pads = intsAttr(ctx, "pads");
    const mode = enumAttr(ctx, "mode", PAD_MODES);
    floatAttr(ctx, "value");
    if (pads.length % 2 !== 0 || pads.length > 2 * r)
      throw new OpError(
        `'pads' needs (before, after) pairs from the last dim backwards, at most ${2 * r} values for x ${typeToString(x)}; got ${pads.length}`,
        { at: "pads" },
      );
    const shape = x.shape.slice();
    for (let k = 0; k < pads.length / 2; k++) {
      const ax = r - 1 - k;
      const lo = pads[2 * k]!;
      const hi = pads[2 * k + 1]!;
      const d = x.shape[ax]!;
      if (mode !== "constant")
        for (const p of [lo, hi]) {
          const pc = p.constant;
          const dc = d.constant;
          if (pc !== undefined && pc < 0) throw new OpError(`${mode} padding cannot be negative, got ${pc} for axis ${ax}`, { at: "pads" });
          if (mode === "reflect" && pc !== undefined && dc !== undefined && pc >= dc)
            throw new OpError(`reflect padding ${pc} must be smaller than the size ${dc} of axis ${ax} of x ${typeToString(x)}`, {
              at: "pads",
              hint: 'use mode: "replicate" for wider padding',
            });
        }
      shape[ax] = d.add(lo).add(hi);
      const c = shape[ax]!.constant;
      if (c !== undefined && c < 0)
        throw new OpError(`padding axis ${ax} of x ${typeToString(x)} by (${lo}, ${hi}) leaves ${c} elements`, {
          at: "pads",
        });
    }
    return same(x, shape);
  },
  lower: map1((x, ctx) => {
    // torch order: (left, right) of the last axis first
    const pads = ints(ctx, "pads");
    const r = ctx.b.rank(x);
    for (let k = 0; k < pads.length / 2; k++)
      x = padAxis(ctx, x, r - 1 - k, pads[2 * k]!, pads[2 * k + 1]!, str(ctx, "mode"), num(ctx, "value"));
    return x;
  }),
  // torch's (before, after) pairs from the last axis back become ONNX's begins then ends
  onnx(ctx) {
    const x = input(ctx, 0);
    const r = x.shape.length;
    const pads = intsAttr(ctx, "pads").map((d) => ctx.known(d, "a padding"));
    const begins = Array<number>(r).fill(0);
    const ends = Array<number>(r).fill(0);
    for (let k = 0; k < pads.length / 2; k++) [begins[r - 1 - k], ends[r - 1 - k]] = [pads[2 * k]!, pads[2 * k + 1]!];
    const mode = ONNX_PAD_MODES[stringAttr(ctx, "mode")]!;
    const fill = mode === "constant" ? ctx.scalar(floatAttr(ctx, "value"), x.dtype) : undefined;
    return [ctx.op("Pad", [value(ctx, 0), ctx.ints([...begins, ...ends]), fill], { mode })];
  },
});

const tile = shapeOp({
  name: "tile",
  doc: "repeats the whole of x reps[i] times along each axis (torch.tile; short reps are padded with 1s)",
  inputs: [{ name: "x" }],
  attrs: [{ name: "reps", type: "ints" }],
  infer(ctx) {
    const x = input(ctx, 0);
    const reps = intsAttr(ctx, "reps").map((d) => nonNegative(d, "reps"));
    const n = Math.max(x.shape.length, reps.length);
    const shape: Dim[] = [];
    for (let i = 0; i < n; i++) {
      const d = x.shape[i - (n - x.shape.length)] ?? ONE;
      const k = reps[i - (n - reps.length)] ?? ONE;
      shape.push(d.mul(k));
    }
    return same(x, shape);
  },
  lower: map1((x, ctx) => {
    // [.., d, ..] viewed as [.., 1, d, ..], broadcast to [.., k, d, ..], merged
    const { b } = ctx;
    const out = outShape(ctx);
    const reps = ints(ctx, "reps");
    const n = out.length;
    const s = [...Array<number>(n - b.rank(x)).fill(1), ...b.shape(x)];
    const k = [...Array<number>(n - reps.length).fill(1), ...reps];
    const spread = b.reshape(
      x,
      s.flatMap((d) => [1, d]),
    );
    return b.reshape(
      b.broadcastTo(
        spread,
        s.flatMap((d, i) => [k[i]!, d]),
      ),
      out,
    );
  }),
  onnx(ctx) {
    const x = input(ctx, 0);
    const reps = intsAttr(ctx, "reps");
    const n = ctx.outputs[0]!.shape.length;
    const lifted = n > x.shape.length ? unsqueezeAxes(ctx, value(ctx, 0), [...Array(n - x.shape.length).keys()]) : value(ctx, 0);
    return [ctx.op("Tile", [lifted, ctx.shape([...Array<Dim>(n - reps.length).fill(ONE), ...reps])])];
  },
});

/** expand / broadcast_to: size-1 dims grow to the target, new dims are added in front, -1 keeps. */
function expandOp(name: string, doc: string): OpDef {
  return shapeOp({
    name,
    doc,
    inputs: [{ name: "x" }],
    attrs: [{ name: "shape", type: "ints", doc: "target shape; -1 keeps x's size" }],
    infer(ctx) {
      const x = input(ctx, 0);
      const target = intsAttr(ctx, "shape");
      const r = x.shape.length;
      const lead = target.length - r;
      const fail = (msg: string, hint?: string): OpError =>
        new OpError(`cannot ${name} x ${typeToString(x)} to ${shapeToString(target)}: ${msg}`, { at: "shape", hint });
      if (lead < 0) throw fail(`the target has fewer dims than x`, "dims can only be added in front");
      const shape = target.map((t, i) => {
        const c = t.constant;
        if (c !== undefined && c < 0 && (c !== -1 || i < lead))
          throw fail(c === -1 ? `-1 keeps an existing dim, but dim ${i} is new` : `negative size ${c}`);
        if (i < lead) return t;
        const d = x.shape[i - lead]!;
        if (c === -1 || sameDim(d, t)) return d;
        if (d.equals(1)) return t;
        throw fail(
          `dim ${i - lead} has size ${d}; only size-1 dims can be expanded (to ${t})`,
          "use tile or repeat_interleave to copy data along a dim larger than 1",
        );
      });
      return same(x, shape);
    },
    lower: map1((x, ctx) => ctx.b.broadcastTo(x, outShape(ctx))),
    onnx: (ctx) => [ctx.op("Expand", [value(ctx, 0), ctx.shape(ctx.outputs[0]!.shape)])],
  });
}

// ---------------------------------------------------------------------------
// Vision and encoding

const patchify = shapeOp({
  name: "patchify",
  doc: "ViT patches: [B, C, H, W] → [B, (H/p)*(W/p), C*p*p] (H and W divisible by p; p or [ph, pw])",
  inputs: [{ name: "x" }],
  attrs: [{ name: "patch", type: "ints", doc: "patch size p, or [ph, pw]" }],
  infer(ctx) {
    const x = input(ctx, 0);
    requireRank("patchify", x, [4], 0, "image [B, C, H, W]");
    const [ph, pw] = intsAttr(ctx, "patch", 2).map((p) => requirePositiveDim(p, "patch")) as [Dim, Dim];
    const [b, c, h, w] = x.shape as [Dim, Dim, Dim, Dim];
    const rows = (d: Dim, p: Dim, what: string): Dim =>
      divideDim(
        d,
        p,
        () => `the image ${what} ${d} of x ${typeToString(x)} is not divisible by the patch size ${p}`,
        "patch",
        `resize or crop the image to a multiple of ${p}, or pick a patch size dividing ${d}`,
      );
    const n = rows(h, ph, "height").mul(rows(w, pw, "width"));
    return same(x, [b, n, c.mul(ph).mul(pw)]);
  },
  lower: map1((x, ctx) => {
    // [B, C, H/p, p, W/q, q] → [B, H/p, W/q, C, p, q]: patches row-major, features (c, i, j) as a conv's
    const { b } = ctx;
    const [bs, c, h, w] = b.shape(x) as [number, number, number, number];
    const [p, q] = ints(ctx, "patch", 2) as [number, number];
    const t = b.transpose(b.reshape(x, [bs, c, h / p, p, w / q, q]), [0, 2, 4, 1, 3, 5]);
    return b.reshape(t, outShape(ctx));
  }),
  onnx(ctx) {
    const [b, c, h, w] = input(ctx, 0).shape as [Dim, Dim, Dim, Dim];
    const [p, q] = intsAttr(ctx, "patch", 2) as [Dim, Dim];
    const grid = reshapeTo(ctx, value(ctx, 0), [b, c, h.floordiv(p), p, w.floordiv(q), q]);
    return [reshapeTo(ctx, ctx.op("Transpose", [grid], { perm: [0, 2, 4, 1, 3, 5] }), ctx.outputs[0]!.shape)];
  },
});

const pixelShuffle = shapeOp({
  name: "pixel_shuffle",
  doc: "sub-pixel upsampling: [..., C*r*r, H, W] → [..., C, H*r, W*r]",
  inputs: [{ name: "x" }],
  attrs: [{ name: "factor", type: "int", doc: "upscale factor r" }],
  infer(ctx) {
    const x = input(ctx, 0);
    requireMinRank("pixel_shuffle", x, 3, 0, "[B, C, H, W]");
    const f = requireAtLeast(constIntAttr(ctx, "factor"), 1, "factor");
    const r = x.shape.length;
    const [c, h, w] = x.shape.slice(r - 3) as [Dim, Dim, Dim];
    const out = divideDim(
      c,
      Dim.const(f * f),
      () => `the ${c} channels of x ${typeToString(x)} are not divisible by factor² = ${f * f}`,
      "factor",
      `the channel count must be a multiple of ${f * f}`,
    );
    return same(x, [...x.shape.slice(0, r - 3), out, h.mul(f), w.mul(f)]);
  },
  lower: map1((x, ctx) => {
    // out[c, h·r + i, w·r + j] = x[c·r² + i·r + j, h, w]
    const { b } = ctx;
    const s = b.shape(x);
    const n = s.length - 3;
    const r = num(ctx, "factor");
    const [c, h, w] = s.slice(n) as [number, number, number];
    const lead = s.slice(0, n);
    const t = b.reshape(x, [...lead, c / (r * r), r, r, h, w]);
    const perm = [...lead.keys(), n, n + 3, n + 1, n + 4, n + 2];
    return b.reshape(b.transpose(t, perm), outShape(ctx));
  }),
  onnx(ctx) {
    const s = input(ctx, 0).shape;
    const n = s.length - 3;
    const r = ctx.int("factor");
    const [c, h, w] = s.slice(n) as [Dim, Dim, Dim];
    const split = reshapeTo(ctx, value(ctx, 0), [...s.slice(0, n), c.floordiv(r * r), Dim.const(r), Dim.const(r), h, w]);
    const perm = [...Array(n).keys(), n, n + 3, n + 1, n + 4, n + 2];
    return [reshapeTo(ctx, ctx.op("Transpose", [split], { perm }), ctx.outputs[0]!.shape)];
  },
});

const oneHot = shapeOp({
  name: "one_hot",
  doc: "integer class ids [...] → f32 one-hot vectors [..., classes]",
  inputs: [{ name: "x", integer: true }],
  attrs: [{ name: "classes", type: "int" }],
  infer(ctx) {
    const x = input(ctx, 0);
    requireIntegerInput("one_hot", x, 0, "class ids");
    const classes = requirePositiveDim(intAttr(ctx, "classes"), "classes");
    return { outputs: [{ dtype: "f32", shape: [...x.shape, classes] }] };
  },
  lower: map1((x, ctx) => ctx.b.oneHot(x, num(ctx, "classes"), "f32")),
  onnx(ctx) {
    const offOn = ctx.constant([0, 1], [2], "f32");
    return [ctx.op("OneHot", [value(ctx, 0), ctx.size(intAttr(ctx, "classes")), offOn], { axis: -1 })];
  },
});

const repeatInterleave = shapeOp({
  name: "repeat_interleave",
  doc: "repeats each entry `repeats` times in place along axis: [a, b] → [a, a, b, b]",
  inputs: [{ name: "x" }],
  attrs: [
    { name: "repeats", type: "int" },
    { name: "axis", type: "int" },
  ],
  infer(ctx) {
    const x = input(ctx, 0);
    const axis = axisIn(ctx, "axis", x);
    const k = nonNegative(intAttr(ctx, "repeats"), "repeats");
    return same(x, withAxis(x.shape, axis, x.shape[axis]!.mul(k)));
  },
  lower: map1((x, ctx) => repeatEach(ctx, x, normAxis(num(ctx, "axis"), ctx.b.rank(x)), num(ctx, "repeats"))),
  // each entry k times in place: a new axis after `axis`, expanded to k, merged
  onnx(ctx) {
    const s = input(ctx, 0).shape;
    const axis = normAxis(ctx.int("axis"), s.length);
    const spread = [...s.slice(0, axis + 1), intAttr(ctx, "repeats"), ...s.slice(axis + 1)];
    const big = ctx.op("Expand", [unsqueezeAxes(ctx, value(ctx, 0), [axis + 1]), ctx.shape(spread)]);
    return [reshapeTo(ctx, big, ctx.outputs[0]!.shape)];
  },
});

// PyTorch (compiler/ops/torch-mapping.ts): tensor methods; sizes that are symbolic in dlm
// are expressions of the forward's size variables, so any batch size runs.
/** x reshaped to output `i`'s shape (squeeze, patchify: dlm's rule already says where each element goes) */
const toOutput = (c: TorchContext, x: string, i = 0): string => `${x}.reshape(${c.py(c.outputs[i]!.shape as readonly AttrValue[])})`;
/** `x[:, :, <index>]`: an index expression on one axis */
const onAxis = (c: TorchContext, index: string): string => {
  const axis = c.int("axis");
  const r = rankOf(c, 0);
  return `${arg(c, 0)}[${[...Array<string>(axis < 0 ? axis + r : axis).fill(":"), index].join(", ")}]`;
};
/** a tuple of parts (torch.split, torch.chunk); one part is x itself */
const parts = (fn: (c: TorchContext) => string): TorchMapping => ({ forward: (c) => (c.outputs.length === 1 ? arg(c, 0) : fn(c)) });

const TORCH: TorchTable = {
  reshape: { forward: (c) => `${arg(c, 0)}.reshape(${c.py(c.attrs.shape)})` },
  flatten: {
    forward: (c) => (rankOf(c, 0) === 0 ? `${arg(c, 0)}.reshape(1)` : `${arg(c, 0)}.flatten(${c.py(c.attrs.start)}, ${c.py(c.attrs.end)})`),
  },
  unflatten: { forward: (c) => `${arg(c, 0)}.unflatten(${c.py(c.attrs.axis)}, ${c.py(c.attrs.sizes)})` },
  transpose: {
    forward: (c) =>
      rankOf(c, 0) < 2 && c.int("dim0") === -2 && c.int("dim1") === -1
        ? arg(c, 0)
        : `${arg(c, 0)}.transpose(${c.py(c.attrs.dim0)}, ${c.py(c.attrs.dim1)})`,
  },
  permute: { forward: (c) => `${arg(c, 0)}.permute(${c.py(c.attrs.dims)})` },
  squeeze: { forward: (c) => toOutput(c, arg(c, 0)) },
  unsqueeze: { forward: (c) => `${arg(c, 0)}.unsqueeze(${c.py(c.attrs.axis)})` },
  concat: { forward: (c) => pyCall("torch.cat", [`[${c.inputs.map((_, i) => c.tensor(i)).join(", ")}]`], { dim: c.py(c.attrs.axis) }) },
  stack: { forward: (c) => pyCall("torch.stack", [`[${c.inputs.map((_, i) => c.tensor(i)).join(", ")}]`], { dim: c.py(c.attrs.axis) }) },
  split: parts((c) => {
    const axis = c.int("axis");
    const sizes = c.outputs.map((o) => o.shape[axis < 0 ? axis + o.shape.length : axis]!);
    return pyCall("torch.split", [arg(c, 0), c.py(sizes)], { dim: String(axis) });
  }),
  chunk: parts((c) => pyCall("torch.chunk", [arg(c, 0), c.py(c.attrs.chunks)], { dim: c.py(c.attrs.axis) })),
  slice: {
    forward: (c) => {
      const end = c.attrs.end === null || c.attrs.end === undefined ? "" : c.py(c.attrs.end);
      return onAxis(c, `${c.py(c.attrs.start)}:${end}:${c.py(c.attrs.step)}`);
    },
  },
  index: { forward: (c) => `${arg(c, 0)}.select(${c.py(c.attrs.axis)}, ${c.py(c.attrs.index)})` },
  take: {
    forward: (c) =>
      onAxis(
        c,
        c.inputs[1] !== undefined ? `${arg(c, 1)}.long()` : `[${(c.attrs.indices as readonly AttrValue[]).map((i) => c.py(i)).join(", ")}]`,
      ),
  },
  gather: { forward: (c) => pyCall("torch.gather", [arg(c, 0), c.py(c.attrs.axis), `${arg(c, 1)}.long()`]) },
  pad: {
    forward: (c) => {
      if (c.attrs.mode === "constant")
        return pyCall("F.pad", [arg(c, 0), c.py(c.attrs.pads)], { mode: c.py(c.attrs.mode), value: c.py(c.attrs.value) });
      // torch pads k axes in the other modes only of a [N, C, *k axes] tensor: fold the leading axes into C
      const shape = c.inputTypes[0]!.shape;
      const padded = shape.slice(shape.length - (c.attrs.pads as readonly AttrValue[]).length / 2);
      const batched = `${arg(c, 0)}.reshape(${c.py([Dim.const(1), Dim.const(-1), ...padded])})`;
      return toOutput(c, pyCall("F.pad", [batched, c.py(c.attrs.pads)], { mode: c.py(c.attrs.mode) }));
    },
  },
  tile: { forward: (c) => pyCall("torch.tile", [arg(c, 0), c.py(c.attrs.reps)]) },
  expand: { forward: (c) => `${arg(c, 0)}.expand(${c.py(c.outputs[0]!.shape as readonly AttrValue[])})` },
  broadcast_to: { forward: (c) => `${arg(c, 0)}.expand(${c.py(c.outputs[0]!.shape as readonly AttrValue[])})` },
  // [B, C, H/p, p, W/q, q] → [B, H/p, W/q, C, p, q]: patches row-major, features (c, i, j)
  patchify: {
    forward: (c) => {
      const [b, ch, h, w] = c.inputTypes[0]!.shape;
      const p = intsAttr({ inputs: [], attrs: c.attrs }, "patch", 2);
      const grid = c.py([b!, ch!, h!.floordiv(p[0]!), p[0]!, w!.floordiv(p[1]!), p[1]!]);
      return toOutput(c, `${arg(c, 0)}.reshape(${grid}).permute(0, 2, 4, 1, 3, 5)`);
    },
  },
  pixel_shuffle: { forward: (c) => pyCall("F.pixel_shuffle", [arg(c, 0), c.py(c.attrs.factor)]) },
  one_hot: { forward: (c) => `${pyCall("F.one_hot", [`${arg(c, 0)}.long()`, c.py(c.attrs.classes)])}.to(${c.dtype(c.outputs[0]!.dtype)})` },
  repeat_interleave: { forward: (c) => pyCall("torch.repeat_interleave", [arg(c, 0), c.py(c.attrs.repeats)], { dim: c.py(c.attrs.axis) }) },
};

export const ops: OpDef[] = withTorch(
  [
    reshape,
    flatten,
    unflatten,
    transpose,
    permute,
    squeeze,
    unsqueeze,
    concat,
    stack,
    split,
    chunk,
    slice,
    index,
    take,
    gather,
    pad,
    tile,
    expandOp("expand", "broadcasts size-1 dims to `shape` without copying (-1 keeps a dim; new dims go in front)"),
    expandOp("broadcast_to", "broadcasts x to `shape` (NumPy rules: size-1 dims grow, new dims in front)"),
    patchify,
    pixelShuffle,
    oneHot,
    repeatInterleave,
  ],
  TORCH,
);
