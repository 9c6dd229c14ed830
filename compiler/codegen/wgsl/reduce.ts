// Reductions: reduce_sum / reduce_max / reduce_min over any set of axes, and argmax / argmin
// along one. Short reductions run one thread per output; long ones one workgroup per output,
// each thread striding over the reduced elements and the workgroup combining its partial
// results as a tree in workgroup memory. Semantics as runtime/cpu/reference.ts: max and min
// propagate NaN, i32 sums wrap, bool sum/max are "any" and bool min is "all", arg reductions
// take the first extremum.

import { numelOf, stridesOf, type PDType, type PNode } from "../../prim/ir.js";
import { spreadWorkgroups, type WgslGenerator } from "./kernel.js";
import { helperText, type ScalarHelper } from "./scalar.js";
import { declareBindings, itemKernel, literal, standardBindings, WGSL_TYPE, WgslWriter } from "./writer.js";

/** Reductions at least this long get a workgroup per output. */
const TREE_THRESHOLD = 64;
const TREE_SIZE = 64;

export interface Combiner {
  readonly init: string;
  readonly combine: (a: string, b: string) => string;
  readonly helpers: readonly ScalarHelper[];
}

export function combiner(op: string, dtype: PDType): Combiner {
  const kind = op === "reduce_sum" ? "sum" : op === "reduce_max" ? "max" : "min";
  if (dtype === "bool")
    return kind === "min"
      ? { init: "1u", combine: (a, b) => `(${a} & ${b})`, helpers: [] }
      : { init: "0u", combine: (a, b) => `(${a} | ${b})`, helpers: [] };
  if (kind === "sum") return { init: literal(0, dtype), combine: (a, b) => `(${a} + ${b})`, helpers: [] };
  if (dtype === "i32")
    return kind === "max"
      ? { init: "i32(-2147483648)", combine: (a, b) => `max(${a}, ${b})`, helpers: [] }
      : { init: "2147483647", combine: (a, b) => `min(${a}, ${b})`, helpers: [] };
  return kind === "max"
    ? { init: literal(-Infinity, "f32"), combine: (a, b) => `dlm_max(${a}, ${b})`, helpers: ["dlm_max"] }
    : { init: literal(Infinity, "f32"), combine: (a, b) => `dlm_min(${a}, ${b})`, helpers: ["dlm_min"] };
}

/** Offset expression of flat index `flat` over the sub-shape `axes` of `shape` (strides of the full shape). */
function axesOffset(w: WgslWriter, flat: string, shape: readonly number[], axes: readonly number[], prefix: string): string {
  const st = stridesOf(shape);
  const terms: string[] = [];
  let inner = 1;
  for (let k = axes.length - 1; k >= 0; k--) {
    const size = shape[axes[k]!]!;
    if (size !== 1) {
      const v = `${prefix}${k}`;
      w.line(`let ${v} = ${k === 0 ? `${flat} / ${inner}u` : `(${flat} / ${inner}u) % ${size}u`};`);
      terms.push(`${v} * ${st[axes[k]!]}u`);
    }
    inner *= size;
  }
  return terms.length ? terms.join(" + ") : "0u";
}

export const reduceKernel: WgslGenerator = (node, [x], target, dtypes) => {
  const axes = node.attrs["axes"] as number[];
  const kept = x!.map((_, d) => d).filter((d) => !axes.includes(d));
  const outputs = numelOf(node.shape);
  const length = numelOf(axes.map((a) => x![a]!));
  const c = combiner(node.op, node.dtype);
  const label = `${node.op} [${x!.join("x")}] over (${axes.join(",")})`;
  const reads = (w: WgslWriter, flat: string) => `in0[base + ${axesOffset(w, flat, x!, axes, "r")}]`;
  if (length < TREE_THRESHOLD)
    return itemKernel(
      {
        label,
        bindings: standardBindings(dtypes, node.dtype),
        count: outputs,
        helpers: helperText(c.helpers),
        body: (w) => {
          w.line(`let base = ${axesOffset(w, "i", x!, kept, "k")};`);
          w.line(`var acc = ${c.init};`);
          w.block(`for (var j = 0u; j < ${length}u; j++)`, (b) => b.line(`acc = ${c.combine("acc", reads(b, "j"))};`));
          w.line("out[i] = acc;");
        },
      },
      target,
    );
  const workgroups = spreadWorkgroups(outputs, 1, target);
  const w = new WgslWriter();
  declareBindings(w, standardBindings(dtypes, node.dtype));
  for (const h of helperText(c.helpers)) w.line("", ...h.split("\n"));
  w.line("", `var<workgroup> part: array<${WGSL_TYPE[node.dtype]}, ${TREE_SIZE}>;`, "");
  w.line(`@compute @workgroup_size(${TREE_SIZE})`);
  w.block("fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>)", (b) => {
    // o is the same for the whole workgroup, so returning early keeps the barriers uniform
    b.line(`let o = wid.x + wid.y * ${workgroups[0]}u;`);
    b.line(`if (o >= ${outputs}u) { return; }`);
    b.line(`let base = ${axesOffset(b, "o", x!, kept, "k")};`);
    b.line(`var acc = ${c.init};`);
    b.block(`for (var j = lid.x; j < ${length}u; j += ${TREE_SIZE}u)`, (l) => l.line(`acc = ${c.combine("acc", reads(l, "j"))};`));
    b.line("part[lid.x] = acc;");
    b.line("workgroupBarrier();");
    b.block(`for (var s = ${TREE_SIZE / 2}u; s > 0u; s = s >> 1u)`, (l) => {
      l.line(`if (lid.x < s) { part[lid.x] = ${c.combine("part[lid.x]", "part[lid.x + s]")}; }`);
      l.line("workgroupBarrier();");
    });
    b.line("if (lid.x == 0u) { out[o] = part[0]; }");
  });
  return { label, code: w.text(), workgroups };
};

export const argReduceKernel: WgslGenerator = (node: PNode, [x], target, dtypes) => {
  const axis = node.attrs["axis"] as number;
  const kept = x!.map((_, d) => d).filter((d) => d !== axis);
  const step = stridesOf(x!)[axis]!;
  const better = node.op === "argmax" ? ">" : "<";
  return itemKernel(
    {
      label: `${node.op} [${x!.join("x")}] along ${axis}`,
      bindings: standardBindings(dtypes, node.dtype),
      count: numelOf(node.shape),
      body: (w) => {
        w.line(`let base = ${axesOffset(w, "i", x!, kept, "k")};`);
        w.line("var best = in0[base];", "var at = 0;");
        w.block(`for (var r = 1u; r < ${x![axis]}u; r++)`, (b) => {
          b.line(`let v = in0[base + r * ${step}u];`);
          b.line(`if (v ${better} best) { best = v; at = i32(r); }`);
        });
        w.line("out[i] = at;");
      },
    },
    target,
  );
};
