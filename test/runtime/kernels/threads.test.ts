// The wasm kernels on worker threads: the same bits whatever the thread count, small work kept
// on the calling thread, and processes (from sources or from a bundle) that exit by themselves.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { convBackwardInput, convBackwardWeight, convForward } from "../../../runtime/cpu/kernels/conv.js";
import { kernelHeap, matmul, setMatmulParallelMinFlops, type MatmulOptions } from "../../../runtime/cpu/kernels/matmul.js";
import { LagBackoff, setKernelThreads } from "../../../runtime/cpu/kernels/threads.js";
import { DIRECT_CONV_CASES, prod, randArray, rng } from "./helpers.js";

const root = resolve(import.meta.dirname, "../../..");
const jobs = () => kernelHeap()!.jobs;
const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** Runs parallel jobs until a worker has taken a task (workers start asynchronously). */
async function workersJoined(): Promise<void> {
  const n = 96;
  const a = new Float32Array(n * n).fill(1);
  const c = new Float32Array(n * n);
  const before = jobs().stats().workerTasks;
  for (let i = 0; i < 2000 && jobs().stats().workerTasks === before; i++) {
    matmul(a, a, c, n, n, n, { backend: "wasm" });
    await new Promise((r) => setTimeout(r, 5));
  }
  expect(jobs().stats().workerTasks).toBeGreaterThan(before);
}

interface MatmulCase {
  M: number;
  K: number;
  N: number;
  opts: MatmulOptions;
}

const MATMUL_CASES: MatmulCase[] = [
  { M: 37, K: 300, N: 75, opts: {} },
  { M: 130, K: 513, N: 9, opts: { transA: true } },
  { M: 5, K: 64, N: 1031, opts: { transB: true, accumulate: true } },
  { M: 300, K: 7, N: 260, opts: { transA: true, transB: true, ldc: 263 } },
  { M: 61, K: 90, N: 47, opts: { batch: 3, accumulate: true } },
  { M: 1, K: 1, N: 1, opts: {} },
];

/** C for every case, computed with the given thread count and every product split into tasks. */
function matmulAll(threads: number): Float32Array[] {
  setKernelThreads(threads);
  const r = rng(42);
  return MATMUL_CASES.map(({ M, K, N, opts }) => {
    const batch = opts.batch ?? 1;
    const ldc = opts.ldc ?? N;
    const a = randArray(Float32Array, batch * M * K, r);
    const b = randArray(Float32Array, batch * K * N, r);
    const c = randArray(Float32Array, batch * M * ldc, r);
    matmul(a, b, c, M, K, N, { ...opts, backend: "wasm" });
    return c;
  });
}

/** y, dx and dw of every case (the direct kernels), with the given thread count. */
function convAll(threads: number): Float32Array[] {
  setKernelThreads(threads);
  const r = rng(7);
  return DIRECT_CONV_CASES.flatMap((g) => {
    const x = randArray(Float32Array, g.batch * g.inChannels * prod(g.inSize), r);
    const w = randArray(Float32Array, (g.outChannels * g.inChannels * prod(g.kernel)) / g.groups, r);
    const bias = randArray(Float32Array, g.outChannels, r);
    const y = new Float32Array(g.batch * g.outChannels * prod(g.outSize));
    convForward(x, w, bias, y, g);
    const dx = new Float32Array(x.length);
    const dw = new Float32Array(w.length);
    convBackwardInput(y, w, dx, g);
    convBackwardWeight(x, y, dw, g);
    return [y, dx, dw];
  });
}

describe("kernels on worker threads", () => {
  let minFlops = 0;
  beforeAll(() => {
    minFlops = setMatmulParallelMinFlops(0); // split everything, the smallest products too
  });
  afterAll(() => {
    setMatmulParallelMinFlops(minFlops);
    setKernelThreads(undefined);
  });

  /**
   * Computes every case with `threads` threads until workers have taken some of the tasks (the
   * calling thread takes them all when the workers are slow to wake), comparing the bits with
   * one thread's each time.
   */
  async function expectSameBits(all: (threads: number) => Float32Array[], threads: number, what: (i: number) => string): Promise<void> {
    const one = all(1);
    setKernelThreads(threads);
    await workersJoined();
    const before = jobs().stats().workerTasks;
    for (let round = 0; round < 50 && jobs().stats().workerTasks === before; round++) {
      const many = all(threads);
      one.forEach((c, i) => expect(bits(many[i]!), what(i)).toEqual(bits(c)));
    }
    expect(jobs().stats().workerTasks).toBeGreaterThan(before);
  }

  it("give the same bits as one thread: matmul (odd sizes, transposes, strides, batches, accumulate)", async () => {
    await expectSameBits(matmulAll, 3, (i) => JSON.stringify(MATMUL_CASES[i]));
  });

  it("give the same bits as one thread: direct convolution and its gradients", async () => {
    await expectSameBits(convAll, 2, (i) => `${["y", "dx", "dw"][i % 3]} of ${JSON.stringify(DIRECT_CONV_CASES[Math.floor(i / 3)])}`);
  });

  it("keep small products on the calling thread", () => {
    setMatmulParallelMinFlops(minFlops);
    setKernelThreads(2);
    const product = (n: number) => {
      const a = new Float32Array(n * n).fill(0.5);
      matmul(a, a, new Float32Array(n * n), n, n, n, { backend: "wasm" });
    };
    const before = jobs().stats().parallelJobs;
    product(8);
    product(40);
    expect(jobs().stats().parallelJobs).toBe(before);
    // (a few jobs may run on the calling thread while the workers lag on a busy machine)
    for (let i = 0; i < 600 && jobs().stats().parallelJobs === before; i++) product(256);
    expect(jobs().stats().parallelJobs).toBeGreaterThan(before);
    setMatmulParallelMinFlops(0);
  });
});

describe("backing off from parallel jobs while the workers lag", () => {
  it("skips 1, 2, 4, ... jobs after lagging ones, and none once a job does not lag", () => {
    const lag = new LagBackoff();
    const skipped = () => {
      let n = 0;
      while (lag.skipNext()) n++;
      return n;
    };
    expect(skipped()).toBe(0);
    lag.note(0.01, 0.1); // waited less than a task: fine
    expect(skipped()).toBe(0);
    const pauses = [1, 2, 3, 4].map(() => {
      lag.note(5, 0.1); // waited 5 ms for workers after 0.1 ms tasks
      return skipped();
    });
    expect(pauses).toEqual([1, 2, 4, 8]);
    lag.note(0, 0.1);
    lag.note(5, 0.1);
    expect(skipped()).toBe(1);
    expect(lag.lagging).toBe(5);
  });
});

describe("a process using kernel threads", () => {
  // waits (asynchronously, so a late worker can start) until a worker has run a task, prints
  // the statistics, and then just ends: the idle workers must not keep the process alive
  const body = (imports: string) => `${imports}
setKernelThreads(2);
setMatmulParallelMinFlops(0);
const n = 128;
const a = new Float32Array(n * n).fill(1);
const c = new Float32Array(n * n);
for (let i = 0; i < 2000 && kernelHeap().jobs.stats().workerTasks === 0; i++) {
  matmul(a, a, c, n, n, n);
  await new Promise((r) => setTimeout(r, 5));
}
console.log(JSON.stringify({ ...kernelHeap().jobs.stats(), c0: c[0] }));
`;

  function expectExitsAfterThreadedWork(args: string[]): void {
    const p = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 30_000, env: { ...process.env, DLM_THREADS: "" } });
    expect(p.signal, "killed by the timeout: the process did not exit").toBeNull();
    expect(p.status, p.stderr).toBe(0);
    const stats = JSON.parse(p.stdout.trim().split("\n").pop()!) as { workerTasks: number; c0: number };
    expect(stats.workerTasks).toBeGreaterThan(0);
    expect(stats.c0).toBe(128);
  }

  it("exits by itself (sources through tsx)", () => {
    const dir = mkdtempSync(join(tmpdir(), "dlm-threads-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const script = join(dir, "use.mts");
    const url = (p: string) => pathToFileURL(join(root, p)).href;
    writeFileSync(
      script,
      body(
        `import { kernelHeap, matmul, setMatmulParallelMinFlops } from ${JSON.stringify(url("runtime/cpu/kernels/matmul.ts"))};\n` +
          `import { setKernelThreads } from ${JSON.stringify(url("runtime/cpu/kernels/threads.ts"))};`,
      ),
    );
    expectExitsAfterThreadedWork(["--import", "tsx", script]);
  });

  it("without worker threads (as in a browser) runs every job on the calling thread, on a private memory", () => {
    const dir = mkdtempSync(join(tmpdir(), "dlm-nothreads-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const script = join(dir, "use.mts");
    const url = (p: string) => JSON.stringify(pathToFileURL(join(root, p)).href);
    writeFileSync(
      script,
      `delete process.getBuiltinModule;
const { kernelHeap, matmul, setMatmulParallelMinFlops } = await import(${url("runtime/cpu/kernels/matmul.ts")});
const { kernelThreads, setKernelThreads } = await import(${url("runtime/cpu/kernels/threads.ts")});
setKernelThreads(4);
setMatmulParallelMinFlops(0);
const n = 100;
const a = new Float32Array(n * n).fill(1);
const c = new Float32Array(n * n);
matmul(a, a, c, n, n, n);
const heap = kernelHeap();
console.log(JSON.stringify({ threads: kernelThreads(), shared: heap.memory.buffer instanceof SharedArrayBuffer, ...heap.jobs.stats(), c0: c[0] }));
`,
    );
    const p = spawnSync(process.execPath, ["--import", "tsx", script], { encoding: "utf8", timeout: 30_000 });
    expect(p.status, p.stderr).toBe(0);
    const got = JSON.parse(p.stdout.trim().split("\n").pop()!) as Record<string, unknown>;
    expect(got).toMatchObject({ threads: 1, shared: false, parallelJobs: 0, workers: 0, c0: 100 });
  });

  it("exits by itself from a single-file bundle (the worker code travels inside it)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dlm-threads-bundle-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const entry = join(dir, "entry.ts");
    writeFileSync(
      entry,
      body(
        `import { kernelHeap, matmul, setMatmulParallelMinFlops } from ${JSON.stringify(join(root, "runtime/cpu/kernels/matmul.ts"))};\n` +
          `import { setKernelThreads } from ${JSON.stringify(join(root, "runtime/cpu/kernels/threads.ts"))};`,
      ),
    );
    const outfile = join(dir, "bundle.mjs");
    // the options of `dlm compile --bundle`
    await build({ entryPoints: [entry], outfile, bundle: true, format: "esm", platform: "neutral", target: "es2022", logLevel: "silent" });
    expectExitsAfterThreadedWork([outfile]);
  });
});
