// Weights from a safetensors file for a model's parameters and buffers, by name: dlm's own
// checkpoints and weight files, and files PyTorch wrote (save_file(model.state_dict()), or the
// exported module's save_dlm_weights) when the names and shapes match. Everything is checked
// before anything is used, and a file that does not fit gets one message listing every
// missing, unexpected, mis-shaped and mis-typed tensor.

import type { SafetensorsFile } from "./safetensors.js";

export interface WeightSlot {
  readonly name: string;
  readonly shape: readonly number[];
}

/** Tensors a file may hold that are no parameter: dlm's optimiser state, torch's batch-norm counters. */
function ignored(name: string): boolean {
  return name.startsWith("optimizer.") || name === "num_batches_tracked" || name.endsWith(".num_batches_tracked");
}

const fmt = (shape: readonly number[]): string => `[${shape.join(", ")}]`;

/** A file that does not fit a model; `problems` lists each mismatch. */
export class WeightsMismatchError extends Error {
  constructor(
    readonly path: string,
    readonly model: string,
    readonly problems: readonly string[],
    savedFrom?: string,
  ) {
    super(
      `${path} does not fit ${model}: ${problems.join("; ")}${savedFrom && savedFrom !== model ? `; it was saved from model ${savedFrom}` : ""}`,
    );
  }
}

/**
 * The float32 values of `slots` from `file`. F32 tensors are taken as they are, F16 and BF16
 * ones widened exactly (the reader already did); any other dtype, a missing tensor, a tensor
 * of another shape, or one the model does not have (other than optimiser state and torch's
 * num_batches_tracked) is an error naming all of them. `known` adds names the file may hold
 * without being asked for (a model's other parameters).
 */
export function matchWeights(
  file: SafetensorsFile,
  slots: readonly WeightSlot[],
  where: { readonly path: string; readonly model: string },
  known: ReadonlySet<string> = new Set(),
): Map<string, Float32Array> {
  const problems: string[] = [];
  const values = new Map<string, Float32Array>();
  const wanted = new Set(slots.map((s) => s.name));
  for (const s of slots) {
    const t = file.tensors.get(s.name);
    if (!t) problems.push(`missing '${s.name}' ${fmt(s.shape)}`);
    else if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i]))
      problems.push(`'${s.name}' is ${fmt(t.shape)}, the model needs ${fmt(s.shape)}`);
    else if (!(t.data instanceof Float32Array) || !["F32", "F16", "BF16"].includes(t.dtype))
      problems.push(`'${s.name}' is ${t.dtype}; weights must be F32 (or F16 / BF16, widened exactly)`);
    else values.set(s.name, t.data);
  }
  for (const [name, t] of file.tensors)
    if (!wanted.has(name) && !known.has(name) && !ignored(name)) problems.push(`unexpected '${name}' ${fmt(t.shape)}`);
  if (problems.length > 0) throw new WeightsMismatchError(where.path, where.model, problems, file.metadata.model);
  return values;
}
