// The WebGPU executor of the primitive IR: the GPU twin of runtime/cpu/executor.ts.
//
// compileGpu(graph) plans once, with the same passes as the CPU executor: dead code, common
// subexpressions (a repeat shares its representative's buffer), fusion (one WGSL kernel per
// group of elementwise primitives, and one per row group: softmax, norms, cross-entropy, a
// workgroup per row; groups needing more storage bindings than the device has are left
// unfused) and the static memory plan (every element 4 bytes, offsets aligned to
// the device's minStorageBufferOffsetAlignment). Intermediates live in one arena buffer;
// inputs, parameters, constants, random draws and named outputs get buffers of their own
// (persistent across runs). Each kernel's pipeline is created once, asynchronously, with an
// explicit bind group layout and cached by its WGSL text; bind groups are created once.
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

import { fusedGroupKernel } from "../../compiler/codegen/wgsl/elementwise.js";
import { WGSL_RULES, isPrimitive } from "../../compiler/codegen/wgsl/index.js";
import { rowGroupKernel } from "../../compiler/codegen/wgsl/rows.js";
import type { WgslKernel } from "../../compiler/codegen/wgsl/kernel.js";
import { commonSubexpressions } from "../../compiler/passes/cse.js";
import { liveNodes } from "../../compiler/passes/dead-code.js";
import { planFusion, type FusionPlan } from "../../compiler/passes/fusion.js";
import { planGraphMemory } from "../../compiler/passes/memory-plan.js";
import { numelOf, type PDType, type PGraph, type PNode } from "../../compiler/prim/ir.js";
import { SeededStream } from "../cpu/ops-rng.js";
import { evaluate, type HostArray } from "../cpu/reference.js";
import { acquireGpu, kernelTarget, type GpuContext } from "./device.js";

/** Every element is 4 bytes on the GPU (bool as a u32 0/1). */
const GPU_DTYPE_BYTES: Readonly<Record<PDType, number>> = { f32: 4, i32: 4, bool: 4 };

export interface GpuCompileOptions {
  /** base seed of the rng nodes when run is given none (default 0), as the CPU executor */
  seed?: number;
  /** merge repeated computations (default true) */
  cse?: boolean;
  /** fuse elementwise chains and row groups (softmax, norms) into one kernel each (default true) */
  fuse?: boolean;
  /** place intermediates in one planned arena (default true); false: a buffer per node, so that every node can be read */
  plan?: boolean;
  /** use subgroup operations where the device has them (default true; false takes the workgroup-memory paths) */
  subgroups?: boolean;
  /** the device to use (default: the process's shared one, acquireGpu) */
  gpu?: GpuContext;
}

export interface GpuRunOptions {
  seed?: number;
  /** named outputs to read back in the same submit */
  read?: readonly string[];
  /** more work to encode after the graph's kernels, in the same command encoder (an optimiser's update) */
  encodeAfter?: (encoder: GPUCommandEncoder) => void;
}

export interface GpuProgram {
  readonly graph: PGraph;
  readonly gpu: GpuContext;
  /** Write the feeds, run every kernel in one submit, and return the outputs named in `read`. */
  run(feeds: ReadonlyMap<string, HostArray>, opts?: GpuRunOptions): Promise<Map<string, HostArray>>;
  /** A named output, read back now (a submit of its own). */
  read(name: string): Promise<HostArray>;
  /** Any computed node's value (with `plan: false`, or for persistent ones), read back now. */
  readNode(node: number): Promise<HostArray>;
  readParam(name: string): Promise<Float32Array>;
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
  const deviceTarget = kernelTarget(device);
  const target = options.subgroups === false ? { ...deviceTarget, subgroups: false } : deviceTarget;
  for (const n of graph.nodes) {
    if (!isPrimitive(n.op)) throw new Error(`webgpu: unknown primitive '${n.op}' (node ${n.id})`);
    for (const i of n.inputs) if (!(i < n.id)) throw new Error(`webgpu: node ${n.id} (${n.op}) reads node ${i}, which comes later`);
  }
  const live = liveNodes(graph);
  const rep = options.cse === false ? undefined : commonSubexpressions(graph, live);
  const maxBindings = device.limits.maxStorageBuffersPerShaderStage;
  const fusion = options.fuse === false ? undefined : withinBindingLimit(planFusion(graph, live, rep), maxBindings);
  const alignment = device.limits.minStorageBufferOffsetAlignment;
  const plan = planGraphMemory(graph, live, alignment, rep, fusion, GPU_DTYPE_BYTES);
  const useArena = options.plan !== false && plan.planned + alignment <= device.limits.maxBufferSize;

  const buffers: GPUBuffer[] = [];
  const track = (b: GPUBuffer): GPUBuffer => (buffers.push(b), b);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const arena = useArena
    ? track(device.createBuffer({ label: "dlm arena", size: Math.max(plan.planned, 4) + alignment, usage }))
    : undefined;

  // where each storage-owning node's value lives
  const own = new Map<number, GpuLocation>();
  const storageOf = (id: number): number => plan.storage[id]!;
  const locate = (id: number): GpuLocation => {
    const s = storageOf(id);
    if (s < 0) throw new Error(`webgpu: node ${id} has no storage (not computed, or only inside a fused kernel)`);
    let loc = own.get(s);
    if (!loc) {
      const n = graph.nodes[s]!;
      const length = numelOf(n.shape);
      const size = Math.max(4, length * 4);
      const ownBuffer = !arena || plan.persistent.has(s) || n.op === "rng_uniform" || n.op === "rng_normal";
      loc = ownBuffer
        ? { buffer: track(device.createBuffer({ label: `dlm node ${s}`, size, usage })), offset: 0, size, dtype: n.dtype, length }
        : { buffer: arena, offset: plan.offsets.get(s)!, size, dtype: n.dtype, length };
      own.set(s, loc);
    }
    return loc;
  };

  // the kernels, in schedule order
  const kernels: { kernel: WgslKernel; node: PNode; bindings: GpuLocation[]; reads: number }[] = [];
  const rngNodes: PNode[] = [];
  for (const n of graph.nodes) {
    if (!live[n.id] || (rep && rep[n.id] !== n.id)) continue;
    const g = fusion ? fusion.groupOf[n.id]! : -1;
    if (g >= 0) {
      const group = fusion!.groups[g]!;
      if (group.members.at(-1) !== n.id) continue;
      kernels.push({
        kernel: group.kind === "row" ? rowGroupKernel(graph, group, target) : fusedGroupKernel(graph, group, target),
        node: n,
        bindings: [...group.inputs.map((i) => locate(i.node)), ...group.outputs.map(locate)],
        reads: group.inputs.length,
      });
      continue;
    }
    const rule = WGSL_RULES[n.op as keyof typeof WGSL_RULES];
    if (rule === "alias") continue;
    if (rule === "host") {
      const loc = locate(n.id);
      if (n.op === "const" || n.op === "iota") device.queue.writeBuffer(loc.buffer, loc.offset, hostValue(n));
      else if (n.op === "rng_uniform" || n.op === "rng_normal") rngNodes.push(n);
      continue;
    }
    const inputs = n.inputs.map((i) => graph.nodes[i]!);
    const kernel = rule(
      n,
      inputs.map((i) => i.shape),
      target,
      inputs.map((i) => i.dtype),
    );
    const scratch = (kernel.scratch ?? []).map((bytes, k) => {
      const size = Math.max(4, Math.ceil(bytes / 4) * 4);
      return {
        buffer: track(device.createBuffer({ label: `dlm scratch ${n.id}.${k}`, size, usage })),
        offset: 0,
        size,
        dtype: "f32" as const,
        length: size / 4,
      };
    });
    kernels.push({ kernel, node: n, bindings: [...n.inputs.map(locate), locate(n.id), ...scratch], reads: n.inputs.length });
  }
  for (const k of kernels)
    if (k.bindings.length > maxBindings)
      throw new GpuKernelError(
        k.kernel.label,
        siteOf(k.node),
        `needs ${k.bindings.length} storage buffers, the device allows ${maxBindings}`,
      );

  // WebGPU forbids a read-only and a writable use of one buffer in one dispatch, and
  // overlapping writable bindings. A kernel that reads and writes ranges of the same buffer
  // (the arena) binds its inputs as writable storage too, declared read_write in its WGSL;
  // unless it reads one value twice (concat(x, x)): then it writes to a buffer of its own,
  // copied into place after the dispatch.
  const copiesAfter = new Map<number, { from: GpuLocation; to: GpuLocation }[]>();
  kernels.forEach((k, index) => {
    const ins = k.bindings.slice(0, k.reads);
    const written = new Set(k.bindings.slice(k.reads).map((b) => b.buffer));
    if (!ins.some((b) => written.has(b.buffer))) return;
    const repeated = ins.some((b, i) => ins.findIndex((c) => c.buffer === b.buffer && c.offset === b.offset) !== i);
    if (!repeated) {
      k.kernel = { ...k.kernel, code: k.kernel.code.replaceAll("var<storage, read>", "var<storage, read_write>") };
      k.reads = 0;
      return;
    }
    const moves: { from: GpuLocation; to: GpuLocation }[] = [];
    for (let b = k.reads; b < k.bindings.length; b++) {
      const to = k.bindings[b]!;
      if (!ins.some((i) => i.buffer === to.buffer)) continue;
      const from = {
        ...to,
        buffer: track(device.createBuffer({ label: `dlm staging ${k.node.id}.${b}`, size: to.size, usage })),
        offset: 0,
      };
      k.bindings[b] = from;
      moves.push({ from, to });
    }
    copiesAfter.set(index, moves);
  });
  const pipelines = await Promise.all(kernels.map((k) => pipelineFor(device, k.kernel, k.reads, k.bindings.length - k.reads, k.node)));
  const dispatches: Dispatch[] = kernels.map((k, i) => ({
    pipeline: pipelines[i]!.pipeline,
    workgroups: k.kernel.workgroups,
    copies: copiesAfter.get(i) ?? [],
    bindGroup: device.createBindGroup({
      label: k.kernel.label,
      layout: pipelines[i]!.layout,
      entries: k.bindings.map((b, binding) => ({ binding, resource: { buffer: b.buffer, offset: b.offset, size: b.size } })),
    }),
  }));

  const inputs = graph.inputs.map((i) => ({ name: i.name, node: graph.nodes[i.node]!, loc: locate(i.node) }));
  const params = new Map(graph.params.map((p) => [p.name, { node: graph.nodes[p.node]!, loc: locate(p.node) }]));
  const outputs = new Map(graph.outputs.map((o) => [o.name, { node: graph.nodes[o.node]!, loc: locate(o.node) }]));
  const rngDraws = rngNodes.map((n) => ({ node: n, loc: locate(n.id), values: new Float32Array(numelOf(n.shape)) }));
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
    graph,
    gpu,
    dispatchesPerRun: dispatches.length,
    counters,
    arenaBytes: arena ? plan.planned : 0,
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
        if (d.node.op === "rng_uniform") rng.uniform(d.values);
        else rng.normal(d.values);
        device.queue.writeBuffer(d.loc.buffer, d.loc.offset, d.values);
      }
      device.pushErrorScope("validation");
      const encoder = device.createCommandEncoder({ label: "dlm run" });
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
          return { key: o.node.id, loc: o.loc };
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
      return readNow(o.node.id, o.loc);
    },
    readNode(node) {
      const s = storageOf(node);
      if (s < 0 || !own.has(s)) throw new Error(`webgpu: node ${node} is not computed or has no storage of its own`);
      if (!plan.persistent.has(s) && arena)
        throw new Error(`webgpu: node ${node} is an intermediate in the shared arena (compile with plan: false to read it)`);
      return readNow(s, own.get(s)!);
    },
    readParam: async (name) =>
      (await readNow(lookup(params, "parameter", name).node.id, lookup(params, "parameter", name).loc)) as Float32Array,
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

/** Fusion groups that fit the device's storage bindings; the others' members run as their own kernels. */
function withinBindingLimit(plan: FusionPlan, maxBindings: number): FusionPlan {
  if (plan.groups.every((g) => g.inputs.length + g.outputs.length <= maxBindings)) return plan;
  const groupOf = Int32Array.from(plan.groupOf);
  const virtual = Uint8Array.from(plan.virtual);
  const groups = plan.groups.filter((g) => g.inputs.length + g.outputs.length <= maxBindings);
  for (const g of plan.groups) {
    const now = groups.indexOf(g);
    for (const m of g.members) {
      groupOf[m] = now;
      if (now < 0) virtual[m] = 0;
    }
  }
  return { groups, groupOf, virtual };
}

function siteOf(n: PNode): string | undefined {
  const o = n.origin;
  return o ? `${o.file}:${o.range.start.line}:${o.range.start.column}` : undefined;
}

async function pipelineFor(device: GPUDevice, kernel: WgslKernel, reads: number, writes: number, node: PNode) {
  let cache = pipelineCache.get(device);
  if (!cache) pipelineCache.set(device, (cache = new Map()));
  const key = `${reads}/${writes}\n${kernel.code}`;
  let p = cache.get(key);
  if (!p) {
    p = createPipeline(device, kernel, reads, writes, node);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

async function createPipeline(device: GPUDevice, kernel: WgslKernel, reads: number, writes: number, node: PNode) {
  const entries: GPUBindGroupLayoutEntry[] = [];
  for (let i = 0; i < reads + writes; i++)
    entries.push({ binding: i, visibility: GPUShaderStage.COMPUTE, buffer: { type: i < reads ? "read-only-storage" : "storage" } });
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
  if (failure || !pipeline) throw new GpuKernelError(kernel.label, siteOf(node), failure ?? "no pipeline");
  return { pipeline, layout };
}

/** A const or iota node's values, computed by the reference interpreter, in the node's GPU element type. */
function hostValue(n: PNode): Float32Array<ArrayBuffer> | Int32Array<ArrayBuffer> | Uint32Array<ArrayBuffer> {
  const values = evaluate({ nodes: [{ ...n, id: 0, inputs: [] }], inputs: [], params: [], outputs: [] }, new Map()).get(0)!.data;
  return toGpuArray(values, n.dtype);
}

function toGpuArray(
  data: ArrayLike<number>,
  dtype: PDType,
): Float32Array<ArrayBuffer> | Int32Array<ArrayBuffer> | Uint32Array<ArrayBuffer> {
  // typed arrays over a plain ArrayBuffer pass as they are; anything else is copied
  const plain = ArrayBuffer.isView(data) && data.buffer instanceof ArrayBuffer;
  if (dtype === "f32") return plain && data instanceof Float32Array ? (data as Float32Array<ArrayBuffer>) : Float32Array.from(data);
  if (dtype === "i32") return plain && data instanceof Int32Array ? (data as Int32Array<ArrayBuffer>) : Int32Array.from(data);
  return Uint32Array.from(data, (v) => (v !== 0 ? 1 : 0));
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
