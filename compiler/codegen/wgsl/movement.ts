// Data movement and indexing kernels, one thread per output element: transpose, broadcast_to,
// slice, pad, concat, gather, scatter_add, one_hot. Semantics as runtime/cpu/reference.ts;
// where the reference throws on an index outside [0, size) (gather, scatter_add) a kernel
// cannot, so such an index reads (gather) or contributes (scatter_add) zero.

import { numelOf, stridesOf, type PDType, type PNode } from "../../prim/ir.js";
import type { KernelTarget, WgslGenerator, WgslKernel } from "./kernel.js";
import { itemKernel, literal, offsetExpr, splitIndex, standardBindings, broadcastOffsetExpr, type WgslWriter } from "./writer.js";

const nums = (n: PNode, key: string): number[] => n.attrs[key] as number[];

/** A kernel writing `out[i] = expr` after splitting i over the node's shape into o0, o1, …. */
function gatherLike(node: PNode, inputDtypes: readonly PDType[], target: KernelTarget, body: (w: WgslWriter) => void): WgslKernel {
  return itemKernel(
    {
      label: `${node.op} [${node.shape.join("x")}]`,
      bindings: standardBindings(inputDtypes, node.dtype),
      count: numelOf(node.shape),
      body: (w) => {
        splitIndex(w, "i", node.shape, "o");
        body(w);
      },
    },
    target,
  );
}

export const transposeKernel: WgslGenerator = (node, [x], target, dtypes) => {
  const perm = nums(node, "perm");
  const st = stridesOf(x!);
  const terms = perm.map((p, d) => (x![p] === 1 ? undefined : st[p] === 1 ? `o${d}` : `o${d} * ${st[p]}u`)).filter(Boolean);
  return gatherLike(node, dtypes, target, (w) => w.line(`out[i] = in0[${terms.join(" + ") || "0u"}];`));
};

export const broadcastToKernel: WgslGenerator = (node, [x], target, dtypes) =>
  gatherLike(node, dtypes, target, (w) => w.line(`out[i] = in0[${broadcastOffsetExpr(x!, node.shape.length, "o")}];`));

export const sliceKernel: WgslGenerator = (node, [x], target, dtypes) => {
  const starts = nums(node, "starts");
  const steps = nums(node, "steps");
  const src = node.shape.map((_, d) => `(${starts[d]}u + o${d} * ${steps[d]}u)`);
  return gatherLike(node, dtypes, target, (w) => w.line(`out[i] = in0[${offsetExpr(x!, src)}];`));
};

export const padKernel: WgslGenerator = (node, [x], target, dtypes) => {
  const lo = nums(node, "lo");
  const value = literal(node.attrs["value"] as number, node.dtype);
  return gatherLike(node, dtypes, target, (w) => {
    // unsigned wrap-around makes a position before the data large, so one comparison per axis suffices
    x!.forEach((size, d) => w.line(`let s${d} = o${d} - ${lo[d]}u;`));
    const inside = x!.map((size, d) => `s${d} < ${size}u`).join(" && ") || "true";
    w.block(`if (${inside})`, (b) =>
      b.line(
        `out[i] = in0[${offsetExpr(
          x!,
          x!.map((_, d) => `s${d}`),
        )}];`,
      ),
    );
    w.line(`else { out[i] = ${value}; }`);
  });
};

export const concatKernel: WgslGenerator = (node, xs, target, dtypes) => {
  const axis = node.attrs["axis"] as number;
  return gatherLike(node, dtypes, target, (w) => {
    let start = 0;
    xs.forEach((s, k) => {
      const end = start + s[axis]!;
      const index = node.shape.map((_, d) => (d === axis ? `(o${d} - ${start}u)` : `o${d}`));
      const read = `out[i] = in${k}[${offsetExpr(s, index)}];`;
      if (k === xs.length - 1) w.line(`{ ${read} }`);
      else w.line(`if (o${axis} < ${end}u) { ${read} return; }`);
      start = end;
    });
  });
};

/** The index at the output's axes [axis, axis + k) read from in1 (an i32 tensor of `idxShape`). */
function indexRead(idxShape: readonly number[], axis: number, prefix: string): string {
  return `in1[${offsetExpr(
    idxShape,
    idxShape.map((_, d) => `${prefix}${axis + d}`),
  )}]`;
}

export const gatherKernel: WgslGenerator = (node, [x, ix], target, dtypes) => {
  const axis = node.attrs["axis"] as number;
  const k = ix!.length;
  const rank = x!.length;
  const src = Array.from({ length: rank }, (_, d) => (d < axis ? `o${d}` : d === axis ? "u32(row)" : `o${d + k - 1}`));
  return gatherLike(node, dtypes, target, (w) => {
    w.line(`let row = ${indexRead(ix!, axis, "o")};`);
    w.line(`if (row < 0 || row >= ${x![axis]}) { out[i] = ${literal(0, node.dtype)}; return; }`);
    w.line(`out[i] = in0[${offsetExpr(x!, src)}];`);
  });
};

/**
 * Each output cell sums, in index order, the updates whose index names its row: no atomics
 * (WGSL has none for floats) and the same order on every run.
 */
export const scatterAddKernel: WgslGenerator = (node, [u, ix], target, dtypes) => {
  const axis = node.attrs["axis"] as number;
  const positions = numelOf(ix!);
  const zero = literal(0, node.dtype);
  // the update's index: the output's leading axes, the index position's axes, the output's trailing axes
  const rank = node.shape.length;
  const uIndex = [
    ...Array.from({ length: axis }, (_, d) => `o${d}`),
    ...ix!.map((_, d) => `j${d}`),
    ...Array.from({ length: rank - axis - 1 }, (_, d) => `o${axis + 1 + d}`),
  ];
  return gatherLike(node, dtypes, target, (w) => {
    w.line(`var acc = ${zero};`);
    w.block(`for (var j = 0u; j < ${positions}u; j++)`, (b) => {
      b.line(`if (in1[j] != i32(o${axis})) { continue; }`);
      splitIndex(b, "j", ix!, "j");
      const sum = node.dtype === "bool" ? `acc = acc | in0[${offsetExpr(u!, uIndex)}];` : `acc = acc + in0[${offsetExpr(u!, uIndex)}];`;
      b.line(sum);
    });
    w.line("out[i] = acc;");
  });
};

export const oneHotKernel: WgslGenerator = (node, _inputShapes, target, dtypes) => {
  const depth = node.attrs["depth"] as number;
  return itemKernel(
    {
      label: `one_hot [${node.shape.join("x")}]`,
      bindings: standardBindings(dtypes, node.dtype),
      count: numelOf(node.shape),
      body: (w) =>
        w.line(`out[i] = select(${literal(0, node.dtype)}, ${literal(1, node.dtype)}, in0[i / ${depth}u] == i32(i % ${depth}u));`),
    },
    target,
  );
};
