// WGSL for the three convolution primitives (conv, conv_input_grad, conv_weight_grad), any
// number of spatial axes, with stride, padding, dilation and groups as the primitive has them
// (runtime/cpu/reference.ts). Each is an implicit GEMM on the shared tiles (gemm-tiles.ts), one
// GEMM per group (the GEMM's batch axis z), whose im2col operand is gathered on the fly:
//
//   conv              y[b, g·Og + o, p]  = Σ_(c,k)  w[g·Og + o, c, k] · x[b, g·Cg + c, p·s − lo + k·d]
//                     M = Og, N = B·P, K = Cg·KK
//   conv_input_grad   dx[b, g·Cg + c, q] = Σ_(o,k)  w[g·Og + o, c, k] · dy[b, g·Og + o, (q + lo − k·d) / s]
//                     M = Cg, N = B·Q, K = Og·KK (terms whose quotient is not exact or in range are 0)
//   conv_weight_grad  dw[g·Og + o, c, k] = Σ_(b,p)  dy[b, g·Og + o, p] · x[b, g·Cg + c, p·s − lo + k·d]
//                     M = Og, N = Cg·KK, K = B·P
//
// (P output, Q input, KK kernel positions, all flattened.) Where the GEMM would be mostly
// padding (depthwise convolutions, a handful of channels) the direct kernels of
// conv-direct.ts are better, and convolution picks them.

import { numelOf, type PNode } from "../../prim/ir.js";
import { directConvInputGradKernel, directConvKernel, directConvWeightGradKernel } from "./conv-direct.js";
import { chooseGemmTiles, emitGemm, type GemmEpilogue, type GemmProblem, type GemmTiles } from "./gemm-tiles.js";
import type { KernelTarget, WgslGenerator, WgslKernel } from "./kernel.js";
import { windowOf, type WindowGeometry } from "./window.js";
import { offsetExpr, splitIndex, WgslWriter } from "./writer.js";

/** The GEMM's M and K below this take the direct kernel: a tile would be mostly padding. */
const MIN_GEMM_SIDE = 8;

interface ConvShape {
  readonly B: number;
  /** input channels, output channels, groups; per group Cg = C / groups, Og = O / groups */
  readonly C: number;
  readonly O: number;
  readonly groups: number;
  /** spatial sizes of the input (x, dx), the output (y, dy) and the kernel */
  readonly inSize: readonly number[];
  readonly outSize: readonly number[];
  readonly kernel: readonly number[];
  readonly window: WindowGeometry;
}

function convShape(node: PNode, x: readonly number[], y: readonly number[], w: readonly number[]): ConvShape {
  const groups = node.attrs["groups"] as number;
  if (!(x.length >= 3 && x.length === y.length && y.length === w.length))
    throw new Error(`${node.op} kernel: node ${node.id} needs [N, C, ...spatial] tensors and a weight of the same rank`);
  return {
    B: x[0]!,
    C: x[1]!,
    O: y[1]!,
    groups,
    inSize: x.slice(2),
    outSize: y.slice(2),
    kernel: w.slice(2),
    window: windowOf(node, w.slice(2)),
  };
}

const Cg = (s: ConvShape) => s.C / s.groups;
const Og = (s: ConvShape) => s.O / s.groups;
const KK = (s: ConvShape) => numelOf(s.kernel);

/** `let {prefix}d = …;` for each axis of `flat` (a u32 expression) split row-major over `sizes`. */
function split(flat: string, sizes: readonly number[], prefix: string): string[] {
  const w = new WgslWriter();
  splitIndex(w, `(${flat})`, sizes, prefix);
  return w.text().trimEnd().split("\n");
}

/**
 * Statements that set q{d} (i32) to the input position of output position p{d} and kernel
 * offset k{d}, and return zero when it falls in padding.
 */
function tapPosition(s: ConvShape): string[] {
  const g = s.window;
  return [
    ...s.kernel.map((_, d) => `let q${d} = i32(p${d} * ${g.stride[d]}u + k${d} * ${g.dilation[d]}u) - ${g.padLo[d]};`),
    `if (${s.inSize.map((n, d) => `q${d} < 0 || q${d} >= ${n}`).join(" || ")}) { return 0.0; }`,
  ];
}

const tapOffset = (s: ConvShape) =>
  offsetExpr(
    s.inSize,
    s.inSize.map((_, d) => `u32(q${d})`),
  );

/** The two operands' bindings, then the output's (or, with an epilogue, its declarations). */
function bindings(epilogue?: GemmEpilogue): string {
  return [
    "@group(0) @binding(0) var<storage, read> in0: array<f32>;",
    "@group(0) @binding(1) var<storage, read> in1: array<f32>;",
    epilogue ? epilogue.declarations : "@group(0) @binding(2) var<storage, read_write> out: array<f32>;",
  ].join("\n");
}

function gemmKernel(node: PNode, problem: GemmProblem, target: KernelTarget, tiles?: GemmTiles): WgslKernel {
  const chosen = tiles ?? chooseGemmTiles(problem, target);
  const { code, workgroups } = emitGemm(problem, chosen, target);
  const where = node.instance ? ` (layer ${node.instance})` : "";
  return {
    label: `${node.op} [${node.shape.join("x")}] implicit GEMM ${problem.M}x${problem.K}x${problem.N} tiled ${chosen.BM}x${chosen.BN}${where}`,
    code,
    workgroups,
  };
}

/** conv as a GEMM: A = the weights of group z, B = the im2col view of x (gathered); with `epilogue`, y's elements go through it. */
export function gemmConvKernel(
  node: PNode,
  [x, w]: readonly (readonly number[])[],
  target: KernelTarget,
  tiles?: GemmTiles,
  epilogue?: GemmEpilogue,
): WgslKernel {
  const s = convShape(node, x!, node.shape, w!);
  const [cg, og, kk, P, S] = [Cg(s), Og(s), KK(s), numelOf(s.outSize), numelOf(s.inSize)];
  const flat = `(n / ${P}u) * ${s.O * P}u + (z * ${og}u + m) * ${P}u + n % ${P}u`;
  const problem: GemmProblem = {
    batch: s.groups,
    M: og,
    N: s.B * P,
    K: cg * kk,
    scalar: "f32",
    declarations: bindings(epilogue),
    a: { load: `return in1[(z * ${og}u + row) * ${cg * kk}u + k];`, contiguous: "k" },
    b: {
      load: [
        `let c = k / ${kk}u;`,
        ...split(`k % ${kk}u`, s.kernel, "k"),
        `let b = col / ${P}u;`,
        ...split(`col % ${P}u`, s.outSize, "p"),
        ...tapPosition(s),
        `return in0[b * ${s.C * S}u + (z * ${cg}u + c) * ${S}u + ${tapOffset(s)}];`,
      ].join("\n"),
      contiguous: "outer",
    },
    store: epilogue ? `epilogue(${flat}, v);` : `out[${flat}] = v;`,
  };
  return gemmKernel(node, problem, target, tiles);
}

/** conv_input_grad as a GEMM: A = the weights of group z read per input channel, B = dy gathered at the windows holding each input cell. */
export function gemmConvInputGradKernel(
  node: PNode,
  [dy, w]: readonly (readonly number[])[],
  target: KernelTarget,
  tiles?: GemmTiles,
): WgslKernel {
  const s = convShape(node, node.shape, dy!, w!);
  const [cg, og, kk, P, S] = [Cg(s), Og(s), KK(s), numelOf(s.outSize), numelOf(s.inSize)];
  const g = s.window;
  const problem: GemmProblem = {
    batch: s.groups,
    M: cg,
    N: s.B * S,
    K: og * kk,
    scalar: "f32",
    declarations: bindings(),
    a: { load: `return in1[((z * ${og}u + k / ${kk}u) * ${cg}u + row) * ${kk}u + k % ${kk}u];`, contiguous: "k" },
    b: {
      load: [
        `let o = k / ${kk}u;`,
        ...split(`k % ${kk}u`, s.kernel, "k"),
        `let b = col / ${S}u;`,
        ...split(`col % ${S}u`, s.inSize, "q"),
        // the output position whose window reaches q with offset k, if there is one
        ...s.kernel.map((_, d) => `let t${d} = i32(q${d} + ${g.padLo[d]}u) - i32(k${d} * ${g.dilation[d]}u);`),
        `if (${s.kernel.map((_, d) => `t${d} < 0 || t${d} % ${g.stride[d]} != 0 || t${d} / ${g.stride[d]} >= ${s.outSize[d]}`).join(" || ")}) { return 0.0; }`,
        `return in0[b * ${s.O * P}u + (z * ${og}u + o) * ${P}u + ${offsetExpr(
          s.outSize,
          s.outSize.map((_, d) => `u32(t${d} / ${g.stride[d]})`),
        )}];`,
      ].join("\n"),
      contiguous: "outer",
    },
    store: `out[(n / ${S}u) * ${s.C * S}u + (z * ${cg}u + m) * ${S}u + n % ${S}u] = v;`,
  };
  return gemmKernel(node, problem, target, tiles);
}

/** conv_weight_grad as a GEMM over the batch and output positions: A = dy of group z, B = the im2col view of x. */
export function gemmConvWeightGradKernel(
  node: PNode,
  [x, dy]: readonly (readonly number[])[],
  target: KernelTarget,
  tiles?: GemmTiles,
): WgslKernel {
  const s = convShape(node, x!, dy!, node.shape);
  const [cg, og, kk, P, S] = [Cg(s), Og(s), KK(s), numelOf(s.outSize), numelOf(s.inSize)];
  const problem: GemmProblem = {
    batch: s.groups,
    M: og,
    N: cg * kk,
    K: s.B * P,
    scalar: "f32",
    declarations: bindings(),
    a: { load: `return in1[(k / ${P}u) * ${s.O * P}u + (z * ${og}u + row) * ${P}u + k % ${P}u];`, contiguous: "k" },
    b: {
      load: [
        `let c = col / ${kk}u;`,
        ...split(`col % ${kk}u`, s.kernel, "k"),
        `let b = k / ${P}u;`,
        ...split(`k % ${P}u`, s.outSize, "p"),
        ...tapPosition(s),
        `return in0[b * ${s.C * S}u + (z * ${cg}u + c) * ${S}u + ${tapOffset(s)}];`,
      ].join("\n"),
      contiguous: "k",
    },
    store: `out[(z * ${og}u + m) * ${cg * kk}u + n] = v;`,
  };
  return gemmKernel(node, problem, target, tiles);
}

/** Whether a GEMM of these sides is worth its tiles (else the direct kernel). */
const gemmPays = (m: number, k: number) => m >= MIN_GEMM_SIDE && k >= MIN_GEMM_SIDE;

/** Whether conv takes the implicit GEMM (else the direct kernel) for these input shapes. */
export function convUsesGemm(node: PNode, [x, w]: readonly (readonly number[])[]): boolean {
  const s = convShape(node, x!, node.shape, w!);
  return gemmPays(Og(s), Cg(s) * KK(s));
}

export const convKernel: WgslGenerator = (node, shapes, target, dtypes) =>
  convUsesGemm(node, shapes) ? gemmConvKernel(node, shapes, target) : directConvKernel(node, shapes, target, dtypes);

export const convInputGradKernel: WgslGenerator = (node, shapes, target, dtypes) => {
  const s = convShape(node, node.shape, shapes[0]!, shapes[1]!);
  return gemmPays(Cg(s), Og(s) * KK(s))
    ? gemmConvInputGradKernel(node, shapes, target)
    : directConvInputGradKernel(node, shapes, target, dtypes);
};

export const convWeightGradKernel: WgslGenerator = (node, shapes, target, dtypes) => {
  const s = convShape(node, shapes[0]!, shapes[1]!, node.shape);
  return gemmPays(Og(s), s.B * numelOf(s.outSize)) && Cg(s) * KK(s) >= MIN_GEMM_SIDE
    ? gemmConvWeightGradKernel(node, shapes, target)
    : directConvWeightGradKernel(node, shapes, target, dtypes);
};
