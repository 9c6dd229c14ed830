// The planning half of the WebGPU executor: everything compileGpu decides about a primitive
// graph before it touches a device, as plain data (GpuPlan). The executor
// (runtime/webgpu/executor.ts) turns a plan into buffers, pipelines and bind groups on a device;
// `dlm compile --target wgsl` (compiler/codegen/wgsl-host.ts) writes one into a JS module.
//
// planGpu runs the same passes as the CPU executor: dead code, common subexpressions (a
// repeat shares its representative's buffer), fusion (one WGSL kernel per group of elementwise
// primitives, per row group, and per matmul or convolution with its epilogue; groups needing
// more storage bindings than the device has are left unfused) and
// the static memory plan (every element 4 bytes, offsets aligned to the device's
// minStorageBufferOffsetAlignment). Intermediates live in one arena buffer; inputs,
// parameters, constants, random draws and named outputs get buffers of their own.

import { fusedGroupKernel } from "../../compiler/codegen/wgsl/elementwise.js";
import { epilogueAnchor, epilogueKernel } from "../../compiler/codegen/wgsl/epilogue.js";
import { rowGroupKernel } from "../../compiler/codegen/wgsl/rows.js";
import { WGSL_RULES, isPrimitive } from "../../compiler/codegen/wgsl/index.js";
import type { KernelTarget, WgslKernel } from "../../compiler/codegen/wgsl/kernel.js";
import { commonSubexpressions } from "../../compiler/passes/cse.js";
import { liveNodes } from "../../compiler/passes/dead-code.js";
import { expandAttention, hasAttention } from "../../compiler/passes/attention.js";
import { planFusion, type FusionGroup, type FusionPlan } from "../../compiler/passes/fusion.js";
import { planGraphMemory } from "../../compiler/passes/memory-plan.js";
import { numelOf, type PDType, type PGraph, type PNode } from "../../compiler/prim/ir.js";
import { evaluate } from "../cpu/reference.js";
import { GpuKernelError, toGpuArray } from "./values.js";

/** Every element is 4 bytes on the GPU (bool as a u32 0/1). */
const GPU_DTYPE_BYTES: Readonly<Record<PDType, number>> = { f32: 4, i32: 4, bool: 4 };

/** The device limits a plan depends on (GPUSupportedLimits has them all). */
export interface GpuPlanLimits {
  readonly minStorageBufferOffsetAlignment: number;
  readonly maxStorageBuffersPerShaderStage: number;
  readonly maxBufferSize: number;
}

export interface GpuPlanOptions {
  /** merge repeated computations (default true) */
  cse?: boolean;
  /** fuse elementwise chains, row groups (softmax, norms) and matmul and conv epilogues into one kernel each (default true) */
  fuse?: boolean;
  /** place intermediates in one planned arena (default true); false: a buffer per node, so that every node can be read */
  plan?: boolean;
  /** use subgroup operations where the target has them (default true; false takes the workgroup-memory paths) */
  subgroups?: boolean;
}

/** A byte range of one of the plan's buffers (by index) holding `length` elements of `dtype`. */
export interface PlannedRange {
  readonly buffer: number;
  readonly offset: number;
  readonly size: number;
  readonly dtype: PDType;
  readonly length: number;
}

export interface PlannedKernel {
  readonly label: string;
  /** the WGSL module (entry point `main`), its inputs declared read_write where they share a buffer with an output */
  readonly code: string;
  readonly workgroups: readonly [number, number, number];
  /** bindings 0..reads-1 are read-only storage, the rest read_write storage */
  readonly reads: number;
  readonly bindings: readonly PlannedRange[];
  /** results written to buffers of their own, copied into place after the dispatch */
  readonly copiesAfter: readonly { readonly from: PlannedRange; readonly to: PlannedRange }[];
  /** the .dlm source position of the kernel's node, for errors */
  readonly site?: string;
}

export interface GpuPlan {
  /** every buffer the program owns, with a label and a byte size (a multiple of 4) */
  readonly buffers: readonly { readonly label: string; readonly size: number }[];
  /** the buffer holding the planned intermediates (undefined: each has a buffer of its own) */
  readonly arena?: number;
  readonly arenaBytes: number;
  /** the dispatches of one run, in order */
  readonly kernels: readonly PlannedKernel[];
  /** values written once, when the program is created (const and iota nodes), in their GPU element type */
  readonly constants: readonly { readonly range: PlannedRange; readonly values: Float32Array | Int32Array | Uint32Array }[];
  /** random draws refilled before every run from the CPU executor's stream, in schedule order */
  readonly draws: readonly { readonly op: "rng_uniform" | "rng_normal"; readonly range: PlannedRange }[];
  readonly inputs: readonly { readonly name: string; readonly node: number; readonly range: PlannedRange }[];
  readonly params: readonly { readonly name: string; readonly node: number; readonly range: PlannedRange }[];
  readonly outputs: readonly { readonly name: string; readonly node: number; readonly range: PlannedRange }[];
  /** the node whose storage each node uses (-1: none: not computed, or only inside a fused kernel) */
  readonly storage: readonly number[];
  /** storage-owning nodes that got a range, and whether it is in the shared arena */
  readonly ranges: ReadonlyMap<number, { readonly range: PlannedRange; readonly inArena: boolean }>;
}

export function planGpu(given: PGraph, limits: GpuPlanLimits, deviceTarget: KernelTarget, options: GpuPlanOptions = {}): GpuPlan {
  const target = options.subgroups === false ? { ...deviceTarget, subgroups: false } : deviceTarget;
  for (const n of given.nodes) {
    if (!isPrimitive(n.op)) throw new Error(`webgpu: unknown primitive '${n.op}' (node ${n.id})`);
    for (const i of n.inputs) if (!(i < n.id)) throw new Error(`webgpu: node ${n.id} (${n.op}) reads node ${i}, which comes later`);
  }
  // no streaming attention kernel here yet: attention runs as the unfused primitives; the plan
  // speaks of `given`'s node ids (storage, inputs, params, outputs), which nodeOf maps
  const expanded = hasAttention(given) ? expandAttention(given) : undefined;
  const graph = expanded?.graph ?? given;
  const nodeOf = (id: number): number => (expanded ? expanded.nodeOf[id]! : id);
  const live = liveNodes(graph);
  const rep = options.cse === false ? undefined : commonSubexpressions(graph, live);
  const maxBindings = limits.maxStorageBuffersPerShaderStage;
  const fusion =
    options.fuse === false
      ? undefined
      : withinBindingLimit(graph, planFusion(graph, live, rep, { anchors: epilogueAnchor(graph) }), maxBindings);
  const alignment = limits.minStorageBufferOffsetAlignment;
  const memory = planGraphMemory(graph, live, alignment, rep, fusion, GPU_DTYPE_BYTES);
  const useArena = options.plan !== false && memory.planned + alignment <= limits.maxBufferSize;

  const buffers: { label: string; size: number }[] = [];
  const newBuffer = (label: string, size: number): number => buffers.push({ label, size }) - 1;
  const arena = useArena ? newBuffer("dlm arena", Math.max(memory.planned, 4) + alignment) : undefined;
  const ownBuffer = (label: string, dtype: PDType, length: number): PlannedRange => {
    const size = Math.max(4, length * 4);
    return { buffer: newBuffer(label, size), offset: 0, size, dtype, length };
  };

  // where each storage-owning node's value lives, allocated on first use
  const ranges = new Map<number, { range: PlannedRange; inArena: boolean }>();
  const storageOf = (id: number): number => memory.storage[id]!;
  const locate = (id: number): PlannedRange => {
    const s = storageOf(id);
    if (s < 0) throw new Error(`webgpu: node ${id} has no storage (not computed, or only inside a fused kernel)`);
    let r = ranges.get(s);
    if (!r) {
      const n = graph.nodes[s]!;
      const length = numelOf(n.shape);
      const own = arena === undefined || memory.persistent.has(s) || n.op === "rng_uniform" || n.op === "rng_normal";
      r = own
        ? { range: ownBuffer(`dlm node ${s}`, n.dtype, length), inArena: false }
        : {
            range: { buffer: arena, offset: memory.offsets.get(s)!, size: Math.max(4, length * 4), dtype: n.dtype, length },
            inArena: true,
          };
      ranges.set(s, r);
    }
    return r.range;
  };

  // the kernels, in schedule order
  const kernels: { kernel: WgslKernel; node: PNode; bindings: PlannedRange[]; reads: number }[] = [];
  const constants: GpuPlan["constants"][number][] = [];
  const draws: GpuPlan["draws"][number][] = [];
  for (const n of graph.nodes) {
    if (!live[n.id] || (rep && rep[n.id] !== n.id)) continue;
    const g = fusion ? fusion.groupOf[n.id]! : -1;
    if (g >= 0) {
      const group = fusion!.groups[g]!;
      if (group.members.at(-1) !== n.id) continue;
      // an epilogue's kernel reads the anchor's operands before the group's inputs
      const operands = anchorOperands(graph, group);
      const kernel =
        group.kind === "row"
          ? rowGroupKernel(graph, group, target)
          : group.kind === "epilogue"
            ? epilogueKernel(graph, group, target)
            : fusedGroupKernel(graph, group, target);
      kernels.push({
        kernel,
        node: n,
        bindings: [...operands.map(locate), ...group.inputs.map((i) => locate(i.node)), ...group.outputs.map(locate)],
        reads: operands.length + group.inputs.length,
      });
      continue;
    }
    const rule = WGSL_RULES[n.op as keyof typeof WGSL_RULES];
    if (rule === "alias") continue;
    if (rule === "expanded") throw new Error(`webgpu: '${n.op}' (node ${n.id}) should have been expanded`);
    if (rule === "host") {
      const range = locate(n.id);
      if (n.op === "const" || n.op === "iota") constants.push({ range, values: hostValue(n) });
      else if (n.op === "rng_uniform" || n.op === "rng_normal") draws.push({ op: n.op, range });
      continue;
    }
    const inputs = n.inputs.map((i) => graph.nodes[i]!);
    const kernel = rule(
      n,
      inputs.map((i) => i.shape),
      target,
      inputs.map((i) => i.dtype),
    );
    const scratch = (kernel.scratch ?? []).map((bytes, k) =>
      ownBuffer(`dlm scratch ${n.id}.${k}`, "f32", Math.max(1, Math.ceil(bytes / 4))),
    );
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
  const planned: PlannedKernel[] = kernels.map((k) => {
    const base = { label: k.kernel.label, workgroups: k.kernel.workgroups, ...(siteOf(k.node) ? { site: siteOf(k.node)! } : {}) };
    const ins = k.bindings.slice(0, k.reads);
    const written = new Set(k.bindings.slice(k.reads).map((b) => b.buffer));
    if (!ins.some((b) => written.has(b.buffer)))
      return { ...base, code: k.kernel.code, reads: k.reads, bindings: k.bindings, copiesAfter: [] };
    const repeated = ins.some((b, i) => ins.findIndex((c) => c.buffer === b.buffer && c.offset === b.offset) !== i);
    if (!repeated)
      return {
        ...base,
        code: k.kernel.code.replaceAll("var<storage, read>", "var<storage, read_write>"),
        reads: 0,
        bindings: k.bindings,
        copiesAfter: [],
      };
    const bindings = [...k.bindings];
    const copiesAfter: { from: PlannedRange; to: PlannedRange }[] = [];
    for (let b = k.reads; b < bindings.length; b++) {
      const to = bindings[b]!;
      if (!ins.some((i) => i.buffer === to.buffer)) continue;
      const from = { ...to, buffer: newBuffer(`dlm staging ${k.node.id}.${b}`, to.size), offset: 0 };
      bindings[b] = from;
      copiesAfter.push({ from, to });
    }
    return { ...base, code: k.kernel.code, reads: k.reads, bindings, copiesAfter };
  });

  const named = (list: readonly { name: string; node: number }[]) =>
    list.map((v) => ({ name: v.name, node: v.node, range: locate(nodeOf(v.node)) }));
  return {
    buffers,
    ...(arena !== undefined ? { arena } : {}),
    arenaBytes: arena !== undefined ? memory.planned : 0,
    kernels: planned,
    constants,
    draws,
    inputs: named(given.inputs),
    params: named(given.params),
    outputs: named(given.outputs),
    storage: Array.from(given.nodes, (n) => (nodeOf(n.id) < 0 ? -1 : memory.storage[nodeOf(n.id)]!)),
    ranges,
  };
}

/** The nodes an epilogue group's kernel reads for its anchor (none for other groups). */
function anchorOperands(graph: PGraph, group: FusionGroup): readonly number[] {
  return group.kind === "epilogue" ? graph.nodes[group.members[0]!]!.inputs : [];
}

/** Fusion groups that fit the device's storage bindings; the others' members run as their own kernels. */
function withinBindingLimit(graph: PGraph, plan: FusionPlan, maxBindings: number): FusionPlan {
  const fits = (g: FusionGroup) => anchorOperands(graph, g).length + g.inputs.length + g.outputs.length <= maxBindings;
  if (plan.groups.every(fits)) return plan;
  const groupOf = Int32Array.from(plan.groupOf);
  const virtual = Uint8Array.from(plan.virtual);
  const groups = plan.groups.filter(fits);
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

/** A const or iota node's values, computed by the reference interpreter, in the node's GPU element type. */
function hostValue(n: PNode): Float32Array<ArrayBuffer> | Int32Array<ArrayBuffer> | Uint32Array<ArrayBuffer> {
  const values = evaluate({ nodes: [{ ...n, id: 0, inputs: [] }], inputs: [], params: [], outputs: [] }, new Map()).get(0)!.data;
  return toGpuArray(values, n.dtype);
}
