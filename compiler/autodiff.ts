// Reverse-mode automatic differentiation as a compiler pass: given a primitive graph, a
// scalar result and the nodes to differentiate with respect to, it appends the backward
// computation to the same graph, built from the primitives' vector-Jacobian products
// (compiler/prim/vjp.ts). Only nodes on a path from a requested node to the result get
// backward work, so frozen parameters and data inputs cost nothing; a value used several
// times (an RNN weight over time steps, tied embeddings, siamese towers) accumulates its
// cotangents. Because the result is an ordinary graph, it can be differentiated again.

import type { PrimBuilder, T } from "./prim/builder.js";
import { NON_DIFFERENTIABLE, VJP } from "./prim/vjp.js";

export class AutodiffError extends Error {}

/**
 * Cotangents of `wrt` for the output `y` (a scalar, or any node when `seed` gives its
 * cotangent). A requested node that does not influence `y` gets undefined.
 */
export function gradients(b: PrimBuilder, y: T, wrt: readonly T[], seed?: T): (T | undefined)[] {
  const end = y + 1;
  if (seed === undefined && b.shape(y).length !== 0)
    throw new AutodiffError(`gradients of a non-scalar (shape [${b.shape(y).join(", ")}]) need a seed cotangent`);
  if (b.dtype(y) !== "f32") throw new AutodiffError("only floating-point results can be differentiated");

  // Forward: nodes that depend on a requested node (and so may carry a gradient).
  const fromWrt = new Uint8Array(end);
  for (const w of wrt) if (w < end) fromWrt[w] = 1;
  for (let id = 0; id < end; id++) {
    const n = b.nodes[id]!;
    if (fromWrt[id] || NON_DIFFERENTIABLE.has(n.op)) continue;
    if (n.inputs.some((i) => fromWrt[i])) fromWrt[id] = 1;
  }
  // Backward: of those, the ones `y` depends on.
  const live = new Uint8Array(end);
  live[y] = fromWrt[y]!;
  for (let id = y; id >= 0; id--) {
    if (!live[id]) continue;
    const n = b.nodes[id]!;
    if (NON_DIFFERENTIABLE.has(n.op)) continue;
    for (const i of n.inputs) if (fromWrt[i] && b.dtype(i) === "f32") live[i] = 1;
  }

  // Cotangent contributions per node, combined when the node is reached (all its consumers,
  // which come later in the graph, have been processed by then).
  const parts = new Map<T, T[]>();
  const accumulate = (id: T, g: T): void => {
    const list = parts.get(id);
    if (list) list.push(g);
    else parts.set(id, [g]);
  };
  const cot = new Map<T, T>();
  cot.set(y, seed ?? b.scalar(1));

  for (let id = y; id >= 0; id--) {
    const list = parts.get(id);
    if (list) cot.set(id, combine(b, list));
    const dy = cot.get(id);
    if (dy === undefined || !live[id]) continue;
    const n = b.nodes[id]!;
    if (n.inputs.length === 0 || NON_DIFFERENTIABLE.has(n.op)) continue;
    const rule = VJP[n.op];
    if (!rule)
      throw new AutodiffError(
        `the primitive '${n.op}' has no derivative${n.op.endsWith("_grad") ? " (it is itself a gradient; second derivatives of it are not supported)" : ""}`,
      );
    const wants = n.inputs.map((i) => live[i] === 1);
    const grads = withSite(b, n, () => rule(b, n, dy, wants));
    n.inputs.forEach((input, k) => {
      const g = grads[k];
      if (wants[k] && g !== undefined) accumulate(input, g);
    });
  }
  return wrt.map((w) => cot.get(w));
}

/**
 * The sum of a value's cotangent contributions. A weight shared across the steps of an
 * unrolled sequence gets one contribution per step, each a product aᵢᵀ·dyᵢ with a short inner
 * size (the batch): Σ aᵢᵀ·dyᵢ = [a₁; …; aₙ]ᵀ·[dy₁; …; dyₙ] is one long product instead of n
 * full-size products and n − 1 full-size additions. (The per-step products, now unused, are
 * dropped by the executor's dead-node elimination.)
 */
function combine(b: PrimBuilder, list: readonly T[]): T {
  if (list.length === 1) return list[0]!;
  const groups = new Map<string, T[]>();
  const rest: T[] = [];
  for (const g of list) {
    const n = b.nodes[g]!;
    const [a, d] = n.inputs;
    if (n.op === "matmul" && n.attrs.transA === true && n.attrs.transB !== true && b.rank(a!) === 2 && b.rank(d!) === 2) {
      const key = `${b.shape(a!)[1]}x${b.shape(d!)[1]}`;
      const group = groups.get(key) ?? [];
      group.push(g);
      groups.set(key, group);
    } else rest.push(g);
  }
  for (const group of groups.values()) {
    if (group.length === 1) {
      rest.push(group[0]!);
      continue;
    }
    const as = group.map((g) => b.nodes[g]!.inputs[0]!);
    const ds = group.map((g) => b.nodes[g]!.inputs[1]!);
    rest.push(b.matmul(b.concat(as, 0), b.concat(ds, 0), true, false));
  }
  return rest.reduce((acc, g) => b.plus(acc, g));
}

/** Backward nodes remember the forward op they differentiate, for errors and --explain. */
function withSite<R>(b: PrimBuilder, n: { origin?: unknown; instance?: string; nofuse?: true }, f: () => R): R {
  const saved = b.site;
  b.site = {
    ...(n.origin ? { origin: n.origin as never } : {}),
    ...(n.instance ? { instance: `${n.instance} (backward)` } : {}),
    ...(n.nofuse ? { nofuse: true as const } : {}), // `@nofuse` covers the op's backward pass too
  };
  try {
    return f();
  } finally {
    b.site = saved;
  }
}
