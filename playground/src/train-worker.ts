// The training backends' worker: checks the text again (model graphs hold functions and do
// not cross threads), builds a trainer for the model's train section (the CPU runtime's, or
// WebGPU's on the worker's navigator.gpu), feeds it synthetic data for its inputs and reports
// every step's loss. Runs off the page's thread, so typing stays smooth; stopping is
// terminating the worker.

import { summarizeSource } from "../../src/browser.js";
import { firstExamples } from "../../runtime/data/dataset.js";
import { syntheticSplit } from "../../runtime/data/synthetic.js";
import { NonFiniteError, Trainer } from "../../runtime/trainer.js";
import { GpuTrainer } from "../../runtime/webgpu/trainer.js";
import { ENTRY_FILE } from "./analysis.js";
import type { TrainEvent, TrainRequest } from "./train-protocol.js";

const post = (e: TrainEvent): void => self.postMessage(e);

async function train(req: TrainRequest): Promise<void> {
  const s = summarizeSource(req.source, ENTRY_FILE, new Map(), { model: req.model });
  if (!s.graph) return post({ type: "error", message: `model '${req.model}' has errors; fix them before training` });
  if (!s.train)
    return post({
      type: "error",
      message: `model '${req.model}' has no train section (add \`train ${req.model} { loss = ...; optimizer = ... }\`)`,
    });
  const trainer =
    req.backend === "webgpu"
      ? await GpuTrainer.create(s.graph, s.train, { seed: req.seed })
      : new Trainer(s.graph, s.train, { seed: req.seed });
  const unbatched = trainer.exampleInputs.find((i) => !i.batched);
  if (unbatched)
    return post({ type: "error", message: `input '${unbatched.name}' has no batch axis B first; training feeds batches along it` });
  const data = syntheticSplit(trainer).train;
  const stepsPerEpoch = Math.floor(data.length / trainer.batch);
  post({ type: "ready", batch: trainer.batch, stepsPerEpoch, examples: data.length });
  const started = performance.now();
  let step = 0;
  while (step < req.steps) {
    const remaining = req.steps - step;
    const epochData = remaining < stepsPerEpoch ? firstExamples(data, remaining * trainer.batch) : data;
    const r = await trainer.trainEpoch(epochData, (_, loss) => post({ type: "step", step: ++step, loss }));
    post({
      type: "epoch",
      epoch: r.epoch,
      step,
      loss: r.loss,
      ...(r.trainAccuracy !== undefined ? { trainAccuracy: r.trainAccuracy } : {}),
    });
  }
  post({ type: "done", steps: step, seconds: (performance.now() - started) / 1000 });
}

self.onmessage = (e: MessageEvent<TrainRequest>) => {
  // a NaN loss, or a model the runtime cannot lower: say why instead of going quiet
  train(e.data).catch((err: unknown) => {
    const message = err instanceof NonFiniteError ? err.message : `training failed: ${err instanceof Error ? err.message : String(err)}`;
    post({ type: "error", message });
  });
};
