// Test harness for op lowerings: lowers one op at concrete shapes into a fresh primitive
// graph (inputs and parameters as named leaves), then evaluates it with the float64
// reference interpreter. Shared by the lowering tests of every op family.

import { Dim } from "../../../compiler/dim.js";
import { PrimBuilder, type T } from "../../../compiler/prim/builder.js";
import { runtimeDType } from "../../../compiler/lower.js";
import type { ConcreteAttr, DType, OpDef } from "../../../compiler/ops/types.js";
import { evaluate, type HostArray, type HostTensor } from "../../../runtime/cpu/reference.js";
import { ctxAttrs, find, type Attrs } from "../ops/rule-harness.js";

export interface LoweredOp {
  readonly b: PrimBuilder;
  readonly outputs: readonly T[];
  /** parameter leaves, named as the op's ParamSpecs name them ("weight", "bias", ...) */
  readonly params: ReadonlyMap<string, { node: T; shape: readonly number[] }>;
  readonly bufferUpdates: ReadonlyMap<string, T>;
}

function concrete(v: unknown): ConcreteAttr {
  if (v instanceof Dim) {
    const c = v.constant;
    if (c === undefined) throw new Error(`symbolic attribute ${v} in a lowering test`);
    return c;
  }
  if (Array.isArray(v)) return v.map(concrete);
  return v as ConcreteAttr;
}

/**
 * Lower `name` applied to inputs of the given dtypes and shapes (named `x0`, `x1`, ...; an
 * `undefined` entry is an absent optional input).
 */
export function lowerOp(
  ops: readonly OpDef[],
  name: string,
  inputs: readonly ({ dtype: DType; shape: readonly number[] } | undefined)[],
  attrs: Attrs = {},
  training = false,
): LoweredOp {
  const op = find(ops, name);
  const a = ctxAttrs(op, attrs);
  const types = inputs.map((t) => (t ? { dtype: t.dtype, shape: t.shape.map((d) => Dim.const(d)) } : undefined));
  const r = op.infer({ inputs: types, attrs: a });
  const b = new PrimBuilder();
  const ins = inputs.map((t, i) => (t ? b.input(`x${i}`, t.shape, runtimeDType(t.dtype)) : undefined));
  const params = new Map<string, { node: T; shape: readonly number[] }>();
  const paramNodes = (r.params ?? []).map((p) => {
    const shape = p.shape.map((d) => concrete(d) as number);
    const node = b.param(p.name, shape, runtimeDType(p.dtype ?? "f32"));
    params.set(p.name, { node, shape });
    return node;
  });
  const updates = new Map<string, T>();
  const ca: Record<string, ConcreteAttr> = {};
  for (const [k, v] of Object.entries(a)) ca[k] = concrete(v);
  if (!op.lower) throw new Error(`${name} has no lowering`);
  const outputs = op.lower({
    b,
    inputs: ins,
    attrs: ca,
    params: paramNodes,
    outputs: r.outputs.map((o) => ({ shape: o.shape.map((d) => concrete(d) as number), dtype: runtimeDType(o.dtype) })),
    training,
    updateBuffer: (i, value) => updates.set((r.params ?? [])[i]!.name, value),
  });
  outputs.forEach((o, i) => b.output(`y${i}`, o));
  return { b, outputs, params, bufferUpdates: updates };
}

/** Evaluate a lowered op on inputs `x0, x1, ...` and parameters by name; returns its outputs. */
export function run(l: LoweredOp, feeds: Record<string, HostArray | readonly number[]>, seed = 1): HostTensor[] {
  const map = new Map<string, HostArray>();
  for (const [k, v] of Object.entries(feeds)) map.set(k, Array.isArray(v) ? Float64Array.from(v as number[]) : (v as HostArray));
  const values = evaluate(l.b.graph(), map, { seed });
  return l.outputs.map((o) => values.get(o)!);
}
