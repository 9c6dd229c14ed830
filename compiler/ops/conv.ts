// Convolutions with PyTorch semantics: conv1d/2d/3d and conv_transpose1d/2d/3d, all made by
// one builder parameterised by the spatial rank and the direction. The sliding-window
// helpers (per-axis int-or-list attributes, output sizes, the "input too small" error) are
// exported for pool.ts.
//
// Shapes: x [B, C, *S] or unbatched [C, *S]; weight [out, C/groups, *K] (transposed:
// [C, out/groups, *K]), bias [out]. Output size per spatial axis (Dim floor division, so a
// symbolic H gives e.g. (H - 3) // 2 + 1):
//   conv:       floor((S + 2P - D*(K-1) - 1) / stride) + 1
//   transposed: (S - 1)*stride - 2P + D*(K-1) + output_padding + 1
// Init as torch: weight kaiming_uniform(a = sqrt(5)); bias U(±1/sqrt(fan_in)) with
// fan_in = weight.shape[1] * prod(K).
//
// Cost (fvcore / torchvision): each output element of a conv (each input element of a
// transposed conv) meets a weight slice of (C/groups or out/groups) * prod(K) values, one MAC
// each: MACs = numel(y) * (C/groups) * prod(K) = B * out * prod(Sout) * (C/groups) * prod(K),
// transposed B * C * prod(Sin) * (out/groups) * prod(K). Bias adds are not counted.

import { Dim, type Shape } from "../dim.js";
import {
  TORCH_DEFAULT_KAIMING,
  biasParam,
  divideExactly,
  enumAttr,
  fanInBound,
  prodRange,
  requirePositiveDim,
  weightParam,
} from "./builders.js";
import {
  type AttrSpec,
  type AttrValue,
  type InferContext,
  type OpDef,
  type ParamSpec,
  type TensorType,
  OpError,
  boolAttr,
  cost,
  describeAttr,
  input,
  intAttr,
  numel,
  requireFloat,
  requireRank,
  stringAttr,
  intsAttr,
  typeToString,
} from "./types.js";
import type { Window } from "../prim/builder.js";
import { batched, ints, need, num, outShape, padAxis, perChannel, str } from "./lowering.js";
import type { LowerContext, PrimRef } from "./types.js";
import type { OnnxContext } from "../export/onnx/context.js";
import { batched as batchedOnnx, value } from "../export/onnx/helpers.js";
import { arg, pyCall, withTorch, type TorchContext, type TorchMapping } from "./torch-mapping.js";

// ---------------------------------------------------------------------------
// Sliding-window helpers (shared with pool.ts)

const AXIS_NAMES: Readonly<Record<number, readonly string[]>> = {
  1: ["L"],
  2: ["H", "W"],
  3: ["D", "H", "W"],
};

/** Conventional names of the spatial axes: L; H, W; D, H, W. */
export function axisNames(n: number): readonly string[] {
  return AXIS_NAMES[n] ?? Array.from({ length: n }, (_, i) => `S${i}`);
}

/** "[B, C, H, W] (or unbatched [C, H, W])" */
function layoutText(n: number): string {
  const s = axisNames(n).join(", ");
  return `[B, C, ${s}] (or unbatched [C, ${s}])`;
}

export interface SpatialInput {
  readonly x: TensorType;
  /** index of the channel axis: 1 batched, 0 unbatched */
  readonly channelAxis: number;
  readonly channels: Dim;
  readonly spatial: readonly Dim[];
}

/** x [B, C, *S] or unbatched [C, *S] with `n` spatial axes. */
export function spatialInput(op: string, ctx: InferContext, n: number): SpatialInput {
  const x = input(ctx, 0);
  requireRank(op, x, [n + 2, n + 1], 0, layoutText(n));
  const channelAxis = x.shape.length - n - 1;
  return {
    x,
    channelAxis,
    channels: x.shape[channelAxis]!,
    spatial: x.shape.slice(channelAxis + 1),
  };
}

/** An int or a list of exactly `n` ints (one per spatial axis), each >= `min` where known. */
export function perAxis(v: AttrValue | undefined, name: string, n: number, min: number, op: string): Dim[] {
  const list: readonly AttrValue[] = Array.isArray(v) ? v : [v as AttrValue];
  const dims = list.map((x) => {
    if (x instanceof Dim) return x;
    if (typeof x === "number" && Number.isInteger(x)) return Dim.const(x);
    throw new OpError(`'${name}' must be an integer or a list of ${n} integers, got ${describeAttr(v)}`, { at: name });
  });
  if (Array.isArray(v) && dims.length !== n)
    throw new OpError(
      `${op} has ${n} spatial ${n === 1 ? "axis" : "axes"}, so '${name}' needs ${n} values (or one integer), got ${dims.length}`,
      {
        at: name,
        hint: `e.g. ${name}: [${Array.from({ length: n }, () => String(dims[0] ?? 1)).join(", ")}] or ${name}: ${String(dims[0] ?? 1)}`,
      },
    );
  for (const d of dims) {
    const c = d.constant;
    if (c !== undefined && c < min)
      throw new OpError(`'${name}' must be at least ${min}, got ${c}`, {
        at: name,
      });
  }
  return Array.isArray(v) ? dims : Array.from({ length: n }, () => dims[0]!);
}

/** The window geometry of one spatial axis. */
export interface AxisWindow {
  readonly kernel: Dim;
  readonly stride: Dim;
  readonly padding: Dim;
  readonly dilation: Dim;
}

/**
 * Output size of a sliding window over `size` as torch computes it. With ceil_mode the last
 * window must still start inside the input or the left padding, so the count is
 * min(ceil(span / stride) + 1, ceil((size + P) / stride)); that never bites when
 * P + stride - 1 <= D*(K-1), and then the simpler ceil form is kept for symbolic sizes.
 */
export function windowOutput(size: Dim, w: AxisWindow, ceil = false): Dim {
  const span = size
    .add(w.padding.scale(2))
    .sub(w.dilation.mul(w.kernel.sub(1)))
    .sub(1);
  if (!ceil) return span.floordiv(w.stride).add(1);
  const n = span.ceildiv(w.stride).add(1);
  const slack = w.padding
    .add(w.stride)
    .sub(1)
    .sub(w.dilation.mul(w.kernel.sub(1))).constant;
  if (slack !== undefined && slack <= 0) return n;
  return n.min(size.add(w.padding).ceildiv(w.stride));
}

/**
 * When a spatial output size is a constant <= 0, throws an error naming the input size that
 * was too small and the smallest size that works (found by trying sizes with `outFor`).
 */
export function requirePositiveOutput(
  op: string,
  s: SpatialInput,
  axis: number,
  out: Dim,
  outFor: (size: Dim) => Dim,
  geometry: string,
  hint: string,
): void {
  const c = out.constant;
  if (c === undefined || c > 0) return;
  const name = axisNames(s.spatial.length)[axis]!;
  const size = s.spatial[axis]!;
  let need: number | undefined;
  for (let v = 1; v <= 1 << 16; v++) {
    const o = outFor(Dim.const(v)).constant;
    if (o === undefined) break;
    if (o > 0) {
      need = v;
      break;
    }
  }
  const needText = need === undefined ? "" : `; ${name} must be at least ${need}`;
  throw new OpError(
    `the input is too small: ${name}=${size} (axis ${s.channelAxis + 1 + axis} of x ${typeToString(s.x)}) gives an output size of ${c} with ${geometry}${needText}`,
    { hint },
  );
}

/** "kernel 5, stride 1, padding 0, dilation 1" for one axis. */
export function geometryText(w: AxisWindow, extra = ""): string {
  return `kernel ${w.kernel}, stride ${w.stride}, padding ${w.padding}, dilation ${w.dilation}${extra}`;
}

/** a / groups for channel counts; an error (at the call) when it is known not to divide. */
function channelsPerGroup(name: string, context: string, a: Dim, groups: Dim): Dim {
  const q = divideExactly(a, groups);
  if (q) return q;
  const ac = a.constant;
  const gc = groups.constant;
  if (ac !== undefined && gc !== undefined)
    throw new OpError(`${name}=${ac}${context} is not divisible by groups=${gc}`, {
      hint: "groups must divide both the input channels and out (depthwise: groups = in = out channels)",
    });
  return a.floordiv(groups);
}

// ---------------------------------------------------------------------------
// Window geometry at concrete shapes (lowering; shared with pool.ts)

/**
 * The window of a conv or pool from its attributes: stride (none: the kernel), padding (an int
 * or list, "same" split as torch splits it, the smaller half first, "valid", absent: 0) and
 * dilation (absent: 1). The high padding grows where the output shape the rule promised needs
 * more windows (ceil_mode); the extra positions never count (max ignores them, averages
 * leave them out of the divisor).
 */
export function windowOf(ctx: LowerContext, kernel: readonly number[], inSize: readonly number[]): Window {
  const n = kernel.length;
  const a = ctx.attrs;
  const stride = a.stride == null ? [...kernel] : ints(ctx, "stride", n);
  const dilation = a.dilation === undefined ? kernel.map(() => 1) : ints(ctx, "dilation", n);
  let padLo = kernel.map(() => 0);
  let padHi = padLo;
  if (a.padding === "same") {
    const total = kernel.map((k, i) => dilation[i]! * (k - 1));
    padLo = total.map((t) => Math.floor(t / 2));
    padHi = total.map((t, i) => t - padLo[i]!);
  } else if (a.padding !== undefined && a.padding !== "valid") padLo = padHi = ints(ctx, "padding", n);
  const out = outShape(ctx).slice(-n);
  padHi = padHi.map((h, i) => Math.max(h, (out[i]! - 1) * stride[i]! + dilation[i]! * (kernel[i]! - 1) + 1 - inSize[i]! - padLo[i]!));
  return { kernel: [...kernel], stride, padLo, padHi, dilation };
}

/** Pads the trailing spatial axes of x by the window's padding with a padding mode; the window then pads nothing. */
export function prepad(ctx: LowerContext, x: PrimRef, win: Window, mode: string): { x: PrimRef; win: Window } {
  const r = ctx.b.rank(x);
  const n = win.kernel.length;
  win.padLo.forEach((lo, i) => (x = padAxis(ctx, x, r - n + i, lo, win.padHi[i]!, mode)));
  const zeros = win.kernel.map(() => 0);
  return { x, win: { ...win, padLo: zeros, padHi: zeros } };
}

/** An ONNX window: strides, pads (begins then ends), dilations. */
export interface OnnxWindow {
  readonly strides: number[];
  readonly padLo: number[];
  readonly padHi: number[];
  readonly dilations: number[];
}

/**
 * The window of a conv or pool for ONNX export, as windowOf gives it to the lowering. Only in
 * ceil mode does the high padding grow (so that ONNX's floor rule gives the promised size),
 * which needs the spatial sizes known; otherwise they may stay symbolic.
 */
export function onnxWindow(ctx: OnnxContext, kernel: readonly number[]): OnnxWindow {
  const n = kernel.length;
  const a = ctx.attrs;
  const list = (name: string): number[] => intsAttr(ctx, name, n).map((d) => ctx.known(d, `'${name}'`));
  const strides = a.stride == null ? [...kernel] : list("stride");
  const dilations = a.dilation === undefined ? kernel.map(() => 1) : list("dilation");
  let padLo = kernel.map(() => 0);
  let padHi = padLo;
  if (a.padding === "same") {
    const total = kernel.map((k, i) => dilations[i]! * (k - 1));
    padLo = total.map((t) => Math.floor(t / 2));
    padHi = total.map((t, i) => t - padLo[i]!);
  } else if (a.padding !== undefined && a.padding !== "valid") padLo = padHi = list("padding");
  if (a.ceil_mode === true) {
    const size = (d: Dim): number => ctx.known(d, "a spatial size (ceil_mode)");
    const inSize = ctx.inputs[0]!.shape.slice(-n).map(size);
    const out = ctx.outputs[0]!.shape.slice(-n).map(size);
    padHi = padHi.map((h, i) => Math.max(h, (out[i]! - 1) * strides[i]! + dilations[i]! * (kernel[i]! - 1) + 1 - inSize[i]! - padLo[i]!));
  }
  return { strides, padLo, padHi, dilations };
}

/** ONNX Pad's name of a padding mode. */
export const ONNX_PAD_MODE: Readonly<Record<string, string>> = {
  constant: "constant",
  zeros: "constant",
  reflect: "reflect",
  replicate: "edge",
  circular: "wrap",
};

/** x padded on its trailing `lo.length` axes (rank `rank`) in a torch padding mode. */
export function onnxPad(ctx: OnnxContext, x: string, rank: number, lo: readonly number[], hi: readonly number[], mode: string): string {
  const lead = Array<number>(rank - lo.length).fill(0);
  return ctx.op("Pad", [x, ctx.ints([...lead, ...lo, ...lead, ...hi])], { mode: ONNX_PAD_MODE[mode]! });
}

/** conv / conv_transpose in ONNX: unbatched inputs get a batch of one; a padding mode other than zeros pads first. */
function convOnnx(n: number, transposed: boolean) {
  return (ctx: OnnxContext): string[] => {
    const rank = input(ctx, 0).shape.length;
    const [w, bias] = ctx.params as [string, string | undefined];
    const kernel = ctx.paramTypes[0]!.shape.slice(2).map((d) => ctx.known(d, "the kernel size"));
    const group = ctx.int("groups");
    const y = batchedOnnx(ctx, value(ctx, 0), rank, n, (x) => {
      if (transposed) {
        const list = (name: string): number[] => intsAttr(ctx, name, n).map((d) => ctx.known(d, `'${name}'`));
        const pad = list("padding");
        return ctx.op("ConvTranspose", [x, w, bias], {
          kernel_shape: kernel,
          strides: list("stride"),
          pads: [...pad, ...pad],
          dilations: list("dilation"),
          output_padding: list("output_padding"),
          group,
        });
      }
      const win = onnxWindow(ctx, kernel);
      const mode = stringAttr(ctx, "padding_mode");
      const padded = mode === "zeros" ? x : onnxPad(ctx, x, n + 2, win.padLo, win.padHi, mode);
      const pads = mode === "zeros" ? [...win.padLo, ...win.padHi] : kernel.flatMap(() => [0, 0]);
      return ctx.op("Conv", [padded, w, bias], { kernel_shape: kernel, strides: win.strides, pads, dilations: win.dilations, group });
    });
    return [y];
  };
}

/** conv / conv_transpose at concrete shapes: unbatched inputs get a batch of one; bias per channel. */
function convLower(n: number, transposed: boolean) {
  return (ctx: LowerContext): readonly PrimRef[] => {
    const { b } = ctx;
    const [w, bias] = ctx.params as [PrimRef, PrimRef | undefined];
    const groups = num(ctx, "groups");
    const kernel = b.shape(w).slice(2);
    const y = batched(ctx, need(ctx, 0), n, (x) => {
      const sp = b.shape(x).slice(2);
      let z: PrimRef;
      if (transposed) {
        const pad = ints(ctx, "padding", n);
        const win = { stride: ints(ctx, "stride", n), padLo: pad, padHi: pad, dilation: ints(ctx, "dilation", n) };
        z = b.convInputGrad(x, w, outShape(ctx).slice(-n), win, groups);
      } else {
        const mode = str(ctx, "padding_mode");
        const p = mode === "zeros" ? { x, win: windowOf(ctx, kernel, sp) } : prepad(ctx, x, windowOf(ctx, kernel, sp), mode);
        z = b.conv(p.x, w, p.win, groups);
      }
      return bias === undefined ? z : b.plus(z, perChannel(ctx, bias, 1, n + 2));
    });
    return [y];
  };
}

// ---------------------------------------------------------------------------
// The convolution builder

const PADDING_MODES = ["zeros", "reflect", "replicate", "circular"] as const;

interface ConvGeometry {
  readonly s: SpatialInput;
  readonly outShape: Shape;
  readonly weightShape: Shape;
  /** elements whose every value meets one weight slice: y for conv, x for transposed */
  readonly macElements: Shape;
}

function convGeometry(op: string, n: number, transposed: boolean, ctx: InferContext): ConvGeometry {
  const s = spatialInput(op, ctx, n);
  const { x, channels } = s;
  requireFloat(op, x, 0);
  const out = requirePositiveDim(intAttr(ctx, "out"), "out");
  const kernel = perAxis(ctx.attrs.kernel, "kernel", n, 1, op);
  const stride = perAxis(ctx.attrs.stride, "stride", n, 1, op);
  const dilation = perAxis(ctx.attrs.dilation, "dilation", n, 1, op);
  const groups = requirePositiveDim(intAttr(ctx, "groups"), "groups");
  boolAttr(ctx, "bias");

  // padding: conv accepts "same" / "valid" too
  const pad = ctx.attrs.padding;
  let padding: Dim[];
  let same = false;
  if (typeof pad === "string") {
    if (transposed || (pad !== "same" && pad !== "valid"))
      throw new OpError(
        `'padding' must be ${transposed ? "an integer or a list" : 'an integer, a list, "same" or "valid"'}, got "${pad}"`,
        {
          at: "padding",
        },
      );
    same = pad === "same";
    if (same && !stride.every((d) => d.equals(1)))
      throw new OpError(`padding "same" needs stride 1 (as in torch), got stride ${stride.join(", ")}`, {
        at: "padding",
        hint: "with a stride, pad explicitly, e.g. padding: (kernel - 1) / 2",
      });
    padding = Array.from({ length: n }, () => Dim.const(0));
  } else padding = perAxis(pad, "padding", n, 0, op);

  let outputPadding: Dim[] = [];
  if (transposed) {
    outputPadding = perAxis(ctx.attrs.output_padding, "output_padding", n, 0, op);
    outputPadding.forEach((p, i) => {
      const pc = p.constant;
      const sc = stride[i]!.constant;
      const dc = dilation[i]!.constant;
      if (pc !== undefined && sc !== undefined && dc !== undefined && pc >= sc && pc >= dc)
        throw new OpError(`'output_padding' ${pc} must be smaller than either the stride (${sc}) or the dilation (${dc})`, {
          at: "output_padding",
        });
    });
  } else enumAttr(ctx, "padding_mode", PADDING_MODES);

  const inPerGroup = channelsPerGroup("C", ` (the channels of x ${typeToString(x)})`, channels, groups);
  const outPerGroup = channelsPerGroup("out", "", out, groups);

  const spatialOut = s.spatial.map((size, i) => {
    const w: AxisWindow = {
      kernel: kernel[i]!,
      stride: stride[i]!,
      padding: padding[i]!,
      dilation: dilation[i]!,
    };
    if (same) return size;
    if (transposed) {
      const op_ = outputPadding[i]!;
      const f = (v: Dim): Dim =>
        v
          .sub(1)
          .mul(w.stride)
          .sub(w.padding.scale(2))
          .add(w.dilation.mul(w.kernel.sub(1)))
          .add(op_)
          .add(1);
      const o = f(size);
      requirePositiveOutput(op, s, i, o, f, geometryText(w, `, output_padding ${op_}`), "reduce the padding, or feed a larger input");
      return o;
    }
    const f = (v: Dim): Dim => windowOutput(v, w);
    const o = f(size);
    requirePositiveOutput(op, s, i, o, f, geometryText(w), "add padding, use a smaller kernel or dilation, or feed a larger input");
    return o;
  });

  const outShape = x.shape.slice(0, s.channelAxis);
  outShape.push(out, ...spatialOut);
  const weightShape = transposed ? [channels, outPerGroup, ...kernel] : [out, inPerGroup, ...kernel];
  return {
    s,
    outShape,
    weightShape,
    macElements: transposed ? x.shape : outShape,
  };
}

function convOp(n: 1 | 2 | 3, transposed: boolean): OpDef {
  const name = transposed ? `conv_transpose${n}d` : `conv${n}d`;
  const sp = axisNames(n).join(", ");
  const k = axisNames(n)
    .map((a) => `k${a}`)
    .join(", ");
  const doc = transposed
    ? `${n}-D transposed convolution x [B, C, ${sp}] → [B, out, ${sp}']; weight [C, out/groups, ${k}], bias [out]`
    : `${n}-D convolution (cross-correlation) x [B, C, ${sp}] → [B, out, ${sp}']; weight [out, C/groups, ${k}], bias [out]`;
  return {
    name,
    category: "conv",
    doc,
    inputs: [{ name: "x" }],
    attrs: transposed ? TRANSPOSED_ATTRS : CONV_ATTRS,
    infer(ctx) {
      const g = convGeometry(name, n, transposed, ctx);
      const fanIn = prodRange(g.weightShape, 1);
      const params: ParamSpec[] = [weightParam("weight", g.weightShape, "kaiming_uniform", TORCH_DEFAULT_KAIMING)];
      if (boolAttr(ctx, "bias")) params.push(biasParam("bias", [g.outShape[g.s.channelAxis]!], "uniform", fanInBound(fanIn)));
      return { outputs: [{ dtype: g.s.x.dtype, shape: g.outShape }], params };
    },
    // one MAC per (element, weight value of its group slice); see the header
    cost(ctx) {
      const g = convGeometry(name, n, transposed, ctx);
      return cost(numel(g.macElements).mul(prodRange(g.weightShape, 1)));
    },
    lower: convLower(n, transposed),
    onnx: convOnnx(n, transposed),
  };
}

const OUT: AttrSpec = { name: "out", type: "int", doc: "output channels" };
const KERNEL: AttrSpec = {
  name: "kernel",
  type: "ints",
  doc: "kernel size: an int or one per spatial axis",
};
const STRIDE: AttrSpec = {
  name: "stride",
  type: "ints",
  default: Dim.const(1),
};
const DILATION: AttrSpec = {
  name: "dilation",
  type: "ints",
  default: Dim.const(1),
};
const GROUPS: AttrSpec = {
  name: "groups",
  type: "int",
  default: Dim.const(1),
  doc: "channel groups (depthwise: groups = C)",
};
const BIAS: AttrSpec = { name: "bias", type: "bool", default: true };

const CONV_ATTRS: readonly AttrSpec[] = [
  OUT,
  KERNEL,
  STRIDE,
  {
    name: "padding",
    type: "any",
    default: Dim.const(0),
    doc: 'an int, one per spatial axis, "same" (stride 1) or "valid"',
  },
  DILATION,
  GROUPS,
  BIAS,
  {
    name: "padding_mode",
    type: "string",
    default: "zeros",
    doc: '"zeros", "reflect", "replicate" or "circular"',
  },
];

const TRANSPOSED_ATTRS: readonly AttrSpec[] = [
  OUT,
  KERNEL,
  STRIDE,
  {
    name: "padding",
    type: "ints",
    default: Dim.const(0),
    doc: "an int or one per spatial axis",
  },
  {
    name: "output_padding",
    type: "ints",
    default: Dim.const(0),
    doc: "extra size added to one side of the output",
  },
  DILATION,
  GROUPS,
  BIAS,
];

// PyTorch (compiler/ops/torch-mapping.ts): nn.ConvNd / nn.ConvTransposeNd (dlm's attributes
// are torch's), or the functional form when a weight is shared with another layer.
function convTorch(n: number, transposed: boolean): TorchMapping {
  const common = (c: TorchContext): Record<string, string> => ({
    stride: c.py(c.attrs.stride),
    padding: c.py(c.attrs.padding),
    ...(transposed ? { output_padding: c.py(c.attrs.output_padding) } : {}),
    dilation: c.py(c.attrs.dilation),
    groups: c.py(c.attrs.groups),
  });
  return {
    layer: (c) => {
      const [w0, w1, ...kernel] = c.paramShapes[0]!;
      const groups = c.int("groups");
      const [inC, outC] = transposed ? [w0!, w1! * groups] : [w1! * groups, w0!];
      return pyCall(`nn.Conv${transposed ? "Transpose" : ""}${n}d`, [String(inC), String(outC), c.py(kernel.map((k) => Dim.const(k)))], {
        ...common(c),
        bias: c.py(c.paramShapes.length > 1),
        ...(transposed ? {} : { padding_mode: c.py(c.attrs.padding_mode) }),
      });
    },
    forward: (c) => {
      if (c.layer) return `${c.layer}(${arg(c, 0)})`;
      if (!transposed && c.attrs.padding_mode !== "zeros")
        throw new Error(`a ${c.attrs.padding_mode}-padded convolution whose weight is shared with another layer`);
      return pyCall(`F.conv${transposed ? "_transpose" : ""}${n}d`, [arg(c, 0), c.params[0]!, c.params[1] ?? "None"], common(c));
    },
  };
}

export const ops: OpDef[] = withTorch(
  [convOp(1, false), convOp(2, false), convOp(3, false), convOp(1, true), convOp(2, true), convOp(3, true)],
  Object.fromEntries(
    [1, 2, 3].flatMap((n) => [
      [`conv${n}d`, convTorch(n, false)],
      [`conv_transpose${n}d`, convTorch(n, true)],
    ]),
  ),
);
