// Recurrent layers with PyTorch semantics (batch_first): rnn / lstm / gru over a whole
// sequence, and their single-step cells. One layer builder and one cell builder,
// parameterised by the gate count (1 / 4 / 3) and the number of carried states.
//
// Parameters follow torch exactly: per layer k and direction, weight_ih_l{k}[_reverse]
// [gates*hidden, in_k], weight_hh_l{k}[_reverse] [gates*hidden, hidden], bias_ih_l{k}...,
// bias_hh_l{k}... (two-bias convention), and for a projected LSTM weight_hr_l{k} [proj, hidden];
// layer k > 0 reads dirs * (proj or hidden) features. Cells: weight_ih, weight_hh, bias_ih,
// bias_hh. All initialised U(-1/sqrt(hidden), 1/sqrt(hidden)) as torch does.
//
// Cost: `macs` are the gate matmuls of every step — steps * (sum of all weight-matrix sizes),
// which is B*T*dirs*gates*hidden*(in_k + hidden) summed over layers (plus the LSTM projection);
// `flops` are the per-step elementwise gate work per hidden unit (sigmoid/tanh ~4, add/mul 1):
//   rnn:  ih+hh add 1 + tanh 4 = 5 (relu: 2)
//   lstm: 4 gate adds + 3 sigmoids 12 + tanh(g) 4 + c' = f*c + i*g 3 + tanh(c') 4 + o*tanh 1 = 28
//   gru:  2 gate adds + 2 sigmoids 8 + n = tanh(a + r*b) 6 + h' = (1-z)*n + z*h 4 = 20

import { Dim, type Shape, shapeToString } from "../dim.js";
import type { PrimBuilder, T } from "../prim/builder.js";
import {
  biasParam,
  fanInBound,
  enumAttr,
  lastDim,
  matrixParamsNumel,
  prodRange,
  requireAtLeast,
  requireBetween,
  requireFloatFeatures,
  requirePositiveDim,
  sameDim,
  weightParam,
} from "./builders.js";
import { flag, linear, need, num, outShape } from "./lowering.js";
import { arg, pyCall, withTorch, type TorchMapping } from "./torch-mapping.js";
import {
  type AttrSpec,
  type CostContext,
  type InferContext,
  type InitArgs,
  type InputSpec,
  type LowerContext,
  type OpDef,
  type ParamSpec,
  type TensorType,
  OpError,
  boolAttr,
  constIntAttr,
  cost,
  input,
  intAttr,
  requireFloat,
  requireRank,
  sameDType,
  stringAttr,
  typeToString,
} from "./types.js";

import type { OnnxContext } from "../export/onnx/context.js";
import {
  affine as affineOnnx,
  reshapeTo,
  sliceAxis as sliceAxisOnnx,
  squeeze as squeezeOnnx,
  unsqueeze as unsqueezeOnnx,
  value,
} from "../export/onnx/helpers.js";

interface RecurrentKind {
  /** gate blocks stacked in the weight matrices: rnn 1, lstm 4 (i, f, g, o), gru 3 (r, z, n) */
  readonly gates: number;
  /** carried states: h, or h and c */
  readonly states: 1 | 2;
  readonly nonlinearity: boolean;
  /** elementwise flops per hidden unit per step (see the header) */
  unitFlops(ctx: InferContext): number;
  /**
   * One step from the gate pre-activations of the input (gx = W_ih x + b_ih) and of the
   * state (gh = W_hh h + b_hh), both [..., gates*hidden], in PyTorch's gate order.
   */
  step(ctx: LowerContext, gx: T, gh: T, s: CellState): CellState;
}

interface CellState {
  readonly h: T;
  /** the LSTM cell state */
  readonly c?: T;
}

/** The `n` equal gate blocks of the last axis. */
function gateBlocks(b: PrimBuilder, g: T, n: number): T[] {
  const size = b.shape(g).at(-1)! / n;
  return Array.from({ length: n }, (_, i) => b.sliceAxis(g, -1, i * size, (i + 1) * size));
}

const RNN: RecurrentKind = {
  gates: 1,
  states: 1,
  nonlinearity: true,
  unitFlops: (ctx) => (ctx.attrs.nonlinearity === "relu" ? 2 : 5),
  // h' = act(gx + gh)
  step: (ctx, gx, gh) => ({ h: ctx.b.unary(ctx.attrs.nonlinearity === "relu" ? "relu" : "tanh", ctx.b.plus(gx, gh)) }),
};
const LSTM: RecurrentKind = {
  gates: 4,
  states: 2,
  nonlinearity: false,
  unitFlops: () => 28,
  // gates i, f, g, o: c' = σ(f)·c + σ(i)·tanh(g), h' = σ(o)·tanh(c')
  step(ctx, gx, gh, s) {
    const b = ctx.b;
    const [i, f, g, o] = gateBlocks(b, b.plus(gx, gh), 4) as [T, T, T, T];
    const c = b.plus(b.times(b.sigmoid(f), s.c!), b.times(b.sigmoid(i), b.tanh(g)));
    return { h: b.times(b.sigmoid(o), b.tanh(c)), c };
  },
};
const GRU: RecurrentKind = {
  gates: 3,
  states: 1,
  nonlinearity: false,
  unitFlops: () => 20,
  // gates r, z, n: n = tanh(x_n + r·(W_hn h + b_hn)), h' = (1 - z)·n + z·h = n + z·(h - n)
  step(ctx, gx, gh, s) {
    const b = ctx.b;
    const [xr, xz, xn] = gateBlocks(b, gx, 3) as [T, T, T];
    const [hr, hz, hn] = gateBlocks(b, gh, 3) as [T, T, T];
    const r = b.sigmoid(b.plus(xr, hr));
    const z = b.sigmoid(b.plus(xz, hz));
    const n = b.tanh(b.plus(xn, b.times(r, hn)));
    return { h: b.plus(n, b.times(z, b.minus(s.h, n))) };
  },
};

/** The weights of one cell (layer and direction), in pushCellParams' order. */
interface CellWeights {
  readonly wih: T;
  readonly whh: T;
  readonly bih?: T;
  readonly bhh?: T;
  /** LSTM projection weight_hr */
  readonly whr?: T;
}

/** Cell number `i`'s weights from the op's flat parameter list. */
function cellWeights(ctx: LowerContext, i: number, projected: boolean): CellWeights {
  const bias = flag(ctx, "bias");
  const n = 2 + (bias ? 2 : 0) + (projected ? 1 : 0);
  const [wih, whh, ...rest] = ctx.params.slice(i * n, (i + 1) * n) as [T, T, ...T[]];
  return { wih, whh, ...(bias ? { bih: rest[0], bhh: rest[1] } : {}), ...(projected ? { whr: rest.at(-1) } : {}) };
}

/** One step of a cell from its input gates gx = W_ih x + b_ih and its state (projected for an LSTM with weight_hr). */
function cellStep(ctx: LowerContext, kind: RecurrentKind, w: CellWeights, gx: T, s: CellState): CellState {
  const b = ctx.b;
  const next = kind.step(ctx, gx, linear(b, s.h, w.whh, w.bhh), s);
  return w.whr === undefined ? next : { ...next, h: linear(b, next.h, w.whr) };
}

/** A zero state of `shape` unless the optional input `i` gives one. */
function initialState(ctx: LowerContext, i: number, shape: readonly number[]): T {
  return ctx.inputs[i] ?? ctx.b.scalar(0, "f32", shape);
}

/**
 * A whole recurrent layer stack over x [B, T, in] (or [T, in]): per layer and direction the
 * input projections of all steps at once, then the recurrence unrolled step by step; the
 * directions' outputs are concatenated on features and feed the next layer.
 */
function lowerLayer(ctx: LowerContext, kind: RecurrentKind): T[] {
  const b = ctx.b;
  const x0 = need(ctx, 0);
  const unbatched = b.rank(x0) === 2;
  const x = unbatched ? b.reshape(x0, [1, ...b.shape(x0)]) : x0;
  const [bs, steps] = b.shape(x) as [number, number];
  const hidden = num(ctx, "hidden");
  const proj = ctx.attrs.proj === undefined ? 0 : num(ctx, "proj");
  const layers = num(ctx, "layers");
  const dirs = flag(ctx, "bidirectional") ? 2 : 1;
  const outSize = proj > 0 ? proj : hidden;
  // state i of cell k: [B, size] from h0 / c0 [layers*dirs, B, size] (or [layers*dirs, size])
  const start = (input: number, k: number, size: number): T => {
    const s0 = ctx.inputs[input];
    return s0 === undefined ? b.scalar(0, "f32", [bs, size]) : b.reshape(b.sliceAxis(s0, 0, k, k + 1), [bs, size]);
  };
  let seq = x;
  const finals: CellState[] = [];
  for (let layer = 0; layer < layers; layer++) {
    const outs: T[] = [];
    for (let dir = 0; dir < dirs; dir++) {
      const k = layer * dirs + dir;
      const w = cellWeights(ctx, k, proj > 0);
      const gx = linear(b, seq, w.wih, w.bih);
      const gates = b.shape(gx).at(-1)!;
      let s: CellState = { h: start(1, k, outSize), ...(kind.states === 2 ? { c: start(2, k, hidden) } : {}) };
      const hs = new Array<T>(steps);
      for (let i = 0; i < steps; i++) {
        const t = dir === 1 ? steps - 1 - i : i;
        s = cellStep(ctx, kind, w, b.reshape(b.sliceAxis(gx, 1, t, t + 1), [bs, gates]), s);
        hs[t] = b.reshape(s.h, [bs, 1, outSize]);
      }
      outs.push(b.concat(hs, 1));
      finals.push(s);
    }
    seq = b.concat(outs, -1);
  }
  const stack = (list: T[], i: number): T =>
    b.reshape(
      b.concat(
        list.map((t) => b.reshape(t, [1, ...b.shape(t)])),
        0,
      ),
      outShape(ctx, i),
    );
  const results = [
    b.reshape(seq, outShape(ctx, 0)),
    stack(
      finals.map((s) => s.h),
      1,
    ),
  ];
  if (kind.states === 2)
    results.push(
      stack(
        finals.map((s) => s.c!),
        2,
      ),
    );
  return results;
}

// ---------------------------------------------------------------------------
// ONNX

/** ONNX's gate order as positions of torch's blocks: LSTM i, o, f, c (torch i, f, g, o); GRU z, r, h (torch r, z, n). */
function onnxGateOrder(kind: RecurrentKind): number[] {
  return kind.gates === 4 ? [0, 3, 1, 2] : kind.gates === 3 ? [1, 0, 2] : [0];
}

/** A torch weight or bias with its gate blocks (rows) in ONNX's order. */
function reorderGates(ctx: OnnxContext, kind: RecurrentKind, p: string, hidden: number): string {
  if (kind.gates === 1) return p;
  const blocks = ctx.node("Split", [p, ctx.ints(Array<number>(kind.gates).fill(hidden))], { axis: 0 }, kind.gates);
  return ctx.op(
    "Concat",
    onnxGateOrder(kind).map((i) => blocks[i]!),
    { axis: 0 },
  );
}

/**
 * A recurrent layer stack as ONNX RNN / LSTM / GRU nodes, one per layer (both directions in
 * one node): torch's weights regrouped as ONNX wants them (W, R [dirs, gates·hidden, ·] in ONNX's
 * gate order, B the two biases concatenated), time-major inside.
 */
function recurrentLayerOnnx(kind: RecurrentKind, opType: string) {
  return (ctx: OnnxContext): string[] => {
    if (ctx.attrs.proj !== undefined && ctx.int("proj") > 0) ctx.unsupported("ONNX's LSTM has no output projection (proj)");
    const x0 = input(ctx, 0);
    const unbatched = x0.shape.length === 2;
    const [bs, steps] = unbatched ? [Dim.const(1), x0.shape[0]!] : [x0.shape[0]!, x0.shape[1]!];
    const hidden = ctx.int("hidden");
    const layers = ctx.int("layers");
    const dirs = boolAttr(ctx, "bidirectional") ? 2 : 1;
    const bias = boolAttr(ctx, "bias");
    const perCell = 2 + (bias ? 2 : 0);
    // time-major [T, B, in]
    let seq = unbatched ? unsqueezeOnnx(ctx, value(ctx, 0), [1]) : ctx.op("Transpose", [value(ctx, 0)], { perm: [1, 0, 2] });
    const stacked = (make: (k: number) => string, layer: number): string => {
      const parts = Array.from({ length: dirs }, (_, dir) => unsqueezeOnnx(ctx, make(layer * dirs + dir), [0]));
      return parts.length === 1 ? parts[0]! : ctx.op("Concat", parts, { axis: 0 });
    };
    const param = (k: number, i: number): string => ctx.params[k * perCell + i]!;
    const state = (i: number, layer: number): string | undefined => {
      const s0 = ctx.values[i];
      if (s0 === undefined) return undefined;
      const batchedState = unbatched ? unsqueezeOnnx(ctx, s0, [1]) : s0;
      return sliceAxisOnnx(ctx, batchedState, 0, layer * dirs, (layer + 1) * dirs);
    };
    const hs: string[] = [];
    const cs: string[] = [];
    for (let layer = 0; layer < layers; layer++) {
      const w = stacked((k) => reorderGates(ctx, kind, param(k, 0), hidden), layer);
      const r = stacked((k) => reorderGates(ctx, kind, param(k, 1), hidden), layer);
      const b = bias
        ? stacked(
            (k) =>
              ctx.op("Concat", [reorderGates(ctx, kind, param(k, 2), hidden), reorderGates(ctx, kind, param(k, 3), hidden)], { axis: 0 }),
            layer,
          )
        : undefined;
      const attrs = {
        hidden_size: hidden,
        direction: dirs === 2 ? "bidirectional" : "forward",
        ...(kind.gates === 3 ? { linear_before_reset: 1 } : {}),
        ...(kind.gates === 1
          ? { activations: { strings: Array<string>(dirs).fill(stringAttr(ctx, "nonlinearity") === "relu" ? "Relu" : "Tanh") } }
          : {}),
      };
      const inputs = [seq, w, r, b, undefined, state(1, layer), ...(kind.states === 2 ? [state(2, layer)] : [])];
      const [y, yh, yc] = ctx.node(opType, inputs, attrs, kind.states === 2 ? 3 : 2);
      hs.push(yh!);
      if (yc) cs.push(yc);
      // Y [T, dirs, B, hidden] → [T, B, dirs·hidden]
      seq = reshapeTo(ctx, ctx.op("Transpose", [y!], { perm: [0, 2, 1, 3] }), [steps, bs, Dim.const(dirs * hidden)]);
    }
    const out = unbatched ? squeezeOnnx(ctx, seq, [1]) : ctx.op("Transpose", [seq], { perm: [1, 0, 2] });
    const final = (list: string[]): string => {
      const all = list.length === 1 ? list[0]! : ctx.op("Concat", list, { axis: 0 });
      return unbatched ? squeezeOnnx(ctx, all, [1]) : all;
    };
    return kind.states === 2 ? [out, final(hs), final(cs)] : [out, final(hs)];
  };
}

/** One cell step in ONNX, as cellStep: the gates of x and of the state, then the kind's update. */
function recurrentCellOnnx(kind: RecurrentKind) {
  return (ctx: OnnxContext): string[] => {
    const rank = input(ctx, 0).shape.length;
    const bias = boolAttr(ctx, "bias");
    const [wih, whh] = ctx.params as [string, string];
    const [bih, bhh] = bias ? [ctx.params[2], ctx.params[3]] : [undefined, undefined];
    const zeros = (): string => ctx.op("ConstantOfShape", [ctx.shape(ctx.outputs[0]!.shape)]);
    const h = ctx.values[1] ?? zeros();
    const gx = affineOnnx(ctx, value(ctx, 0), rank, wih, bih);
    const gh = affineOnnx(ctx, h, rank, whh, bhh);
    const split = (g: string): string[] => ctx.node("Split", [g], { axis: -1, num_outputs: kind.gates }, kind.gates);
    const sigmoid = (t: string): string => ctx.op("Sigmoid", [t]);
    const tanh = (t: string): string => ctx.op("Tanh", [t]);
    if (kind.gates === 1) return [ctx.op(stringAttr(ctx, "nonlinearity") === "relu" ? "Relu" : "Tanh", [ctx.op("Add", [gx, gh])])];
    if (kind.gates === 4) {
      const c = ctx.values[2] ?? zeros();
      const [i, f, g, o] = split(ctx.op("Add", [gx, gh])) as [string, string, string, string];
      const c2 = ctx.op("Add", [ctx.op("Mul", [sigmoid(f), c]), ctx.op("Mul", [sigmoid(i), tanh(g)])]);
      return [ctx.op("Mul", [sigmoid(o), tanh(c2)]), c2];
    }
    const [xr, xz, xn] = split(gx) as [string, string, string];
    const [hr, hz, hn] = split(gh) as [string, string, string];
    const r = sigmoid(ctx.op("Add", [xr, hr]));
    const z = sigmoid(ctx.op("Add", [xz, hz]));
    const n = tanh(ctx.op("Add", [xn, ctx.op("Mul", [r, hn])]));
    return [ctx.op("Add", [n, ctx.op("Mul", [z, ctx.op("Sub", [h, n])])])];
  };
}

const NONLINEARITIES = ["tanh", "relu"] as const;

function commonChecks(ctx: InferContext, kind: RecurrentKind): { hidden: Dim; bias: boolean; init: InitArgs } {
  const hidden = requirePositiveDim(intAttr(ctx, "hidden"), "hidden");
  if (kind.nonlinearity) enumAttr(ctx, "nonlinearity", NONLINEARITIES);
  const bias = boolAttr(ctx, "bias");
  // PyTorch draws every recurrent weight and bias from U(-1/sqrt(hidden), 1/sqrt(hidden))
  return { hidden, bias, init: fanInBound(hidden) };
}

/** weight_ih, weight_hh, bias_ih, bias_hh of one cell (one layer and direction). */
function pushCellParams(out: ParamSpec[], suffix: string, gateRows: Dim, inSize: Dim, stateSize: Dim, bias: boolean, init: InitArgs): void {
  out.push(weightParam(`weight_ih${suffix}`, [gateRows, inSize], "uniform", init));
  out.push(weightParam(`weight_hh${suffix}`, [gateRows, stateSize], "uniform", init));
  if (bias) {
    const b = [gateRows];
    out.push(biasParam(`bias_ih${suffix}`, b, "uniform", init));
    out.push(biasParam(`bias_hh${suffix}`, b, "uniform", init));
  }
}

/** An optional initial state input must have exactly the state's shape. */
function checkState(op: string, ctx: InferContext, at: number, x: TensorType, expected: Shape, what: string, layout: string): void {
  const s = ctx.inputs[at];
  if (!s) return;
  requireFloat(op, s, at);
  sameDType(op, [x, s]);
  let ok = s.shape.length === expected.length;
  for (let i = 0; ok && i < expected.length; i++) ok = sameDim(s.shape[i]!, expected[i]!);
  if (!ok)
    throw new OpError(
      `${what} ${typeToString(s)} does not match the expected ${layout} = ${shapeToString(expected)} for x ${typeToString(x)}`,
      {
        at,
      },
    );
}

/** Shared cost rule: gate matmuls per step, elementwise gate work per unit per step. */
function recurrentCost(kind: RecurrentKind) {
  return (ctx: CostContext) => {
    const x = input(ctx, 0);
    const steps = prodRange(x.shape, 0, x.shape.length - 1);
    const units = ctx.attrs.layers === undefined ? 1 : constIntAttr(ctx, "layers") * (ctx.attrs.bidirectional === true ? 2 : 1);
    const flops = steps.mul(intAttr(ctx, "hidden")).scale(units * kind.unitFlops(ctx));
    return cost(steps.mul(matrixParamsNumel(ctx.params)), flops);
  };
}

// ---------------------------------------------------------------------------
/** More stacked recurrent layers than any model uses: a bound that keeps a typo from building millions of cells. */
const MAX_STACKED_LAYERS = 10_000;

// Full-sequence layers

function recurrentLayer(name: string, kind: RecurrentKind, doc: string, attrs: readonly AttrSpec[]): OpDef {
  const inputs: InputSpec[] = [{ name: "x" }, { name: "h0", optional: true }];
  if (kind.states === 2) inputs.push({ name: "c0", optional: true });
  return {
    name,
    category: "recurrent",
    doc,
    inputs,
    attrs,
    infer(ctx) {
      const x = input(ctx, 0);
      requireRank(name, x, [3, 2], 0, "sequence [B, T, in] (or unbatched [T, in])");
      requireFloatFeatures(name, x, 0);
      const { hidden, bias, init } = commonChecks(ctx, kind);
      const layers = requireBetween(constIntAttr(ctx, "layers"), 1, MAX_STACKED_LAYERS, "layers");
      const dirs = boolAttr(ctx, "bidirectional") ? 2 : 1;
      let proj = 0;
      if (ctx.attrs.proj !== undefined) {
        proj = requireAtLeast(constIntAttr(ctx, "proj"), 0, "proj");
        const h = hidden.constant;
        if (proj > 0 && h !== undefined && proj >= h)
          throw new OpError(`'proj' (${proj}) must be smaller than hidden (${h})`, { at: "proj" });
      }
      const outSize = proj > 0 ? Dim.const(proj) : hidden;
      const gateRows = hidden.scale(kind.gates);
      const layerOut = outSize.scale(dirs);
      const params: ParamSpec[] = [];
      let inSize = lastDim(x.shape);
      for (let k = 0; k < layers; k++) {
        for (let dir = 0; dir < dirs; dir++) {
          const suffix = dir === 0 ? `_l${k}` : `_l${k}_reverse`;
          pushCellParams(params, suffix, gateRows, inSize, outSize, bias, init);
          if (proj > 0) params.push(weightParam(`weight_hr${suffix}`, [outSize, hidden], "uniform", init));
        }
        inSize = layerOut;
      }
      const batched = x.shape.length === 3;
      const ld = Dim.const(layers * dirs);
      const seq = batched ? [x.shape[0]!, x.shape[1]!, layerOut] : [x.shape[0]!, layerOut];
      const hShape = batched ? [ld, x.shape[0]!, outSize] : [ld, outSize];
      const layout = batched ? "[layers*dirs, B, hidden]" : "[layers*dirs, hidden]";
      checkState(name, ctx, 1, x, hShape, "initial state h0", proj > 0 ? layout.replace("hidden", "proj") : layout);
      const outputs: TensorType[] = [
        { dtype: x.dtype, shape: seq },
        { dtype: x.dtype, shape: hShape },
      ];
      if (kind.states === 2) {
        const cShape = proj > 0 ? (batched ? [ld, x.shape[0]!, hidden] : [ld, hidden]) : hShape;
        checkState(name, ctx, 2, x, cShape, "initial cell state c0", layout);
        outputs.push({ dtype: x.dtype, shape: cShape });
      }
      return { outputs, params };
    },
    cost: recurrentCost(kind),
    lower: (ctx) => lowerLayer(ctx, kind),
    onnx: recurrentLayerOnnx(kind, ONNX_LAYER[name]!),
  };
}

/** The ONNX op of each full-sequence layer. */
const ONNX_LAYER: Readonly<Record<string, string>> = { rnn: "RNN", lstm: "LSTM", gru: "GRU" };

const HIDDEN: AttrSpec = { name: "hidden", type: "int", doc: "hidden state size" };
const LAYERS: AttrSpec = { name: "layers", type: "int", default: Dim.const(1), doc: "stacked layers" };
const BIDIRECTIONAL: AttrSpec = { name: "bidirectional", type: "bool", default: false };
const BIAS: AttrSpec = { name: "bias", type: "bool", default: true };
const NONLINEARITY: AttrSpec = { name: "nonlinearity", type: "string", default: "tanh", doc: '"tanh" or "relu"' };
const PROJ: AttrSpec = { name: "proj", type: "int", default: Dim.const(0), doc: "LSTM projection size (0 = none)" };

// ---------------------------------------------------------------------------
// Single-step cells

function recurrentCell(name: string, kind: RecurrentKind, doc: string, attrs: readonly AttrSpec[]): OpDef {
  const inputs: InputSpec[] = [{ name: "x" }, { name: "h", optional: true }];
  if (kind.states === 2) inputs.push({ name: "c", optional: true });
  return {
    name,
    category: "recurrent",
    doc,
    inputs,
    attrs,
    infer(ctx) {
      const x = input(ctx, 0);
      requireRank(name, x, [2, 1], 0, "step input [B, in] (or unbatched [in])");
      requireFloat(name, x, 0);
      const { hidden, bias, init } = commonChecks(ctx, kind);
      const params: ParamSpec[] = [];
      pushCellParams(params, "", hidden.scale(kind.gates), lastDim(x.shape), hidden, bias, init);
      const batched = x.shape.length === 2;
      const state: TensorType = { dtype: x.dtype, shape: batched ? [x.shape[0]!, hidden] : [hidden] };
      const layout = batched ? "[B, hidden]" : "[hidden]";
      checkState(name, ctx, 1, x, state.shape, "state h", layout);
      if (kind.states === 1) return { outputs: [state], params };
      checkState(name, ctx, 2, x, state.shape, "cell state c", layout);
      return { outputs: [state, state], params };
    },
    cost: recurrentCost(kind),
    lower(ctx) {
      const w = cellWeights(ctx, 0, false);
      const shape = outShape(ctx);
      const s0: CellState = { h: initialState(ctx, 1, shape), ...(kind.states === 2 ? { c: initialState(ctx, 2, shape) } : {}) };
      const s = cellStep(ctx, kind, w, linear(ctx.b, need(ctx, 0), w.wih, w.bih), s0);
      return kind.states === 2 ? [s.h, s.c!] : [s.h];
    },
    onnx: recurrentCellOnnx(kind),
  };
}

// PyTorch (compiler/ops/torch-mapping.ts): nn.RNN / nn.LSTM / nn.GRU (batch_first) and their
// cells, whose parameter names and gate orders dlm follows.
function recurrentTorch(cls: string, layered: boolean): TorchMapping {
  return {
    layer: (c) => {
      const input = c.paramShapes[0]![1]!;
      const hidden = c.int("hidden");
      const kw: Record<string, string | undefined> = { bias: c.py(c.attrs.bias) };
      if (c.attrs.nonlinearity !== undefined) kw.nonlinearity = c.py(c.attrs.nonlinearity);
      if (layered) {
        kw.num_layers = c.py(c.attrs.layers);
        kw.batch_first = "True";
        kw.bidirectional = c.py(c.attrs.bidirectional);
        if (c.attrs.proj !== undefined && c.int("proj") > 0) kw.proj_size = c.py(c.attrs.proj);
      }
      return pyCall(cls, [String(input), String(hidden)], kw);
    },
    forward: (c) => {
      if (!c.layer) throw new Error("recurrent weights shared with another layer");
      const states = c.inputs.slice(1).map((s) => s ?? "None");
      return pyCall(c.helper(layered ? "recurrent" : "cell"), [c.layer, arg(c, 0), ...states]);
    },
  };
}

export const ops: OpDef[] = withTorch(
  [
    recurrentLayer("rnn", RNN, "Elman RNN over x [B, T, in] → (out [B, T, dirs*hidden], h_n [layers*dirs, B, hidden])", [
      HIDDEN,
      LAYERS,
      BIDIRECTIONAL,
      NONLINEARITY,
      BIAS,
    ]),
    recurrentLayer(
      "lstm",
      LSTM,
      "LSTM over x [B, T, in] → (out [B, T, dirs*hidden], h_n [layers*dirs, B, hidden], c_n [layers*dirs, B, hidden])",
      [HIDDEN, LAYERS, BIDIRECTIONAL, BIAS, PROJ],
    ),
    recurrentLayer("gru", GRU, "GRU over x [B, T, in] → (out [B, T, dirs*hidden], h_n [layers*dirs, B, hidden])", [
      HIDDEN,
      LAYERS,
      BIDIRECTIONAL,
      BIAS,
    ]),
    recurrentCell("rnn_cell", RNN, "one Elman RNN step: (x [B, in], h [B, hidden]) → h' [B, hidden]", [HIDDEN, BIAS, NONLINEARITY]),
    recurrentCell("lstm_cell", LSTM, "one LSTM step: (x [B, in], h, c [B, hidden]) → (h', c')", [HIDDEN, BIAS]),
    recurrentCell("gru_cell", GRU, "one GRU step: (x [B, in], h [B, hidden]) → h' [B, hidden]", [HIDDEN, BIAS]),
  ],
  {
    rnn: recurrentTorch("nn.RNN", true),
    lstm: recurrentTorch("nn.LSTM", true),
    gru: recurrentTorch("nn.GRU", true),
    rnn_cell: recurrentTorch("nn.RNNCell", false),
    lstm_cell: recurrentTorch("nn.LSTMCell", false),
    gru_cell: recurrentTorch("nn.GRUCell", false),
  },
);
