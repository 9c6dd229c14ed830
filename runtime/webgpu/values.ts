// What planning (runtime/webgpu/plan.ts) and execution (runtime/webgpu/executor.ts) share
// without depending on each other: the kernel error, and values in their GPU element types
// (every element 4 bytes: f32, i32, and bool as a u32 0/1).

import type { PDType } from "../../compiler/prim/ir.js";

/** A kernel that failed to compile or validate, with the .dlm source location of its node. */
export class GpuKernelError extends Error {
  constructor(
    readonly kernel: string,
    readonly site: string | undefined,
    detail: string,
  ) {
    super(`WebGPU kernel '${kernel}'${site ? ` (from ${site})` : ""} failed: ${detail}`);
    this.name = "GpuKernelError";
  }
}

/** Values in a dtype's GPU element type (typed arrays over a plain ArrayBuffer pass as they are; anything else is copied). */
export function toGpuArray(
  data: ArrayLike<number>,
  dtype: PDType,
): Float32Array<ArrayBuffer> | Int32Array<ArrayBuffer> | Uint32Array<ArrayBuffer> {
  const plain = ArrayBuffer.isView(data) && data.buffer instanceof ArrayBuffer;
  if (dtype === "f32") return plain && data instanceof Float32Array ? (data as Float32Array<ArrayBuffer>) : Float32Array.from(data);
  if (dtype === "i32") return plain && data instanceof Int32Array ? (data as Int32Array<ArrayBuffer>) : Int32Array.from(data);
  return Uint32Array.from(data, (v) => (v !== 0 ? 1 : 0));
}
