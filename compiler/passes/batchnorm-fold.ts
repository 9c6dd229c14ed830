// Batch-norm folding for inference: a convolution followed by per-output-channel affine work
// (batch norm in eval mode: subtract the running mean, multiply by rsqrt(var + eps) and by
// gamma, add beta) becomes one convolution with scaled weights plus a per-channel bias.
// The scaling runs on weight-sized and channel-sized tensors instead of activation-sized ones,
// and the conv's output no longer passes through memory three or four more times.
//
// Rules, applied in schedule order so a chain folds step by step (conv's result, or conv plus
// a per-channel bias, read by nothing but the next step):
//   conv(x, W) · s          → conv(x, W · s)                      (s per output channel)
//   (conv(x, W) + b) · s    → conv(x, W · s) + b · s
//   conv(x, W) − m          → conv(x, W) + (−m)
//   (conv(x, W) + b) − m    → conv(x, W) + (b − m)
//   (conv(x, W) + b) + t    → conv(x, W) + (b + t)
// A weight scaled twice is scaled once by the product of the scales. These are exact in real
// arithmetic, not in float32: the folded program differs from the unfolded one by rounding
// (a few float32 ulps of the conv's output per element; the tests allow 1e-5 relative).
// A value that something else reads, or that is a named output, is never folded into another.

import type { PGraph, PNode } from "../prim/ir.js";
import { outputNodes, rewriteGraph, sameShape, siteOf, type GraphRewriter, type Rewritten } from "./rewrite.js";

interface ConvForm {
  readonly conv: PNode;
  /** the per-channel bias added to it, as a [C] node */
  readonly bias?: number;
}

export function foldBatchNorm(graph: PGraph): Rewritten {
  const isOutput = outputNodes(graph);
  const readers = new Int32Array(graph.nodes.length);
  for (const n of graph.nodes) for (const i of n.inputs) readers[i]++;
  /** new nodes read once: the images of old nodes read once, and what the rules build */
  const single = new Set<number>();
  /** weights this pass scaled: the original weight and the [C] scale */
  const scaled = new Map<number, { readonly weight: number; readonly scale: number }>();

  return rewriteGraph(graph, (old: PNode, rw: GraphRewriter) => {
    const folded = isOutput[old.id] ? undefined : foldNode(old, rw);
    const id = folded ?? rw.copy(old);
    if (readers[old.id] === 1 && !isOutput[old.id]) single.add(id);
    return id;
  });

  function foldNode(old: PNode, rw: GraphRewriter): number | undefined {
    if (old.op !== "mul" && old.op !== "add" && old.op !== "sub") return undefined;
    const sides = old.op === "sub" ? [0] : [0, 1];
    for (const k of sides) {
      const inner = rw.mapped(old.inputs[k]!);
      const other = rw.nodes[rw.mapped(old.inputs[1 - k]!)]!;
      const form = convForm(inner, rw);
      if (!form || !sameShape(rw.nodes[inner]!.shape, old.shape) || !perChannel(other, form.conv)) continue;
      const c = channelVector(other.id, form.conv, rw);
      const at = (op: string, a: number, b: number): number =>
        rw.add({ ...siteOf(old), op, inputs: [a, b], attrs: {}, shape: rw.nodes[a]!.shape, dtype: "f32" });
      if (old.op === "mul") {
        const conv = scaledConv(form.conv, c, rw);
        return form.bias === undefined ? conv : biased(conv, at("mul", form.bias, c), rw);
      }
      if (old.op === "add" && form.bias === undefined) return undefined; // conv + b is the folded form itself
      const shift =
        old.op === "sub"
          ? form.bias === undefined
            ? rw.add({ ...siteOf(old), op: "neg", inputs: [c], attrs: {}, shape: rw.nodes[c]!.shape, dtype: "f32" })
            : at("sub", form.bias, c)
          : at("add", form.bias!, c);
      return biased(form.conv.id, shift, rw);
    }
    return undefined;
  }

  /** conv(x, W) read only here, or conv(x, W) + b (b per channel) with both read only here */
  function convForm(id: number, rw: GraphRewriter): ConvForm | undefined {
    const n = rw.nodes[id]!;
    if (!single.has(id) || n.dtype !== "f32") return undefined;
    if (n.op === "conv") return { conv: n };
    if (n.op !== "add") return undefined;
    for (const k of [0, 1]) {
      const conv = rw.nodes[n.inputs[k]!]!;
      const b = rw.nodes[n.inputs[1 - k]!]!;
      if (conv.op === "conv" && single.has(conv.id) && sameShape(conv.shape, n.shape) && perChannel(b, conv))
        return { conv, bias: channelVector(b.id, conv, rw) };
    }
    return undefined;
  }

  /** conv with its weight scaled per output channel by the [C] vector `c` (a weight scaled before: by the product) */
  function scaledConv(conv: PNode, c: number, rw: GraphRewriter): number {
    const w = rw.nodes[conv.inputs[1]!]!;
    const before = scaled.get(w.id);
    const weight = before?.weight ?? w.id;
    const scale = before
      ? rw.add({ ...siteOf(conv), op: "mul", inputs: [before.scale, c], attrs: {}, shape: rw.nodes[c]!.shape, dtype: "f32" })
      : c;
    const perRow = reshape(scale, [w.shape[0]!, ...w.shape.slice(1).map(() => 1)], rw);
    const sw = rw.add({ ...siteOf(conv), op: "mul", inputs: [weight, perRow], attrs: {}, shape: w.shape, dtype: "f32" });
    scaled.set(sw, { weight, scale });
    const id = rw.add({ ...conv, inputs: [conv.inputs[0]!, sw] });
    single.add(id);
    return id;
  }

  /** conv + b, b a [C] vector laid out along the channel axis */
  function biased(conv: number, b: number, rw: GraphRewriter): number {
    const n = rw.nodes[conv]!;
    const laid = reshape(
      b,
      n.shape.map((d, i) => (i === 1 ? d : 1)),
      rw,
    );
    const id = rw.add({ ...siteOf(n), op: "add", inputs: [conv, laid], attrs: {}, shape: n.shape, dtype: "f32" });
    single.add(id);
    return id;
  }
}

/** Whether `v` broadcasts against conv's output [N, C, ...] as one value per output channel. */
function perChannel(v: PNode, conv: PNode): boolean {
  if (v.dtype !== "f32" || v.shape.length > conv.shape.length) return false;
  const padded = [...Array<number>(conv.shape.length - v.shape.length).fill(1), ...v.shape];
  return padded.every((d, i) => (i === 1 ? d === conv.shape[1] : d === 1));
}

/** A per-channel value as a [C] vector. */
function channelVector(id: number, conv: PNode, rw: GraphRewriter): number {
  return reshape(id, [conv.shape[1]!], rw);
}

function reshape(id: number, shape: readonly number[], rw: GraphRewriter): number {
  const n = rw.nodes[id]!;
  if (sameShape(n.shape, shape)) return id;
  return rw.add({ ...siteOf(n), op: "reshape", inputs: [id], attrs: { shape: [...shape] }, shape, dtype: n.dtype });
}
