// Shared by the WebGPU tests: the process's device (or a reason to skip when there is no
// adapter at all), and the comparison of GPU values against the CPU executor's.

import { expect } from "vitest";
import type { PDType } from "../../../compiler/prim/ir.ts";
import { NoGpuAdapterError, acquireGpu, type GpuContext } from "../../../runtime/webgpu/device.ts";

/** The shared device, or undefined (after printing why) when no adapter exists on this machine. */
export async function gpuOrSkip(): Promise<GpuContext | undefined> {
  try {
    return await acquireGpu();
  } catch (e) {
    if (!(e instanceof NoGpuAdapterError)) throw e;
    console.warn(`WebGPU tests skipped: ${e.message}`);
    return undefined;
  }
}

/** Float tolerance of GPU against CPU float32 values: |gpu − cpu| ≤ F32_TOLERANCE · max(1, |cpu|). */
export const F32_TOLERANCE = 1e-4;

/** Fails with the first element where `got` (GPU) and `want` (CPU) disagree; i32 and bool must be equal. */
export function expectClose(what: string, dtype: PDType, got: ArrayLike<number>, want: ArrayLike<number>, tolerance = F32_TOLERANCE): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const [a, w] = [got[i]!, want[i]!];
    const ok =
      dtype === "f32" ? (Number.isNaN(w) ? Number.isNaN(a) : a === w || Math.abs(a - w) <= tolerance * Math.max(1, Math.abs(w))) : a === w;
    if (!ok) expect.fail(`${what} element ${i}: webgpu ${a}, cpu ${w}`);
  }
}
