// Activations: float x → same shape and dtype. Most are pointwise and built by `act`
// (the shared `pointwise` builder); prelu and maxout own parameters; softmax,
// log_softmax and softmin normalise along an axis.
//
// Cost: `flops` only (~1 per elementwise op per element), except maxout's affine maps,
// which are matmul work counted in `macs` exactly as linear's (bias adds not counted):
//   relu 1 (max)  relu6 2 (max, min)  leaky_relu 2 (compare, scale)  elu 4 (exp, sub, mul, select)
//   selu 5 (elu + scale)  celu 5 (elu + divide by alpha)  gelu 8  silu/swish 5 (sigmoid 4 + mul)
//   mish 8 (softplus 3 + tanh 4 + mul)  sigmoid 4 (neg, exp, add, div)  hard_sigmoid 4 (add, max, min, div)
//   tanh 4  hard_tanh 2 (max, min)  softplus 5 (scale, exp, add, log, unscale)  softsign 3 (abs, add, div)
//   hard_swish 5 (add, max, min, mul, div)  log_sigmoid 4 (neg, exp, log1p, neg)  step 1  sign 1  identity 0
//   prelu 2 (compare, scale)
//   softmax / log_softmax 5 per element (max, sub, exp, sum, div/log), +1 per element to divide by
//     a temperature other than 1; softmin 6 (negate + softmax)
//   maxout: MACs = rows * in * out * pieces (rows = numel(x) / in); flops = (pieces - 1)
//     comparisons per output element.

import { Dim } from "../dim.js";
import {
  TORCH_DEFAULT_KAIMING,
  biasParam,
  dropLast,
  enumAttr,
  fanInBound,
  lastDim,
  pointwise,
  requireMinRank,
  requirePositiveDim,
  sameDim,
  weightParam,
} from "./builders.js";
import {
  type AttrSpec,
  type CostContext,
  type InferContext,
  type OpDef,
  OpError,
  axisAttr,
  constIntAttr,
  cost,
  floatAttr,
  input,
  intAttr,
  numel,
  requireFloat,
  stringAttr,
  typeToString,
} from "./types.js";
import type { T } from "../prim/builder.js";
import {
  type Lower,
  linear,
  logSoftmax as logSoftmaxAlong,
  map1,
  need,
  num,
  outDType,
  softmax as softmaxAlong,
  softplus,
  str,
  withLower,
} from "./lowering.js";
import type { LowerContext } from "./types.js";
import { castValue, float, type OnnxContext } from "../export/onnx/context.js";
import { affine, clipValue, perChannel, reshapeTo, value } from "../export/onnx/helpers.js";
import { arg, pyCall, unaryCall, withTorch, type TorchContext, type TorchMapping, type TorchTable } from "./torch-mapping.js";

/** A float → float pointwise activation. */
function act(name: string, flopsPerElem: number, doc: string, attrs: readonly AttrSpec[] = [], check?: (ctx: InferContext) => void): OpDef {
  return pointwise({
    name,
    category: "activation",
    doc,
    flopsPerElem,
    attrs,
    ...(check ? { check } : {}),
  });
}

function floatSpec(name: string, value: number, doc?: string): AttrSpec {
  return doc === undefined ? { name, type: "float", default: value } : { name, type: "float", default: value, doc };
}

/** A float attribute that must be > 0 (beta, temperature). */
function positive(name: string, hint?: string) {
  return (ctx: InferContext): void => {
    const v = floatAttr(ctx, name);
    if (!(v > 0))
      throw new OpError(`'${name}' must be positive, got ${v}`, {
        at: name,
        ...(hint ? { hint } : {}),
      });
  };
}

// ---------------------------------------------------------------------------
// Pointwise

const pointwiseRules: OpDef[] = [
  act("relu", 1, "rectified linear unit max(0, x)"),
  act("relu6", 2, "min(max(0, x), 6)"),
  act(
    "leaky_relu",
    2,
    "x for x > 0, alpha·x otherwise",
    [floatSpec("alpha", 0.01, "negative slope")],
    (ctx) => void floatAttr(ctx, "alpha"),
  ),
  act(
    "elu",
    4,
    "exponential linear unit: x for x > 0, alpha·(exp(x) - 1) otherwise",
    [floatSpec("alpha", 1.0)],
    (ctx) => void floatAttr(ctx, "alpha"),
  ),
  act("selu", 5, "scaled ELU with the self-normalising constants (scale ≈ 1.0507, alpha ≈ 1.6733)"),
  act("celu", 5, "continuously differentiable ELU: max(0, x) + min(0, alpha·(exp(x/alpha) - 1))", [floatSpec("alpha", 1.0)], (ctx) => {
    if (floatAttr(ctx, "alpha") === 0) throw new OpError("'alpha' must not be 0 for celu (x is divided by alpha)", { at: "alpha" });
  }),
  act(
    "gelu",
    8,
    'Gaussian error linear unit x·Φ(x); approximate: "tanh" uses the tanh formula (GPT-2)',
    [
      {
        name: "approximate",
        type: "string",
        default: "none",
        doc: '"none" | "tanh"',
      },
    ],
    (ctx) => void enumAttr(ctx, "approximate", ["none", "tanh"] as const),
  ),
  act("silu", 5, "x·sigmoid(x) (SiLU)"),
  act("swish", 5, "x·sigmoid(x) (the same function as silu)"),
  act("mish", 8, "x·tanh(softplus(x))"),
  act("sigmoid", 4, "logistic function 1 / (1 + exp(-x))"),
  act("hard_sigmoid", 4, "piecewise-linear sigmoid relu6(x + 3) / 6"),
  act("tanh", 4, "hyperbolic tangent"),
  act("hard_tanh", 2, "clamps x to [min, max]", [floatSpec("min", -1.0), floatSpec("max", 1.0)], (ctx) => {
    const lo = floatAttr(ctx, "min");
    const hi = floatAttr(ctx, "max");
    if (!(lo < hi))
      throw new OpError(`hard_tanh needs min < max, got min=${lo}, max=${hi}`, {
        at: "max",
        hint: "swap the bounds",
      });
  }),
  act("softplus", 5, "smooth ReLU log(1 + exp(beta·x)) / beta", [floatSpec("beta", 1.0)], positive("beta")),
  act("softsign", 3, "x / (1 + |x|)"),
  act("hard_swish", 5, "x·relu6(x + 3) / 6 (MobileNetV3)"),
  act("log_sigmoid", 4, "log(sigmoid(x)), computed stably"),
  act("step", 1, "Heaviside step: 1 where x >= 0, else 0 (the perceptron's threshold; no useful gradient)"),
  act("sign", 1, "-1, 0 or 1 by the sign of x"),
  act("identity", 0, "returns x unchanged"),
];

// ---------------------------------------------------------------------------
// Lowerings of the pointwise activations, by name (PyTorch's formulas, in stable forms)

const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;

/** min(max(x, lo), hi) */
function clip(ctx: LowerContext, x: T, lo: number, hi: number): T {
  const b = ctx.b;
  return b.binary("minimum", b.binary("maximum", x, b.scalar(lo)), b.scalar(hi));
}

/** where(x > 0, x, neg(x)): torch's leaky_relu / prelu, gradient included */
function positivePart(ctx: LowerContext, x: T, neg: (x: T) => T): T {
  const b = ctx.b;
  return b.where(b.binary("gt", x, b.scalar(0)), x, neg(x));
}

/**
 * torch's elu kernel: x for x > 0, else alpha·(exp(rate·x) - 1) (elu: rate 1; celu: 1/alpha),
 * as relu(x) + alpha·(exp(rate·min(x, 0)) - 1), so exp never overflows (nor its gradient).
 */
function expLinear(ctx: LowerContext, x: T, alpha: number, rate = 1): T {
  const b = ctx.b;
  const e = b.shift(b.exp(b.scale(b.binary("minimum", x, b.scalar(0)), rate)), -1);
  return b.plus(b.relu(x), b.scale(e, alpha));
}

/** softplus with torch's beta and threshold 20: log1p(exp(beta·x)) / beta, linear past the threshold. */
export function softplusOf(ctx: LowerContext, x: T, beta = 1): T {
  const b = ctx.b;
  const bx = b.scale(x, beta);
  return b.where(b.binary("gt", bx, b.scalar(20)), x, b.scale(softplus(b, bx), 1 / beta));
}

const POINTWISE_LOWER: Readonly<Record<string, (x: T, ctx: LowerContext) => T>> = {
  relu: (x, { b }) => b.relu(x),
  relu6: (x, ctx) => clip(ctx, x, 0, 6),
  leaky_relu: (x, ctx) => positivePart(ctx, x, (v) => ctx.b.scale(v, num(ctx, "alpha"))),
  elu: (x, ctx) => expLinear(ctx, x, num(ctx, "alpha")),
  selu: (x, ctx) => ctx.b.scale(expLinear(ctx, x, SELU_ALPHA), SELU_SCALE),
  celu: (x, ctx) => expLinear(ctx, x, num(ctx, "alpha"), 1 / num(ctx, "alpha")),
  gelu: (x, ctx) => {
    const b = ctx.b;
    const inner =
      str(ctx, "approximate") === "tanh"
        ? b.tanh(b.scale(b.plus(x, b.scale(b.times(x, b.times(x, x)), 0.044715)), Math.sqrt(2 / Math.PI)))
        : b.unary("erf", b.scale(x, Math.SQRT1_2));
    return b.times(b.scale(x, 0.5), b.shift(inner, 1));
  },
  silu: (x, { b }) => b.times(x, b.sigmoid(x)),
  swish: (x, { b }) => b.times(x, b.sigmoid(x)),
  mish: (x, ctx) => ctx.b.times(x, ctx.b.tanh(softplusOf(ctx, x))),
  sigmoid: (x, { b }) => b.sigmoid(x),
  hard_sigmoid: (x, ctx) => ctx.b.scale(clip(ctx, ctx.b.shift(x, 3), 0, 6), 1 / 6),
  tanh: (x, { b }) => b.tanh(x),
  hard_tanh: (x, ctx) => clip(ctx, x, num(ctx, "min"), num(ctx, "max")),
  softplus: (x, ctx) => softplusOf(ctx, x, num(ctx, "beta")),
  softsign: (x, { b }) => b.over(x, b.shift(b.unary("abs", x), 1)),
  hard_swish: (x, ctx) => ctx.b.times(x, ctx.b.scale(clip(ctx, ctx.b.shift(x, 3), 0, 6), 1 / 6)),
  log_sigmoid: (x, { b }) => b.neg(softplus(b, b.neg(x))),
  step: (x, ctx) => ctx.b.cast(ctx.b.binary("ge", x, ctx.b.scalar(0)), outDType(ctx)),
  sign: (x, { b }) => b.unary("sign", x),
  identity: (x) => x,
};

// ONNX: x's value name → the activation's output (inference; `ctx` for attributes)
const POINTWISE_ONNX: Readonly<Record<string, (x: string, ctx: OnnxContext) => string>> = {
  relu: (x, ctx) => ctx.op("Relu", [x]),
  relu6: (x, ctx) => clipValue(ctx, x, 0, 6),
  leaky_relu: (x, ctx) => ctx.op("LeakyRelu", [x], { alpha: float(floatAttr(ctx, "alpha")) }),
  elu: (x, ctx) => ctx.op("Elu", [x], { alpha: float(floatAttr(ctx, "alpha")) }),
  selu: (x, ctx) => ctx.op("Selu", [x], { alpha: float(SELU_ALPHA), gamma: float(SELU_SCALE) }),
  celu: (x, ctx) => ctx.op("Celu", [x], { alpha: float(floatAttr(ctx, "alpha")) }),
  gelu: (x, ctx) => ctx.op("Gelu", [x], { approximate: stringAttr(ctx, "approximate") }),
  silu: (x, ctx) => ctx.op("Mul", [x, ctx.op("Sigmoid", [x])]),
  swish: (x, ctx) => ctx.op("Mul", [x, ctx.op("Sigmoid", [x])]),
  mish: (x, ctx) => ctx.op("Mish", [x]),
  sigmoid: (x, ctx) => ctx.op("Sigmoid", [x]),
  hard_sigmoid: (x, ctx) => ctx.op("HardSigmoid", [x], { alpha: float(1 / 6), beta: float(0.5) }),
  tanh: (x, ctx) => ctx.op("Tanh", [x]),
  hard_tanh: (x, ctx) => clipValue(ctx, x, floatAttr(ctx, "min"), floatAttr(ctx, "max")),
  softplus: (x, ctx) => {
    const beta = floatAttr(ctx, "beta");
    if (beta === 1) return ctx.op("Softplus", [x]);
    return ctx.op("Div", [ctx.op("Softplus", [ctx.op("Mul", [x, ctx.scalar(beta)])]), ctx.scalar(beta)]);
  },
  softsign: (x, ctx) => ctx.op("Softsign", [x]),
  hard_swish: (x, ctx) => ctx.op("HardSwish", [x]),
  log_sigmoid: (x, ctx) => ctx.op("Neg", [ctx.op("Softplus", [ctx.op("Neg", [x])])]),
  step: (x, ctx) => castValue(ctx, ctx.op("GreaterOrEqual", [x, ctx.scalar(0)]), "bool", ctx.outputs[0]!.dtype),
  sign: (x, ctx) => ctx.op("Sign", [x]),
  identity: (x) => x,
};

const pointwiseOps: OpDef[] = pointwiseRules.map((op) => {
  const f = POINTWISE_LOWER[op.name];
  const g = POINTWISE_ONNX[op.name];
  if (!f || !g) throw new Error(`activation '${op.name}' has no lowering or no ONNX mapping`);
  return { ...withLower(op, map1(f)), onnx: (ctx: OnnxContext) => [g(value(ctx, 0), ctx)] };
});

// ---------------------------------------------------------------------------
// Softmax family (normalise along one axis)

function softmaxLower(kind: "softmax" | "log_softmax" | "softmin"): Lower {
  return (ctx) => {
    const b = ctx.b;
    let x = need(ctx, 0);
    if (kind === "softmin") x = b.neg(x);
    else x = b.scale(x, 1 / num(ctx, "temperature"));
    const axis = num(ctx, "axis");
    return [kind === "log_softmax" ? logSoftmaxAlong(b, x, axis) : softmaxAlong(b, x, axis)];
  };
}

function softmaxLike(name: "softmax" | "log_softmax" | "softmin", doc: string, flopsPerElem: number, temperature: boolean): OpDef {
  return {
    name,
    category: "activation",
    doc,
    inputs: [{ name: "x" }],
    attrs: [
      { name: "axis", type: "int", default: Dim.const(-1) },
      ...(temperature ? [floatSpec("temperature", 1.0, "divides x before normalising; > 1 flattens, < 1 sharpens")] : []),
    ],
    infer(ctx) {
      const x = input(ctx, 0);
      requireFloat(name, x, 0);
      if (x.shape.length === 0)
        throw new OpError(`${name} needs at least one axis to normalise over, got a scalar ${typeToString(x)}`, {
          at: 0,
          code: "DLM3103",
        });
      axisAttr(ctx, "axis", x.shape.length);
      if (temperature) positive("temperature", "the temperature divides x")(ctx);
      return { outputs: [x] };
    },
    cost(ctx) {
      const perElem = temperature && floatAttr(ctx, "temperature") !== 1 ? flopsPerElem + 1 : flopsPerElem;
      return cost(0, numel(input(ctx, 0).shape).scale(perElem));
    },
    lower: softmaxLower(name),
    onnx(ctx) {
      const x = value(ctx, 0);
      const axis = constIntAttr(ctx, "axis");
      const scaled = name === "softmin" ? ctx.op("Neg", [x]) : temperatureScaled(ctx, x);
      return [ctx.op(name === "log_softmax" ? "LogSoftmax" : "Softmax", [scaled], { axis })];
    },
  };
}

/** x / temperature (x when the temperature is 1) */
function temperatureScaled(ctx: OnnxContext, x: string): string {
  const t = floatAttr(ctx, "temperature");
  return t === 1 ? x : ctx.op("Div", [x, ctx.scalar(t)]);
}

const softmax = softmaxLike("softmax", "exp(x) / sum(exp(x)) along axis (divided by temperature first)", 5, true);
const logSoftmax = softmaxLike("log_softmax", "log(softmax(x)) along axis, computed stably", 5, true);
const softmin = softmaxLike("softmin", "softmax(-x) along axis", 6, false);

// ---------------------------------------------------------------------------
// Activations with parameters

/** nn.PReLU's init: every slope starts at 0.25. */
const PRELU_INIT = Object.freeze({ value: 0.25 });

const prelu: OpDef = {
  name: "prelu",
  category: "activation",
  doc: "x for x > 0, a·x otherwise with learned slopes a: one shared, or one per channel (axis 1)",
  inputs: [{ name: "x" }],
  attrs: [
    {
      name: "num_parameters",
      type: "int",
      default: Dim.const(1),
      doc: "1 (one shared slope) or the channel count C = x.shape[1]",
    },
  ],
  infer(ctx) {
    const x = input(ctx, 0);
    requireFloat("prelu", x, 0);
    const n = requirePositiveDim(intAttr(ctx, "num_parameters"), "num_parameters");
    if (!n.equals(1)) {
      if (x.shape.length < 2)
        throw new OpError(
          `prelu with num_parameters=${n} needs a channel axis (axis 1), but x ${typeToString(x)} has rank ${x.shape.length}`,
          {
            at: "num_parameters",
            hint: "use num_parameters: 1 for inputs without a channel axis",
          },
        );
      const c = x.shape[1]!;
      if (!sameDim(n, c))
        throw new OpError(`prelu num_parameters=${n} does not match the ${c} channels (axis 1) of x ${typeToString(x)}`, {
          at: "num_parameters",
          hint: `use num_parameters: ${c} (one slope per channel) or 1 (shared)`,
        });
    }
    // PyTorch advises against weight decay on the slopes
    return {
      outputs: [x],
      params: [
        {
          ...weightParam("weight", [n], "constant", PRELU_INIT),
          noDecay: true,
        },
      ],
    };
  },
  cost(ctx) {
    return cost(0, numel(input(ctx, 0).shape).scale(2));
  },
  // torch: x where x > 0, else weight·x; the slopes run along axis 1 (or one shared)
  lower: map1((x, ctx) => {
    const b = ctx.b;
    const w = ctx.params[0]!;
    const r = b.rank(x);
    const slope = b.shape(w)[0] === 1 ? b.reshape(w, []) : b.reshape(w, [b.shape(w)[0]!, ...Array<number>(r - 2).fill(1)]);
    return positivePart(ctx, x, (v) => b.times(v, slope));
  }),
  // PRelu broadcasts the slope against x: per channel it is [C, 1, ...]
  onnx(ctx) {
    const rank = input(ctx, 0).shape.length;
    const c = ctx.paramTypes[0]!.shape[0]!.constant!;
    const slope = c === 1 ? ctx.params[0]! : perChannel(ctx, ctx.params[0]!, c, 1, rank);
    return [ctx.op("PRelu", [value(ctx, 0), slope])];
  },
};

const maxout: OpDef = {
  name: "maxout",
  category: "activation",
  doc: "max over `pieces` affine maps: x [..., in] → [..., out] with weight [out·pieces, in], bias [out·pieces]",
  inputs: [{ name: "x" }],
  attrs: [
    { name: "out", type: "int", doc: "output features" },
    {
      name: "pieces",
      type: "int",
      default: Dim.const(2),
      doc: "affine pieces per output unit",
    },
  ],
  infer(ctx) {
    const x = input(ctx, 0);
    requireMinRank("maxout", x, 1, 0, "features [..., in]");
    requireFloat("maxout", x, 0);
    const out = requirePositiveDim(intAttr(ctx, "out"), "out");
    const pieces = requirePositiveDim(intAttr(ctx, "pieces"), "pieces");
    const inF = lastDim(x.shape);
    const rows = out.mul(pieces);
    const shape = dropLast(x.shape);
    shape.push(out);
    return {
      outputs: [{ dtype: x.dtype, shape }],
      // initialised as torch.nn.Linear(in, out·pieces)
      params: [
        weightParam("weight", [rows, inF], "kaiming_uniform", TORCH_DEFAULT_KAIMING),
        biasParam("bias", [rows], "uniform", fanInBound(inF)),
      ],
    };
  },
  cost(ctx: CostContext) {
    const x = input(ctx, 0);
    const out = intAttr(ctx, "out");
    const pieces = intAttr(ctx, "pieces");
    const rows = numel(dropLast(x.shape));
    return cost(rows.mul(lastDim(x.shape)).mul(out).mul(pieces), rows.mul(out).mul(pieces.sub(1)));
  },
  // the affine rows are grouped per output unit: row o·pieces + k is piece k of unit o
  // (y.view(..., out, pieces).max(-1), the usual PyTorch Maxout)
  lower: map1((x, ctx) => {
    const b = ctx.b;
    const [w, bias] = ctx.params as [T, T];
    const lead = b.shape(x).slice(0, -1);
    const out = num(ctx, "out");
    return b.max(b.reshape(linear(b, x, w, bias), [...lead, out, num(ctx, "pieces")]), [lead.length + 1]);
  }),
  onnx(ctx) {
    const x = input(ctx, 0);
    const y = affine(ctx, value(ctx, 0), x.shape.length, ctx.params[0]!, ctx.params[1]);
    const grouped = reshapeTo(ctx, y, [...ctx.outputs[0]!.shape, intAttr(ctx, "pieces")]);
    return [ctx.op("ReduceMax", [grouped, ctx.ints([-1])], { keepdims: 0 })];
  },
};

// PyTorch (compiler/ops/torch-mapping.ts): torch.nn.functional's activations, which share
// dlm's formulas (softplus's threshold 20, hard_sigmoid = relu6(x + 3) / 6, ...).
const withAlpha = (fn: string): TorchMapping => ({ forward: (c) => pyCall(fn, [arg(c, 0), c.py(c.attrs.alpha)]) });
/** x divided by the temperature (x itself at 1) */
const tempered = (c: TorchContext): string =>
  c.attrs.temperature === undefined || c.attrs.temperature === 1 ? arg(c, 0) : `${arg(c, 0)} / ${c.py(c.attrs.temperature)}`;

const TORCH: TorchTable = {
  relu: unaryCall("F.relu"),
  relu6: unaryCall("F.relu6"),
  leaky_relu: withAlpha("F.leaky_relu"),
  elu: withAlpha("F.elu"),
  selu: unaryCall("F.selu"),
  celu: withAlpha("F.celu"),
  gelu: { forward: (c) => pyCall("F.gelu", [arg(c, 0)], { approximate: c.py(c.attrs.approximate) }) },
  silu: unaryCall("F.silu"),
  swish: unaryCall("F.silu"),
  mish: unaryCall("F.mish"),
  sigmoid: unaryCall("torch.sigmoid"),
  hard_sigmoid: unaryCall("F.hardsigmoid"),
  tanh: unaryCall("torch.tanh"),
  hard_tanh: { forward: (c) => pyCall("F.hardtanh", [arg(c, 0), c.py(c.attrs.min), c.py(c.attrs.max)]) },
  softplus: { forward: (c) => pyCall("F.softplus", [arg(c, 0)], { beta: c.py(c.attrs.beta) }) },
  softsign: unaryCall("F.softsign"),
  hard_swish: unaryCall("F.hardswish"),
  log_sigmoid: unaryCall("F.logsigmoid"),
  step: { forward: (c) => `(${arg(c, 0)} >= 0).to(${c.dtype(c.outputs[0]!.dtype)})` },
  sign: unaryCall("torch.sign"),
  identity: { forward: (c) => arg(c, 0) },
  prelu: {
    layer: (c) => pyCall("nn.PReLU", [String(c.paramShapes[0]![0])]),
    forward: (c) => (c.layer ? `${c.layer}(${arg(c, 0)})` : pyCall("F.prelu", [arg(c, 0), c.params[0]!])),
  },
  // the affine rows are grouped per output unit (row o·pieces + k is piece k of unit o)
  maxout: {
    forward: (c) => `${pyCall("F.linear", [arg(c, 0), ...c.params])}.unflatten(-1, (${c.int("out")}, ${c.int("pieces")})).amax(-1)`,
  },
  softmax: { forward: (c) => pyCall("torch.softmax", [tempered(c)], { dim: c.py(c.attrs.axis) }) },
  log_softmax: { forward: (c) => pyCall("torch.log_softmax", [tempered(c)], { dim: c.py(c.attrs.axis) }) },
  softmin: { forward: (c) => pyCall("torch.softmax", [`-${arg(c, 0)}`], { dim: c.py(c.attrs.axis) }) },
};

export const ops: OpDef[] = withTorch([...pointwiseOps, prelu, maxout, softmax, logSoftmax, softmin], TORCH);
