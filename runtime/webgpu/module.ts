// The runtime of the modules `dlm compile --target wgsl` writes: a model's forward pass and
// training step, planned at compile time (runtime/webgpu/plan.ts) and baked into the module as
// plain data (BakedModel), made real on a GPUDevice the page or script supplies. The kernels'
// WGSL comes from .wgsl files next to the module, or from strings inlined in a --bundle.
//
// Everything here runs in browsers as in Node; it never asks for an adapter itself.

/// <reference types="@webgpu/types" />

import type { KernelTarget } from "../../compiler/codegen/wgsl/kernel.js";
import type { PDType } from "../../compiler/prim/ir.js";
import type { HostArray } from "../cpu/reference.js";
import { initialize, type InitName } from "../init.js";
import { Rng } from "../rng.js";
import { instantiateGpu, type GpuProgram } from "./executor.js";
import type { GpuPlan, PlannedKernel } from "./plan.js";
import { createGpuStep, type GpuStep, type GpuStepSpec } from "./step.js";

/** A plan as a module holds it: each kernel's WGSL by the name of its source, constants as numbers. */
export interface BakedPlan extends Omit<GpuPlan, "kernels" | "constants" | "storage" | "ranges"> {
  readonly kernels: readonly (Omit<PlannedKernel, "code" | "site"> & { readonly source: string })[];
  readonly constants: readonly { readonly range: GpuPlan["constants"][number]["range"]; readonly values: readonly number[] }[];
}

export interface TensorInfo {
  readonly name: string;
  readonly dtype: PDType;
  readonly shape: readonly number[];
}

export interface BakedModel {
  readonly model: string;
  readonly dims: Readonly<Record<string, number>>;
  readonly seed: number;
  /** the device facts the kernels were generated for */
  readonly target: KernelTarget;
  /** what the plan needs of a device */
  readonly requires: {
    readonly maxStorageBuffersPerShaderStage: number;
    readonly maxComputeWorkgroupsPerDimension: number;
    readonly maxStorageBufferBindingSize: number;
    readonly maxBufferSize: number;
  };
  readonly inputs: readonly TensorInfo[];
  /** the train section's extra inputs (labels) */
  readonly trainInputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  readonly params: readonly (TensorInfo & {
    readonly init: InitName;
    readonly initArgs?: Readonly<Record<string, number>>;
    readonly trainable: boolean;
    readonly buffer: boolean;
  })[];
  readonly forward: BakedPlan;
  readonly train?: { readonly plan: BakedPlan; readonly step: GpuStepSpec };
}

/** Inputs or weights by name: a Map or a plain object of flat row-major arrays (integers as numbers). */
export type Feeds = ReadonlyMap<string, ArrayLike<number>> | Readonly<Record<string, ArrayLike<number>>>;

export interface GpuModel {
  readonly info: Omit<BakedModel, "forward" | "train" | "target" | "requires">;
  /** Inference mode (dropout off, running statistics): every output, read back in the run's submit. */
  forward(inputs: Feeds): Promise<Map<string, HostArray>>;
  /**
   * Forward, loss, gradients, buffer updates and the optimiser step in one submit; the loss.
   * `lr` overrides this step's rate. With `accumulate = k`, every k-th call steps.
   */
  trainStep(inputs: Feeds, lr?: number): Promise<number>;
  /** Parameters and buffers, read back. */
  parameters(): Promise<Map<string, Float32Array>>;
  /** Copy weights in by name (every name must be a parameter of the model, at its size). */
  loadWeights(weights: Feeds): void;
  /** Re-initialise as `dlm train` does (a new model starts initialised from the compile-time seed). */
  init(seed?: number): void;
  /** Optimiser steps taken. */
  steps(): number;
  /** Free the model's buffers (the device stays). */
  destroy(): void;
}

/** A kernel's WGSL by its source name. */
export type KernelSources = (source: string) => string | Promise<string>;

/** The plan in the form a module holds; `source` names each distinct kernel text. */
export function bakePlan(plan: GpuPlan, source: (code: string, kernel: PlannedKernel) => string): BakedPlan {
  return {
    buffers: plan.buffers,
    ...(plan.arena !== undefined ? { arena: plan.arena } : {}),
    arenaBytes: plan.arenaBytes,
    kernels: plan.kernels.map((k) => ({
      label: k.label,
      workgroups: k.workgroups,
      reads: k.reads,
      bindings: k.bindings,
      copiesAfter: k.copiesAfter,
      source: source(k.code, k),
    })),
    constants: plan.constants.map((c) => ({ range: c.range, values: Array.from(c.values) })),
    draws: plan.draws,
    inputs: plan.inputs,
    params: plan.params,
    outputs: plan.outputs,
  };
}

async function revivePlan(plan: BakedPlan, sources: KernelSources): Promise<GpuPlan> {
  const codes = await Promise.all(plan.kernels.map((k) => sources(k.source)));
  return {
    ...plan,
    kernels: plan.kernels.map(({ source, ...k }, i) => {
      const code = codes[i];
      if (typeof code !== "string") throw new Error(`dlm: no WGSL for kernel source '${source}'`);
      return { ...k, code };
    }),
    constants: plan.constants.map((c) => ({
      range: c.range,
      values:
        c.range.dtype === "f32"
          ? Float32Array.from(c.values)
          : c.range.dtype === "i32"
            ? Int32Array.from(c.values)
            : Uint32Array.from(c.values),
    })),
    storage: [],
    ranges: new Map(),
  };
}

/**
 * Kernel sources read from `dir` next to the module at `moduleUrl` (its import.meta.url):
 * fetched in browsers, read from disk for file: URLs in Node.
 */
export function kernelFiles(moduleUrl: string, dir: string): KernelSources {
  return async (source) => {
    const url = new URL(`${dir}/${source}`, moduleUrl);
    if (url.protocol === "file:") {
      const fs = (globalThis as { process?: { getBuiltinModule?: (m: string) => unknown } }).process?.getBuiltinModule?.("node:fs") as
        { promises: { readFile(u: URL, enc: "utf8"): Promise<string> } } | undefined;
      if (!fs) throw new Error(`dlm: cannot read ${url.href} here (pass create() a kernels function)`);
      return fs.promises.readFile(url, "utf8");
    }
    const r = await fetch(url);
    if (!r.ok) throw new Error(`dlm: fetching ${url.href} failed: ${r.status} ${r.statusText}`);
    return r.text();
  };
}

/** The model of a written module on `device`. */
export async function createGpuModel(device: GPUDevice, baked: BakedModel, sources: KernelSources): Promise<GpuModel> {
  for (const [limit, need] of Object.entries(baked.requires)) {
    const has = (device.limits as unknown as Record<string, number>)[limit]!;
    if (has < need) throw new Error(`dlm: this model needs a device with ${limit} ≥ ${need}; the device has ${has}`);
  }
  const forward = await instantiateGpu(device, await revivePlan(baked.forward, sources), { seed: baked.seed });
  let train: { program: GpuProgram; step: GpuStep } | undefined;
  if (baked.train) {
    const program = await instantiateGpu(device, await revivePlan(baked.train.plan, sources), { seed: baked.seed });
    train = { program, step: await createGpuStep(program, baked.target, baked.train.step) };
  }
  const programs = train ? [forward, train.program] : [forward];
  const params = new Map(baked.params.map((p) => [p.name, p]));
  // The training program holds the live parameters; a forward pass first copies them in, in the same submit.
  const shared = train ? baked.forward.params.filter((p) => train.program.hasParam(p.name)).map((p) => p.name) : [];
  const copyIn = (encoder: GPUCommandEncoder): void => {
    for (const name of shared) {
      const [from, to] = [train!.program.location(name), forward.location(name)];
      encoder.copyBufferToBuffer(from.buffer, from.offset, to.buffer, to.offset, to.size);
    }
  };
  const setParam = (name: string, data: ArrayLike<number>): void => {
    for (const p of programs) if (p.hasParam(name)) p.setParam(name, data);
  };
  const init = (seed = baked.seed): void => {
    const rng = new Rng(seed).fork(0);
    baked.params.forEach((p, i) => {
      const data = new Float32Array(p.shape.reduce((a, b) => a * b, 1));
      initialize(p.init, p.shape, data, rng.fork(i), p.initArgs ?? {});
      setParam(p.name, data);
    });
  };
  init();
  let runs = 0;
  const { forward: _f, train: _t, target: _g, requires: _r, ...info } = baked;
  return {
    info,
    forward: (inputs) => forward.run(feedsMap(inputs), { seed: baked.seed, read: baked.outputs.map((o) => o.name), encodeBefore: copyIn }),
    async trainStep(inputs, lr) {
      if (!train)
        throw new Error(
          `dlm: this module of ${baked.model} has no training step (the model has no train section, or a phased one, which WGSL modules do not compile yet)`,
        );
      const values = await train.step.run(feedsMap(inputs), {
        seed: baked.seed * 1_000_003 + runs,
        read: ["loss"],
        ...(lr !== undefined ? { lr } : {}),
      });
      runs++;
      return values.get("loss")![0]!;
    },
    async parameters() {
      const source = train?.program ?? forward;
      const out = new Map<string, Float32Array>();
      for (const p of baked.params) if (source.hasParam(p.name)) out.set(p.name, await source.readParam(p.name));
      return out;
    },
    loadWeights(weights) {
      for (const [name, data] of feedsMap(weights)) {
        const p = params.get(name);
        if (!p) throw new Error(`dlm: model ${baked.model} has no parameter '${name}'`);
        setParam(name, data);
      }
    },
    init,
    steps: () => train?.step.optimizer.stepCount ?? 0,
    destroy() {
      for (const p of programs) p.destroy();
    },
  };
}

function feedsMap(feeds: Feeds): ReadonlyMap<string, HostArray> {
  return (feeds instanceof Map ? feeds : new Map(Object.entries(feeds))) as ReadonlyMap<string, HostArray>;
}
