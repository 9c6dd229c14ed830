// What a WGSL kernel generator hands the WebGPU executor (runtime/webgpu/): one compute
// shader for one node (or one fused group), with its dispatch size. Shapes are concrete in the primitive IR, so sizes
// are baked into the source as constants; pipelines are cached by source text.
//
// Binding convention (group 0): bindings 0..k-1 are the node's inputs in order, declared
// `var<storage, read>`; binding k is the output, `var<storage, read_write>`; further
// read_write bindings after it are scratch buffers of `scratch[i]` bytes each. Element types:
// f32 for f32 values, i32 for i32, u32 (0 or 1) for bool: every element is 4 bytes on the GPU.
// Inputs and output may be ranges of one buffer (the executor's arena); WebGPU forbids a
// read-only and a writable use of one buffer in a dispatch, so the executor then rewrites the
// declarations `var<storage, read>` to `var<storage, read_write>`: write them exactly so.

import type { PDType, PNode } from "../../prim/ir.js";

export interface WgslKernel {
  /** names the kernel in errors and profiles, e.g. "matmul 64x784x256 (layer fc1)" */
  readonly label: string;
  /** a complete WGSL module whose compute entry point is `main` */
  readonly code: string;
  /** workgroups to dispatch along x, y, z (each ≤ the device's maxComputeWorkgroupsPerDimension) */
  readonly workgroups: readonly [number, number, number];
  /** bytes of each scratch binding after the output, if the kernel needs any */
  readonly scratch?: readonly number[];
}

/**
 * A kernel generator: the WGSL for one node, given its input shapes, the device's facts and
 * its inputs' dtypes (which the node does not record; a comparison or a cast needs them).
 * One per primitive (compiler/codegen/wgsl/), looked up by the node's op.
 */
export type WgslGenerator = (
  node: PNode,
  inputShapes: readonly (readonly number[])[],
  target: KernelTarget,
  inputDtypes: readonly PDType[],
) => WgslKernel;

/** The facts about a device that kernel generators may specialise on. */
export interface KernelTarget {
  readonly maxWorkgroupsPerDimension: number;
  readonly maxInvocationsPerWorkgroup: number;
  readonly maxWorkgroupStorageBytes: number;
  readonly subgroups: boolean;
  /** opt-in cooperative-matrix path (chromium-experimental-subgroup-matrix), with its own tolerance */
  readonly subgroupMatrix: boolean;
  /**
   * The f32 × f32 → f32 fragment shapes the adapter lists for cooperative matrices
   * (GPUAdapterInfo.subgroupMatrixConfigs), when it lists them; absent means unknown.
   */
  readonly subgroupMatrixShapes?: readonly { readonly M: number; readonly N: number; readonly K: number }[];
}

/**
 * Workgroups for `count` independent items at `perGroup` items per workgroup, split over x and
 * y when x alone would exceed the per-dimension limit. A kernel using it recovers its item as
 * `wid.x + wid.y * nx` (nx = the returned x) and must check the item is below `count`.
 */
export function spreadWorkgroups(
  count: number,
  perGroup: number,
  target: Pick<KernelTarget, "maxWorkgroupsPerDimension">,
): [number, number, number] {
  const groups = Math.max(1, Math.ceil(count / perGroup));
  const max = target.maxWorkgroupsPerDimension;
  if (groups <= max) return [groups, 1, 1];
  const y = Math.ceil(groups / max);
  if (y > max) throw new Error(`kernel too large to dispatch: ${groups} workgroups`);
  return [Math.ceil(groups / y), y, 1];
}
