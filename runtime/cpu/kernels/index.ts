// Hot kernels of the CPU backend: plain functions over flat typed arrays (see each file for the
// layouts). No allocation per call; scratch comes from a grow-only module pool and the wasm
// kernel heap (wasm-heap.ts), which only grow. The wasm kernels run on worker threads where the
// host allows it (threads.ts): setKernelThreads(n) or DLM_THREADS=n sets how many.
export { matmul, matmulBackend, setMatmulWasmTile, type FloatArray, type MatmulBackend, type MatmulOptions } from "./matmul.js";
export {
  convForward,
  convBackwardInput,
  convBackwardWeight,
  convBackwardBias,
  convGeometry,
  convOutSize,
  im2col,
  col2im,
  type ConvGeometry,
  type ConvOptions,
} from "./conv.js";
export {
  maxPoolForward,
  maxPoolBackward,
  avgPoolForward,
  avgPoolBackward,
  poolGeometry,
  poolOutSize,
  type PoolGeometry,
  type AvgPoolOptions,
} from "./pool.js";
export { window3, windowOutSize, type Window3, type WindowSpec } from "./geometry.js";
export { scratchF32, scratchF64, releaseScratch } from "./scratch.js";
export { wasmSimdSupport, emitGemmModule, type GemmKernelShape } from "./wasm-gemm.js";
export { kernelThreads, setKernelThreads } from "./threads.js";
