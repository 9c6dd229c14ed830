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
};

export const ops: OpDef[] = [linear, matmul, bilinear, einsum];
