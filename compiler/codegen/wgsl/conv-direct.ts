// Direct convolution kernels: one thread per output element, summing in the reference's
// order. conv.ts takes them where an implicit GEMM would be mostly padding (depthwise
// convolutions, a handful of channels).

import { numelOf } from "../../prim/ir.js";
import type { WgslGenerator } from "./kernel.js";
import { itemKernel, offsetExpr, splitIndex, standardBindings, type WgslWriter } from "./writer.js";
import { forEachTap, forEachWindowHolding, windowOf } from "./window.js";

/** Names of the spatial output axes o2.. of an [N, C, ...spatial] tensor. */
const spatialNames = (nd: number, prefix = "o") => Array.from({ length: nd }, (_, d) => `${prefix}${2 + d}`);

/** y[b, o, p] = Σ_{c, k} x[b, g·Cg + c, p·s − lo + k·d] · w[o, c, k], g = o / Og. */
export const directConvKernel: WgslGenerator = (node, [x, wt], target, dtypes) => {
  const groups = node.attrs["groups"] as number;
  const g = windowOf(node, wt!.slice(2));
  const nd = g.kernel.length;
  const [Og, Cg] = [wt![0]! / groups, wt![1]!];
  return convLike(node, dtypes, target, (w) => {
    w.line(`let cbase = (o1 / ${Og}u) * ${Cg}u;`, "var s = 0.0;");
    w.block(`for (var c = 0u; c < ${Cg}u; c++)`, (l) =>
      forEachTap(l, g, spatialNames(nd), x!.slice(2), (t, inside) => {
        const xi = offsetExpr(x!, ["o0", "cbase + c", ...Array.from({ length: nd }, (_, d) => `u32(q${d})`)]);
        const wi = offsetExpr(wt!, ["o1", "c", ...Array.from({ length: nd }, (_, d) => `k${d}`)]);
        t.line(`if (${inside}) { s = s + in0[${xi}] * in1[${wi}]; }`);
      }),
    );
    w.line("out[i] = s;");
  });
};

/** dx[b, ci, q] = Σ over the group's o and the taps that reach q: dy[b, o, p] · w[o, ci mod Cg, k]. */
export const directConvInputGradKernel: WgslGenerator = (node, [dy, wt], target, dtypes) => {
  const groups = node.attrs["groups"] as number;
  const g = windowOf(node, wt!.slice(2));
  const nd = g.kernel.length;
  const [Og, Cg] = [wt![0]! / groups, wt![1]!];
  return convLike(node, dtypes, target, (w) => {
    w.line(`let obase = (o1 / ${Cg}u) * ${Og}u;`, `let c = o1 % ${Cg}u;`, "var s = 0.0;");
    w.block(`for (var oc = obase; oc < obase + ${Og}u; oc++)`, (l) =>
      forEachWindowHolding(
        l,
        g,
        spatialNames(nd).map((n) => `i32(${n})`),
        dy!.slice(2),
        (t) => {
          const dyi = offsetExpr(dy!, ["o0", "oc", ...Array.from({ length: nd }, (_, d) => `p${d}`)]);
          const wi = offsetExpr(wt!, ["oc", "c", ...Array.from({ length: nd }, (_, d) => `k${d}`)]);
          t.line(`s = s + in0[${dyi}] * in1[${wi}];`);
        },
      ),
    );
    w.line("out[i] = s;");
  });
};

/** dw[o, c, k] = Σ_{b, p} x[b, g·Cg + c, p·s − lo + k·d] · dy[b, o, p]. */
export const directConvWeightGradKernel: WgslGenerator = (node, [x, dy], target, dtypes) => {
  const groups = node.attrs["groups"] as number;
  const kernel = node.shape.slice(2);
  const g = windowOf(node, kernel);
  const nd = kernel.length;
  const [Og, Cg] = [node.shape[0]! / groups, node.shape[1]!];
  const outSpatial = dy!.slice(2);
  return convLike(node, dtypes, target, (w) => {
    w.line(`let ci = (o0 / ${Og}u) * ${Cg}u + o1;`, "var s = 0.0;");
    w.block(`for (var bp = 0u; bp < ${dy![0]! * numelOf(outSpatial)}u; bp++)`, (l) => {
      splitIndex(l, "bp", [dy![0]!, ...outSpatial], "m");
      const p = Array.from({ length: nd }, (_, d) => `m${d + 1}`);
      g.kernel.forEach((_, d) => l.line(`let q${d} = i32(${p[d]} * ${g.stride[d]}u + o${2 + d} * ${g.dilation[d]}u) - ${g.padLo[d]};`));
      l.line(
        `if (!(${
          x!
            .slice(2)
            .map((s, d) => `q${d} >= 0 && q${d} < ${s}`)
            .join(" && ") || "true"
        })) { continue; }`,
      );
      const xi = offsetExpr(x!, ["m0", "ci", ...Array.from({ length: nd }, (_, d) => `u32(q${d})`)]);
      const dyi = offsetExpr(dy!, ["m0", "o0", ...p]);
      l.line(`s = s + in0[${xi}] * in1[${dyi}];`);
    });
    w.line("out[i] = s;");
  });
};

function convLike(
  node: Parameters<WgslGenerator>[0],
  dtypes: Parameters<WgslGenerator>[3],
  target: Parameters<WgslGenerator>[2],
  body: (w: WgslWriter) => void,
) {
  return itemKernel(
    {
      label: `${node.op} [${node.shape.join("x")}]`,
      bindings: standardBindings(dtypes, node.dtype),
      count: numelOf(node.shape),
      body: (w) => {
        splitIndex(w, "i", node.shape, "o");
        body(w);
      },
    },
    target,
  );
}
