// Checking WGSL kernel generators against the float64 reference interpreter: each case is one
// primitive node with random inputs; all cases of a table run in one submit (software adapters
// are slow per submit), and each output element must lie within a rounding bound of the
// reference: |gpu − ref| ≤ (terms + 2)·2⁻²⁴·Σ|a·b|, the classic bound for a sum of `terms`
// f32 products, where Σ|a·b| is the reference evaluated on the inputs' absolute values.
// i32 results must be exact.

import { PrimBuilder } from "../../../compiler/prim/builder.ts";
import type { KernelTarget, WgslGenerator } from "../../../compiler/codegen/wgsl/kernel.ts";
import type { PDType, PNode } from "../../../compiler/prim/ir.ts";
import { numelOf } from "../../../compiler/prim/ir.ts";
import { evaluate } from "../../../runtime/cpu/reference.ts";
import { kernelTarget, type GpuContext } from "../../../runtime/webgpu/device.ts";
import { runKernels, type KernelData } from "../../../runtime/webgpu/run-kernel.ts";

export interface KernelCase {
  readonly name: string;
  /** builds the node under test from inputs x0, x1 (already added) and returns it */
  readonly build: (b: PrimBuilder, inputs: number[]) => number;
  readonly inputs: readonly (readonly number[])[];
  readonly dtype: PDType;
  /** the most products summed into one output element (for the tolerance) */
  readonly terms: number;
}

export interface CaseResult {
  readonly name: string;
  readonly label: string;
  /** the largest |gpu − ref| / allowed over the output (≤ 1 passes) */
  readonly worst: number;
  readonly detail: string;
}

let seed = 0x9e3779b9;
function random(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
}

/** Runs each case's kernel (from `generate`) on the GPU and compares with the reference. */
export async function checkKernels(
  gpu: GpuContext,
  generate: WgslGenerator,
  cases: readonly KernelCase[],
  target: KernelTarget = kernelTarget(gpu.device),
): Promise<CaseResult[]> {
  const prepared = cases.map((c) => {
    const b = new PrimBuilder();
    const ids = c.inputs.map((shape, i) => b.input(`x${i}`, shape, c.dtype));
    const id = c.build(b, ids);
    b.output("y", id);
    const graph = b.graph();
    const node: PNode = graph.nodes[id]!;
    const data = c.inputs.map((shape) => {
      const n = numelOf(shape);
      if (c.dtype === "i32") return Int32Array.from({ length: n }, () => Math.floor(random() * 17) - 8);
      return Float32Array.from({ length: n }, () => random() * 2 - 1);
    });
    const feeds = new Map(data.map((d, i) => [`x${i}`, d]));
    const absFeeds = new Map(data.map((d, i) => [`x${i}`, d.map(Math.abs)]));
    const ref = evaluate(graph, feeds).get(id)!.data;
    const bound = c.dtype === "f32" ? evaluate(graph, absFeeds).get(id)!.data : undefined;
    const kernel = generate(
      node,
      c.inputs,
      target,
      c.inputs.map(() => c.dtype),
    );
    return { c, node, data, ref, bound, kernel };
  });
  const outs: KernelData[] = await runKernels(
    gpu.device,
    prepared.map((p) => ({
      kernel: p.kernel,
      inputs: p.data,
      outputLength: numelOf(p.node.shape),
      outputType: p.c.dtype === "i32" ? "i32" : "f32",
    })),
  );
  return prepared.map((p, i) => {
    const got = outs[i]!;
    let worst = 0;
    let detail = "ok";
    for (let j = 0; j < p.ref.length; j++) {
      const allowed = p.bound ? (p.c.terms + 2) * 2 ** -24 * p.bound[j]! + 1e-37 : 0;
      const err = Math.abs(got[j]! - p.ref[j]!);
      const ratio = allowed > 0 ? err / allowed : err === 0 ? 0 : Infinity;
      if (!(ratio <= worst)) {
        worst = Number.isNaN(ratio) ? Infinity : ratio;
        detail = `element ${j}: gpu ${got[j]} vs reference ${p.ref[j]} (allowed ±${allowed.toExponential(2)})`;
      }
    }
    return { name: p.c.name, label: p.kernel.label, worst, detail };
  });
}
