// Test harness for op rules: builds an InferContext the way the elaborator does (attribute
// defaults filled, plain integers turned into Dims), runs infer and cost, and evaluates
// symbolic results. Shared by the family tests.

import { expect } from "vitest";
import { Dim, type Shape, numel, shapeToString } from "../../../compiler/dim.js";
import {
  type AttrValue,
  type Cost,
  type DType,
  type InferResult,
  type OpDef,
  type ParamSpec,
  type TensorType,
  OpError,
} from "../../../compiler/ops/types.js";

export type DimLike = number | string | Dim;

export function dim(x: DimLike): Dim {
  return x instanceof Dim ? x : typeof x === "number" ? Dim.const(x) : Dim.sym(x);
}

/** t("f32", "B", 128, 768) */
export function t(dtype: DType, ...dims: DimLike[]): TensorType {
  return { dtype, shape: dims.map(dim) };
}

export type Attrs = Record<string, AttrValue | number | DimLike[]>;

function convert(spec: OpDef["attrs"][number], v: Attrs[string]): AttrValue {
  // integers arrive as Dims; in tests a string for an int attribute names a symbol
  if ((spec.type === "int" || spec.type === "ints") && (typeof v === "number" || typeof v === "string")) return dim(v);
  if (spec.type === "ints" && Array.isArray(v)) return (v as DimLike[]).map(dim);
  return v as AttrValue;
}

export function find(ops: readonly OpDef[], name: string): OpDef {
  const op = ops.find((o) => o.name === name);
  if (!op) throw new Error(`no op ${name}`);
  return op;
}

export interface Applied extends InferResult {
  readonly op: OpDef;
  readonly attrs: Record<string, AttrValue>;
  readonly inputs: readonly (TensorType | undefined)[];
  readonly params: readonly ParamSpec[];
  cost(): Cost;
  shapes(): string[];
  paramNames(): string[];
  paramCount(env?: Record<string, number>): number;
}

export function ctxAttrs(op: OpDef, attrs: Attrs): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const spec of op.attrs) {
    const v = attrs[spec.name];
    out[spec.name] = v === undefined ? (spec.default ?? null) : convert(spec, v);
  }
  for (const k of Object.keys(attrs)) if (!op.attrs.some((s) => s.name === k)) throw new Error(`${op.name} has no attr ${k}`);
  return out;
}

export function apply(ops: readonly OpDef[], name: string, inputs: readonly (TensorType | undefined)[], attrs: Attrs = {}): Applied {
  const op = find(ops, name);
  const a = ctxAttrs(op, attrs);
  const r = op.infer({ inputs, attrs: a });
  const params = r.params ?? [];
  return {
    ...r,
    op,
    attrs: a,
    inputs,
    params,
    cost: () => (op.cost ? op.cost({ inputs, attrs: a, outputs: r.outputs, params }) : { macs: Dim.const(0), flops: Dim.const(0) }),
    shapes: () => r.outputs.map((o) => `${o.dtype}${shapeToString(o.shape)}`),
    paramNames: () => params.map((p) => p.name),
    paramCount: (env = {}) =>
      evaluate(
        params.reduce<Dim>((acc, p) => acc.add(numel(p.shape)), Dim.const(0)),
        env,
      ),
  };
}

export function evaluate(d: Dim, env: Record<string, number> = {}): number {
  const v = d.evaluate(new Map(Object.entries(env)));
  if (v === undefined) throw new Error(`cannot evaluate ${d} under ${JSON.stringify(env)}`);
  return v;
}

export function shapeStr(s: Shape): string {
  return shapeToString(s);
}

/** Asserts that `fn` throws an OpError pointing at `at`, whose message matches every pattern. */
export function expectOpError(fn: () => unknown, at: number | string | undefined, ...patterns: (string | RegExp)[]): OpError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, "expected an OpError").toBeInstanceOf(OpError);
  const e = err as OpError;
  expect(e.options.at).toBe(at);
  for (const p of patterns) expect(e.message).toMatch(p);
  return e;
}
