// `dlm compile --target wgsl`: a model as WGSL kernels plus a JS host module. The forward pass
// (inference mode) and the train section's step are planned here, once, for any conformant
// WebGPU device (the limits every device has, PORTABLE_LIMITS), by the same planner the
// WebGPU executor uses (runtime/webgpu/plan.ts); the plans, with their memory layout,
// bind-group layouts and dispatch lists, become data in the module (runtime/webgpu/module.ts
// makes them real on the caller's GPUDevice).
//
// Names from the model reach the output only inside JSON string literals; kernel file names
// are built from an index and the primitive's name, filtered to [a-z0-9_].

import type { KernelTarget } from "./wgsl/kernel.js";
import type { ModelGraph } from "../ir/graph.js";
import type { LoweredParam } from "../lower.js";
import type { PassOptions } from "../passes/pipeline.js";
import type { TrainSetup } from "../train.js";
import { buildEvalGraph, buildTrainingGraph } from "../training-graph.js";
import { bakePlan, type BakedModel, type BakedPlan, type TensorInfo } from "../../runtime/webgpu/module.js";
import { planGpu, type GpuPlan, type GpuPlanLimits } from "../../runtime/webgpu/plan.js";
import { gpuStepSpec } from "../../runtime/webgpu/step.js";

/** WebGPU's default limits: every device offers at least these. */
export const PORTABLE_LIMITS: GpuPlanLimits & { readonly maxStorageBufferBindingSize: number } = {
  minStorageBufferOffsetAlignment: 256,
  maxStorageBuffersPerShaderStage: 8,
  maxBufferSize: 268_435_456,
  maxStorageBufferBindingSize: 134_217_728,
};

export const PORTABLE_TARGET: KernelTarget = {
  maxWorkgroupsPerDimension: 65_535,
  maxInvocationsPerWorkgroup: 256,
  maxWorkgroupStorageBytes: 16_384,
  subgroups: false,
  subgroupMatrix: false,
};

export interface WgslModuleOptions {
  readonly dims: ReadonlyMap<string, number>;
  readonly seed?: number;
  readonly passes?: Pick<PassOptions, "cse" | "fuse" | "plan">;
}

export interface WgslModule {
  /** WGSL text by file name (distinct kernels once each) */
  readonly kernels: ReadonlyMap<string, string>;
  /** the data the host module is built around */
  readonly baked: BakedModel;
  /** what the module leaves out (a phased train section's step) */
  readonly notes: readonly string[];
}

export function generateWgslModule(graph: ModelGraph, train: TrainSetup | undefined, options: WgslModuleOptions): WgslModule {
  const seed = options.seed ?? train?.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`codegen: the seed must be a non-negative integer, got ${seed}`);
  const kernels = new Map<string, string>();
  const fileOf = new Map<string, string>();
  const bake = (plan: GpuPlan): BakedPlan =>
    bakePlan(plan, (code, k) => {
      let file = fileOf.get(code);
      if (!file) {
        const op = k.label
          .split(" ")[0]!
          .toLowerCase()
          .replace(/[^a-z0-9_]+/g, "_")
          .slice(0, 40);
        file = `k${String(kernels.size).padStart(3, "0")}_${op || "kernel"}.wgsl`;
        fileOf.set(code, file);
        kernels.set(file, code);
      }
      return file;
    });
  const plan = (g: ReturnType<typeof buildEvalGraph>) => planGpu(g.builder.graph(), PORTABLE_LIMITS, PORTABLE_TARGET, options.passes ?? {});
  const info = (list: readonly { name: string; node: number }[], m: ReturnType<typeof buildEvalGraph>): TensorInfo[] =>
    list.map((v) => ({ name: v.name, dtype: m.builder.dtype(v.node), shape: m.builder.shape(v.node) }));

  const notes: string[] = [];
  const evalModel = buildEvalGraph(graph, options.dims);
  const forward = bake(plan(evalModel));
  let trained: BakedModel["train"];
  let params: readonly LoweredParam[] = evalModel.params;
  let trainInputs: TensorInfo[] = [];
  const loss = train?.loss ?? train?.phases[0]?.loss;
  if (train && train.phases.length > 1)
    notes.push("the module has no trainStep: phased train sections are not in WGSL modules yet (dlm train --backend webgpu trains them)");
  else if (train && loss) {
    const phase = train.phases[0];
    const prefixes = phase?.params ?? [];
    const tg = buildTrainingGraph(
      graph,
      loss,
      options.dims,
      (n) => prefixes.length === 0 || prefixes.some((p) => n === p || n.startsWith(`${p}.`)),
    );
    trained = { plan: bake(plan(tg.model)), step: gpuStepSpec(tg, train, phase) };
    // in the order the trainer initialises them, then any only the forward pass reads
    params = [...tg.model.params, ...evalModel.params.filter((p) => !tg.model.params.some((q) => q.name === p.name))];
    const modelInputs = new Set(evalModel.inputs.map((i) => i.name));
    trainInputs = info(
      tg.model.inputs.filter((i) => !modelInputs.has(i.name)).map((i) => ({ name: i.name, node: i.node })),
      tg.model,
    );
  }
  const plans = [forward, ...(trained ? [trained.plan] : [])];
  const baked: BakedModel = {
    model: graph.name,
    dims: Object.fromEntries(options.dims),
    seed,
    target: PORTABLE_TARGET,
    requires: {
      // the optimiser's kernels bind a parameter, its gradient, two small buffers and up to three state slots
      maxStorageBuffersPerShaderStage: Math.max(...plans.flatMap((p) => p.kernels.map((k) => k.bindings.length)), trained ? 7 : 0),
      maxComputeWorkgroupsPerDimension: Math.max(1, ...plans.flatMap((p) => p.kernels.flatMap((k) => k.workgroups))),
      maxStorageBufferBindingSize: Math.max(4, ...plans.flatMap((p) => p.buffers.map((b) => b.size))),
      maxBufferSize: Math.max(4, ...plans.flatMap((p) => p.buffers.map((b) => b.size))),
    },
    inputs: info(evalModel.inputs, evalModel),
    trainInputs,
    outputs: info(evalModel.outputs, evalModel),
    params: params.map((p) => ({
      name: p.name,
      dtype: p.dtype,
      shape: p.shape,
      init: p.init,
      ...(p.initArgs ? { initArgs: p.initArgs } : {}),
      trainable: p.trainable,
      buffer: p.buffer,
    })),
    forward,
    ...(trained ? { train: trained } : {}),
  };
  return { kernels, baked, notes };
}

/**
 * The host module's entry: the baked model and `create(device, options?)`. With `inline`, the
 * kernels are string literals in it; otherwise they are read from `kernelDir` next to the module.
 */
export function hostModuleEntry(m: WgslModule, runtimeSpecifier: string, kernelDir: string, inline: boolean): string {
  const { forward: _f, train: _t, target: _g, requires: _r, ...info } = m.baked;
  const lines = [
    `// generated by dlm compile --target wgsl${inline ? " --bundle" : ""}; do not edit`,
    `import { createGpuModel, kernelFiles } from ${JSON.stringify(runtimeSpecifier)};`,
    `const MODEL = ${JSON.stringify(m.baked)};`,
    inline ? `const KERNELS = new Map(${JSON.stringify([...m.kernels])});` : "",
    "/** model name, dims, seed, inputs, train inputs, outputs, parameters with shapes */",
    `export const info = ${JSON.stringify(info)};`,
    "/** The model on a GPUDevice, initialised from the compile-time seed. options.kernels(name) may supply each kernel's WGSL. */",
    "export function create(device, options = {}) {",
    inline
      ? "  return createGpuModel(device, MODEL, options.kernels ?? ((name) => KERNELS.get(name)));"
      : `  return createGpuModel(device, MODEL, options.kernels ?? kernelFiles(import.meta.url, ${JSON.stringify(kernelDir)}));`,
    "}",
    "",
  ];
  return lines.filter((l) => l !== "").join("\n") + "\n";
}
