// The kernel builders of the attention primitives (compiler/prim/attention.ts) for the CPU
// executor and generated modules: plan the tiles and row statistics once, run the streaming
// kernels of kernels/attention.ts per call.

import { attentionAttrs, attentionDims, maskIndex } from "../../compiler/prim/attention.js";
import type { Ctx, Kernel } from "./builders.js";
import { attentionBackward, attentionForward, attentionPlan, type AttentionPlan } from "./kernels/attention.js";

function plan({ n, ins, shapes }: Ctx): AttentionPlan {
  const dims = attentionDims(shapes[0]!, shapes[1]!, shapes[2]!);
  const attrs = attentionAttrs(n);
  if (attrs.mask === "none") return attentionPlan(dims, attrs);
  const data = ins[3]!;
  if (data instanceof Int32Array) throw new Error(`executor: attention (node ${n.id}) has an integer mask`);
  return attentionPlan(dims, attrs, { data, index: maskIndex(shapes[3]!, dims) });
}

function floats(ctx: Ctx, at: readonly number[]): Float32Array[] {
  const bufs = [ctx.out, ...at.map((i) => ctx.ins[i]!)];
  if (!bufs.every((b) => b instanceof Float32Array)) throw new Error(`executor: ${ctx.n.op} (node ${ctx.n.id}) supports f32 only`);
  return bufs as Float32Array[];
}

export function attentionKernel(ctx: Ctx): Kernel {
  const pl = plan(ctx);
  const [out, q, k, v] = floats(ctx, [0, 1, 2]);
  return () => attentionForward(pl, q!, k!, v!, out!);
}

export function attentionGradKernel(ctx: Ctx): Kernel {
  const pl = plan(ctx);
  const last = ctx.ins.length - 1;
  const [out, q, k, v, a, dy] = floats(ctx, [0, 1, 2, last - 1, last]);
  return () => attentionBackward(pl, q!, k!, v!, a!, dy!, out!);
}
