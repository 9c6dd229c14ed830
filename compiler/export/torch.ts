// PyTorch export: a model as an idiomatic torch.nn.Module (same parameter names as dlm),
// a loader for dlm's safetensors checkpoints, and a DDP training template. (Being written.)

import type { ModelGraph } from "../ir/graph.js";
import type { TrainSetup } from "../train.js";

/** The text of one Python file: the module, `load_dlm_weights`, and a torchrun/DDP `main()`. */
export function torchModuleSource(graph: ModelGraph, train: TrainSetup | undefined): string {
  void train;
  throw new Error(`PyTorch export of '${graph.name}' is not implemented yet`);
}
