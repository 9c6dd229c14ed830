// The WGSL rule of every primitive, as one typed table: a primitive added to PRIMITIVES
// (compiler/prim/ir.ts) without a rule here fails tsc. A rule is a kernel generator, or says
// that the host fills the value ("host": inputs and parameters are written from the caller's
// arrays, const and iota once at compile time, random draws every run from the CPU's stream
// so both backends draw the same numbers), or that it shares its input's buffer ("alias").

import { BINARY, UNARY, type PRIMITIVES } from "../../prim/ir.js";
import { convInputGradKernel, convKernel, convWeightGradKernel } from "./conv.js";
import { elementwiseKernel } from "./elementwise.js";
import type { WgslGenerator } from "./kernel.js";
import { matmulKernel } from "./matmul.js";
import {
  broadcastToKernel,
  concatKernel,
  gatherKernel,
  oneHotKernel,
  padKernel,
  scatterAddKernel,
  sliceKernel,
  transposeKernel,
} from "./movement.js";
import { avgPoolGradKernel, avgPoolKernel, maxPoolGradKernel, maxPoolKernel } from "./pool.js";
import { argReduceKernel, reduceKernel } from "./reduce.js";

export type Primitive = (typeof PRIMITIVES)[number];

/** "expanded": the WebGPU executor rewrites the primitive into others first (attention: compiler/passes/attention.ts) */
export type WgslRule = WgslGenerator | "host" | "alias" | "expanded";

const elementwise = <K extends string>(ops: readonly K[]) =>
  Object.fromEntries(ops.map((op) => [op, elementwiseKernel])) as Record<K, WgslGenerator>;

export const WGSL_RULES: { readonly [op in Primitive]: WgslRule } = {
  input: "host",
  param: "host",
  const: "host",
  iota: "host",
  rng_uniform: "host",
  rng_normal: "host",
  ...elementwise(UNARY),
  ...elementwise(BINARY),
  where: elementwiseKernel,
  cast: elementwiseKernel,
  stop_gradient: "alias",
  reshape: "alias",
  reduce_sum: reduceKernel,
  reduce_max: reduceKernel,
  reduce_min: reduceKernel,
  argmax: argReduceKernel,
  argmin: argReduceKernel,
  transpose: transposeKernel,
  broadcast_to: broadcastToKernel,
  slice: sliceKernel,
  pad: padKernel,
  concat: concatKernel,
  gather: gatherKernel,
  scatter_add: scatterAddKernel,
  one_hot: oneHotKernel,
  matmul: matmulKernel,
  attention: "expanded",
  attention_grad: "expanded",
  conv: convKernel,
  conv_input_grad: convInputGradKernel,
  conv_weight_grad: convWeightGradKernel,
  max_pool: maxPoolKernel,
  max_pool_grad: maxPoolGradKernel,
  avg_pool: avgPoolKernel,
  avg_pool_grad: avgPoolGradKernel,
};

export function isPrimitive(op: string): op is Primitive {
  return Object.hasOwn(WGSL_RULES, op);
}
