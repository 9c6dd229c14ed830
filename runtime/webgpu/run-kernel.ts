// Dispatching single WgslKernels outside an executor: for kernel tests and benchmarks. Many
// kernels go in one submit (software adapters pay a lot per submit), pipelines are compiled in
// parallel and cached per device by source text, and WGSL or validation errors are thrown with
// the kernel's label instead of being lost to Dawn's uncaptured-error log.

/// <reference types="@webgpu/types" />

import type { WgslKernel } from "../../compiler/codegen/wgsl/kernel.js";

export type KernelData = Float32Array | Int32Array | Uint32Array;

export interface KernelRun {
  readonly kernel: WgslKernel;
  /** one array per input binding, in binding order */
  readonly inputs: readonly KernelData[];
  /** the output's element count and type (every element is 4 bytes) */
  readonly outputLength: number;
  readonly outputType: "f32" | "i32" | "u32";
}

const pipelines = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();

/** The compute pipeline of a kernel (cached by code); throws with the WGSL messages if it does not compile. */
export function kernelPipeline(device: GPUDevice, kernel: WgslKernel): Promise<GPUComputePipeline> {
  let cache = pipelines.get(device);
  if (!cache) pipelines.set(device, (cache = new Map()));
  let p = cache.get(kernel.code);
  if (!p) {
    p = compilePipeline(device, kernel);
    cache.set(kernel.code, p);
    p.catch(() => cache.delete(kernel.code));
  }
  return p;
}

async function compilePipeline(device: GPUDevice, kernel: WgslKernel): Promise<GPUComputePipeline> {
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ code: kernel.code, label: kernel.label });
  const messages = await wgslErrors(module);
  let pipeline: GPUComputePipeline | undefined;
  let failure: string | undefined;
  try {
    pipeline = await device.createComputePipelineAsync({ layout: "auto", compute: { module, entryPoint: "main" }, label: kernel.label });
  } catch (e) {
    failure = (e as Error).message;
  }
  const scoped = await device.popErrorScope();
  if (messages.length || failure || scoped || !pipeline)
    throw new Error(
      `kernel '${kernel.label}' does not compile:\n${[...messages, failure ?? "", scoped?.message ?? ""].filter(Boolean).join("\n")}`,
    );
  return pipeline;
}

/** The error messages of a shader module, as `line:col message`. */
export async function wgslErrors(module: GPUShaderModule): Promise<string[]> {
  const info = await module.getCompilationInfo();
  return info.messages.filter((m) => m.type === "error").map((m) => `${m.lineNum}:${m.linePos} ${m.message}`);
}

/** Runs every kernel once, in order, in one submit, and returns their outputs. */
export async function runKernels(device: GPUDevice, runs: readonly KernelRun[]): Promise<KernelData[]> {
  const compiled = await Promise.all(runs.map((r) => kernelPipeline(device, r.kernel)));
  const made: GPUBuffer[] = [];
  const buffer = (bytes: number, usage: number) => {
    // vec4 views need 16 bytes at least; rounding up never changes what a kernel reads
    const b = device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage });
    made.push(b);
    return b;
  };
  device.pushErrorScope("validation");
  const encoder = device.createCommandEncoder();
  const readbacks: GPUBuffer[] = [];
  const pass = encoder.beginComputePass();
  const outputs: GPUBuffer[] = [];
  runs.forEach((run, i) => {
    const entries: GPUBindGroupEntry[] = [];
    run.inputs.forEach((data, binding) => {
      const b = buffer(data.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
      device.queue.writeBuffer(b, 0, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
      entries.push({ binding, resource: { buffer: b } });
    });
    const out = buffer(run.outputLength * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
    outputs.push(out);
    entries.push({ binding: run.inputs.length, resource: { buffer: out } });
    (run.kernel.scratch ?? []).forEach((bytes, s) =>
      entries.push({ binding: run.inputs.length + 1 + s, resource: { buffer: buffer(bytes, GPUBufferUsage.STORAGE) } }),
    );
    const pipeline = compiled[i]!;
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }));
    pass.dispatchWorkgroups(...run.kernel.workgroups);
  });
  pass.end();
  runs.forEach((run, i) => {
    const rb = buffer(run.outputLength * 4, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    encoder.copyBufferToBuffer(outputs[i]!, 0, rb, 0, rb.size);
    readbacks.push(rb);
  });
  device.queue.submit([encoder.finish()]);
  const error = await device.popErrorScope();
  try {
    if (error) throw new Error(`running ${runs.map((r) => `'${r.kernel.label}'`).join(", ")}: ${error.message}`);
    return await Promise.all(
      runs.map(async (run, i) => {
        const rb = readbacks[i]!;
        await rb.mapAsync(GPUMapMode.READ);
        const bytes = rb.getMappedRange().slice(0, run.outputLength * 4);
        rb.unmap();
        return run.outputType === "f32"
          ? new Float32Array(bytes)
          : run.outputType === "i32"
            ? new Int32Array(bytes)
            : new Uint32Array(bytes);
      }),
    );
  } finally {
    for (const b of made) b.destroy();
  }
}
