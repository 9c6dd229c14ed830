// The kernel heap: one WebAssembly memory holding the operands of the wasm kernels, and one
// instance of the kernels module on it (the GEMM functions of wasm-gemm.ts, the direct
// convolution and its weight gradient of wasm-conv.ts). Where kernels can run on worker threads
// the memory is shared and its TaskQueue (threads.ts) runs jobs on workers holding instances of
// the same module; elsewhere (browsers) the memory is private and every job runs on the calling
// thread.
// A kernel call lays its operands out from byte 0 and is done with them when it returns (one
// call at a time; not re-entrant). The memory only grows.

import { emitConvWeightGrad, emitDirectConv } from "./wasm-conv.js";
import { assembleModule, type MemorySpec } from "./wasm-code.js";
import { emitGemmFunctions, type GemmKernelShape } from "./wasm-gemm.js";
import { TaskQueue, threadsAvailable } from "./threads.js";

/** Indices of the module's functions, for TaskQueue.call. */
export const FN = { packA: 0, packB: 1, macro: 2, conv: 3, convWeightGrad: 4 } as const;

export interface KernelHeap {
  readonly shape: GemmKernelShape;
  readonly memory: WebAssembly.Memory;
  readonly jobs: TaskQueue;
  /** An f32 view of the memory at least `floats` long (growing the memory when needed). */
  view(floats: number): Float32Array;
  /** An i32 view of the same memory, at least `ints` long. */
  viewI32(ints: number): Int32Array;
}

const PAGE = 65536;
/** Shared memories need a maximum; V8 reserves it as address space only. */
const SHARED_MAX_PAGES = [65536, 16384];

function emitKernels(shape: GemmKernelShape, memory: MemorySpec): Uint8Array<ArrayBuffer> {
  return assembleModule([...emitGemmFunctions(shape), emitDirectConv(shape), emitConvWeightGrad(shape)], memory);
}

/** Instantiates the kernels module, on a shared memory where possible; null without SIMD128. */
export function createKernelHeap(shape: GemmKernelShape): KernelHeap | null {
  if (typeof WebAssembly !== "object") return null;
  const attempts: { spec: MemorySpec; memory: () => WebAssembly.Memory }[] = [];
  if (threadsAvailable())
    for (const maximum of SHARED_MAX_PAGES)
      attempts.push({
        spec: { kind: "import", shared: true, maximumPages: maximum },
        memory: () => new WebAssembly.Memory({ initial: 1, maximum, shared: true }),
      });
  attempts.push({ spec: { kind: "import", shared: false }, memory: () => new WebAssembly.Memory({ initial: 1 }) });
  for (const { spec, memory: makeMemory } of attempts) {
    try {
      const bytes = emitKernels(shape, spec);
      if (!WebAssembly.validate(bytes)) return null; // the same code fails whatever the memory
      const memory = makeMemory();
      const module = new WebAssembly.Module(bytes);
      const exports = new WebAssembly.Instance(module, { env: { mem: memory } }).exports as Record<string, (...a: number[]) => void>;
      const names = Object.keys(FN);
      const jobs = new TaskQueue(
        module,
        memory,
        names,
        names.map((n) => exports[n]!),
      );
      return heapOver(shape, memory, jobs);
    } catch {
      // no shared memory of that size here: try the next
    }
  }
  return null;
}

function heapOver(shape: GemmKernelShape, memory: WebAssembly.Memory, jobs: TaskQueue): KernelHeap {
  let f32 = new Float32Array(memory.buffer);
  let i32 = new Int32Array(memory.buffer);
  const reserve = (elems: number) => {
    const have = memory.buffer.byteLength;
    if (have < elems * 4) memory.grow(Math.ceil((elems * 4 - have) / PAGE));
    f32 = new Float32Array(memory.buffer);
    i32 = new Int32Array(memory.buffer);
  };
  return {
    shape,
    memory,
    jobs,
    view(floats) {
      if (f32.length < floats) reserve(floats);
      return f32;
    },
    viewI32(ints) {
      if (i32.length < ints) reserve(ints);
      return i32;
    },
  };
}
