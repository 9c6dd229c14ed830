// What an op's ONNX export hook (OpDef.onnx) sees: its inputs as ONNX value names with their
// types (symbolic dims kept, the dims fixed for the export substituted), its attributes, its
// parameters as initializer names, and an emitter for nodes, constants and run-time shapes.
// The hook returns the value names of its outputs; the exporter (export.ts) does the rest.

import type { Dim } from "../../dim.js";
import type { SourceSite } from "../../ir/graph.js";
import type { DType, InferContext, TensorType } from "../../ops/types.js";
import type { GraphProtoObject } from "./proto.js";

/**
 * An ONNX attribute value: a JS number is an INT (it must be an integer), a number list INTS,
 * a string STRING; floats and graphs are tagged, since 1.0 and 1 are the same JS number.
 */
export type OnnxAttr =
  | number
  | readonly number[]
  | string
  | { readonly float: number }
  | { readonly floats: readonly number[] }
  | { readonly strings: readonly string[] }
  | { readonly graph: GraphProtoObject }
  | { readonly tensor: { readonly values: ArrayLike<number>; readonly shape: readonly number[]; readonly dtype: DType } };

export type OnnxAttrs = Readonly<Record<string, OnnxAttr>>;

/** A FLOAT attribute. */
export function float(value: number): { readonly float: number } {
  return { float: value };
}

/**
 * A model that cannot be exported as asked: an op ONNX cannot express (or dlm does not map),
 * a size that must be fixed. Hooks throw it without a site; the exporter adds the op, its
 * layer and its source location.
 */
export class ExportError extends Error {
  constructor(
    message: string,
    readonly site?: SourceSite,
  ) {
    super(message);
  }
}

export interface OnnxContext extends InferContext {
  /** ONNX value names of the tensor inputs in the op's input order (a variadic input flattened); undefined when absent */
  readonly values: readonly (string | undefined)[];
  /** the output types the shape rule promised (the hook must produce exactly these dtypes) */
  readonly outputs: readonly TensorType[];
  /** initializer names of the op's parameters and buffers, in the order its `infer` listed them */
  readonly params: readonly string[];
  readonly paramTypes: readonly TensorType[];
  /** emits one node; returns its `outputs` output names */
  node(opType: string, inputs: readonly (string | undefined)[], attrs?: OnnxAttrs, outputs?: number): string[];
  /** emits one node with one output; returns its name */
  op(opType: string, inputs: readonly (string | undefined)[], attrs?: OnnxAttrs): string;
  /** a constant tensor (an initializer) of a dlm dtype */
  constant(values: ArrayLike<number>, shape: readonly number[], dtype: DType): string;
  /** a 0-d constant (f32 unless said) */
  scalar(value: number, dtype?: DType): string;
  /** a 1-D int64 constant (axes, starts, sizes) */
  ints(values: readonly number[]): string;
  /** an int64 [n] tensor holding these sizes at run time (constant where they are) */
  shape(dims: readonly Dim[]): string;
  /** a 0-d int64 tensor holding one size at run time */
  size(d: Dim): string;
  /** an integer attribute's value, which must be known at export time (else an error asking for --dim) */
  int(name: string): number;
  /** a size that must be known at export time (else an error asking for --dim) */
  known(d: Dim, what: string): number;
  /** fails the export of this op with a reason */
  unsupported(reason: string): never;
}

/** `x` cast to the ONNX type of dtype `d` (skipped when `from` is already that type). */
export function castValue(ctx: OnnxContext, x: string, from: DType, to: DType): string {
  return onnxDataType(from) === onnxDataType(to) ? x : ctx.op("Cast", [x], { to: onnxDataType(to) });
}

/**
 * The ONNX element type of a dlm dtype: floats run as float32 (as on dlm's CPU backend),
 * integers and bool keep their type.
 */
export function onnxDataType(d: DType): number {
  switch (d) {
    case "f16":
    case "bf16":
    case "f32":
    case "f64":
      return DataType.FLOAT;
    case "i8":
      return DataType.INT8;
    case "u8":
      return DataType.UINT8;
    case "i32":
      return DataType.INT32;
    case "i64":
      return DataType.INT64;
    case "bool":
      return DataType.BOOL;
  }
}

/** A Slice end meaning "to the end of the axis" (ONNX clamps it). */
export const TO_END = Number.MAX_SAFE_INTEGER;

/** TensorProto.DataType numbers (onnx.proto). */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9 } as const;
