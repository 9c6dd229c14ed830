// Getting a WebGPU device, in browsers (navigator.gpu) and in Node (the `webgpu` package: Dawn).
//
// Node has no GPU of its own, so acquireGpu tries Dawn's backends in order and says what it
// tried when none gives an adapter:
//   1. Dawn's default (Vulkan, Metal or D3D12: the real GPU where there is one);
//   2. Vulkan on SwiftShader, the software Vulkan driver Debian's chromium package ships (core
//      WebGPU, subgroups), found at the ICD file named by DLM_VULKAN_ICD or Debian's path;
//   3. OpenGL on Mesa's llvmpipe (compatibility mode; needs nothing installed).
// DLM_WEBGPU_BACKEND=default|swiftshader|opengl picks one of them.
//
// Dawn's instance (the object `create` returns) must stay referenced while any device lives
// (a collected instance crashes Dawn) and be dropped at the end, or Node will not exit:
// release() does both. Contexts are shared per process (software drivers start slowly).

/// <reference types="@webgpu/types" />

import type { KernelTarget } from "../../compiler/codegen/wgsl/kernel.js";

export interface GpuContext {
  readonly device: GPUDevice;
  readonly adapter: GPUAdapter;
  /** which adapter this is, for messages and reports, e.g. "SwiftShader driver 5.0.0 (Vulkan)" */
  readonly description: string;
  /** the path that gave the adapter: "browser", "default", "swiftshader" or "opengl" */
  readonly backend: GpuBackend;
  /** optional features this device has (requested whenever the adapter offers them) */
  readonly features: { readonly subgroups: boolean; readonly f16: boolean; readonly timestamps: boolean; readonly subgroupMatrix: boolean };
  /** Destroy the device and drop Dawn's instance (idempotent). */
  release(): void;
}

export type GpuBackend = "browser" | "default" | "swiftshader" | "opengl";

/** No adapter anywhere: `tried` lists each path and why it failed. */
export class NoGpuAdapterError extends Error {
  constructor(readonly tried: readonly string[]) {
    super(`no usable WebGPU adapter; tried:\n${tried.map((t) => `  - ${t}`).join("\n")}`);
    this.name = "NoGpuAdapterError";
  }
}

/**
 * Debian's chromium ships SwiftShader's Vulkan driver here. A process that cannot set its own
 * environment for native code (a vitest worker: vitest.config.ts) passes it to its children as
 * VK_ADD_DRIVER_FILES instead, which Dawn's default attempt then finds.
 */
export const DEBIAN_SWIFTSHADER_ICD = "/usr/lib/chromium/vk_swiftshader_icd.json";

/** Limits a compute backend wants as high as the adapter allows. */
const WANTED_LIMITS = [
  "maxBufferSize",
  "maxStorageBufferBindingSize",
  "maxStorageBuffersPerShaderStage",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxComputeWorkgroupsPerDimension",
  "maxBindGroups",
  "maxBindingsPerBindGroup",
] as const;

const OPTIONAL_FEATURES = {
  subgroups: "subgroups",
  f16: "shader-f16",
  timestamps: "timestamp-query",
  subgroupMatrix: "chromium-experimental-subgroup-matrix",
} as const;

/** Node's WebGPU; a variable, so that bundlers of browser code (the playground) do not try to include it. */
const DAWN_PACKAGE = "webgpu";

/** Dawn toggles (Node only) turned on or off for the whole instance, e.g. for precise timing. */
export interface DawnToggles {
  readonly enable?: readonly string[];
  readonly disable?: readonly string[];
}

/** Toggles for benchmarks: GPU timestamps at full resolution (Dawn quantises them by default). */
export const PRECISE_TIMESTAMPS: DawnToggles = { enable: ["allow_unsafe_apis"], disable: ["timestamp_quantization"] };

let shared: Promise<GpuContext> | undefined;
let sharedToggles = "";

/**
 * The process's shared WebGPU context (created on first use). Toggles apply when the context is
 * created; asking for other toggles while one lives is an error (releaseGpu first).
 */
export function acquireGpu(toggles: DawnToggles = {}): Promise<GpuContext> {
  const key = JSON.stringify([toggles.enable ?? [], toggles.disable ?? []]);
  if (shared && key !== sharedToggles && (toggles.enable?.length || toggles.disable?.length))
    throw new Error(`acquireGpu: the shared WebGPU context was created with other Dawn toggles (${sharedToggles}); release it first`);
  if (!shared) sharedToggles = key;
  shared ??= createGpuContext(toggles).catch((e: unknown) => {
    shared = undefined; // let a later call try again
    throw e;
  });
  return shared;
}

/** Release the shared context, if one was created (tests call this in afterAll). */
export async function releaseGpu(): Promise<void> {
  const s = shared;
  shared = undefined;
  sharedToggles = "";
  if (s) (await s.catch(() => undefined))?.release();
}

async function createGpuContext(toggles: DawnToggles): Promise<GpuContext> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) {
    const adapter = await nav.gpu.requestAdapter({ powerPreference: "high-performance" });
    if (!adapter) throw new NoGpuAdapterError(["navigator.gpu.requestAdapter(): no adapter (is WebGPU enabled in this browser?)"]);
    return openDevice(adapter, "browser", () => undefined);
  }
  return createNodeContext(toggles);
}

/** Dawn's instance flags for the toggles. */
function toggleFlags(t: DawnToggles): string[] {
  const flags: string[] = [];
  if (t.enable?.length) flags.push(`enable-dawn-features=${t.enable.join(",")}`);
  if (t.disable?.length) flags.push(`disable-dawn-features=${t.disable.join(",")}`);
  return flags;
}

async function createNodeContext(toggles: DawnToggles): Promise<GpuContext> {
  let dawn: { create(flags: string[]): GPU; globals: object };
  try {
    dawn = (await import(/* @vite-ignore */ DAWN_PACKAGE)) as unknown as typeof dawn;
  } catch (e) {
    throw new NoGpuAdapterError([`the 'webgpu' package (Dawn for Node) could not be loaded: ${(e as Error).message}`]);
  }
  // Dawn's classes (GPUBufferUsage, ...) as the browser has them
  for (const [k, v] of Object.entries(dawn.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;

  const tried: string[] = [];
  const chosen = process.env["DLM_WEBGPU_BACKEND"];
  if (chosen && !["default", "swiftshader", "opengl"].includes(chosen))
    throw new NoGpuAdapterError([`DLM_WEBGPU_BACKEND='${chosen}' is none of default, swiftshader, opengl`]);
  const attempts: { backend: Exclude<GpuBackend, "browser">; flags: string[]; compat: boolean; prepare?: () => string | undefined }[] = [
    { backend: "default", flags: [], compat: false },
    {
      backend: "swiftshader",
      flags: ["backend=vulkan"],
      compat: false,
      prepare: () => {
        const icd = process.env["DLM_VULKAN_ICD"] ?? DEBIAN_SWIFTSHADER_ICD;
        if (!fileExists(icd)) return `no SwiftShader ICD at ${icd} (install Debian's chromium, or set DLM_VULKAN_ICD)`;
        process.env["VK_ICD_FILENAMES"] = icd;
        return undefined;
      },
    },
    {
      backend: "opengl",
      flags: ["backend=opengl"],
      compat: true,
      prepare: () => {
        process.env["EGL_PLATFORM"] ??= "surfaceless";
        return undefined;
      },
    },
  ];
  for (const a of attempts) {
    if (chosen && a.backend !== chosen) continue;
    const skip = a.prepare?.();
    if (skip) {
      tried.push(`${a.backend}: ${skip}`);
      continue;
    }
    let instance: GPU | undefined = dawn.create([...a.flags, ...toggleFlags(toggles)]);
    let adapter: GPUAdapter | null = null;
    try {
      adapter = await instance.requestAdapter(a.compat ? ({ featureLevel: "compatibility" } as GPURequestAdapterOptions) : undefined);
    } catch (e) {
      tried.push(`${a.backend}: ${(e as Error).message}`);
    }
    if (!adapter) {
      if (tried.length === 0 || !tried.at(-1)!.startsWith(a.backend)) tried.push(`${a.backend}: Dawn found no adapter`);
      instance = undefined;
      continue;
    }
    const keep = instance; // referenced by the context's closure until release()
    return openDevice(adapter, a.backend, () => {
      void keep;
      instance = undefined;
    });
  }
  throw new NoGpuAdapterError(tried);
}

function fileExists(path: string): boolean {
  const fs = (globalThis as { process?: { getBuiltinModule?: (m: string) => unknown } }).process?.getBuiltinModule?.("node:fs") as
    { existsSync(p: string): boolean } | undefined;
  return fs ? fs.existsSync(path) : false;
}

async function openDevice(adapter: GPUAdapter, backend: GpuBackend, dropInstance: () => void): Promise<GpuContext> {
  const requiredLimits: Record<string, number> = {};
  for (const k of WANTED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number | undefined>)[k];
    if (typeof v === "number") requiredLimits[k] = v;
  }
  const requiredFeatures = Object.values(OPTIONAL_FEATURES).filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const info = adapter.info;
  const name = info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(" ") || "unnamed adapter";
  let released = false;
  return {
    device,
    adapter,
    backend,
    description: `${name} (${backend === "opengl" ? "OpenGL" : backend === "swiftshader" ? "Vulkan, SwiftShader" : backend})`,
    features: {
      subgroups: device.features.has(OPTIONAL_FEATURES.subgroups),
      f16: device.features.has(OPTIONAL_FEATURES.f16),
      timestamps: device.features.has(OPTIONAL_FEATURES.timestamps),
      subgroupMatrix: device.features.has(OPTIONAL_FEATURES.subgroupMatrix),
    },
    release() {
      if (released) return;
      released = true;
      device.destroy();
      dropInstance();
    },
  };
}

/** The target a device offers. */
export function kernelTarget(device: GPUDevice, optIn: { subgroupMatrix?: boolean } = {}): KernelTarget {
  return {
    maxWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
    maxInvocationsPerWorkgroup: device.limits.maxComputeInvocationsPerWorkgroup,
    maxWorkgroupStorageBytes: device.limits.maxComputeWorkgroupStorageSize,
    subgroups: device.features.has("subgroups"),
    subgroupMatrix: optIn.subgroupMatrix === true && device.features.has("chromium-experimental-subgroup-matrix" as GPUFeatureName),
    subgroupMatrixShapes: f32SubgroupMatrixShapes(device),
  };
}

/** The f32 × f32 → f32 cooperative-matrix fragment shapes the adapter lists (Dawn's adapter info), if it lists any. */
function f32SubgroupMatrixShapes(device: GPUDevice): { M: number; N: number; K: number }[] | undefined {
  type Config = { componentType: string; resultComponentType: string; M: number; N: number; K: number };
  const info = (device as { adapterInfo?: { subgroupMatrixConfigs?: readonly Config[] } }).adapterInfo;
  const configs = info?.subgroupMatrixConfigs;
  if (!configs) return undefined;
  return configs.filter((c) => c.componentType === "f32" && c.resultComponentType === "f32").map(({ M, N, K }) => ({ M, N, K }));
}
