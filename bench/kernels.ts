// GFLOP/s of the CPU backend's hot kernels: the plain-JS path, and the WebAssembly SIMD path on
// one thread and on the configured kernel threads (DLM_THREADS, else the machine's parallelism);
// matmul at 256/512/1024 and a conv2d forward (batch 8, 3→64, 3x3, 64x64, pad 1) through the
// direct kernel and through im2col + GEMM.
//   npm run bench:kernels

import { convForward, convGeometry, setConvDirectMaxK } from "../runtime/cpu/kernels/conv.js";
import { matmul, type MatmulBackend } from "../runtime/cpu/kernels/matmul.js";
import { kernelThreads, setKernelThreads } from "../runtime/cpu/kernels/threads.js";
import { wasmSimdSupport } from "../runtime/cpu/kernels/wasm-gemm.js";

function rand(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

/** Best-of-runs GFLOP/s after a warm-up, each run lasting at least ~minMs. */
function measure(flops: number, fn: () => void, minMs = 150, runs = 5): number {
  fn();
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    let reps = 0;
    const t0 = performance.now();
    let dt = 0;
    do {
      fn();
      reps++;
      dt = performance.now() - t0;
    } while (dt < minMs);
    best = Math.min(best, dt / reps);
  }
  return flops / (best * 1e6);
}

const threads = kernelThreads();
const variants: { name: string; backend: MatmulBackend; threads: number }[] = [
  { name: "js", backend: "js", threads: 1 },
  { name: "wasm 1T", backend: "wasm", threads: 1 },
  ...(threads > 1 ? [{ name: `wasm ${threads}T`, backend: "wasm" as const, threads }] : []),
];
const support = wasmSimdSupport();
console.log(`wasm SIMD128: ${support.simd}, relaxed SIMD (FMA): ${support.relaxed}; kernel threads: ${threads}; node ${process.version}`);
console.log("kernel".padEnd(44) + variants.map((v) => v.name.padStart(10)).join(""));

function row(label: string, flops: number, run: (backend: MatmulBackend) => void): void {
  const cells = variants.map((v) => {
    setKernelThreads(v.threads);
    return measure(flops, () => run(v.backend));
  });
  setKernelThreads(threads);
  console.log(label.padEnd(44) + cells.map((g) => g.toFixed(2).padStart(10)).join("") + "  GFLOP/s");
}

for (const n of [256, 512, 1024]) {
  const a = rand(n * n);
  const b = rand(n * n);
  const c = new Float32Array(n * n);
  row(`matmul ${n}x${n}x${n}`, 2 * n * n * n, (backend) => matmul(a, b, c, n, n, n, { backend }));
}

{
  const g = convGeometry({ batch: 8, inChannels: 3, outChannels: 64, inSize: [64, 64], kernel: [3, 3], padLo: [1, 1] });
  const x = rand(8 * 3 * 64 * 64);
  const w = rand(64 * 3 * 9);
  const bias = rand(64);
  const y = new Float32Array(8 * 64 * g.outSize[0]! * g.outSize[1]!);
  const flops = 2 * 8 * 64 * 3 * 9 * g.outSize[0]! * g.outSize[1]!;
  row("conv2d fwd b8 3->64 3x3 64x64 pad1 (direct)", flops, (backend) => convForward(x, w, bias, y, g, { backend }));
  const directMaxK = setConvDirectMaxK(0);
  row("conv2d fwd, the same by im2col + GEMM", flops, (backend) => convForward(x, w, bias, y, g, { backend }));
  setConvDirectMaxK(directMaxK);
}
