// Where training runs. Each backend takes a request and streams events back; the page offers
// those available in this browser: the CPU runtime always, WebGPU where navigator.gpu gives
// an adapter. Both train in the same Web Worker (train-worker.ts), told which to use.

import type { TrainEvent, TrainRequest } from "./train-protocol.js";

export interface TrainingRun {
  /** ends the run at once; no events follow */
  stop(): void;
}

export interface TrainingBackend {
  readonly id: string;
  readonly label: string;
  available(): Promise<boolean>;
  start(request: Omit<TrainRequest, "backend">, onEvent: (e: TrainEvent) => void): TrainingRun;
}

/** A backend training in a Web Worker of its own per run. */
function workerBackend(id: TrainRequest["backend"], label: string, available: () => Promise<boolean>): TrainingBackend {
  return {
    id,
    label,
    available,
    start(request, onEvent) {
      const worker = new Worker(new URL("./train-worker.ts", import.meta.url), { type: "module" });
      let stopped = false;
      const stop = (): void => {
        stopped = true;
        worker.terminate();
      };
      worker.onmessage = (e: MessageEvent<TrainEvent>) => {
        if (stopped) return;
        onEvent(e.data);
        if (e.data.type === "done" || e.data.type === "error") stop();
      };
      worker.onerror = (e) => {
        if (stopped) return;
        onEvent({ type: "error", message: `the training worker failed: ${e.message}` });
        stop();
      };
      worker.postMessage({ ...request, backend: id } satisfies TrainRequest);
      return { stop };
    },
  };
}

/** The CPU runtime (JavaScript and WebAssembly SIMD kernels). */
const cpu = workerBackend("cpu", "CPU", async () => typeof Worker === "function");

/** WebGPU, where this browser has an adapter (the worker asks navigator.gpu for its own device). */
const webgpu = workerBackend("webgpu", "WebGPU", async () => {
  const gpu = (navigator as { gpu?: GPU }).gpu;
  if (typeof Worker !== "function" || !gpu) return false;
  try {
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
});

export const TRAINING_BACKENDS: readonly TrainingBackend[] = [cpu, webgpu];

/** The backends this browser can run, in order of preference. */
export async function availableBackends(): Promise<TrainingBackend[]> {
  const ok = await Promise.all(TRAINING_BACKENDS.map((b) => b.available()));
  return TRAINING_BACKENDS.filter((_, i) => ok[i]);
}
