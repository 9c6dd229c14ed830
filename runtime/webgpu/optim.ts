// The optimisers of runtime/optim.ts as WGSL kernels, encoded into the training step's command
// encoder after the graph's kernels, so that one training step is one submit. The update math
// is runtime/optim.ts's, term for term (read its comments for torch's arrangement), in float32
// instead of float64. Clipping follows the CPU trainer: by value first, then by the global norm
// of the value-clipped gradients (one partial sum of squares per parameter, then each update
// kernel sums them and scales its gradient in registers; the gradient outputs keep the
// unclipped values).
//
// Per-step numbers (the scheduled lr, bias corrections, whether this is the first step) are
// written to a small storage buffer with queue.writeBuffer before the submit; everything
// constant (betas, eps, momentum, clip bounds) is baked into the kernels.

/// <reference types="@webgpu/types" />

import { spreadWorkgroups, type KernelTarget } from "../../compiler/codegen/wgsl/kernel.js";
import { WORKGROUP_SIZE, WgslWriter, literal } from "../../compiler/codegen/wgsl/writer.js";
import { createOptimizer, resolveOptimizerArgs, type OptimizerArgs } from "../optim.js";
import type { GpuLocation } from "./executor.js";

export interface GpuParam {
  readonly name: string;
  readonly value: GpuLocation;
  readonly grad: GpuLocation;
  readonly lrScale?: number;
  readonly decay: boolean;
}

export interface GpuOptimizerOptions {
  readonly clipValue?: number;
  readonly clipNorm?: number;
}

export interface GpuOptimizer {
  readonly name: string;
  lr: number;
  readonly stepCount: number;
  /** Write this step's numbers and encode every update (call once per step, before submit). */
  encodeStep(encoder: GPUCommandEncoder, lr?: number): void;
  /** Dispatches one step encodes. */
  readonly dispatches: number;
  /** The step count and state slots, read back, under the names of the CPU optimiser's stateTensors (runtime/optim.ts). */
  stateTensors(): Promise<Map<string, Float32Array>>;
  /** Restore what stateTensors gave (checked by the CPU optimiser's loadState first). */
  loadState(map: ReadonlyMap<string, Float32Array>): void;
}

/** Floats of per-step numbers per parameter: lr, wd (L2), first step, Adam's step size and √bc2, Adagrad's lr, AdamW's shrink. */
const HYPER = 8;

type Kind = "sgd" | "adagrad" | "rmsprop" | "adam";

export async function createGpuOptimizer(
  device: GPUDevice,
  target: KernelTarget,
  name: string,
  params: readonly GpuParam[],
  args: OptimizerArgs,
  options: GpuOptimizerOptions = {},
): Promise<GpuOptimizer> {
  // the CPU optimiser validates the arguments and holds the resolved hyperparameters' defaults
  const probe = createOptimizer(
    name,
    params.map((p) => ({ name: p.name, value: new Float32Array(0), grad: new Float32Array(0), decay: p.decay })),
    args,
  );
  const a = resolveOptimizerArgs(name, args);
  const kind: Kind = name === "adagrad" ? "adagrad" : name === "rmsprop" ? "rmsprop" : name === "adam" || name === "adamw" ? "adam" : "sgd";
  const mu =
    name === "sgd"
      ? num(a, "momentum")
      : name === "momentum" || name === "nesterov"
        ? num(a, "beta")
        : kind === "rmsprop"
          ? num(a, "momentum")
          : 0;
  const nesterov = name === "nesterov" || (name === "sgd" && a["nesterov"] === true);
  const slotCount =
    kind === "sgd"
      ? mu !== 0
        ? 1
        : 0
      : kind === "adagrad"
        ? 1
        : kind === "rmsprop"
          ? 1 + (mu > 0 ? 1 : 0) + (a["centered"] === true ? 1 : 0)
          : a["amsgrad"] === true
            ? 3
            : 2;
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const hyper = device.createBuffer({ label: "dlm optimiser numbers", size: Math.max(1, params.length) * HYPER * 4, usage });
  const norms = device.createBuffer({ label: "dlm gradient norms", size: Math.max(1, params.length) * 4, usage });
  const hostHyper = new Float32Array(Math.max(1, params.length) * HYPER);
  const init = kind === "adagrad" ? num(a, "initial_accumulator") : 0;
  const slots = params.map((p) =>
    Array.from({ length: slotCount }, (_, s) => {
      const b = device.createBuffer({ label: `dlm ${name} state ${s}`, size: p.value.size, usage });
      if (init !== 0) device.queue.writeBuffer(b, 0, new Float32Array(p.value.length).fill(init));
      return b;
    }),
  );

  const clip = { value: options.clipValue, norm: options.clipNorm };
  const pipelines: { pipeline: GPUComputePipeline; bind: GPUBindGroup; workgroups: [number, number, number] }[] = [];
  const add = (code: string, label: string, buffers: StorageBinding[], workgroups: [number, number, number]) =>
    storageKernel(device, code, label, buffers, workgroups);

  const normPipelines =
    clip.norm === undefined
      ? []
      : await Promise.all(
          params.map((p, k) =>
            add(normKernel(p.grad.length, k, clip.value), `grad norm ${k}`, [loc(p.grad), { buffer: norms }], [1, 1, 1]),
          ),
        );
  const updatePipelines = await Promise.all(
    params.map((p, k) => {
      const code = updateKernel({
        kind,
        name,
        a,
        mu,
        nesterov,
        n: p.value.length,
        param: k,
        params: params.length,
        clip,
        slots: slotCount,
        target,
      });
      return add(
        code,
        `${name} update ${k}`,
        [loc(p.value), loc(p.grad), { buffer: hyper }, { buffer: norms }, ...slots[k]!.map((buffer) => ({ buffer }))],
        spreadWorkgroups(p.value.length, WORKGROUP_SIZE, target),
      );
    }),
  );
  pipelines.push(...normPipelines, ...updatePipelines);

  // the CPU optimiser's state names: "step", then slot by slot, parameter by parameter (the GPU's slot order)
  const stateNames = [...probe.stateTensors().keys()].slice(1);
  const slotName = (s: number, k: number): string => stateNames[s * params.length + k]!;

  let stepCount = 0;
  const opt: GpuOptimizer = {
    name,
    lr: probe.lr,
    get stepCount() {
      return stepCount;
    },
    dispatches: pipelines.length,
    encodeStep(encoder, lr = opt.lr) {
      stepCount++;
      const t = stepCount;
      params.forEach((p, k) => {
        const plr = lr * (p.lrScale ?? 1);
        const wd = p.decay ? num(a, "weight_decay") : 0;
        const decoupled = name === "adamw";
        const h = hostHyper.subarray(k * HYPER, (k + 1) * HYPER);
        h[0] = plr;
        h[1] = decoupled ? 0 : wd;
        h[2] = t === 1 ? 1 : 0;
        if (kind === "adam") {
          h[3] = plr / (1 - num(a, "beta1") ** t);
          h[4] = Math.sqrt(1 - num(a, "beta2") ** t);
        }
        if (kind === "adagrad") h[5] = plr / (1 + (t - 1) * num(a, "lr_decay"));
        h[6] = decoupled ? 1 - plr * wd : 1;
      });
      device.queue.writeBuffer(hyper, 0, hostHyper);
      const pass = encoder.beginComputePass({ label: `dlm ${name} step` });
      for (const p of pipelines) {
        pass.setPipeline(p.pipeline);
        pass.setBindGroup(0, p.bind);
        pass.dispatchWorkgroups(...p.workgroups);
      }
      pass.end();
    },
    async stateTensors() {
      const out = new Map<string, Float32Array>([["step", Float32Array.of(stepCount)]]);
      const encoder = device.createCommandEncoder({ label: `dlm ${name} state read` });
      const reads = slots.flatMap((ofParam, k) =>
        ofParam.map((buffer, s) => {
          const staging = device.createBuffer({ size: buffer.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
          encoder.copyBufferToBuffer(buffer, 0, staging, 0, buffer.size);
          return { staging, key: slotName(s, k), length: params[k]!.value.length };
        }),
      );
      device.queue.submit([encoder.finish()]);
      for (const r of reads) {
        await r.staging.mapAsync(GPUMapMode.READ);
        out.set(r.key, new Float32Array(r.staging.getMappedRange().slice(0, r.length * 4)));
        r.staging.destroy();
      }
      // in the CPU optimiser's order
      return new Map([["step", out.get("step")!], ...stateNames.map((k) => [k, out.get(k)!] as const)]);
    },
    loadState(map) {
      slots.forEach((ofParam, k) =>
        ofParam.forEach((buffer, s) => {
          const v = map.get(slotName(s, k));
          if (!v || v.length !== params[k]!.value.length)
            throw new Error(`${name} state: '${slotName(s, k)}' is missing or the wrong size`);
          device.queue.writeBuffer(buffer, 0, Float32Array.from(v));
        }),
      );
      stepCount = map.get("step")![0]!;
    },
  };
  return opt;
}

/** A buffer (or a range of one) bound as read_write storage. */
export interface StorageBinding {
  readonly buffer: GPUBuffer;
  readonly offset?: number;
  readonly size?: number;
}

/** A compute kernel whose bindings are all read_write storage buffers, with its bind group, ready to dispatch. */
export async function storageKernel(
  device: GPUDevice,
  code: string,
  label: string,
  buffers: readonly StorageBinding[],
  workgroups: [number, number, number],
): Promise<{ pipeline: GPUComputePipeline; bind: GPUBindGroup; workgroups: [number, number, number] }> {
  const layout = device.createBindGroupLayout({
    entries: buffers.map((_, binding) => ({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type: "storage" as const } })),
  });
  device.pushErrorScope("validation");
  const pipeline = await device.createComputePipelineAsync({
    label,
    layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
    compute: { module: device.createShaderModule({ label, code }), entryPoint: "main" },
  });
  const bind = device.createBindGroup({
    layout,
    entries: buffers.map((b, binding) => ({
      binding,
      resource: { buffer: b.buffer, offset: b.offset ?? 0, size: b.size ?? b.buffer.size },
    })),
  });
  const err = await device.popErrorScope();
  if (err) throw new Error(`webgpu optimiser kernel '${label}': ${err.message}`);
  return { pipeline, bind, workgroups };
}

function loc(l: GpuLocation): { buffer: GPUBuffer; offset: number; size: number } {
  return { buffer: l.buffer, offset: l.offset, size: l.size };
}

function num(a: Readonly<Record<string, number | boolean>>, k: string): number {
  return a[k] as number;
}

/** WGSL clamping g into [−c, c] as clipGradValue does (NaN stays NaN). */
function clampLine(c: number): string {
  return `if (g > ${literal(c, "f32")}) { g = ${literal(c, "f32")}; } else if (g < ${literal(-c, "f32")}) { g = ${literal(-c, "f32")}; }`;
}

/** Σ g² of one parameter's (value-clipped) gradient into norms[param], one workgroup. */
function normKernel(n: number, param: number, clipValue: number | undefined): string {
  const w = new WgslWriter();
  w.line("@group(0) @binding(0) var<storage, read_write> grad: array<f32>;");
  w.line("@group(0) @binding(1) var<storage, read_write> norms: array<f32>;");
  w.line("var<workgroup> part: array<f32, 256>;", "");
  w.line("@compute @workgroup_size(256)");
  w.block("fn main(@builtin(local_invocation_id) lid: vec3<u32>)", (b) => {
    b.line("var s = 0.0;");
    b.block(`for (var i = lid.x; i < ${n}u; i += 256u)`, (l) => {
      l.line("var g = grad[i];");
      if (clipValue !== undefined) l.line(clampLine(clipValue));
      l.line("s = s + g * g;");
    });
    b.line("part[lid.x] = s;", "workgroupBarrier();");
    b.block("for (var k = 128u; k > 0u; k = k >> 1u)", (l) => {
      l.line("if (lid.x < k) { part[lid.x] = part[lid.x] + part[lid.x + k]; }", "workgroupBarrier();");
    });
    b.line(`if (lid.x == 0u) { norms[${param}] = part[0]; }`);
  });
  return w.text();
}

interface UpdateSpec {
  readonly kind: Kind;
  readonly name: string;
  readonly a: Readonly<Record<string, number | boolean>>;
  readonly mu: number;
  readonly nesterov: boolean;
  readonly n: number;
  readonly param: number;
  readonly params: number;
  readonly clip: { readonly value?: number | undefined; readonly norm?: number | undefined };
  readonly slots: number;
  readonly target: KernelTarget;
}

function updateKernel(s: UpdateSpec): string {
  const f = (v: number) => literal(v, "f32");
  const w = new WgslWriter();
  w.line("fn dlm_f32_bits(bits: u32) -> f32 { return bitcast<f32>(bits); }");
  w.line("@group(0) @binding(0) var<storage, read_write> value: array<f32>;");
  w.line("@group(0) @binding(1) var<storage, read_write> grad: array<f32>;");
  w.line("@group(0) @binding(2) var<storage, read_write> hyper: array<f32>;");
  w.line("@group(0) @binding(3) var<storage, read_write> norms: array<f32>;");
  for (let k = 0; k < s.slots; k++) w.line(`@group(0) @binding(${4 + k}) var<storage, read_write> slot${k}: array<f32>;`);
  const groups = spreadWorkgroups(s.n, WORKGROUP_SIZE, s.target);
  w.line("", `@compute @workgroup_size(${WORKGROUP_SIZE})`);
  w.block("fn main(@builtin(global_invocation_id) gid: vec3<u32>)", (b) => {
    b.line(`let i = gid.x + gid.y * ${groups[0] * WORKGROUP_SIZE}u;`, `if (i >= ${s.n}u) { return; }`);
    const h = (k: number) => `hyper[${s.param * HYPER + k}u]`;
    b.line(`let lr = ${h(0)};`, `let wd = ${h(1)};`, "var g = grad[i];");
    if (s.clip.value !== undefined) b.line(clampLine(s.clip.value));
    if (s.clip.norm !== undefined) {
      // clip_grad_norm_: scale by min(1, max/(total + 1e-6)); a non-finite total leaves the gradients
      b.line("var total2 = 0.0;", `for (var k = 0u; k < ${s.params}u; k++) { total2 = total2 + norms[k]; }`, "let total = sqrt(total2);");
      b.line(`let coef = ${f(s.clip.norm)} / (total + 1e-6);`);
      b.line("if ((bitcast<u32>(total) & 0x7f800000u) != 0x7f800000u && coef < 1.0) { g = g * coef; }");
    }
    b.line("var w = value[i];");
    const a = s.a;
    switch (s.kind) {
      case "sgd":
        if (s.mu === 0) b.line("w = w - lr * (g + wd * w);");
        else {
          b.line("let gg = g + wd * w;");
          // torch clones the first gradient into the buffer (no dampening on step 1)
          b.line(
            `let v = select(${f(s.mu)} * slot0[i] + ${f(1 - ((a["dampening"] as number | undefined) ?? 0))} * gg, gg, ${h(2)} != 0.0);`,
            "slot0[i] = v;",
          );
          b.line(s.nesterov ? `w = w - lr * (gg + ${f(s.mu)} * v);` : "w = w - lr * v;");
        }
        break;
      case "adagrad":
        b.line("let gg = g + wd * w;", "let acc = slot0[i] + gg * gg;", "slot0[i] = acc;");
        b.line(`w = w - (${h(5)} * gg) / (sqrt(acc) + ${f(num(a, "eps"))});`);
        break;
      case "rmsprop": {
        const alpha = num(a, "alpha");
        const centered = a["centered"] === true;
        const mom = s.mu > 0 ? "slot1" : undefined;
        const gavg = centered ? (s.mu > 0 ? "slot2" : "slot1") : undefined;
        b.line("let gg = g + wd * w;", `let sq = ${f(alpha)} * slot0[i] + ${f(1 - alpha)} * gg * gg;`, "slot0[i] = sq;");
        if (gavg) {
          b.line(`let ga = ${f(alpha)} * ${gavg}[i] + ${f(1 - alpha)} * gg;`, `${gavg}[i] = ga;`);
          b.line(`let avg = sqrt(sq - ga * ga) + ${f(num(a, "eps"))};`);
        } else b.line(`let avg = sqrt(sq) + ${f(num(a, "eps"))};`);
        if (mom) b.line(`let bm = ${f(s.mu)} * ${mom}[i] + gg / avg;`, `${mom}[i] = bm;`, "w = w - lr * bm;");
        else b.line("w = w - (lr * gg) / avg;");
        break;
      }
      case "adam": {
        const [b1, b2] = [num(a, "beta1"), num(a, "beta2")];
        b.line(`let wj = w * ${h(6)};`, "let gg = g + wd * wj;");
        b.line(`let m = ${f(b1)} * slot0[i] + ${f(1 - b1)} * gg;`, "slot0[i] = m;");
        b.line(`let v = ${f(b2)} * slot1[i] + ${f(1 - b2)} * gg * gg;`, "slot1[i] = v;");
        b.line("var vv = v;");
        if (a["amsgrad"] === true) b.line("if (vv > slot2[i]) { slot2[i] = vv; }", "vv = slot2[i];");
        b.line(`w = wj - (${h(3)} * m) / (sqrt(vv) / ${h(4)} + ${f(num(a, "eps"))});`);
        break;
      }
    }
    b.line("value[i] = w;");
  });
  return w.text();
}
