// The kernel heap: one WebAssembly memory holding the operands of the wasm kernels, and one
// instance of the kernels module on it (the GEMM functions of wasm-gemm.ts, the direct
// convolution and its weight gradient of wasm-conv.ts, the optimiser updates of wasm-optim.ts). Where kernels can run on worker threads
// the memory is shared and its TaskQueue (threads.ts) runs jobs on workers holding instances of
// the same module; elsewhere (browsers) the memory is private and every job runs on the calling
// thread.
//
// Layout: persistent blocks from byte 0 (alloc/free: a program's arena and parameters, placed
// here so that kernels read and write them where they lie instead of copying them in and out),
// then the scratch region, which starts above the last block. A kernel call lays its operands
// out in the scratch region and is done with them when it returns (one call at a time; not
// re-entrant), so the region may move between calls. view() and viewI32() index the scratch
// region from its start; the pointers handed to kernels are byte addresses in the memory, so
// call sites add `scratch` (its byte offset) to their view offsets. The memory only grows.

import { emitConvWeightGrad, emitDirectConv } from "./wasm-conv.js";
import { assembleModule, type MemorySpec } from "./wasm-code.js";
import { emitGemmFunctions, type GemmKernelShape } from "./wasm-gemm.js";
import { emitOptimizerFunctions } from "./wasm-optim.js";
import { TaskQueue, threadsAvailable } from "./threads.js";

/** Indices of the module's functions, for TaskQueue.call. */
export const FN = { packA: 0, packB: 1, macro: 2, conv: 3, convWeightGrad: 4, sgd: 5, sgdMomentum: 6, adam: 7 } as const;

export interface KernelHeap {
  readonly shape: GemmKernelShape;
  readonly memory: WebAssembly.Memory;
  readonly jobs: TaskQueue;
  /** Byte offset of the scratch region (a multiple of 64): view offsets plus this are kernel pointers. */
  readonly scratch: number;
  /** An f32 view of the scratch region at least `floats` long (growing the memory when needed). */
  view(floats: number): Float32Array;
  /** An i32 view of the same region, at least `ints` long. */
  viewI32(ints: number): Int32Array;
  /** A persistent block of `bytes` zero bytes (64-byte aligned): its byte offset, or -1 where the memory cannot grow that far. */
  alloc(bytes: number): number;
  /** Returns a block from alloc. */
  free(offset: number): void;
  /** Whether `array` lies in this memory; its byteOffset is then its kernel pointer. */
  holds(array: ArrayBufferView): boolean;
}

const PAGE = 65536;
/** Shared memories need a maximum; V8 reserves it as address space only. */
const SHARED_MAX_PAGES = [65536, 16384];

function emitKernels(shape: GemmKernelShape, memory: MemorySpec): Uint8Array<ArrayBuffer> {
  return assembleModule(
    [...emitGemmFunctions(shape), emitDirectConv(shape), emitConvWeightGrad(shape), ...emitOptimizerFunctions()],
    memory,
  );
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

const ALIGN = 64;

const blocksToFree = new FinalizationRegistry<HeapBlock>((block) => {
  if (--block.views === 0) block.kh.free(block.offset);
});

/** A persistent block of the heap and the views placed in it: the block returns to the heap once every one of them is garbage-collected. */
export class HeapBlock {
  views = 0;

  constructor(
    readonly kh: KernelHeap,
    readonly offset: number,
  ) {}

  /** Registers a view of the block (its bytes stay the block's while the view is reachable). */
  adopt<T extends ArrayBufferView>(view: T): T {
    this.views++;
    blocksToFree.register(view, this);
    return view;
  }
}

/** A Float32Array of n floats in a block of the heap of its own, or null where the heap has no room. */
export function heapFloat32(kh: KernelHeap, n: number): Float32Array | null {
  const at = kh.alloc(n * 4);
  return at < 0 ? null : new HeapBlock(kh, at).adopt(new Float32Array(kh.memory.buffer, at, n));
}

function heapOver(shape: GemmKernelShape, memory: WebAssembly.Memory, jobs: TaskQueue): KernelHeap {
  const blocks = new BlockAllocator();
  // every buffer object of the memory (a shared memory hands out a new one after each growth;
  // views made earlier keep theirs)
  const buffers = new WeakSet<ArrayBufferLike>([memory.buffer]);
  let scratch = 0;
  let f32 = new Float32Array(memory.buffer);
  let i32 = new Int32Array(memory.buffer);
  /** Grows the memory to at least `bytes`; false where it cannot grow that far. */
  const reach = (bytes: number): boolean => {
    const have = memory.buffer.byteLength;
    if (have >= bytes) return true;
    try {
      memory.grow(Math.ceil((bytes - have) / PAGE));
    } catch {
      return false;
    }
    buffers.add(memory.buffer);
    return true;
  };
  const remap = () => {
    f32 = new Float32Array(memory.buffer, scratch);
    i32 = new Int32Array(memory.buffer, scratch);
  };
  const reserve = (bytes: number) => {
    if (!reach(scratch + bytes)) throw new RangeError(`kernel heap: cannot grow to ${scratch + bytes} bytes`);
    remap();
  };
  const moveScratch = () => {
    const next = Math.ceil(blocks.top / ALIGN) * ALIGN;
    if (next === scratch) return;
    scratch = next;
    if (memory.buffer.byteLength < scratch) reach(scratch);
    remap();
  };
  return {
    shape,
    memory,
    jobs,
    get scratch() {
      return scratch;
    },
    view(floats) {
      if (f32.length < floats) reserve(floats * 4);
      return f32;
    },
    viewI32(ints) {
      if (i32.length < ints) reserve(ints * 4);
      return i32;
    },
    alloc(bytes) {
      const size = Math.ceil(Math.max(bytes, 1) / ALIGN) * ALIGN;
      const offset = blocks.alloc(size);
      if (!reach(blocks.top)) {
        blocks.free(offset);
        return -1;
      }
      moveScratch();
      new Uint8Array(memory.buffer, offset, size).fill(0); // zeroed like a new ArrayBuffer (a reused block holds old bytes)
      return offset;
    },
    free(offset) {
      blocks.free(offset);
      moveScratch();
    },
    holds: (array) => buffers.has(array.buffer),
  };
}

/**
 * First-fit blocks over [0, top): freed blocks merge with free neighbours, and free space at the
 * top gives `top` back.
 */
export class BlockAllocator {
  top = 0;
  private readonly used = new Map<number, number>();
  /** free ranges, sorted by offset, none adjacent */
  private readonly holes: { offset: number; size: number }[] = [];

  alloc(size: number): number {
    for (let i = 0; i < this.holes.length; i++) {
      const h = this.holes[i]!;
      if (h.size < size) continue;
      const offset = h.offset;
      if (h.size === size) this.holes.splice(i, 1);
      else {
        h.offset += size;
        h.size -= size;
      }
      this.used.set(offset, size);
      return offset;
    }
    const offset = this.top;
    this.top += size;
    this.used.set(offset, size);
    return offset;
  }

  free(offset: number): void {
    const size = this.used.get(offset);
    if (size === undefined) throw new Error(`kernel heap: no block at ${offset}`);
    this.used.delete(offset);
    let i = 0;
    while (i < this.holes.length && this.holes[i]!.offset < offset) i++;
    this.holes.splice(i, 0, { offset, size });
    // merge with the next hole, then with the previous one
    const next = this.holes[i + 1];
    if (next && offset + size === next.offset) {
      this.holes[i]!.size += next.size;
      this.holes.splice(i + 1, 1);
    }
    const prev = this.holes[i - 1];
    if (prev && prev.offset + prev.size === offset) {
      prev.size += this.holes[i]!.size;
      this.holes.splice(i, 1);
      i--;
    }
    const last = this.holes.at(-1);
    if (last && last.offset + last.size === this.top) {
      this.top = last.offset;
      this.holes.pop();
    }
  }
}
