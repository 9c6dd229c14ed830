// Helpers for the lowering tests of the core op families (activation, elementwise, linear,
// conv, pool, norm, shape, reduce, creation): lower one op, check every output against the
// shape rule's promise, evaluate with the float64 reference interpreter.

import { expect } from "vitest";
import { runtimeDType } from "../../../compiler/lower.js";
import type { DType, OpDef } from "../../../compiler/ops/types.js";
import { type Attrs, apply, evaluate as evalDim, t } from "../ops/rule-harness.js";
import { type LoweredOp, lowerOp, run } from "./harness.js";

export interface In {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: readonly number[];
}

export const f32 = (shape: readonly number[], data: readonly number[]): In => ({ dtype: "f32", shape, data });
export const i64 = (shape: readonly number[], data: readonly number[]): In => ({ dtype: "i64", shape, data });
export const bool = (shape: readonly number[], data: readonly number[]): In => ({ dtype: "bool", shape, data });

/** 0, 1, ..., n-1 (or f(i)) */
export function seq(n: number): number[];
export function seq<V>(n: number, f: (i: number) => V): V[];
export function seq(n: number, f: (i: number) => unknown = (i) => i): unknown[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

export interface Out {
  readonly shape: readonly number[];
  readonly data: number[];
}

export interface Options {
  /** parameters and buffers by name */
  readonly params?: Readonly<Record<string, readonly number[]>>;
  readonly training?: boolean;
}

/** Lowers without running; checks the outputs' shapes and dtypes against the op's shape rule. */
export function lowerChecked(
  ops: readonly OpDef[],
  name: string,
  inputs: readonly (In | undefined)[],
  attrs: Attrs = {},
  training = false,
): LoweredOp {
  const l = lowerOp(ops, name, inputs, attrs, training);
  const rule = apply(
    ops,
    name,
    inputs.map((x) => (x ? t(x.dtype, ...x.shape) : undefined)),
    attrs,
  );
  expect(l.outputs.length).toBe(rule.outputs.length);
  rule.outputs.forEach((o, i) => {
    expect(l.b.shape(l.outputs[i]!), `shape of output ${i}`).toEqual(o.shape.map((d) => evalDim(d)));
    expect(l.b.dtype(l.outputs[i]!), `dtype of output ${i}`).toBe(runtimeDType(o.dtype));
  });
  return l;
}

/** Lower `name` (shapes checked), evaluate on the inputs `x0, x1, ...` and the given parameters. */
export function go(
  ops: readonly OpDef[],
  name: string,
  inputs: readonly (In | undefined)[],
  attrs: Attrs = {},
  options: Options = {},
): Out[] {
  const l = lowerChecked(ops, name, inputs, attrs, options.training ?? false);
  return evaluateLowered(l, inputs, options);
}

export function evaluateLowered(l: LoweredOp, inputs: readonly (In | undefined)[], options: Options = {}): Out[] {
  const feeds: Record<string, readonly number[] | Int32Array | Uint8Array> = {};
  inputs.forEach((x, i) => {
    if (!x) return;
    const rt = runtimeDType(x.dtype);
    feeds[`x${i}`] = rt === "f32" ? x.data : rt === "i32" ? Int32Array.from(x.data) : Uint8Array.from(x.data);
  });
  for (const [k, v] of Object.entries(options.params ?? {})) feeds[k] = v;
  return run(l, feeds).map((y) => ({ shape: y.shape, data: Array.from(y.data) }));
}

/** The single output's values. */
export function one(
  ops: readonly OpDef[],
  name: string,
  inputs: readonly (In | undefined)[],
  attrs: Attrs = {},
  options: Options = {},
): number[] {
  return go(ops, name, inputs, attrs, options)[0]!.data;
}

export function near(got: readonly number[], want: readonly number[], tol = 1e-9): void {
  expect(got.length, `length (got ${got.join(", ")})`).toBe(want.length);
  want.forEach((w, i) => {
    const g = got[i]!;
    if (Number.isNaN(w) ? !Number.isNaN(g) : Math.abs(g - w) > tol * Math.max(1, Math.abs(w)) && g !== w)
      expect.fail(`element ${i}: got ${g}, want ${w} (all: ${got.join(", ")})`);
  });
}

/** Row-major strides. */
export function strides(shape: readonly number[]): number[] {
  const s = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** A deterministic pseudo-random vector in [-1, 1) (no Math.random in tests). */
export function noise(n: number, seed = 1): number[] {
  let s = seed >>> 0 || 1;
  return seq(n, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}
