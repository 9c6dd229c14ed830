// The GPU benchmark: dlm's WGSL against PyTorch (CUDA, fp32, TF32 off) and the JS WebGPU peers,
// side by side in one run, on the same computations:
//   matmul-N          C = A·B, f32, N×N×N (GFLOP/s = 2N³ / time); dlm's tiled kernel, and with
//                     --coop (where the adapter has chromium-experimental-subgroup-matrix) the
//                     cooperative-matrix kernel, checked against the tiled one first
//   mlp-bB            784-256-128-10, ReLU, softmax cross-entropy, SGD with momentum (steps/s)
//   lenet-bB          LeNet (seed 002, 3×32×32: conv 6@5, pool, conv 16@5, pool, 120, 84, 10)
//   resnet18-bB       ResNet-18 at 224×224 (examples/resnet18.dlm, its train section)
//   transformer-bB    6-layer pre-norm encoder, d 512, 8 heads, ff 2048, vocab 1000, seq 256
// A training step is forward, loss, backward and the optimiser update, with the loss read back
// (GpuTrainer.trainStep; PyTorch: loss.item()). dlm's kernels are timed by wall clock around a
// submit of many dispatches (matmul) or whole steps, after a warm-up; medians of several rounds.
//
//   npm run bench:gpu [-- --quick] [--json FILE] [--cases matmul-1024,mlp-b64] [--min-ms 1000] [--coop] [--no-torch]
//
// --quick runs small sizes (a software adapter manages them in a minute or two). PyTorch runs
// from bench/gpu_torch.py when `python3 -c "import torch"` works; the JS peers
// (@tensorflow/tfjs-backend-webgpu, @jax-js/jax) from bench/node_modules when installed there:
// a missing one prints its row as "n/a" with the reason.

/// <reference types="@webgpu/types" />

import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { WgslKernel } from "../compiler/codegen/wgsl/kernel.js";
import { matmulKernel } from "../compiler/codegen/wgsl/matmul.js";
import { COOP_RELATIVE_TOLERANCE } from "../compiler/codegen/wgsl/matmul-coop.js";
import { numelOf, type PNode } from "../compiler/prim/ir.js";
import type { BatchBuffer } from "../runtime/data/dataset.js";
import { acquireGpu, kernelTarget, releaseGpu, type GpuContext } from "../runtime/webgpu/device.js";
import { kernelPipeline } from "../runtime/webgpu/run-kernel.js";
import { GpuTrainer } from "../runtime/webgpu/trainer.js";
import { check, checkSource } from "../src/index.js";

// bench/, found from this file whether it runs from bench/ or bundled into dist/ (the GPU
// machine has no tsx: README, "GPU benchmark")
const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "bench");
const EXAMPLES_DIR = join(BENCH_DIR, "..", "examples");

export interface GpuRow {
  case: string;
  impl: string;
  /** null where the implementation cannot run the case (see note) */
  value: number | null;
  unit: "GFLOP/s" | "steps/s";
  note?: string;
}

interface TrainCase {
  readonly kind: "train";
  readonly name: string;
  readonly model: "mlp" | "lenet" | "resnet18" | "transformer";
  readonly batch: number;
  /** symbolic dims other than the batch (the transformer's sequence length) */
  readonly dims?: Readonly<Record<string, number>>;
}
interface MatmulCase {
  readonly kind: "matmul";
  readonly name: string;
  readonly n: number;
}
type GpuCase = TrainCase | MatmulCase;

const FULL: readonly GpuCase[] = [
  ...[1024, 2048, 4096].map((n): MatmulCase => ({ kind: "matmul", name: `matmul-${n}`, n })),
  { kind: "train", name: "mlp-b64", model: "mlp", batch: 64 },
  { kind: "train", name: "mlp-b1024", model: "mlp", batch: 1024 },
  { kind: "train", name: "lenet-b256", model: "lenet", batch: 256 },
  { kind: "train", name: "resnet18-b64", model: "resnet18", batch: 64 },
  { kind: "train", name: "transformer-b32", model: "transformer", batch: 32, dims: { T: 256 } },
];

const QUICK: readonly GpuCase[] = [
  { kind: "matmul", name: "matmul-128", n: 128 },
  { kind: "train", name: "mlp-b64", model: "mlp", batch: 64 },
  { kind: "train", name: "lenet-b16", model: "lenet", batch: 16 },
];

// The models, as .dlm sources (PyTorch's twins are in gpu_torch.py)
const SOURCES = {
  mlp: {
    model: "MLP",
    source: `
model MLP {
  input x: f32[B, 784]
  output logits = x |> linear(256) |> relu |> linear(128) |> relu |> linear(10)
}
train MLP {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = sgd(lr: 0.01, momentum: 0.9)
  batch = 64
}
`,
  },
  lenet: {
    model: "LeNet",
    source: `
model LeNet {
  input x: f32[B, 3, 32, 32]
  features = x
    |> conv2d(6, 5) |> relu |> maxpool2d(2)
    |> conv2d(16, 5) |> relu |> maxpool2d(2)
  h: f32[B, 400] = flatten(features)
  output logits = h |> linear(120) |> relu |> linear(84) |> relu |> linear(10)
}
train LeNet {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = sgd(lr: 0.01, momentum: 0.9)
  batch = 64
}
`,
  },
  transformer: {
    model: "Encoder6",
    source: `
import "std/transformer"
model Encoder6(vocab: int = 1000, d: int = 512, T: dim = 256) {
  input tokens: i64[B, T]
  h = embedding(tokens, vocab, d)
  y = Encoder(h, 6, 8, 2048, norm: "pre") as encoder
  output logits = linear(y, vocab)
}
train Encoder6 {
  input labels: i64[B, T]
  loss = cross_entropy(logits, labels)
  optimizer = sgd(lr: 0.01, momentum: 0.9)
  batch = 32
}
`,
  },
} as const;

function loadModel(which: TrainCase["model"]) {
  if (which === "resnet18") {
    const m = check(join(EXAMPLES_DIR, "resnet18.dlm")).models.get("ResNet18");
    if (!m?.graph || !m.train) throw new Error("bench: examples/resnet18.dlm does not check");
    return { graph: m.graph, train: m.train };
  }
  const { model, source } = SOURCES[which];
  const r = checkSource(source, `${model}.dlm`);
  const m = r.models.get(model);
  if (!m?.graph || !m.train) throw new Error(`bench: ${model} does not check: ${r.diagnostics.map((d) => d.message).join("; ")}`);
  return { graph: m.graph, train: m.train };
}

// ---------------------------------------------------------------------------
// Timing

/** Median of `rounds` timings (ms) of `run`, each over at least `minMs`, after a warm-up. */
async function medianMs(run: () => Promise<void>, rounds: number, minMs: number, warmup = 2): Promise<number> {
  for (let i = 0; i < warmup; i++) await run();
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let calls = 0;
    const t0 = performance.now();
    do {
      await run();
      calls++;
    } while (performance.now() - t0 < minMs);
    times.push((performance.now() - t0) / calls);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

function uniform(n: number, seed: number): Float32Array<ArrayBuffer> {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

interface Options {
  readonly minMs: number;
  readonly rounds: number;
  readonly coop: boolean;
}

/** dlm's matmul kernel at n³, timed over submits of `inner` dispatches; with `coop` the cooperative one, checked first. */
async function dlmMatmul(gpu: GpuContext, n: number, coop: boolean, o: Options): Promise<GpuRow> {
  const { device } = gpu;
  const unit = "GFLOP/s";
  const impl = coop ? "dlm-wgsl-coop" : "dlm-wgsl";
  const node: PNode = { id: 2, op: "matmul", inputs: [0, 1], attrs: {}, shape: [n, n], dtype: "f32" };
  const shapes = [
    [n, n],
    [n, n],
  ];
  const kernelFor = (withCoop: boolean) => matmulKernel(node, shapes, kernelTarget(device, { subgroupMatrix: withCoop }), ["f32", "f32"]);
  const kernel = kernelFor(coop);
  if (coop && !kernel.label.includes("cooperative"))
    return {
      case: `matmul-${n}`,
      impl,
      value: null,
      unit,
      note: "the adapter offers no cooperative matrices (chromium-experimental-subgroup-matrix)",
    };
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const buffers = [0, 1, 2].map(() => device.createBuffer({ size: n * n * 4, usage }));
  device.queue.writeBuffer(buffers[0]!, 0, uniform(n * n, 1));
  device.queue.writeBuffer(buffers[1]!, 0, uniform(n * n, 2));
  const bind = async (k: WgslKernel, out: GPUBuffer) => {
    const pipeline = await kernelPipeline(device, k);
    const group = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [buffers[0]!, buffers[1]!, out].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    return (encoder: GPUCommandEncoder, times: number) => {
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      for (let i = 0; i < times; i++) pass.dispatchWorkgroups(...k.workgroups);
      pass.end();
    };
  };
  try {
    const encode = await bind(kernel, buffers[2]!);
    let note: string | undefined;
    if (coop) note = await checkAgainstTiled(device, n, encode, await bind(kernelFor(false), buffers[2]!), buffers[2]!);
    // enough dispatches per submit that submitting costs little next to the work
    const inner = Math.max(1, Math.min(64, Math.round(2 ** 31 / n ** 3)));
    const ms = await medianMs(
      async () => {
        const encoder = device.createCommandEncoder();
        encode(encoder, inner);
        device.queue.submit([encoder.finish()]);
        await device.queue.onSubmittedWorkDone();
      },
      o.rounds,
      o.minMs,
    );
    const row: GpuRow = { case: `matmul-${n}`, impl, value: (2 * n ** 3) / ((ms / inner) * 1e6), unit };
    return note ? { ...row, note: `${kernel.label}; ${note}` } : { ...row, note: kernel.label };
  } finally {
    for (const b of buffers) b.destroy();
  }
}

/** Runs the cooperative and the tiled kernel once each and compares: the relative difference must be within the cooperative path's tolerance. */
async function checkAgainstTiled(
  device: GPUDevice,
  n: number,
  coop: (e: GPUCommandEncoder, t: number) => void,
  tiled: (e: GPUCommandEncoder, t: number) => void,
  out: GPUBuffer,
): Promise<string> {
  const read = async (encode: (e: GPUCommandEncoder, t: number) => void) => {
    const staging = device.createBuffer({ size: n * n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = device.createCommandEncoder();
    encode(encoder, 1);
    encoder.copyBufferToBuffer(out, 0, staging, 0, n * n * 4);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const values = new Float32Array(staging.getMappedRange().slice(0));
    staging.destroy();
    return values;
  };
  const [c, t] = [await read(coop), await read(tiled)];
  // |a|, |b| < 1: each |C| term is below 1, so n bounds Σ|a·b|
  let worst = 0;
  for (let i = 0; i < c.length; i++) worst = Math.max(worst, Math.abs(c[i]! - t[i]!) / n);
  if (!(worst <= COOP_RELATIVE_TOLERANCE))
    throw new Error(`cooperative matmul ${n}: differs from the tiled kernel by ${worst} (> ${COOP_RELATIVE_TOLERANCE})`);
  return `max |coop − tiled| / n = ${worst.toExponential(2)}`;
}

/** One batch of the trainer's inputs: floats in [-1, 1), integers (labels, tokens) in their range. */
function syntheticBatch(trainer: GpuTrainer): Map<string, BatchBuffer> {
  return new Map(
    trainer.inputs.map((input, k): [string, BatchBuffer] => {
      const n = numelOf(input.shape);
      if (input.dtype === "f32") return [input.name, uniform(n, 100 + k)];
      if (input.dtype === "bool") return [input.name, Uint8Array.from(uniform(n, 100 + k), (v) => (v > 0 ? 1 : 0))];
      const range = trainer.cpu.integerRange(input.name);
      return [input.name, Int32Array.from(uniform(n, 100 + k), (v) => Math.min(range - 1, Math.floor(((v + 1) / 2) * range)))];
    }),
  );
}

async function dlmTrain(c: TrainCase, o: Options): Promise<GpuRow> {
  const m = loadModel(c.model);
  const dims = new Map(Object.entries(c.dims ?? {}));
  const trainer = await GpuTrainer.create(m.graph, m.train, { batch: c.batch, seed: 0, dims });
  const feeds = syntheticBatch(trainer);
  const ms = await medianMs(
    async () => {
      await trainer.trainStep(feeds);
    },
    o.rounds,
    o.minMs,
  );
  const f = trainer.figures();
  return {
    case: c.name,
    impl: "dlm-wgsl",
    value: 1000 / ms,
    unit: "steps/s",
    note: `${f.dispatches_per_step} dispatches, ${f.submits_per_step} submit(s) per step`,
  };
}

// ---------------------------------------------------------------------------
// Peers

/** PyTorch's rows (bench/gpu_torch.py), or one n/a row per case saying why there are none. */
function torchRows(cases: readonly GpuCase[], o: Options): GpuRow[] {
  const na = (note: string) =>
    cases.map((c): GpuRow => ({ case: c.name, impl: "pytorch", value: null, unit: c.kind === "matmul" ? "GFLOP/s" : "steps/s", note }));
  const probe = spawnSync("python3", ["-c", "import torch"], { encoding: "utf8" });
  if (probe.status !== 0) return na("PyTorch is not installed (python3 -c 'import torch' fails)");
  const spec = cases.map((c) =>
    c.kind === "matmul"
      ? { case: c.name, kind: "matmul", n: c.n }
      : { case: c.name, kind: "train", model: c.model, batch: c.batch, ...c.dims },
  );
  const out = execFileSync(
    "python3",
    [join(BENCH_DIR, "gpu_torch.py"), JSON.stringify({ cases: spec, min_ms: o.minMs, rounds: o.rounds })],
    {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 1 << 24,
    },
  );
  return JSON.parse(out.trim().split("\n").at(-1)!) as GpuRow[];
}

/** The JS WebGPU peers: n/a rows saying why, until their packages are in bench/node_modules. */
function jsPeerRows(cases: readonly GpuCase[]): GpuRow[] {
  const require = createRequire(join(BENCH_DIR, "package.json"));
  const rows: GpuRow[] = [];
  for (const [impl, pkg] of [
    ["tfjs-webgpu", "@tensorflow/tfjs-backend-webgpu"],
    ["jax-js-webgpu", "@jax-js/jax"],
  ] as const) {
    let note: string;
    try {
      require.resolve(pkg);
      note = `${pkg} is installed, but its side of this benchmark is not written yet`;
    } catch {
      note = `${pkg} is not installed in bench/node_modules`;
    }
    for (const c of cases) rows.push({ case: c.name, impl, value: null, unit: c.kind === "matmul" ? "GFLOP/s" : "steps/s", note });
  }
  return rows;
}

// ---------------------------------------------------------------------------

function table(rows: readonly GpuRow[], gpu: GpuContext): string {
  const impls = [...new Set(rows.map((r) => r.impl))];
  const cases = [...new Set(rows.map((r) => r.case))];
  const lines = [`adapter: ${gpu.description}`, ""];
  const header = ["case", "unit", ...impls, ...impls.filter((i) => i !== "dlm-wgsl").map((i) => `dlm / ${i}`)];
  const body = cases.map((c) => {
    const at = (impl: string) => rows.find((r) => r.case === c && r.impl === impl);
    const dlm = at("dlm-wgsl")?.value;
    return [
      c,
      rows.find((r) => r.case === c)!.unit,
      ...impls.map((i) => fmt(at(i)?.value)),
      ...impls.filter((i) => i !== "dlm-wgsl").map((i) => (dlm && at(i)?.value ? `${(dlm / at(i)!.value!).toFixed(2)}x` : "-")),
    ];
  });
  const widths = header.map((h, k) => Math.max(h.length, ...body.map((r) => r[k]!.length)));
  const show = (r: string[]) => r.map((v, k) => (k < 2 ? v.padEnd(widths[k]!) : v.padStart(widths[k]!))).join("  ");
  lines.push(show(header), ...body.map(show), "");
  const notes = new Set(rows.filter((r) => r.note && r.value === null).map((r) => `${r.impl}: ${r.note}`));
  for (const n of notes) lines.push(`n/a  ${n}`);
  for (const r of rows) if (r.note && r.value !== null) lines.push(`${r.case} ${r.impl}: ${r.note}`);
  return lines.join("\n");
}

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? "n/a" : v >= 100 ? v.toFixed(0) : v.toPrecision(3));

export interface GpuBenchArgs {
  quick: boolean;
  json?: string;
  cases?: readonly string[];
  minMs: number;
  rounds: number;
  coop: boolean;
  torch: boolean;
}

export function parseArgs(argv: readonly string[]): GpuBenchArgs {
  const args: GpuBenchArgs = { quick: false, minMs: 1000, rounds: 3, coop: false, torch: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`bench:gpu: ${a} needs a value`);
      return v;
    };
    if (a === "--quick") args.quick = true;
    else if (a === "--json") args.json = value();
    else if (a === "--cases") args.cases = value().split(",");
    else if (a === "--min-ms") args.minMs = Number(value());
    else if (a === "--rounds") args.rounds = Number(value());
    else if (a === "--coop") args.coop = true;
    else if (a === "--no-torch") args.torch = false;
    else throw new Error(`bench:gpu: unknown argument '${a}'`);
  }
  if (!(args.minMs > 0) || !(args.rounds >= 1)) throw new Error("bench:gpu: --min-ms and --rounds need positive numbers");
  if (args.quick && args.minMs === 1000) args.minMs = 200;
  return args;
}

export async function runGpuBench(args: GpuBenchArgs): Promise<GpuRow[]> {
  const all = args.quick ? QUICK : FULL;
  const cases = args.cases ? all.filter((c) => args.cases!.includes(c.name)) : all;
  if (args.cases && cases.length !== args.cases.length)
    throw new Error(`bench:gpu: unknown case among ${args.cases.join(", ")} (cases: ${all.map((c) => c.name).join(", ")})`);
  const gpu = await acquireGpu();
  const o: Options = { minMs: args.minMs, rounds: args.rounds, coop: args.coop };
  const rows: GpuRow[] = [];
  try {
    for (const c of cases) {
      if (c.kind === "matmul") {
        rows.push(await dlmMatmul(gpu, c.n, false, o));
        if (args.coop) rows.push(await dlmMatmul(gpu, c.n, true, o));
      } else rows.push(await dlmTrain(c, o));
    }
  } finally {
    await releaseGpu();
  }
  if (args.torch) rows.push(...torchRows(cases, o));
  rows.push(...jsPeerRows(cases));
  console.log(table(rows, gpu));
  if (args.json) writeFileSync(args.json, JSON.stringify(rows, null, 2) + "\n");
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    await runGpuBench(parseArgs(process.argv.slice(2)));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
}
