// Worker threads for the wasm kernels: a job is a list of tasks, each a short sequence of calls
// of the kernels module's exported functions on the shared kernel heap; the main thread and
// `threads - 1` workers (each with its own instance of the same module on the same shared
// memory) take tasks until none are left, and the main thread returns when every task is done.
// So a parallel job is synchronous from the caller's view, and its result does not depend on
// which thread ran which task: the tasks of one job write disjoint memory, each with the same
// instructions whatever thread runs it.
//
// Where threads run: Node (worker_threads, reached through process.getBuiltinModule, so
// bundles need no import of it) with SharedArrayBuffer. Elsewhere (browsers: a page's main
// thread may not block in Atomics.wait) every job runs on the calling thread.
// Thread count: setKernelThreads(n), else the DLM_THREADS environment variable, else the
// machine's available parallelism (at most 8); 1 runs everything on the calling thread.
// Workers start on the first parallel job and join it (and later ones) once they are up; they
// are unref'd, so an idle pool never keeps a process alive.
//
// Protocol (an Int32Array `ctl` over a SharedArrayBuffer; the first 8 bytes a BigUint64):
//   STATE (64-bit)  generation << 32 | task count << 16 | next unclaimed task
//   GEN             the generation, for Atomics.wait/notify
//   DONE            tasks finished in this generation
//   FAILED          a worker's task threw
//   WORKER_TASKS    tasks run by workers so far (statistics)
//   task t's calls are table entries [start(t), start(t+1)) of CALL_INTS ints: function index
//   and CALL_ARGS arguments.
// A thread claims task t with a compare-exchange of STATE from (gen, count, t) to (gen, count,
// t + 1), so a thread that wakes late cannot claim a task of a later job under an old one.
//
// On a machine busy with other processes a worker may hold a task without getting a core, and
// the calling thread then waits for it. When the calling thread, out of tasks, waits for a
// worker much longer than a task takes it, the workers lag: the next jobs (1, then 2, 4, ... up
// to MAX_BACKOFF while they keep lagging) run on the calling thread alone.

const STATE = 0;
const GEN = 2;
const DONE = 3;
const FAILED = 4;
const WORKER_TASKS = 5;
const STARTS = 8;
export const MAX_TASKS = 4096;
const TABLE = STARTS + MAX_TASKS + 1;
export const CALL_ARGS = 10;
const CALL_INTS = 1 + CALL_ARGS;
export const MAX_CALLS = 32768;
const CONTROL_INTS = TABLE + MAX_CALLS * CALL_INTS;
/** Polls before a thread sleeps (some microseconds): the next job of a matmul (pack, then compute) skips the futex wake-up. */
const SPIN = 2000;
/** Parallel jobs skipped after one where the workers lagged, at most (the count doubles per lagging job). */
const MAX_BACKOFF = 256;

// The worker's side, as source text: bundles and any loader run it unchanged.
const WORKER_SOURCE = `"use strict";
const start = (data) => {
  const ex = new WebAssembly.Instance(data.module, { env: { mem: data.memory } }).exports;
  const fns = data.names.map((n) => ex[n]);
  const ctl = new Int32Array(data.control);
  const state = new BigUint64Array(data.control, 0, 1);
  const run = (t) => {
    const end = ctl[${STARTS} + t + 1];
    for (let i = ctl[${STARTS} + t]; i < end; i += ${CALL_INTS})
      fns[ctl[i]](${Array.from({ length: CALL_ARGS }, (_, k) => `ctl[i + ${k + 1}]`).join(", ")});
  };
  let seen = Atomics.load(ctl, ${GEN});
  for (;;) {
    for (let i = 0; i < ${SPIN} && Atomics.load(ctl, ${GEN}) === seen; i++);
    Atomics.wait(ctl, ${GEN}, seen);
    seen = Atomics.load(ctl, ${GEN});
    for (;;) {
      const s = Atomics.load(state, ${STATE});
      if (Number(s >> 32n) !== seen >>> 0) break;
      const count = Number((s >> 16n) & 0xffffn);
      const t = Number(s & 0xffffn);
      if (t >= count) break;
      if (Atomics.compareExchange(state, ${STATE}, s, s + 1n) !== s) continue;
      try {
        run(t);
      } catch {
        Atomics.store(ctl, ${FAILED}, 1);
      }
      Atomics.add(ctl, ${WORKER_TASKS}, 1);
      if (Atomics.add(ctl, ${DONE}, 1) + 1 === count) Atomics.notify(ctl, ${DONE});
    }
  }
};
start(process.getBuiltinModule("node:worker_threads").workerData);
`;

interface NodeWorker {
  unref(): void;
  terminate(): Promise<number>;
  on(event: "error", listener: (e: unknown) => void): void;
}
interface WorkerThreadsModule {
  Worker: new (source: string, options: { eval: true; workerData: unknown; execArgv: string[] }) => NodeWorker;
}
interface NodeProcess {
  env: Record<string, string | undefined>;
  getBuiltinModule?: (name: string) => unknown;
}

const nodeProcess = (globalThis as { process?: NodeProcess }).process;

let threadsModule: WorkerThreadsModule | null | undefined;

/** worker_threads where the host has it and can share memory; null elsewhere. */
function workerThreads(): WorkerThreadsModule | null {
  if (threadsModule !== undefined) return threadsModule;
  threadsModule = null;
  if (typeof SharedArrayBuffer === "function" && typeof Atomics === "object")
    try {
      threadsModule = (nodeProcess?.getBuiltinModule?.("node:worker_threads") as WorkerThreadsModule | undefined) ?? null;
    } catch {
      // no worker threads here
    }
  return threadsModule;
}

/** Whether kernels can run on worker threads here (Node with shared memory). */
export function threadsAvailable(): boolean {
  return workerThreads() !== null;
}

function defaultThreads(): number {
  const env = Number(nodeProcess?.env["DLM_THREADS"]);
  if (Number.isInteger(env) && env >= 1) return env;
  try {
    const os = nodeProcess?.getBuiltinModule?.("node:os") as { availableParallelism?: () => number } | undefined;
    return Math.max(1, Math.min(8, os?.availableParallelism?.() ?? 1));
  } catch {
    return 1;
  }
}

let configured: number | undefined;

/** Threads the kernels use (the calling thread included): 1 means everything runs on the caller. */
export function kernelThreads(): number {
  return workerThreads() ? (configured ??= defaultThreads()) : 1;
}

/** Sets the kernel thread count (undefined: back to DLM_THREADS or the machine's parallelism). */
export function setKernelThreads(n: number | undefined): void {
  if (n !== undefined && !(Number.isInteger(n) && n >= 1)) throw new RangeError(`threads must be a positive integer, got ${n}`);
  configured = n;
}

type KernelFn = (...args: number[]) => void;

/**
 * When to run parallel jobs on the calling thread alone: after a job in which the calling
 * thread, out of tasks, waited for the workers more than twice as long as one of its own tasks
 * took (plus 50 µs), skip the next 1, then 2, 4, ... MAX_BACKOFF jobs while that goes on.
 */
export class LagBackoff {
  lagging = 0;
  private skip = 0;
  private pause = 1;

  /** Whether the next parallel job should run on the calling thread alone. */
  skipNext(): boolean {
    if (this.skip === 0) return false;
    this.skip--;
    return true;
  }

  /** Records a parallel job: how long the calling thread waited at its end, and its mean task time. */
  note(waitedMs: number, taskMs: number): void {
    if (waitedMs > 2 * taskMs + 0.05) {
      this.lagging++;
      this.skip = this.pause;
      this.pause = Math.min(MAX_BACKOFF, 2 * this.pause);
    } else this.pause = 1;
  }
}

/**
 * The jobs of one kernels module instance: begin(parallel), then call(...) / endTask() per task,
 * then run(). A job begun without `parallel` (or with one thread) runs each call at once.
 */
export class TaskQueue {
  private readonly canShare: boolean;
  /** The control block of the current workers (a new one per pool: a terminated worker keeps the old). */
  private ctl: Int32Array | null = null;
  private state: BigUint64Array | null = null;
  private workers: NodeWorker[] = [];
  private gen = 0;
  private parallelJobs = 0;
  /** tasks run by the workers of earlier pools */
  private retiredWorkerTasks = 0;
  private parallel = false;
  private tasks = 0;
  private calls = 0;
  private readonly lag = new LagBackoff();

  constructor(
    private readonly module: WebAssembly.Module,
    private readonly memory: WebAssembly.Memory,
    private readonly names: readonly string[],
    private readonly fns: readonly KernelFn[],
  ) {
    const shared = typeof SharedArrayBuffer === "function" && memory.buffer instanceof SharedArrayBuffer;
    this.canShare = shared && workerThreads() !== null;
  }

  /** Threads a parallel job would use now. */
  threads(): number {
    return this.canShare ? kernelThreads() : 1;
  }

  begin(parallel: boolean): void {
    this.parallel = parallel && this.threads() > 1 && !this.lag.skipNext();
    this.tasks = 0;
    this.calls = 0;
    if (!this.parallel) return;
    this.ensureWorkers();
    this.ctl![STARTS] = TABLE;
  }

  call(fn: number, a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0, a8 = 0, a9 = 0): void {
    if (!this.parallel) {
      this.fns[fn]!(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9);
      return;
    }
    if (this.calls === MAX_CALLS) throw new RangeError("kernel job: too many calls");
    const ctl = this.ctl!;
    const i = TABLE + this.calls++ * CALL_INTS;
    ctl[i] = fn;
    ctl[i + 1] = a0;
    ctl[i + 2] = a1;
    ctl[i + 3] = a2;
    ctl[i + 4] = a3;
    ctl[i + 5] = a4;
    ctl[i + 6] = a5;
    ctl[i + 7] = a6;
    ctl[i + 8] = a7;
    ctl[i + 9] = a8;
    ctl[i + 10] = a9;
  }

  endTask(): void {
    if (!this.parallel) return;
    if (this.tasks === MAX_TASKS) throw new RangeError("kernel job: too many tasks");
    this.ctl![STARTS + ++this.tasks] = TABLE + this.calls * CALL_INTS;
  }

  /** Runs the job's tasks (nothing left to do for a job that ran its calls at once). */
  run(): void {
    if (!this.parallel) return;
    this.parallel = false;
    const count = this.tasks;
    if (count === 0) return;
    this.parallelJobs++;
    const ctl = this.ctl!;
    const state = this.state!;
    this.gen = (this.gen + 1) | 0;
    const gen = BigInt(this.gen >>> 0);
    Atomics.store(ctl, DONE, 0);
    Atomics.store(state, STATE, (gen << 32n) | (BigInt(count) << 16n));
    Atomics.store(ctl, GEN, this.gen);
    Atomics.notify(ctl, GEN);
    let error: unknown = null;
    let mine = 0;
    const t0 = performance.now();
    for (;;) {
      const s = Atomics.load(state, STATE);
      const t = Number(s & 0xffffn);
      if (t >= count) break;
      if (Atomics.compareExchange(state, STATE, s, s + 1n) !== s) continue;
      try {
        this.runTask(t);
      } catch (e) {
        error ??= e;
      }
      mine++;
      Atomics.add(ctl, DONE, 1);
    }
    const t1 = performance.now();
    // the workers' last tasks: poll a little (they usually end within microseconds), then sleep
    for (let i = 0; i < SPIN && Atomics.load(ctl, DONE) < count; i++);
    for (let d = Atomics.load(ctl, DONE); d < count; d = Atomics.load(ctl, DONE)) Atomics.wait(ctl, DONE, d);
    this.lag.note(performance.now() - t1, mine > 0 ? (t1 - t0) / mine : 0);
    if (error !== null) throw error;
    if (Atomics.exchange(ctl, FAILED, 0) !== 0) throw new Error("kernel job: a task failed on a worker thread");
  }

  private runTask(t: number): void {
    const ctl = this.ctl!;
    const fns = this.fns;
    const end = ctl[STARTS + t + 1]!;
    for (let i = ctl[STARTS + t]!; i < end; i += CALL_INTS)
      fns[ctl[i]!]!(
        ctl[i + 1]!,
        ctl[i + 2]!,
        ctl[i + 3]!,
        ctl[i + 4]!,
        ctl[i + 5]!,
        ctl[i + 6]!,
        ctl[i + 7]!,
        ctl[i + 8]!,
        ctl[i + 9]!,
        ctl[i + 10]!,
      );
  }

  /** Jobs run in parallel, those where the workers lagged, tasks run by workers so far, and the workers started now. */
  stats(): { parallelJobs: number; laggingJobs: number; workerTasks: number; workers: number } {
    return {
      parallelJobs: this.parallelJobs,
      laggingJobs: this.lag.lagging,
      workerTasks: this.retiredWorkerTasks + this.poolWorkerTasks(),
      workers: this.workers.length,
    };
  }

  private poolWorkerTasks(): number {
    return this.ctl ? Atomics.load(this.ctl, WORKER_TASKS) : 0;
  }

  /** Starts or stops workers to match the configured thread count. */
  private ensureWorkers(): void {
    const want = this.threads() - 1;
    if (this.workers.length === want) return;
    this.dispose();
    const control = new SharedArrayBuffer(CONTROL_INTS * 4);
    this.ctl = new Int32Array(control);
    this.state = new BigUint64Array(control, 0, 1);
    this.gen = 0;
    const wt = workerThreads()!;
    const workerData = { module: this.module, memory: this.memory, control, names: this.names };
    for (let i = 0; i < want; i++) {
      const w = new wt.Worker(WORKER_SOURCE, { eval: true, workerData, execArgv: [] });
      w.on("error", () => {}); // a worker that fails to start takes no tasks; the others do its share
      w.unref();
      this.workers.push(w);
    }
  }

  /** Stops the workers (a later parallel job starts new ones). */
  dispose(): void {
    for (const w of this.workers) void w.terminate();
    this.workers = [];
    this.retiredWorkerTasks += this.poolWorkerTasks();
    this.ctl = null;
    this.state = null;
  }
}
