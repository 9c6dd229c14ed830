// The WGSL kernel of an epilogue group (compiler/passes/fusion.ts): the anchor's tiled GEMM
// (a matmul, or a convolution's implicit GEMM) whose store of each element of the product
// runs the group's elementwise members on it in registers, reading outside inputs at the
// element's flat index, and writes only the group's outputs (the raw product among them only
// when something outside reads it). Bindings: the anchor's operands, then the group's outside
// inputs, then its outputs. A matmul takes the fp32-FMA tiles even where the opt-in
// cooperative-matrix path (matmul-coop.ts, which stores whole fragments) would have been taken.
//
// The direct convolution kernels (conv-direct.ts: depthwise, a handful of channels) take no
// epilogue: epilogueAnchor keeps fusion from forming groups around them, so their elementwise
// work fuses as an ordinary group after them.

import type { FusionGroup } from "../../passes/fusion.js";
import type { PGraph, PNode } from "../../prim/ir.js";
import { convUsesGemm, gemmConvKernel } from "./conv.js";
import { groupStatements } from "./elementwise.js";
import type { KernelTarget, WgslKernel } from "./kernel.js";
import { matmulGeometry, tiledMatmulKernel } from "./matmul.js";
import { helperText } from "./scalar.js";
import { declareBindings, WgslWriter } from "./writer.js";

const shapesOf = (graph: PGraph, n: PNode) => n.inputs.map((i) => graph.nodes[i]!.shape);

/** Whether n's WebGPU kernel takes an epilogue (planFusion's `anchors`): a matmul, or a conv on the implicit GEMM. */
export function epilogueAnchor(graph: PGraph): (n: PNode) => boolean {
  return (n) => n.op === "matmul" || (n.op === "conv" && convUsesGemm(n, shapesOf(graph, n)));
}

export function epilogueKernel(graph: PGraph, group: FusionGroup, target: KernelTarget): WgslKernel {
  const anchor = graph.nodes[group.members[0]!]!;
  const body = groupStatements(graph, group, new Map([[anchor.id, { expr: "v", dtype: "f32" as const }]]), "e");
  const w = new WgslWriter();
  declareBindings(w, body.bindings, anchor.inputs.length);
  for (const h of new Set(helperText(body.helpers))) w.line("", ...h.split("\n"));
  w.block("fn epilogue(i: u32, v: f32)", (b) => b.line(...body.lines));
  const epilogue = { declarations: w.text() };
  const shapes = shapesOf(graph, anchor);
  const kernel =
    anchor.op === "matmul"
      ? tiledMatmulKernel(anchor, matmulGeometry(anchor, shapes), target, undefined, epilogue)
      : gemmConvKernel(anchor, shapes, target, undefined, epilogue);
  const ops = group.members.slice(1).map((id) => graph.nodes[id]!.op);
  return { ...kernel, label: `${kernel.label}, epilogue ${ops.join("+")}` };
}
