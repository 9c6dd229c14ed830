// The messages between the page and a training backend (a Web Worker).

export interface TrainRequest {
  /** the editor's text and the model to train (its train section says loss, optimiser, batch) */
  readonly source: string;
  readonly model: string;
  /** optimiser steps to run, over as many epochs of synthetic data as that takes */
  readonly steps: number;
  readonly seed: number;
  /** where the worker trains: the CPU runtime, or WebGPU (runtime/webgpu/trainer.ts) */
  readonly backend: "cpu" | "webgpu";
}

export type TrainEvent =
  | { readonly type: "ready"; readonly batch: number; readonly stepsPerEpoch: number; readonly examples: number }
  | { readonly type: "step"; readonly step: number; readonly loss: number }
  | { readonly type: "epoch"; readonly epoch: number; readonly step: number; readonly loss: number; readonly trainAccuracy?: number }
  | { readonly type: "done"; readonly steps: number; readonly seconds: number }
  | { readonly type: "error"; readonly message: string };
