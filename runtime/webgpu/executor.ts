// The WebGPU executor of the primitive IR: the GPU twin of runtime/cpu/executor.ts.
//
// compileGpu(graph) plans once (runtime/webgpu/plan.ts: dead code, common subexpressions,
// fusion, the static memory plan, each kernel's WGSL and bindings, all without a device), then
// instantiateGpu makes the plan real on a device: its buffers (persistent across runs), each
// kernel's pipeline, created once, asynchronously, with an explicit bind group layout and
// cached by its WGSL text, and each bind group once. A module written by
// `dlm compile --target wgsl` calls instantiateGpu with the plan baked into it.
//
// program.run(feeds) writes the feeds and this run's random draws (queue.writeBuffer; the draws
// come from the CPU executor's stream, runtime/cpu/ops-rng.ts, so both backends draw the same
// numbers), encodes every dispatch into one command encoder, appends copies of the values
// the caller asks to read, and submits once. Nothing else is read back.
//
// Shader compilation and pipeline validation errors become GpuKernelError, naming the kernel
// and where in the .dlm source its node comes from.
//
// Semantics follow runtime/cpu/reference.ts, except that an index outside [0, size) in gather
// or scatter_add reads or adds zero instead of throwing (a kernel cannot throw).

/// <reference types="@webgpu/types" />

import type { PDType, PGraph } from "../../compiler/prim/ir.js";
import { SeededStream } from "../cpu/ops-rng.js";
import type { HostArray } from "../cpu/reference.js";
import { acquireGpu, kernelTarget, type GpuContext } from "./device.js";
import { planGpu, type GpuPlan, type GpuPlanOptions, type PlannedKernel, type PlannedRange } from "./plan.js";
import { GpuKernelError, toGpuArray } from "./values.js";

export { GpuKernelError } from "./values.js";

export interface GpuCompileOptions extends GpuPlanOptions {
  /** base seed of the rng nodes when run is given none (default 0), as the CPU executor */
  seed?: number;
  /** the device to use (default: the process's shared one, acquireGpu) */
  gpu?: GpuContext;
}

export interface GpuRunOptions {
  seed?: number;
  /** named outputs to read back in the same submit */
  read?: readonly string[];
  /** more work to encode before the graph's kernels, in the same command encoder (parameters copied in from another program) */
  encodeBefore?: (encoder: GPUCommandEncoder) => void;
  /** more work to encode after the graph's kernels, in the same command encoder (an optimiser's update) */
  encodeAfter?: (encoder: GPUCommandEncoder) => void;
}

export interface GpuProgram {
  readonly device: GPUDevice;
  /** Write the feeds, run every kernel in one submit, and return the outputs named in `read`. */
  run(feeds: ReadonlyMap<string, HostArray>, opts?: GpuRunOptions): Promise<Map<string, HostArray>>;
  /** A named output, read back now (a submit of its own). */
  read(name: string): Promise<HostArray>;
  /** Any computed node's value (with `plan: false`, or for persistent ones), read back now. */
  readNode(node: number): Promise<HostArray>;
  readParam(name: string): Promise<Float32Array>;
  hasParam(name: string): boolean;
  setParam(name: string, data: ArrayLike<number>): void;
  /** Where a named value lives: its buffer and byte range (for kernels appended by the caller). */
  location(name: string): GpuLocation;
  /** Kernels (dispatches) one run encodes; fused groups count once, aliases and host-filled values none. */
  readonly dispatchesPerRun: number;
  /** Counters since compile: runs, their submits (one each), separate reads (a submit each) and dispatches. */
  readonly counters: { readonly runs: number; readonly submits: number; readonly reads: number; readonly dispatches: number };
  /** Bytes of the intermediate arena. */
  readonly arenaBytes: number;
  /** Free the program's buffers (the device stays). */
  destroy(): void;
}

export interface GpuLocation {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly size: number;
  readonly dtype: PDType;
  readonly length: number;
}

interface Dispatch {
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: readonly [number, number, number];
  /** results written to buffers of their own, to copy into place after the dispatch */
  readonly copies: readonly { from: GpuLocation; to: GpuLocation }[];
}

/** Pipelines by WGSL text, per device (a kernel used by several programs compiles once). */
const pipelineCache = new WeakMap<GPUDevice, Map<string, Promise<{ pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }>>>();

export async function compileGpu(graph: PGraph, options: GpuCompileOptions = {}): Promise<GpuProgram> {
  const gpu = options.gpu ?? (await acquireGpu());
  const { device } = gpu;
  const plan = planGpu(graph, device.limits, kernelTarget(device), options);
  return instantiateGpu(device, plan, options.seed === undefined ? {} : { seed: options.seed });
}

/** A plan made real on `device`: its buffers, constants, pipelines and bind groups. */
export async function instantiateGpu(device: GPUDevice, plan: GpuPlan, options: { seed?: number } = {}): Promise<GpuProgram> {
  const buffers: GPUBuffer[] = [];
  const track = (b: GPUBuffer): GPUBuffer => (buffers.push(b), b);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const planned = plan.buffers.map((b) => track(device.createBuffer({ label: b.label, size: b.size, usage })));
  const at = (r: PlannedRange): GpuLocation => ({ ...r, buffer: planned[r.buffer]! });
  for (const c of plan.constants) {
    const loc = at(c.range);
    device.queue.writeBuffer(loc.buffer, loc.offset, c.values.buffer, c.values.byteOffset, loc.length * 4);
  }

  const pipelines = await Promise.all(plan.kernels.map((k) => pipelineFor(device, k)));
  const dispatches: Dispatch[] = plan.kernels.map((k, i) => ({
    pipeline: pipelines[i]!.pipeline,
    workgroups: k.workgroups,
    copies: k.copiesAfter.map((c) => ({ from: at(c.from), to: at(c.to) })),
    bindGroup: device.createBindGroup({
      label: k.label,
      layout: pipelines[i]!.layout,
      entries: k.bindings.map((r, binding) => {
        const b = at(r);
        return { binding, resource: { buffer: b.buffer, offset: b.offset, size: b.size } };
      }),
    }),
  }));

  const named = (list: GpuPlan["inputs"]) => list.map((v) => ({ name: v.name, node: v.node, loc: at(v.range) }));
  const inputs = named(plan.inputs);
  const params = new Map(named(plan.params).map((p) => [p.name, p]));
  const outputs = new Map(named(plan.outputs).map((o) => [o.name, o]));
  const rngDraws = plan.draws.map((d) => ({ op: d.op, loc: at(d.range), values: new Float32Array(d.range.length) }));
  const rng = new SeededStream(0);
  const baseSeed = options.seed ?? 0;
  const counters = { runs: 0, submits: 0, reads: 0, dispatches: 0 };
  const staging = new Map<GPUBuffer | number, GPUBuffer>();

  const stagingFor = (key: number, size: number): GPUBuffer => {
    let s = staging.get(key);
    if (!s) {
      s = track(device.createBuffer({ label: `dlm read ${key}`, size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }));
      staging.set(key, s);
    }
    return s;
  };

  /** Copy `locs` into staging buffers in `encoder`; after submit, the returned function maps and converts them. */
  const encodeReads = (encoder: GPUCommandEncoder, locs: readonly { key: number; loc: GpuLocation }[]) => {
    const copies = locs.map(({ key, loc }) => {
      const s = stagingFor(key, loc.size);
      encoder.copyBufferToBuffer(loc.buffer, loc.offset, s, 0, loc.size);
      return { s, loc };
    });
    return () =>
      Promise.all(
        copies.map(async ({ s, loc }) => {
          await s.mapAsync(GPUMapMode.READ);
          const out = fromGpu(s.getMappedRange(0, loc.size), loc);
          s.unmap();
          return out;
        }),
      );
  };

  const lookup = <V>(m: Map<string, V>, what: string, name: string): V => {
    const v = m.get(name);
    if (!v) throw new Error(`webgpu: no ${what} named '${name}'`);
    return v;
  };

  const readNow = async (key: number, loc: GpuLocation): Promise<HostArray> => {
    const encoder = device.createCommandEncoder();
    const finish = encodeReads(encoder, [{ key, loc }]);
    device.queue.submit([encoder.finish()]);
    counters.reads++;
    return (await finish())[0]!;
  };

  return {
    device,
    dispatchesPerRun: dispatches.length,
    counters,
    arenaBytes: plan.arenaBytes,
    async run(feeds, opts = {}) {
      for (const s of inputs) {
        const f = feeds.get(s.name);
        if (!f) throw new Error(`webgpu: no feed for input '${s.name}'`);
        writeHost(device, s.name, s.loc, f);
      }
      for (const [name, p] of params) {
        const f = feeds.get(name);
        if (f) writeHost(device, name, p.loc, f);
      }
      rng.reset(opts.seed ?? baseSeed + counters.runs);
      for (const d of rngDraws) {
        if (d.op === "rng_uniform") rng.uniform(d.values);
        else rng.normal(d.values);
        device.queue.writeBuffer(d.loc.buffer, d.loc.offset, d.values);
      }
      device.pushErrorScope("validation");
      const encoder = device.createCommandEncoder({ label: "dlm run" });
      opts.encodeBefore?.(encoder);
      let pass: GPUComputePassEncoder | undefined;
      for (const d of dispatches) {
        pass ??= encoder.beginComputePass();
        pass.setPipeline(d.pipeline);
        pass.setBindGroup(0, d.bindGroup);
        pass.dispatchWorkgroups(...d.workgroups);
        if (d.copies.length === 0) continue;
        pass.end();
        pass = undefined;
        for (const c of d.copies) encoder.copyBufferToBuffer(c.from.buffer, c.from.offset, c.to.buffer, c.to.offset, c.to.size);
      }
      pass?.end();
      opts.encodeAfter?.(encoder);
      const names = opts.read ?? [];
      const finish = encodeReads(
        encoder,
        names.map((name) => {
          const o = lookup(outputs, "output", name);
          return { key: o.node, loc: o.loc };
        }),
      );
      device.queue.submit([encoder.finish()]);
      counters.runs++;
      counters.submits++;
      counters.dispatches += dispatches.length;
      const invalid = await device.popErrorScope();
      if (invalid) throw new Error(`webgpu: the run was rejected: ${invalid.message}`);
      const values = await finish();
      return new Map(names.map((name, i) => [name, values[i]!]));
    },
    read: (name) => {
      const o = lookup(outputs, "output", name);
      return readNow(o.node, o.loc);
    },
    readNode(node) {
      const s = plan.storage[node] ?? -1;
      const r = plan.ranges.get(s);
      if (s < 0 || !r) throw new Error(`webgpu: node ${node} is not computed or has no storage of its own`);
      if (r.inArena) throw new Error(`webgpu: node ${node} is an intermediate in the shared arena (compile with plan: false to read it)`);
      return readNow(s, at(r.range));
    },
    readParam: async (name) => {
      const p = lookup(params, "parameter", name);
      return (await readNow(p.node, p.loc)) as Float32Array;
    },
    hasParam: (name) => params.has(name),
    setParam(name, data) {
      writeHost(device, name, lookup(params, "parameter", name).loc, data);
    },
    location(name) {
      const v = outputs.get(name) ?? params.get(name) ?? inputs.find((i) => i.name === name);
      if (!v) throw new Error(`webgpu: no output, parameter or input named '${name}'`);
      return v.loc;
    },
    destroy() {
      for (const b of buffers) b.destroy();
    },
  };
}

async function pipelineFor(device: GPUDevice, kernel: PlannedKernel) {
  let cache = pipelineCache.get(device);
  if (!cache) pipelineCache.set(device, (cache = new Map()));
  const key = `${kernel.reads}/${kernel.bindings.length}\n${kernel.code}`;
  let p = cache.get(key);
  if (!p) {
    p = createPipeline(device, kernel);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

async function createPipeline(device: GPUDevice, kernel: PlannedKernel) {
  const entries: GPUBindGroupLayoutEntry[] = kernel.bindings.map((_, binding) => ({
    binding,
    visibility: GPUShaderStage.COMPUTE,
    buffer: { type: binding < kernel.reads ? "read-only-storage" : "storage" },
  }));
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ label: kernel.label, code: kernel.code });
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === "error");
  const layout = device.createBindGroupLayout({ label: kernel.label, entries });
  let pipeline: GPUComputePipeline | undefined;
  let failure: string | undefined;
  if (errors.length) failure = errors.map((m) => `line ${m.lineNum}:${m.linePos}: ${m.message}`).join("; ");
  else {
    try {
      pipeline = await device.createComputePipelineAsync({
        label: kernel.label,
        layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: "main" },
      });
    } catch (e) {
      failure = (e as Error).message;
    }
  }
  const scoped = await device.popErrorScope();
  if (!failure && scoped) failure = scoped.message;
  if (failure || !pipeline) throw new GpuKernelError(kernel.label, kernel.site, failure ?? "no pipeline");
  return { pipeline, layout };
}

function writeHost(device: GPUDevice, name: string, loc: GpuLocation, data: ArrayLike<number>): void {
  if (data.length !== loc.length) throw new Error(`webgpu: feed '${name}' has ${data.length} values, needs ${loc.length}`);
  if (loc.length === 0) return;
  const arr = toGpuArray(data, loc.dtype);
  device.queue.writeBuffer(loc.buffer, loc.offset, arr.buffer, arr.byteOffset, loc.length * 4);
}

function fromGpu(bytes: ArrayBuffer, loc: GpuLocation): HostArray {
  const n = loc.length;
  if (loc.dtype === "f32") return new Float32Array(bytes.slice(0, n * 4));
  if (loc.dtype === "i32") return new Int32Array(bytes.slice(0, n * 4));
  return Uint8Array.from(new Uint32Array(bytes, 0, n));
}
