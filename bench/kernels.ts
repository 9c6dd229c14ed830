// GFLOP/s of the CPU backend's hot kernels, JS path vs WebAssembly SIMD path:
// matmul at 256/512/1024 and a conv2d forward (batch 8, 3→64, 3x3, 64x64, pad 1).
//   npm run bench:kernels

import { convForward, convGeometry } from "../runtime/cpu/kernels/conv.js";
import { matmul, type MatmulBackend } from "../runtime/cpu/kernels/matmul.js";
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

const backends: MatmulBackend[] = ["js", "wasm"];
const support = wasmSimdSupport();
console.log(`wasm SIMD128: ${support.simd}, relaxed SIMD (FMA): ${support.relaxed}; node ${process.version}`);
console.log("kernel                                   " + backends.map((b) => b.padStart(10)).join(""));

for (const n of [256, 512, 1024]) {
  const a = rand(n * n);
  const b = rand(n * n);
  const c = new Float32Array(n * n);
  const row = backends.map((backend) => measure(2 * n * n * n, () => matmul(a, b, c, n, n, n, { backend })));
  console.log(`matmul ${n}x${n}x${n}`.padEnd(41) + row.map((g) => g.toFixed(2).padStart(10)).join("") + "  GFLOP/s");
}

{
  const g = convGeometry({ batch: 8, inChannels: 3, outChannels: 64, inSize: [64, 64], kernel: [3, 3], padLo: [1, 1] });
  const x = rand(8 * 3 * 64 * 64);
  const w = rand(64 * 3 * 9);
  const bias = rand(64);
  const y = new Float32Array(8 * 64 * g.outSize[0]! * g.outSize[1]!);
  const flops = 2 * 8 * 64 * 3 * 9 * g.outSize[0]! * g.outSize[1]!;
  const row = backends.map((backend) => measure(flops, () => convForward(x, w, bias, y, g, { backend })));
  console.log("conv2d fwd b8 3->64 3x3 64x64 pad1".padEnd(41) + row.map((v) => v.toFixed(2).padStart(10)).join("") + "  GFLOP/s");
}
