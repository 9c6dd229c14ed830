// One training step on WebGPU, shared by the trainer (runtime/webgpu/trainer.ts) and the module
// `dlm compile --target wgsl` writes: the training graph's kernels, the copies of the
// buffer updates (batch-norm running statistics) into their buffers, and the optimiser's
// update (runtime/webgpu/optim.ts), encoded into one command encoder and submitted once.
//
// What the step needs to know about the train section is GpuStepSpec, plain data: the
// trainer builds it from the train section, the compiler bakes it into the written module.

/// <reference types="@webgpu/types" />

import type { TrainSetup } from "../../compiler/train.js";
import type { TrainingGraph } from "../../compiler/training-graph.js";
import type { HostArray } from "../cpu/reference.js";
import { createSchedule, type Schedule } from "../optim.js";
import type { KernelTarget } from "../../compiler/codegen/wgsl/kernel.js";
import type { GpuProgram } from "./executor.js";
import { spreadWorkgroups } from "../../compiler/codegen/wgsl/kernel.js";
import { WORKGROUP_SIZE, WgslWriter, literal } from "../../compiler/codegen/wgsl/writer.js";
import { createGpuOptimizer, storageKernel, type GpuOptimizer } from "./optim.js";

export interface GpuStepSpec {
  /** the optimiser and its arguments (the learning-rate override and the section's weight decay merged in) */
  readonly optimizer: { readonly name: string; readonly args: Readonly<Record<string, number | boolean>> };
  readonly clipValue?: number;
  readonly clipNorm?: number;
  /** the learning-rate schedule (none: constant) */
  readonly schedule?: { readonly name: string; readonly args: Readonly<Record<string, number>> };
  /** the parameters the optimiser updates, with their gradients at output `grad:<name>` */
  readonly params: readonly { readonly name: string; readonly lrScale?: number; readonly decay: boolean }[];
  /** buffer updates: output `from` is copied into parameter `to` after every step */
  readonly updates: readonly { readonly from: string; readonly to: string }[];
  /** gradient accumulation: the optimiser steps on the mean gradient of every `accumulate` runs (1: every run) */
  readonly accumulate: number;
}

/** The step of one phase of a train section (the whole section when it has no phases). */
export function gpuStepSpec(
  tg: TrainingGraph,
  setup: TrainSetup,
  phase: TrainSetup["phases"][number] | undefined,
  options: { lr?: number; constantLr?: boolean } = {},
): GpuStepSpec {
  const opt = (phase && phase.optimizer) || setup.optimizer;
  const args: Record<string, number | boolean> = { ...opt.args };
  if (options.lr !== undefined) args["lr"] = options.lr;
  if (setup.weightDecay !== undefined && args["weight_decay"] === undefined) args["weight_decay"] = setup.weightDecay;
  return {
    optimizer: { name: opt.name, args },
    ...(setup.clipValue !== undefined ? { clipValue: setup.clipValue } : {}),
    ...(setup.clipNorm !== undefined ? { clipNorm: setup.clipNorm } : {}),
    ...(setup.schedule && !options.constantLr ? { schedule: setup.schedule } : {}),
    params: [...tg.grads.keys()].map((name) => {
      const p = tg.model.params.find((q) => q.name === name)!;
      return { name, ...(p.lrScale !== undefined ? { lrScale: p.lrScale } : {}), decay: !p.noDecay };
    }),
    updates: tg.model.bufferUpdates.map((u) => ({ from: `update:${u.name}`, to: u.name })),
    accumulate: setup.accumulate,
  };
}

export interface GpuStep {
  readonly optimizer: GpuOptimizer;
  /** Dispatches one step encodes (the graph's and the optimiser's). */
  readonly dispatches: number;
  /**
   * One step in one submit: the graph on `feeds`, the buffer updates, the optimiser's update at
   * the scheduled learning rate (or `lr`); returns the outputs named in `read`. With
   * accumulation, runs that complete no group of `accumulate` add their gradients to running
   * sums instead of updating, as the CPU trainer does.
   */
  run(
    feeds: ReadonlyMap<string, HostArray>,
    opts: { seed: number; read: readonly string[]; lr?: number; encodeBefore?: (encoder: GPUCommandEncoder) => void },
  ): Promise<Map<string, HostArray>>;
}

export async function createGpuStep(program: GpuProgram, target: KernelTarget, spec: GpuStepSpec): Promise<GpuStep> {
  const optimizer = await createGpuOptimizer(
    program.device,
    target,
    spec.optimizer.name,
    spec.params.map((p) => ({
      name: p.name,
      value: program.location(p.name),
      grad: program.location(`grad:${p.name}`),
      ...(p.lrScale !== undefined ? { lrScale: p.lrScale } : {}),
      decay: p.decay,
    })),
    spec.optimizer.args,
    {
      ...(spec.clipValue !== undefined ? { clipValue: spec.clipValue } : {}),
      ...(spec.clipNorm !== undefined ? { clipNorm: spec.clipNorm } : {}),
    },
  );
  const schedule: Schedule = spec.schedule ? createSchedule(spec.schedule.name, optimizer.lr, spec.schedule.args) : () => optimizer.lr;
  const updates = spec.updates.map((u) => ({ from: program.location(u.from), to: program.location(u.to) }));
  const accumulation = spec.accumulate > 1 ? await accumulationKernels(program, target, spec) : undefined;
  let runs = 0;
  return {
    optimizer,
    dispatches: program.dispatchesPerRun + optimizer.dispatches + (accumulation ? spec.params.length : 0),
    run: (feeds, opts) =>
      program.run(feeds, {
        seed: opts.seed,
        read: opts.read,
        ...(opts.encodeBefore ? { encodeBefore: opts.encodeBefore } : {}),
        encodeAfter: (encoder) => {
          for (const { from, to } of updates) encoder.copyBufferToBuffer(from.buffer, from.offset, to.buffer, to.offset, to.size);
          runs++;
          const stepping = runs % spec.accumulate === 0;
          if (accumulation) encodeAll(encoder, stepping ? accumulation.average : accumulation.add, "dlm accumulate");
          if (stepping) optimizer.encodeStep(encoder, opts.lr ?? schedule(optimizer.stepCount));
        },
      }),
  };
}

type Kernel = Awaited<ReturnType<typeof storageKernel>>;

function encodeAll(encoder: GPUCommandEncoder, kernels: readonly Kernel[], label: string): void {
  const pass = encoder.beginComputePass({ label });
  for (const k of kernels) {
    pass.setPipeline(k.pipeline);
    pass.setBindGroup(0, k.bind);
    pass.dispatchWorkgroups(...k.workgroups);
  }
  pass.end();
}

/**
 * Per parameter, a running sum of its gradients and two kernels: `add` (sum += grad) and
 * `average` (sum += grad; grad = sum / k; sum = 0), the CPU trainer's accumulate() in float32.
 */
async function accumulationKernels(program: GpuProgram, target: KernelTarget, spec: GpuStepSpec) {
  const device = program.device;
  const kernels = await Promise.all(
    spec.params.map(async (p, k) => {
      const grad = program.location(`grad:${p.name}`);
      const sum = device.createBuffer({
        label: `dlm gradient sum ${k}`,
        size: grad.size,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
      });
      const groups = spreadWorkgroups(grad.length, WORKGROUP_SIZE, target);
      const code = (average: boolean): string => {
        const w = new WgslWriter();
        w.line("@group(0) @binding(0) var<storage, read_write> grad: array<f32>;");
        w.line("@group(0) @binding(1) var<storage, read_write> sum: array<f32>;", "", `@compute @workgroup_size(${WORKGROUP_SIZE})`);
        w.block("fn main(@builtin(global_invocation_id) gid: vec3<u32>)", (b) => {
          b.line(`let i = gid.x + gid.y * ${groups[0] * WORKGROUP_SIZE}u;`, `if (i >= ${grad.length}u) { return; }`);
          b.line("let s = sum[i] + grad[i];");
          if (average) b.line(`grad[i] = s / ${literal(spec.accumulate, "f32")};`, "sum[i] = 0.0;");
          else b.line("sum[i] = s;");
        });
        return w.text();
      };
      const bindings = [{ buffer: grad.buffer, offset: grad.offset, size: grad.size }, { buffer: sum }];
      const [add, average] = await Promise.all([
        storageKernel(device, code(false), `accumulate ${k}`, bindings, groups),
        storageKernel(device, code(true), `average ${k}`, bindings, groups),
      ]);
      return { add, average };
    }),
  );
  return { add: kernels.map((k) => k.add), average: kernels.map((k) => k.average) };
}
