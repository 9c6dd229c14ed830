// Where training runs. Each backend takes a request and streams events back; the page offers
// those available in this browser. Only the CPU backend exists so far; a WebGPU backend
// joins the list as one more entry (its `available` asks for navigator.gpu's adapter).

import type { TrainEvent, TrainRequest } from "./train-protocol.js";

export interface TrainingRun {
  /** ends the run at once; no events follow */
  stop(): void;
}

export interface TrainingBackend {
  readonly id: string;
  readonly label: string;
  available(): Promise<boolean>;
  start(request: TrainRequest, onEvent: (e: TrainEvent) => void): TrainingRun;
}

/** The CPU runtime (JavaScript and WebAssembly SIMD kernels) in a Web Worker. */
const cpu: TrainingBackend = {
  id: "cpu",
  label: "CPU",
  available: async () => typeof Worker === "function",
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
    worker.postMessage(request);
    return { stop };
  },
};

export const TRAINING_BACKENDS: readonly TrainingBackend[] = [cpu];

/** The backends this browser can run, in order of preference. */
export async function availableBackends(): Promise<TrainingBackend[]> {
  const ok = await Promise.all(TRAINING_BACKENDS.map((b) => b.available()));
  return TRAINING_BACKENDS.filter((_, i) => ok[i]);
}
