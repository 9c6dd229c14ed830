// Sliding-window geometry shared by the pooling and convolution kernels: output position p
// and kernel offset k meet input position q = p·stride − padLo + k·dilation on each axis
// (runtime/cpu/reference.ts, inputPos), and the inverse, the output positions whose window
// holds a given input position.

import type { PNode } from "../../prim/ir.js";
import { splitIndex, type WgslWriter } from "./writer.js";

export interface WindowGeometry {
  readonly kernel: readonly number[];
  readonly stride: readonly number[];
  readonly padLo: readonly number[];
  readonly dilation: readonly number[];
}

export function windowOf(node: PNode, kernel: readonly number[] = node.attrs["kernel"] as number[]): WindowGeometry {
  const a = node.attrs;
  return { kernel, stride: a["stride"] as number[], padLo: a["padLo"] as number[], dilation: a["dilation"] as number[] };
}

const product = (xs: readonly number[]): number => xs.reduce((p, q) => p * q, 1);

/**
 * A loop over the kernel offsets k0.. (flat index `kk`) that computes the input position
 * q0.. (i32) of output position p0.. (u32 expressions) and runs `body` with `inside` naming a
 * bool that says whether q lies in `inSize` (not in padding).
 */
export function forEachTap(
  w: WgslWriter,
  g: WindowGeometry,
  p: readonly string[],
  inSize: readonly number[],
  body: (w: WgslWriter, inside: string) => void,
): void {
  w.block(`for (var kk = 0u; kk < ${product(g.kernel)}u; kk++)`, (b) => {
    splitIndex(b, "kk", g.kernel, "k");
    g.kernel.forEach((_, d) => b.line(`let q${d} = i32(${p[d]} * ${g.stride[d]}u + k${d} * ${g.dilation[d]}u) - ${g.padLo[d]};`));
    b.line(`let inside = ${inSize.map((s, d) => `q${d} >= 0 && q${d} < ${s}`).join(" && ") || "true"};`);
    body(b, "inside");
  });
}

/**
 * A loop over the kernel offsets k0.. whose windows hold input position q0.. (i32
 * expressions): `body` runs for each with the output position p0.. (u32) of that window.
 */
export function forEachWindowHolding(
  w: WgslWriter,
  g: WindowGeometry,
  q: readonly string[],
  outSize: readonly number[],
  body: (w: WgslWriter) => void,
): void {
  w.block(`for (var kk = 0u; kk < ${product(g.kernel)}u; kk++)`, (b) => {
    splitIndex(b, "kk", g.kernel, "k");
    g.kernel.forEach((_, d) => {
      b.line(`let t${d} = ${q[d]} + ${g.padLo[d]} - i32(k${d} * ${g.dilation[d]}u);`);
      b.line(`if (t${d} < 0 || t${d} % ${g.stride[d]} != 0 || t${d} / ${g.stride[d]} >= ${outSize[d]}) { continue; }`);
      b.line(`let p${d} = u32(t${d} / ${g.stride[d]});`);
    });
    body(b);
  });
}
