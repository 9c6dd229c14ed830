// Pooling with PyTorch semantics: max/avg pools over 1-3 spatial axes (floor or ceil mode),
// adaptive pools (output size given), global pools and LP pooling. Channels-first like conv:
// x [B, C, *S] or unbatched [C, *S] (global pools need the batch axis). No parameters.
//
// Cost: flops only (pooling is not matmul work), counted per window element:
//   max / avg pool:  numel(y) * prod(K)         (one compare or add per window element)
//   lppool2d:        numel(y) * (2*prod(K) + 1) (x^p and an add per element, one root per output)
//   adaptive pools:  the exact total window size: B*C * prod over axes of sum_i |window_i|
//                    (when sizes are symbolic: the input size, exact when out divides it)
//   global pools:    numel(x)

import { Dim, type Shape } from "../dim.js";
import { prodRange, requireMinRank } from "./builders.js";
import {
  type AxisWindow,
  type SpatialInput,
  axisNames,
  geometryText,
  perAxis,
  prepad,
  requirePositiveOutput,
  onnxPad,
  onnxWindow,
  spatialInput,
  windowOf,
  windowOutput,
} from "./conv.js";
import {
  type AttrSpec,
  type CostContext,
  type InferContext,
  type OpDef,
  type TensorType,
  OpError,
  boolAttr,
  cost,
  floatAttr,
  input,
  intsAttr,
  numel,
  requireFloat,
  typeToString,
} from "./types.js";
import type { T } from "../prim/builder.js";
import { type Lower, flag, ints, map1, need, num, outShape } from "./lowering.js";
import type { LowerContext } from "./types.js";
import type { OnnxContext } from "../export/onnx/context.js";
import { batched as batchedOnnx, reshapeTo, sliceAxis, squeeze as squeezeOnnx, value } from "../export/onnx/helpers.js";
import { arg, pyCall, rankOf, withTorch, type TorchContext, type TorchMapping, type TorchTable } from "./torch-mapping.js";

type PoolKind = "max" | "avg" | "lp";

/** max pools compare any numbers; averages and norms need floats */
function checkDType(op: string, kind: PoolKind, x: TensorType): void {
  if (kind !== "max") return requireFloat(op, x, 0);
  if (x.dtype === "bool")
    throw new OpError(`${op} needs a numeric input, got ${typeToString(x)}`, {
      at: 0,
      code: "DLM3102",
      hint: "use cast(x, f32) first",
    });
}

/** x with its spatial axes replaced. */
function withSpatial(s: SpatialInput, spatial: readonly Dim[]): Dim[] {
  const shape = s.x.shape.slice(0, s.channelAxis + 1);
  shape.push(...spatial);
  return shape;
}

// ---------------------------------------------------------------------------
// Sliding-window pools: maxpool / avgpool / lppool2d

interface PoolGeometry {
  readonly s: SpatialInput;
  readonly kernel: readonly Dim[];
  readonly outShape: Shape;
}

function poolGeometry(op: string, kind: PoolKind, n: number, ctx: InferContext): PoolGeometry {
  const s = spatialInput(op, ctx, n);
  checkDType(op, kind, s.x);
  const kernel = perAxis(ctx.attrs.kernel, "kernel", n, 1, op);
  const stride = ctx.attrs.stride == null ? kernel : perAxis(ctx.attrs.stride, "stride", n, 1, op);
  const zeros = kernel.map(() => Dim.const(0));
  const ones = kernel.map(() => Dim.const(1));
  // lppool2d has no padding, dilation or ceil_mode; avgpool no dilation
  const padding = ctx.attrs.padding === undefined ? zeros : perAxis(ctx.attrs.padding, "padding", n, 0, op);
  const dilation = ctx.attrs.dilation === undefined ? ones : perAxis(ctx.attrs.dilation, "dilation", n, 1, op);
  const ceil = ctx.attrs.ceil_mode === undefined ? false : boolAttr(ctx, "ceil_mode");
  if (ctx.attrs.count_include_pad !== undefined) boolAttr(ctx, "count_include_pad");
  const names = axisNames(n);
  padding.forEach((p, i) => {
    const pc = p.constant;
    const kc = kernel[i]!.constant;
    if (pc !== undefined && kc !== undefined && pc > Math.floor(kc / 2))
      throw new OpError(`'padding' ${pc} on axis ${names[i]} is more than half the kernel size ${kc}`, {
        at: "padding",
        hint: `torch allows padding <= kernel / 2, here at most ${Math.floor(kc / 2)}`,
      });
  });
  const spatial = s.spatial.map((size, i) => {
    const w: AxisWindow = {
      kernel: kernel[i]!,
      stride: stride[i]!,
      padding: padding[i]!,
      dilation: dilation[i]!,
    };
    const f = (v: Dim): Dim => windowOutput(v, w, ceil);
    const o = f(size);
    requirePositiveOutput(
      op,
      s,
      i,
      o,
      f,
      geometryText(w, ceil ? ", ceil_mode" : ""),
      "use a smaller kernel, add padding or ceil_mode, or pool fewer times",
    );
    return o;
  });
  return { s, kernel, outShape: withSpatial(s, spatial) };
}

/**
 * max / avg / lp pooling over the trailing `n` axes. Averages never count the ceil-mode
 * overhang; with count_include_pad the regular padding is made real zeros first, so it counts
 * (torch's divisor: the window clipped to the padded input).
 */
function slidingLower(kind: PoolKind, n: number): Lower {
  return map1((x, ctx) => {
    const { b } = ctx;
    const kernel = ints(ctx, "kernel", n);
    const win = windowOf(ctx, kernel, b.shape(x).slice(-n));
    if (kind === "max") return b.maxPool(x, win);
    if (kind === "avg") {
      if (!flag(ctx, "count_include_pad")) return b.avgPool(x, win, false);
      const lo = win.padLo;
      const p = prepad(ctx, x, { ...win, padHi: lo }, "constant");
      return b.avgPool(p.x, { ...win, padLo: p.win.padLo, padHi: win.padHi.map((h, i) => h - lo[i]!) }, false);
    }
    // lppool (torch): (avg_pool(x^p) · prod(K))^(1/p), i.e. the root of the window's sum of x^p
    const pw = num(ctx, "p");
    const size = kernel.reduce((a, k) => a * k, 1);
    const sum = b.scale(b.avgPool(b.binary("pow", x, b.scalar(pw)), win, false), size);
    return b.binary("pow", sum, b.scalar(1 / pw));
  });
}

/**
 * max / avg / lp pooling in ONNX as the lowering does it: in ceil mode the high padding grows
 * instead (onnxWindow); with count_include_pad the regular padding becomes real zeros, so the
 * ceil overhang never counts in an average.
 */
function slidingOnnx(kind: PoolKind, n: number) {
  return (ctx: OnnxContext): string[] => {
    const rank = input(ctx, 0).shape.length;
    const kernel = intsAttr(ctx, "kernel", n).map((d) => ctx.known(d, "the kernel size"));
    const win = onnxWindow(ctx, kernel);
    const y = batchedOnnx(ctx, value(ctx, 0), rank, n, (x) => {
      const common = { kernel_shape: kernel, strides: win.strides };
      if (kind === "max") return ctx.op("MaxPool", [x], { ...common, pads: [...win.padLo, ...win.padHi], dilations: win.dilations });
      if (kind === "lp") {
        const p = floatAttr(ctx, "p");
        const mean = ctx.op("AveragePool", [ctx.op("Pow", [x, ctx.scalar(p)])], common);
        const sum = ctx.op("Mul", [mean, ctx.scalar(kernel.reduce((a, k) => a * k, 1))]);
        return ctx.op("Pow", [sum, ctx.scalar(1 / p)]);
      }
      const padded = ctx.attrs.count_include_pad === true && win.padLo.some((p) => p > 0);
      if (!padded) return ctx.op("AveragePool", [x], { ...common, pads: [...win.padLo, ...win.padHi], count_include_pad: 0 });
      const real = onnxPad(ctx, x, n + 2, win.padLo, win.padLo, "constant");
      const extra = win.padHi.map((h, i) => h - win.padLo[i]!);
      return ctx.op("AveragePool", [real], { ...common, pads: [...win.padLo.map(() => 0), ...extra], count_include_pad: 0 });
    });
    return [y];
  };
}

function slidingPool(
  name: string,
  kind: PoolKind,
  n: number,
  doc: string,
  attrs: readonly AttrSpec[],
  flopsPerWindowElem: number,
  flopsPerOutput: number,
): OpDef {
  return {
    name,
    category: "pool",
    doc,
    inputs: [{ name: "x" }],
    attrs,
    infer(ctx) {
      const g = poolGeometry(name, kind, n, ctx);
      if (kind === "lp") {
        const p = floatAttr(ctx, "p");
        if (!(p > 0))
          throw new OpError(`'p' must be positive, got ${p}`, {
            at: "p",
            hint: "p = 2 gives the root of the sum of squares",
          });
      }
      return { outputs: [{ dtype: g.s.x.dtype, shape: g.outShape }] };
    },
    // per output: the window's elements (compare / add), see the header
    cost(ctx) {
      const g = poolGeometry(name, kind, n, ctx);
      const window = g.kernel.reduce<Dim>((acc, k) => acc.mul(k), Dim.const(1));
      return cost(0, numel(g.outShape).mul(window.scale(flopsPerWindowElem).add(flopsPerOutput)));
    },
    lower: slidingLower(kind, n),
    onnx: slidingOnnx(kind, n),
  };
}

const KERNEL: AttrSpec = {
  name: "kernel",
  type: "ints",
  doc: "window size: an int or one per spatial axis",
};
const STRIDE: AttrSpec = {
  name: "stride",
  type: "ints",
  default: null,
  doc: "default: the kernel size",
};
const PADDING: AttrSpec = {
  name: "padding",
  type: "ints",
  default: Dim.const(0),
  doc: "implicit padding, at most kernel / 2",
};
const CEIL_MODE: AttrSpec = {
  name: "ceil_mode",
  type: "bool",
  default: false,
  doc: "ceil instead of floor for the output size",
};

const MAX_ATTRS: readonly AttrSpec[] = [KERNEL, STRIDE, PADDING, { name: "dilation", type: "ints", default: Dim.const(1) }, CEIL_MODE];
const AVG_ATTRS: readonly AttrSpec[] = [
  KERNEL,
  STRIDE,
  PADDING,
  CEIL_MODE,
  {
    name: "count_include_pad",
    type: "bool",
    default: true,
    doc: "average over padded zeros too",
  },
];
const LP_ATTRS: readonly AttrSpec[] = [{ name: "p", type: "float", doc: "the norm's power" }, KERNEL, STRIDE];

function spatialText(n: number): string {
  return axisNames(n).join(", ");
}

function maxPool(n: 1 | 2 | 3): OpDef {
  const sp = spatialText(n);
  return slidingPool(
    `maxpool${n}d`,
    "max",
    n,
    `${n}-D max pooling x [B, C, ${sp}] → [B, C, ${sp}'] (stride defaults to the kernel)`,
    MAX_ATTRS,
    1,
    0,
  );
}

function avgPool(n: 1 | 2 | 3): OpDef {
  const sp = spatialText(n);
  return slidingPool(
    `avgpool${n}d`,
    "avg",
    n,
    `${n}-D average pooling x [B, C, ${sp}] → [B, C, ${sp}'] (stride defaults to the kernel)`,
    AVG_ATTRS,
    1,
    0,
  );
}

// ---------------------------------------------------------------------------
// Adaptive pools: the output size is given; windows [floor(i*S/o), ceil((i+1)*S/o))

/** Sum of the adaptive window lengths over one axis (exact for constants). */
function adaptiveWindowSum(size: Dim, out: Dim): Dim {
  const s = size.constant;
  const o = out.constant;
  if (s === undefined || o === undefined) return size;
  let total = 0;
  for (let i = 0; i < o; i++) total += Math.ceil(((i + 1) * s) / o) - Math.floor((i * s) / o);
  return Dim.const(total);
}

function adaptiveGeometry(op: string, kind: PoolKind, n: number, ctx: InferContext): { s: SpatialInput; size: Dim[] } {
  const s = spatialInput(op, ctx, n);
  checkDType(op, kind, s.x);
  return { s, size: perAxis(ctx.attrs.size, "size", n, 1, op) };
}

/** Reduces axis `axis` (size s) to `o` windows [floor(i·s/o), ceil((i+1)·s/o)). Boxes are separable, so axes go one at a time. */
function adaptiveAxis(ctx: LowerContext, x: T, axis: number, o: number, kind: "max" | "avg"): T {
  const { b } = ctx;
  const shape = b.shape(x);
  const s = shape[axis]!;
  const reduce = (t: T, ax: number): T => (kind === "max" ? b.max(t, [ax], true) : b.mean(t, [ax], true));
  if (s % o === 0) {
    const split = [...shape.slice(0, axis), o, s / o, ...shape.slice(axis + 1)];
    return b.reshape(reduce(b.reshape(x, split), axis + 1), withAxisSize(shape, axis, o));
  }
  const parts = Array.from({ length: o }, (_, i) =>
    reduce(b.sliceAxis(x, axis, Math.floor((i * s) / o), Math.ceil(((i + 1) * s) / o)), axis),
  );
  return b.concat(parts, axis);
}

/** adaptiveAxis in ONNX: x (of shape `shape`) pooled to `o` windows along `axis`. */
function adaptiveAxisOnnx(ctx: OnnxContext, x: string, shape: Dim[], axis: number, o: number, kind: "max" | "avg"): string {
  const s = ctx.known(shape[axis]!, "the pooled size");
  const reduce = (t: string, ax: number, keep: number): string =>
    ctx.op(kind === "max" ? "ReduceMax" : "ReduceMean", [t, ctx.ints([ax])], { keepdims: keep });
  if (s % o === 0) {
    const split = [...shape.slice(0, axis), Dim.const(o), Dim.const(s / o), ...shape.slice(axis + 1)];
    return reduce(reshapeTo(ctx, x, split), axis + 1, 0);
  }
  const parts = Array.from({ length: o }, (_, i) =>
    reduce(sliceAxis(ctx, x, axis, Math.floor((i * s) / o), Math.ceil(((i + 1) * s) / o)), axis, 1),
  );
  return ctx.op("Concat", parts, { axis });
}

function withAxisSize(shape: readonly number[], axis: number, d: number): number[] {
  return shape.map((v, i) => (i === axis ? d : v));
}

function adaptivePool(kind: "max" | "avg", n: 1 | 2 | 3): OpDef {
  const name = `adaptive_${kind}pool${n}d`;
  const sp = spatialText(n);
  return {
    name,
    category: "pool",
    doc: `${n}-D adaptive ${kind === "max" ? "max" : "average"} pooling to a given size: x [B, C, ${sp}] → [B, C, *size]`,
    inputs: [{ name: "x" }],
    attrs: [
      {
        name: "size",
        type: "ints",
        doc: "output size: an int or one per spatial axis",
      },
    ],
    infer(ctx) {
      const { s, size } = adaptiveGeometry(name, kind, n, ctx);
      return { outputs: [{ dtype: s.x.dtype, shape: withSpatial(s, size) }] };
    },
    // every window element once (compare / add), see the header
    cost(ctx) {
      const { s, size } = adaptiveGeometry(name, kind, n, ctx);
      let acc = prodRange(s.x.shape, 0, s.channelAxis + 1);
      s.spatial.forEach((d, i) => (acc = acc.mul(adaptiveWindowSum(d, size[i]!))));
      return cost(0, acc);
    },
    lower: map1((x, ctx) => {
      const r = ctx.b.rank(x);
      return ints(ctx, "size", n).reduce((y, o, i) => adaptiveAxis(ctx, y, r - n + i, o, kind), x);
    }),
    onnx(ctx) {
      const shape = input(ctx, 0).shape.slice();
      const r = shape.length;
      let y = value(ctx, 0);
      intsAttr(ctx, "size", n).forEach((d, i) => {
        const o = ctx.known(d, "the output size");
        y = adaptiveAxisOnnx(ctx, y, shape, r - n + i, o, kind);
        shape[r - n + i] = Dim.const(o);
      });
      return [y];
    },
  };
}

// ---------------------------------------------------------------------------
// Global pools: [B, C, *S] → [B, C] (keepdim: [B, C, 1, ...])

function globalPool(kind: "max" | "avg"): OpDef {
  const name = `global_${kind}pool`;
  const check = (ctx: InferContext): TensorType => {
    const x = input(ctx, 0);
    requireMinRank(name, x, 3, 0, "[B, C, *S] with at least one spatial axis");
    checkDType(name, kind, x);
    return x;
  };
  return {
    name,
    category: "pool",
    doc: `${kind === "max" ? "max" : "mean"} over all spatial axes: x [B, C, *S] → [B, C] (keepdim: [B, C, 1, ...])`,
    inputs: [{ name: "x" }],
    attrs: [
      {
        name: "keepdim",
        type: "bool",
        default: false,
        doc: "keep the spatial axes as size 1",
      },
    ],
    infer(ctx) {
      const x = check(ctx);
      const shape = x.shape.slice(0, 2);
      if (boolAttr(ctx, "keepdim")) for (let i = 2; i < x.shape.length; i++) shape.push(Dim.const(1));
      return { outputs: [{ dtype: x.dtype, shape }] };
    },
    // one compare / add per input element
    cost(ctx: CostContext) {
      return cost(0, numel(check(ctx).shape));
    },
    lower(ctx) {
      const { b } = ctx;
      const x = need(ctx, 0);
      const axes = b
        .shape(x)
        .slice(2)
        .map((_, i) => i + 2);
      const y = kind === "max" ? b.max(x, axes, true) : b.mean(x, axes, true);
      return [b.reshape(y, outShape(ctx))];
    },
    onnx(ctx) {
      const rank = input(ctx, 0).shape.length;
      const y = ctx.op(kind === "max" ? "GlobalMaxPool" : "GlobalAveragePool", [value(ctx, 0)]);
      return [
        boolAttr(ctx, "keepdim")
          ? y
          : squeezeOnnx(
              ctx,
              y,
              [...Array(rank - 2).keys()].map((i) => i + 2),
            ),
      ];
    },
  };
}

// PyTorch (compiler/ops/torch-mapping.ts): torch.nn.functional's pools, which share dlm's
// windows (stride none = the kernel, ceil_mode, count_include_pad); global pools reduce.
const windowed = (fn: string, keys: readonly string[]): TorchMapping => ({
  forward: (c) => pyCall(fn, [arg(c, 0), c.py(c.attrs.kernel)], Object.fromEntries(keys.map((k) => [k, c.py(c.attrs[k])]))),
});
const spatialAxes = (c: TorchContext): string => {
  const r = rankOf(c, 0);
  return c.py(Array.from({ length: r - 2 }, (_, i) => Dim.const(i + 2)));
};
const TORCH: TorchTable = {
  ...Object.fromEntries(
    [1, 2, 3].flatMap((n) => [
      [`maxpool${n}d`, windowed(`F.max_pool${n}d`, ["stride", "padding", "dilation", "ceil_mode"])],
      [`avgpool${n}d`, windowed(`F.avg_pool${n}d`, ["stride", "padding", "ceil_mode", "count_include_pad"])],
      [`adaptive_avgpool${n}d`, { forward: (c: TorchContext) => pyCall(`F.adaptive_avg_pool${n}d`, [arg(c, 0), c.py(c.attrs.size)]) }],
      ...(n < 3
        ? [[`adaptive_maxpool${n}d`, { forward: (c: TorchContext) => pyCall(`F.adaptive_max_pool${n}d`, [arg(c, 0), c.py(c.attrs.size)]) }]]
        : []),
    ]),
  ),
  global_avgpool: { forward: (c) => pyCall(`${arg(c, 0)}.mean`, [], { dim: spatialAxes(c), keepdim: c.py(c.attrs.keepdim) }) },
  global_maxpool: { forward: (c) => pyCall(`${arg(c, 0)}.amax`, [], { dim: spatialAxes(c), keepdim: c.py(c.attrs.keepdim) }) },
  lppool2d: { forward: (c) => pyCall("F.lp_pool2d", [arg(c, 0), c.py(c.attrs.p), c.py(c.attrs.kernel)], { stride: c.py(c.attrs.stride) }) },
};

export const ops: OpDef[] = withTorch(
  [
    maxPool(1),
    maxPool(2),
    maxPool(3),
    avgPool(1),
    avgPool(2),
    avgPool(3),
    adaptivePool("avg", 1),
    adaptivePool("avg", 2),
    adaptivePool("avg", 3),
    adaptivePool("max", 1),
    adaptivePool("max", 2),
    globalPool("avg"),
    globalPool("max"),
    slidingPool(
      "lppool2d",
      "lp",
      2,
      "2-D power-average pooling (sum of x^p over each window)^(1/p): x [B, C, H, W] → [B, C, H', W']",
      LP_ATTRS,
      2,
      1,
    ),
  ],
  TORCH,
);
