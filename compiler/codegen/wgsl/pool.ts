// Pooling over the trailing kernel.length axes, forward and backward, one thread per output
// element. The backward kernels gather rather than scatter (one thread per input cell visits
// the windows that hold it), so they need no atomics. Semantics as runtime/cpu/reference.ts:
// padded cells never win a max (a window entirely in padding gives −∞) and the first maximum
// of a window takes its gradient; avg divides by the whole window (countPad) or its real cells.

import { numelOf, type PNode } from "../../prim/ir.js";
import type { WgslGenerator } from "./kernel.js";
import { helperText } from "./scalar.js";
import { itemKernel, literal, offsetExpr, splitIndex, standardBindings, type WgslWriter } from "./writer.js";
import { forEachTap, forEachWindowHolding, windowOf, type WindowGeometry } from "./window.js";

/** The leading (unpooled) axes' index names followed by the pooled axes' given names. */
function cellIndex(lead: number, spatial: readonly string[], prefix = "o"): string[] {
  return [...Array.from({ length: lead }, (_, d) => `${prefix}${d}`), ...spatial];
}

/** Reads of x at the tap's input position q0.. within the window of the current output. */
function tapOffset(xShape: readonly number[], lead: number, nd: number): string {
  return offsetExpr(
    xShape,
    cellIndex(
      lead,
      Array.from({ length: nd }, (_, d) => `u32(q${d})`),
    ),
  );
}

/** The argmax cell (flat offset in x, or -1) of the window at output position p0.. into `at`. */
function windowArgmax(w: WgslWriter, g: WindowGeometry, xShape: readonly number[], lead: number, p: readonly string[]): void {
  const nd = g.kernel.length;
  w.line("var at = -1;", `var best = ${literal(-Infinity, "f32")};`);
  forEachTap(w, g, p, xShape.slice(lead), (b, inside) => {
    b.line(`if (!${inside}) { continue; }`);
    b.line(`let c = i32(${tapOffset(xShape, lead, nd)});`);
    b.line("if (at < 0 || in0[c] > best) { at = c; best = in0[c]; }");
  });
}

export const maxPoolKernel: WgslGenerator = (node, [x], target, dtypes) => {
  const g = windowOf(node);
  const lead = x!.length - g.kernel.length;
  const p = g.kernel.map((_, d) => `o${lead + d}`);
  return poolKernel(
    node,
    dtypes,
    (w) => {
      w.line(`var m = ${literal(-Infinity, "f32")};`);
      forEachTap(w, g, p, x!.slice(lead), (b, inside) =>
        b.line(`if (${inside}) { m = dlm_max(m, in0[${tapOffset(x!, lead, g.kernel.length)}]); }`),
      );
      w.line("out[i] = m;");
    },
    target,
    ["dlm_max"],
  );
};

export const avgPoolKernel: WgslGenerator = (node, [x], target, dtypes) => {
  const g = windowOf(node);
  const lead = x!.length - g.kernel.length;
  const p = g.kernel.map((_, d) => `o${lead + d}`);
  const countPad = node.attrs["countPad"] === true;
  return poolKernel(
    node,
    dtypes,
    (w) => {
      w.line("var s = 0.0;", "var n = 0.0;");
      forEachTap(w, g, p, x!.slice(lead), (b, inside) =>
        b.line(`if (${inside}) { s = s + in0[${tapOffset(x!, lead, g.kernel.length)}]; n = n + 1.0; }`),
      );
      w.line(`out[i] = s / ${countPad ? literal(numelOf(g.kernel), "f32") : "n"};`);
    },
    target,
  );
};

/** dx at each cell: the sum of dy over the windows whose first maximum it is. */
export const maxPoolGradKernel: WgslGenerator = (node, [x, dy], target, dtypes) => {
  const g = windowOf(node);
  const lead = x!.length - g.kernel.length;
  const q = g.kernel.map((_, d) => `i32(o${lead + d})`);
  return poolKernel(
    node,
    dtypes,
    (w) => {
      w.line("let me = i32(i);", "var s = 0.0;");
      forEachWindowHolding(w, g, q, dy!.slice(lead), (b) => {
        const p = g.kernel.map((_, d) => `p${d}`);
        b.block("", (inner) => {
          windowArgmax(inner, g, x!, lead, p);
          inner.line(`if (at == me) { s = s + in1[${offsetExpr(dy!, cellIndex(lead, p))}]; }`);
        });
      });
      w.line("out[i] = s;");
    },
    target,
  );
};

/** dx at each cell: each window's dy shared over the window's divisor. */
export const avgPoolGradKernel: WgslGenerator = (node, [dy], target, dtypes) => {
  const g = windowOf(node);
  const lead = node.shape.length - g.kernel.length;
  const q = g.kernel.map((_, d) => `i32(o${lead + d})`);
  const inSize = node.shape.slice(lead);
  const countPad = node.attrs["countPad"] === true;
  return poolKernel(
    node,
    dtypes,
    (w) => {
      w.line("var s = 0.0;");
      forEachWindowHolding(w, g, q, dy!.slice(lead), (b) => {
        const p = g.kernel.map((_, d) => `p${d}`);
        if (countPad) b.line(`let n = ${literal(numelOf(g.kernel), "f32")};`);
        else b.block("var n = 0.0;", (c) => forEachTap(c, g, p, inSize, (t, inside) => t.line(`if (${inside}) { n = n + 1.0; }`)));
        b.line(`s = s + in0[${offsetExpr(dy!, cellIndex(lead, p))}] / n;`);
      });
      w.line("out[i] = s;");
    },
    target,
  );
};

function poolKernel(
  node: PNode,
  dtypes: readonly PNode["dtype"][],
  body: (w: WgslWriter) => void,
  target: Parameters<WgslGenerator>[2],
  helpers: Parameters<typeof helperText>[0] = [],
) {
  return itemKernel(
    {
      label: `${node.op} [${node.shape.join("x")}] window ${(node.attrs["kernel"] as number[]).join("x")}`,
      bindings: standardBindings(dtypes, node.dtype),
      count: numelOf(node.shape),
      helpers: helperText(helpers),
      body: (w) => {
        splitIndex(w, "i", node.shape, "o");
        body(w);
      },
    },
    target,
  );
}
