// How an op reads in PyTorch: the `torch` field of an op definition, used by the PyTorch
// exporter (compiler/export/torch.ts). A mapping writes Python expressions from what the
// exporter hands it (the inputs' expressions, literal attributes, the parameters' access
// paths); it never sees a user-given name, so generated code cannot be steered by one.
// Each op family file keeps its mappings in a table next to its ops and attaches them with
// `withTorch`.

import { Dim } from "../dim.js";
import type { AttrValue, DType, OpDef, TensorType } from "./types.js";

/** Functions the exporter can add to the generated file for mappings that need more than one call. */
export type TorchHelper =
  | "cross_entropy"
  | "nll_loss"
  | "reduce_loss"
  | "sdpa"
  | "mha"
  | "rope"
  | "sinusoidal"
  | "no_batch_counter"
  | "recurrent"
  | "cell"
  | "embedding";

export interface TorchContext {
  /**
   * Python expressions of the tensor inputs in the op's input order (a variadic input
   * flattened); undefined for an absent optional input. A constant operand of an input that
   * accepts plain numbers is a number literal.
   */
  readonly inputs: readonly (string | undefined)[];
  readonly inputTypes: readonly (TensorType | undefined)[];
  readonly outputs: readonly TensorType[];
  /** attributes as elaborated, defaults filled */
  readonly attrs: Readonly<Record<string, AttrValue>>;
  /** expressions of the op's parameters and buffers (`self.fc.weight`), in the order `infer` listed them */
  readonly params: readonly string[];
  /** input `i` as a tensor (a constant operand becomes `torch.tensor(...)`) */
  tensor(i: number): string;
  /** the parameters' shapes at the exported dims */
  readonly paramShapes: readonly (readonly number[])[];
  /** the module `layer` made for this op (`self.features["0"]`), when its parameters live in one */
  readonly layer?: string;
  /** the module's training flag (`self.training`) */
  readonly training: string;
  /** the device of the forward's tensors, for tensors an op creates */
  readonly device: string;
  /** a value as a Python literal; a symbolic dim as an expression of the forward's size variables */
  py(value: AttrValue | undefined): string;
  /** an integer attribute known at export time */
  int(name: string): number;
  /** the torch dtype spelling of a dtype (`torch.float32`) */
  dtype(d: DType): string;
  /** the name of a helper function of the generated file (included on first use) */
  helper(name: TorchHelper): string;
}

export interface TorchMapping {
  /**
   * A torch.nn module constructor (`nn.Linear(784, 512)`) whose state_dict holds exactly the
   * op's parameters and buffers under their local names with their shapes; the exporter puts
   * it at the layer's path, so the module's names are dlm's. Omitted or undefined: the
   * parameters are registered one by one and `forward` uses them functionally.
   */
  layer?(ctx: TorchContext): string | undefined;
  /** The outputs: one expression per output, or one expression giving a tuple of them all. */
  forward(ctx: TorchContext): string | readonly string[];
}

export type TorchTable = Readonly<Record<string, TorchMapping>>;

/** `ops` with the mappings of `table` attached by op name; a name that is not one of `ops` is a bug. */
export function withTorch(ops: readonly OpDef[], table: TorchTable): OpDef[] {
  const names = new Set(ops.map((o) => o.name));
  for (const name of Object.keys(table)) if (!names.has(name)) throw new Error(`torch mapping for unknown op '${name}'`);
  return ops.map((o) => (table[o.name] ? { ...o, torch: table[o.name]! } : o));
}

/** `fn(a, b, k=v)`; keyword arguments whose value is undefined are left out. */
export function pyCall(fn: string, args: readonly string[], kwargs: Readonly<Record<string, string | undefined>> = {}): string {
  const kw = Object.entries(kwargs)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  return `${fn}(${[...args, ...kw].join(", ")})`;
}

/** The input `i`, which the op's rule makes present. */
export function arg(ctx: TorchContext, i: number): string {
  const x = ctx.inputs[i];
  if (x === undefined) throw new Error(`input ${i} is absent`);
  return x;
}

/** The rank of input `i`. */
export function rankOf(ctx: TorchContext, i: number): number {
  return ctx.inputTypes[i]!.shape.length;
}

/** `fn(x)` for a one-input op with no attributes. */
export function unaryCall(fn: string): TorchMapping {
  return { forward: (c) => `${fn}(${arg(c, 0)})` };
}

/** The axes an `axis` attribute names (an int or a list; none: every axis of input 0), non-negative. */
export function reductionAxes(ctx: TorchContext, name = "axis"): number[] {
  const v = ctx.attrs[name];
  const rank = rankOf(ctx, 0);
  if (v === null || v === undefined) return Array.from({ length: rank }, (_, i) => i);
  return (Array.isArray(v) ? v : [v]).map((a: AttrValue) => {
    const n = typeof a === "number" ? a : a instanceof Dim ? a.constant : undefined;
    if (n === undefined || !Number.isInteger(n)) throw new Error(`'${name}' must be known at export time`);
    return n < 0 ? n + rank : n;
  });
}

/** Numbers as a Python tuple: `(1,)`, `(0, 2)`. */
export function pyTuple(xs: readonly number[]): string {
  return xs.length === 1 ? `(${xs[0]},)` : `(${xs.join(", ")})`;
}
