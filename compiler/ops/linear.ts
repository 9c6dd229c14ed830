// Matmul-like ops: linear (torch.nn.Linear), matmul (NumPy semantics, the `@` operator),
// bilinear (torch.nn.Bilinear) and einsum.
//
// Cost: `macs` only, counted as fvcore does (bias adds not counted):
//   linear:   rows * in * out                        (rows = numel(x) / in)
//   matmul:   numel(y) * K = prod(batch) * M * K * N (1-D operands: the missing M / N is 1)
//   bilinear: rows * out * in1 * in2                 (the weight tensor once per row)
//   einsum:   2+ operands: the product of all index sizes (contracted and kept), i.e. the
//             naive loop nest; 1 operand: no MACs, numel(x) flops (sums / copies).

import { Dim, type Shape, shapeToString } from "../dim.js";
import {
  TORCH_DEFAULT_KAIMING,
  biasParam,
  dropLast,
  enumAttr,
  fanInBound,
  lastDim,
  prodRange,
  requireFloatFeatures,
  requireMinRank,
  requirePositiveDim,
  sameDim,
  weightParam,
} from "./builders.js";
import {
  type InferContext,
  type InitName,
  type OpDef,
  type ParamSpec,
  type TensorType,
  OpError,
  boolAttr,
  broadcastShapes,
  cost,
  input,
  intAttr,
  numel,
  sameDType,
  stringAttr,
  typeToString,
} from "./types.js";
import type { T } from "../prim/builder.js";
import { linear as affine, need, outShape, str } from "./lowering.js";
import type { LowerContext } from "./types.js";
import { affine as affineOnnx, value } from "../export/onnx/helpers.js";
import { arg, pyCall, withTorch, type TorchTable } from "./torch-mapping.js";

// ---------------------------------------------------------------------------
// Lowering helpers

/** x [..., in] as rows [N, in], then f, then back to [..., out]. */
function rowwise(ctx: LowerContext, x: T, f: (rows: T) => T): T {
  const { b } = ctx;
  const s = b.shape(x);
  const rows = b.reshape(x, [s.slice(0, -1).reduce((p, d) => p * d, 1), s[s.length - 1]!]);
  return b.reshape(f(rows), outShape(ctx));
}

// ---------------------------------------------------------------------------
// linear

const LINEAR_INITS: readonly InitName[] = [
  "kaiming_uniform",
  "kaiming_normal",
  "xavier_uniform",
  "xavier_normal",
  "lecun_normal",
  "orthogonal",
  "normal",
  "uniform",
  "zeros",
  "ones",
];

/** x [..., in] of floats; returns in. */
function features(op: string, x: TensorType, at: number): Dim {
  requireMinRank(op, x, 1, at, "features [..., in]");
  requireFloatFeatures(op, x, at);
  return lastDim(x.shape);
}

const linear: OpDef = {
  name: "linear",
  category: "linear",
  doc: "affine map x [..., in] → [..., out] = x Wᵀ + b; weight [out, in], bias [out]",
  inputs: [{ name: "x" }],
  attrs: [
    { name: "out", type: "int", doc: "output features" },
    { name: "bias", type: "bool", default: true },
    {
      name: "init",
      type: "string",
      default: "kaiming_uniform",
      doc: "weight initialiser (torch default: kaiming_uniform, a = sqrt(5))",
    },
  ],
  infer(ctx) {
    const x = input(ctx, 0);
    const inF = features("linear", x, 0);
    const out = requirePositiveDim(intAttr(ctx, "out"), "out");
    const init = enumAttr(ctx, "init", LINEAR_INITS);
    const params: ParamSpec[] = [weightParam("weight", [out, inF], init, init === "kaiming_uniform" ? TORCH_DEFAULT_KAIMING : undefined)];
    if (boolAttr(ctx, "bias")) params.push(biasParam("bias", [out], "uniform", fanInBound(inF)));
    const shape = dropLast(x.shape);
    shape.push(out);
    return { outputs: [{ dtype: x.dtype, shape }], params };
  },
  // rows * in * out
  cost(ctx) {
    const x = input(ctx, 0);
    return cost(numel(x.shape).mul(intAttr(ctx, "out")));
  },
  lower: (ctx) => [affine(ctx.b, need(ctx, 0), ctx.params[0]!, ctx.params[1])],
  onnx: (ctx) => [affineOnnx(ctx, value(ctx, 0), input(ctx, 0).shape.length, ctx.params[0]!, ctx.params[1])],
};

// ---------------------------------------------------------------------------
// matmul

interface MatmulPlan {
  readonly out: Shape;
  readonly k: Dim;
}

function matmulPlan(ctx: InferContext): MatmulPlan {
  const a = input(ctx, 0);
  const b = input(ctx, 1);
  [a, b].forEach((t, i) => {
    if (t.shape.length === 0)
      throw new OpError(`matmul needs operands of rank >= 1, got ${i === 0 ? "a" : "b"} ${typeToString(t)}`, {
        at: i,
        hint: "to scale by a scalar use mul (or *)",
      });
    if (t.dtype === "bool")
      throw new OpError(`matmul needs numeric operands, got ${i === 0 ? "a" : "b"} ${typeToString(t)}`, {
        at: i,
        code: "DLM3102",
        hint: "use cast(x, f32) first",
      });
  });
  sameDType("matmul", [a, b]);
  const ra = a.shape.length;
  const rb = b.shape.length;
  const ka = a.shape[ra - 1]!;
  const kb = rb === 1 ? b.shape[0]! : b.shape[rb - 2]!;
  if (!sameDim(ka, kb)) {
    const bWhere = rb === 1 ? "b's only dim" : "b's second-to-last dim";
    let hint = "the last dim of a must equal the second-to-last dim of b (or b's only dim, if b is 1-D)";
    if (rb >= 2 && sameDim(ka, b.shape[rb - 1]!)) hint = "b looks transposed: try a @ b.T (transpose(b))";
    else if (ra >= 2 && sameDim(a.shape[ra - 2]!, kb)) hint = "a looks transposed: try a.T @ b (transpose(a))";
    throw new OpError(
      `cannot multiply a ${typeToString(a)} by b ${typeToString(b)}: the contracted dims differ (a's last dim is ${ka}, ${bWhere} is ${kb})`,
      { hint },
    );
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  let batch: Dim[];
  try {
    batch = broadcastShapes(aBatch, bBatch);
  } catch (e) {
    if (!(e instanceof OpError)) throw e;
    throw new OpError(
      `the batch dims of a ${typeToString(a)} and b ${typeToString(b)} cannot be broadcast: ${shapeToString(aBatch)} vs ${shapeToString(bBatch)}`,
      { hint: e.options.hint },
    );
  }
  const out = batch;
  if (ra >= 2) out.push(a.shape[ra - 2]!);
  if (rb >= 2) out.push(b.shape[rb - 1]!);
  return { out, k: ka };
}

const matmul: OpDef = {
  name: "matmul",
  category: "linear",
  doc: "matrix product a @ b with NumPy semantics: [..., M, K] @ [..., K, N] → [..., M, N], batch dims broadcast, 1-D operands allowed",
  inputs: [{ name: "a" }, { name: "b" }],
  attrs: [],
  infer(ctx) {
    const plan = matmulPlan(ctx);
    return { outputs: [{ dtype: input(ctx, 0).dtype, shape: plan.out }] };
  },
  // every output element is a K-long dot product
  cost(ctx) {
    const plan = matmulPlan(ctx);
    return cost(numel(plan.out).mul(plan.k));
  },
  // 1-D operands become a row (a) or a column (b) whose axis is dropped from the result
  lower(ctx) {
    const { b } = ctx;
    const [x, y] = [need(ctx, 0), need(ctx, 1)];
    const a2 = b.rank(x) === 1 ? b.reshape(x, [1, b.shape(x)[0]!]) : x;
    const b2 = b.rank(y) === 1 ? b.reshape(y, [b.shape(y)[0]!, 1]) : y;
    return [b.reshape(b.matmul(a2, b2), outShape(ctx))];
  },
  // NumPy semantics, 1-D operands included, as ONNX MatMul
  onnx: (ctx) => [ctx.op("MatMul", [value(ctx, 0), value(ctx, 1)])],
};

// ---------------------------------------------------------------------------
// bilinear

const bilinear: OpDef = {
  name: "bilinear",
  category: "linear",
  doc: "bilinear map y_k = x1ᵀ W_k x2 + b_k: x1 [..., in1], x2 [..., in2] → [..., out]; weight [out, in1, in2], bias [out]",
  inputs: [{ name: "x1" }, { name: "x2" }],
  attrs: [
    { name: "out", type: "int", doc: "output features" },
    { name: "bias", type: "bool", default: true },
  ],
  infer(ctx) {
    const x1 = input(ctx, 0);
    const x2 = input(ctx, 1);
    const in1 = features("bilinear", x1, 0);
    const in2 = features("bilinear", x2, 1);
    sameDType("bilinear", [x1, x2]);
    const l1 = dropLast(x1.shape);
    const l2 = dropLast(x2.shape);
    if (l1.length !== l2.length || !l1.every((d, i) => sameDim(d, l2[i]!)))
      throw new OpError(
        `x1 ${typeToString(x1)} and x2 ${typeToString(x2)} must agree on all but the last axis (${shapeToString(l1)} vs ${shapeToString(l2)})`,
        {},
      );
    const out = requirePositiveDim(intAttr(ctx, "out"), "out");
    // torch.nn.Bilinear: weight and bias both U(±1/sqrt(in1))
    const bound = fanInBound(in1);
    const params: ParamSpec[] = [weightParam("weight", [out, in1, in2], "uniform", bound)];
    if (boolAttr(ctx, "bias")) params.push(biasParam("bias", [out], "uniform", bound));
    l1.push(out);
    return { outputs: [{ dtype: x1.dtype, shape: l1 }], params };
  },
  // rows * out * in1 * in2
  cost(ctx) {
    const x1 = input(ctx, 0);
    const x2 = input(ctx, 1);
    return cost(numel(x1.shape).mul(lastDim(x2.shape)).mul(intAttr(ctx, "out")));
  },
  // y[n, k] = sum_ij x1[n, i] W[k, i, j] x2[n, j] + b[k]: (x1 @ W as [in1, out·in2]) · x2, summed over j
  lower(ctx) {
    const { b } = ctx;
    const [w, bias] = ctx.params as [T, T | undefined];
    const [out, in1, in2] = b.shape(w) as [number, number, number];
    const x2 = need(ctx, 1);
    return [
      rowwise(ctx, need(ctx, 0), (x1) => {
        const n = b.shape(x1)[0]!;
        const wt = b.reshape(b.transpose(w, [1, 0, 2]), [in1, out * in2]);
        const t = b.reshape(b.matmul(x1, wt), [n, out, in2]);
        const y = b.sum(b.times(t, b.reshape(x2, [n, 1, in2])), [2]);
        return bias === undefined ? y : b.plus(y, bias);
      }),
    ];
  },
  // y[..., k] = sum_ij x1[..., i] W[k, i, j] x2[..., j] + b[k]
  onnx(ctx) {
    const y = ctx.op("Einsum", [value(ctx, 0), ctx.params[0]!, value(ctx, 1)], { equation: "...i,kij,...j->...k" });
    return [ctx.params[1] === undefined ? y : ctx.op("Add", [y, ctx.params[1]])];
  },
};

// ---------------------------------------------------------------------------
// einsum

interface Term {
  readonly labels: readonly string[];
  /** position of "..." among the labels, or -1 */
  readonly ellipsis: number;
  readonly text: string;
}

interface EinsumPlan {
  readonly out: Shape;
  /** every index size, ellipsis dims included */
  readonly all: readonly Dim[];
  readonly operands: number;
}

function parseTerm(text: string, eq: string, where: string): Term {
  const labels: string[] = [];
  let ellipsis = -1;
  for (let i = 0; i < text.length;) {
    if (text.startsWith("...", i)) {
      if (ellipsis >= 0) throw new OpError(`einsum "${eq}": ${where} '${text}' has "..." twice`, { at: "equation" });
      ellipsis = labels.length;
      i += 3;
      continue;
    }
    const c = text[i]!;
    if (!/[a-zA-Z]/.test(c))
      throw new OpError(`einsum "${eq}": invalid character '${c}' in ${where} '${text}'`, {
        at: "equation",
        hint: 'indices are single letters; operands are separated by "," and the output follows "->"',
      });
    labels.push(c);
    i++;
  }
  return { labels, ellipsis, text };
}

function einsumPlan(ctx: InferContext): EinsumPlan {
  const raw = stringAttr(ctx, "equation");
  const eq = raw.replace(/\s+/g, "");
  const xs = ctx.inputs.filter((t): t is TensorType => t !== undefined);
  if (xs.length === 0) throw new OpError(`einsum "${raw}" got no tensors`, { at: "equation" });
  const parts = eq.split("->");
  if (parts.length > 2)
    throw new OpError(`einsum "${raw}" has more than one "->"`, {
      at: "equation",
    });
  const lhs = parts[0]!.split(",");
  if (lhs.length !== xs.length)
    throw new OpError(
      `einsum "${raw}" has ${lhs.length} operand${lhs.length === 1 ? "" : "s"} but ${xs.length} tensor${xs.length === 1 ? " was" : "s were"} given`,
      {
        at: "equation",
        hint: "write one comma-separated term per tensor",
      },
    );
  sameDType("einsum", xs);
  const terms = lhs.map((s, i) => parseTerm(s, raw, `operand ${i + 1}`));

  const sizes = new Map<string, { d: Dim; from: number }>();
  let ell: Dim[] = [];
  let anyEllipsis = false;
  terms.forEach((term, i) => {
    const x = xs[i]!;
    const rank = x.shape.length;
    const named = term.labels.length;
    if (term.ellipsis < 0 ? rank !== named : rank < named)
      throw new OpError(
        `einsum "${raw}": operand ${i + 1} '${term.text}' names ${named} ax${named === 1 ? "is" : "es"}${term.ellipsis < 0 ? "" : ' plus "..."'} but ${typeToString(x)} has rank ${rank}`,
        { at: i },
      );
    const extra = rank - named;
    const dimOf = (j: number): Dim => x.shape[term.ellipsis >= 0 && j >= term.ellipsis ? j + extra : j]!;
    if (term.ellipsis >= 0) {
      anyEllipsis = true;
      const mine = x.shape.slice(term.ellipsis, term.ellipsis + extra);
      try {
        ell = broadcastShapes(ell, mine);
      } catch (e) {
        if (!(e instanceof OpError)) throw e;
        throw new OpError(
          `einsum "${raw}": the "..." dims of operand ${i + 1} ${typeToString(x)} do not broadcast with the others (${shapeToString(ell)} vs ${shapeToString(mine)})`,
          {
            at: i,
          },
        );
      }
    }
    term.labels.forEach((l, j) => {
      const d = dimOf(j);
      const prev = sizes.get(l);
      if (!prev) return sizes.set(l, { d, from: i });
      if (sameDim(prev.d, d)) return;
      // torch broadcasts a size-1 index against other operands (not within one operand)
      if (prev.from !== i && d.equals(1)) return;
      if (prev.from !== i && prev.d.equals(1)) return sizes.set(l, { d, from: i });
      throw new OpError(
        `einsum "${raw}": index '${l}' is ${prev.d} in operand ${prev.from + 1} (${typeToString(xs[prev.from]!)}) but ${d} in operand ${i + 1} (${typeToString(x)})`,
        { at: i },
      );
    });
  });

  let output: Term;
  if (parts.length === 2) {
    output = parseTerm(parts[1]!, raw, "the output");
    const seen = new Set<string>();
    for (const l of output.labels) {
      if (!sizes.has(l)) throw new OpError(`einsum "${raw}": output index '${l}' does not appear in any operand`, { at: "equation" });
      if (seen.has(l)) throw new OpError(`einsum "${raw}": output index '${l}' appears twice`, { at: "equation" });
      seen.add(l);
    }
  } else {
    // implicit output: "..." first, then the indices used exactly once, in alphabetical order
    const count = new Map<string, number>();
    for (const t of terms) for (const l of t.labels) count.set(l, (count.get(l) ?? 0) + 1);
    const once = [...count]
      .filter(([, c]) => c === 1)
      .map(([l]) => l)
      .sort();
    output = {
      labels: once,
      ellipsis: anyEllipsis ? 0 : -1,
      text: once.join(""),
    };
  }
  const out: Dim[] = output.labels.map((l) => sizes.get(l)!.d);
  if (output.ellipsis >= 0) out.splice(output.ellipsis, 0, ...ell);
  const all = [...ell, ...[...sizes.values()].map((s) => s.d)];
  return { out, all, operands: xs.length };
}

const einsum: OpDef = {
  name: "einsum",
  category: "linear",
  doc: 'Einstein summation over the tensors by an equation, e.g. einsum("bij,bjk->bik", a, b)',
  inputs: [{ name: "inputs", variadic: true }],
  attrs: [
    {
      name: "equation",
      type: "string",
      doc: 'e.g. "bij,bjk->bik"; "..." stands for broadcast axes',
    },
  ],
  infer(ctx) {
    const plan = einsumPlan(ctx);
    return { outputs: [{ dtype: input(ctx, 0).dtype, shape: plan.out }] };
  },
  // the naive loop nest: one MAC per combination of all indices; one operand: a sum/copy
  cost(ctx) {
    const plan = einsumPlan(ctx);
    if (plan.operands === 1) return cost(0, numel(input(ctx, 0).shape));
    return cost(prodRange(plan.all));
  },
  lower: lowerEinsum,
  onnx: (ctx) => [
    ctx.op(
      "Einsum",
      ctx.values.map((_, i) => value(ctx, i)),
      { equation: stringAttr(ctx, "equation").replace(/\s+/g, "") },
    ),
  ],
};

// ---------------------------------------------------------------------------
// einsum lowering: operands contracted pairwise, left to right, each pair by one batched matmul

/** A tensor whose axes carry index labels (one character each; "..." axes get digits). */
interface Labelled {
  readonly t: T;
  readonly labels: string[];
}

/** The equation with "..." expanded to per-axis labels "0", "1", ... (aligned from the right). */
function expandEquation(eq: string, ranks: readonly number[]): { inputs: string[][]; output: string[] } {
  const [lhs, rhs] = eq.replace(/\s+/g, "").split("->") as [string, string | undefined];
  const terms = lhs.split(",");
  const ellRank = Math.max(0, ...terms.map((t, i) => (t.includes("...") ? ranks[i]! - (t.length - 3) : 0)));
  const ell = (n: number): string[] => Array.from({ length: n }, (_, k) => String(ellRank - n + k));
  const expand = (t: string, n: number): string[] => {
    const i = t.indexOf("...");
    return i < 0 ? [...t] : [...t.slice(0, i), ...ell(n), ...t.slice(i + 3)];
  };
  const inputs = terms.map((t, i) => expand(t, t.includes("...") ? ranks[i]! - (t.length - 3) : 0));
  if (rhs !== undefined) return { inputs, output: expand(rhs, ellRank) };
  const count = new Map<string, number>();
  for (const l of inputs.flat()) if (!/[0-9]/.test(l)) count.set(l, (count.get(l) ?? 0) + 1);
  const once = [...count].filter(([, c]) => c === 1).map(([l]) => l);
  return { inputs, output: [...ell(ellRank), ...once.sort()] };
}

/** Takes the diagonal of repeated labels within one operand ("ii->i"). */
function diagonal(ctx: LowerContext, x: Labelled): Labelled {
  const { b } = ctx;
  let { t, labels } = x;
  for (let q = labels.length - 1; q > 0; q--) {
    const p = labels.indexOf(labels[q]!);
    if (p === q) continue;
    const s = b.shape(t);
    const mask = b.cast(b.binary("eq", b.iota(s, p), b.iota(s, q)), b.dtype(t));
    t = b.sum(b.times(t, mask), [q]);
    labels = labels.filter((_, i) => i !== q);
  }
  return { t, labels };
}

/** Sums away labels not in `keep`, then orders the axes as `order` (a superset of what remains). */
function sumAndOrder(ctx: LowerContext, x: Labelled, keep: ReadonlySet<string>, order: readonly string[]): Labelled {
  const { b } = ctx;
  const drop = x.labels.flatMap((l, i) => (keep.has(l) ? [] : [i]));
  const t = b.sum(x.t, drop);
  const labels = x.labels.filter((l) => keep.has(l));
  const sorted = order.filter((l) => labels.includes(l));
  return {
    t: b.transpose(
      t,
      sorted.map((l) => labels.indexOf(l)),
    ),
    labels: sorted,
  };
}

/** Contracts two labelled tensors over the labels neither `later` nor the output needs. */
function contractPair(
  ctx: LowerContext,
  x: Labelled,
  y: Labelled,
  needed: ReadonlySet<string>,
  size: ReadonlyMap<string, number>,
): Labelled {
  const { b } = ctx;
  const inX = new Set(x.labels);
  const inY = new Set(y.labels);
  const batch = x.labels.filter((l) => inY.has(l) && needed.has(l));
  const sum = x.labels.filter((l) => inY.has(l) && !needed.has(l));
  const left = x.labels.filter((l) => !inY.has(l) && needed.has(l));
  const right = y.labels.filter((l) => !inX.has(l) && needed.has(l));
  const keepX = new Set([...batch, ...sum, ...left]);
  const keepY = new Set([...batch, ...sum, ...right]);
  const xs = sumAndOrder(ctx, x, keepX, [...batch, ...left, ...sum]);
  const ys = sumAndOrder(ctx, y, keepY, [...batch, ...sum, ...right]);
  const n = (ls: readonly string[]): number => ls.reduce((p, l) => p * size.get(l)!, 1);
  // size-1 axes broadcast against the other operand (torch does this across operands)
  const full = (z: Labelled): T =>
    b.broadcastTo(
      z.t,
      z.labels.map((l) => size.get(l)!),
    );
  const a3 = b.reshape(full(xs), [n(batch), n(left), n(sum)]);
  const b3 = b.reshape(full(ys), [n(batch), n(sum), n(right)]);
  const labels = [...batch, ...left, ...right];
  return {
    t: b.reshape(
      b.matmul(a3, b3),
      labels.map((l) => size.get(l)!),
    ),
    labels,
  };
}

function lowerEinsum(ctx: LowerContext): readonly T[] {
  const { b } = ctx;
  const xs = ctx.inputs.filter((t): t is T => t !== undefined);
  const { inputs, output } = expandEquation(
    str(ctx, "equation"),
    xs.map((t) => b.rank(t)),
  );
  const size = new Map<string, number>();
  inputs.forEach((ls, i) => ls.forEach((l, k) => size.set(l, Math.max(size.get(l) ?? 1, b.shape(xs[i]!)[k]!))));
  let acc = diagonal(ctx, { t: xs[0]!, labels: inputs[0]! });
  for (let i = 1; i < xs.length; i++) {
    const needed = new Set([...output, ...inputs.slice(i + 1).flat()]);
    acc = contractPair(ctx, acc, diagonal(ctx, { t: xs[i]!, labels: inputs[i]! }), needed, size);
  }
  const res = sumAndOrder(ctx, acc, new Set(output), output);
  return [b.broadcastTo(res.t, outShape(ctx))];
}

// PyTorch (compiler/ops/torch-mapping.ts): nn.Linear / nn.Bilinear when the layer owns its
// weights, their functional forms when a weight is shared with another layer.
const TORCH: TorchTable = {
  linear: {
    layer: (c) =>
      pyCall("nn.Linear", [String(c.paramShapes[0]![1]), String(c.paramShapes[0]![0])], { bias: c.py(c.paramShapes.length > 1) }),
    forward: (c) => (c.layer ? `${c.layer}(${arg(c, 0)})` : pyCall("F.linear", [arg(c, 0), ...c.params])),
  },
  matmul: { forward: (c) => pyCall("torch.matmul", [arg(c, 0), arg(c, 1)]) },
  bilinear: {
    layer: (c) => {
      const [out, in1, in2] = c.paramShapes[0]!;
      return pyCall("nn.Bilinear", [String(in1), String(in2), String(out)], { bias: c.py(c.paramShapes.length > 1) });
    },
    forward: (c) => (c.layer ? `${c.layer}(${arg(c, 0)}, ${arg(c, 1)})` : pyCall("F.bilinear", [arg(c, 0), arg(c, 1), ...c.params])),
  },
  einsum: { forward: (c) => pyCall("torch.einsum", [c.py(c.attrs.equation), ...c.inputs.map((_, i) => arg(c, i))]) },
};

export const ops: OpDef[] = withTorch([linear, matmul, bilinear, einsum], TORCH);
