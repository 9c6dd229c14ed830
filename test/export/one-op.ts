// One application of one op as a model graph, for the exporters' op-by-op checks (ONNX and
// PyTorch): inputs x0, x1, ... (an absent optional input stays absent), the op's parameters,
// and its outputs y0, y1, ....

import { Dim } from "../../compiler/dim.js";
import type { ModelGraph, Node, SourceSite } from "../../compiler/ir/graph.js";
import { OPS } from "../../compiler/ops/index.js";
import type { AttrValue, TensorType } from "../../compiler/ops/types.js";
import { ctxAttrs } from "../compiler/ops/rule-harness.js";
import type { Case } from "../compiler/op-cases.js";

const SITE: SourceSite = { file: "case.dlm", range: { start: { line: 1, column: 1, offset: 0 }, end: { line: 1, column: 2, offset: 1 } } };

export interface OneOpOptions {
  /** leave the first input's leading axis symbolic (B) */
  readonly symbolic?: boolean;
  /** prefix of the parameter names (the PyTorch check names them `op.weight`, as a submodule would) */
  readonly paramPrefix?: string;
  readonly name?: string;
}

export function oneOpModel(c: Pick<Case, "op" | "inputs" | "attrs">, options: OneOpOptions = {}): ModelGraph {
  const op = OPS.get(c.op)!;
  // integer literals reach an untyped attribute as Dims, as the elaborator makes them
  const asDims = (v: AttrValue): AttrValue =>
    typeof v === "number" && Number.isInteger(v) ? Dim.const(v) : Array.isArray(v) ? v.map(asDims) : v;
  const attrs = Object.fromEntries(
    Object.entries(ctxAttrs(op, c.attrs ?? {})).map(([k, v]) => [k, op.attrs.find((s) => s.name === k)?.type === "any" ? asDims(v) : v]),
  );
  const types = c.inputs.map((x, i): TensorType | undefined =>
    x
      ? {
          dtype: x.dtype ?? "f32",
          shape: x.shape.map((d, k) => (options.symbolic && i === 0 && k === 0 ? Dim.sym("B") : Dim.const(d))),
        }
      : undefined,
  );
  const r = op.infer({ inputs: types, attrs });
  const nodes: Node[] = [];
  const refs = types.map((t, i) => {
    if (!t) return null;
    nodes.push({ kind: "input", id: nodes.length, name: `x${i}`, outputs: [t], site: SITE, region: 0 });
    return { node: nodes.length - 1, index: 0 };
  });
  const inputs = nodes.map((n) => n.id);
  const params = (r.params ?? []).map((p) => {
    const id = nodes.length;
    nodes.push({
      kind: "param",
      id,
      name: `${options.paramPrefix ?? ""}${p.name}`,
      outputs: [{ dtype: p.dtype ?? "f32", shape: p.shape }],
      site: SITE,
      region: 0,
      init: p.init,
      ...(p.initArgs ? { initArgs: p.initArgs } : {}),
      trainable: !p.buffer,
      buffer: p.buffer ?? false,
      noDecay: p.noDecay ?? false,
    });
    return id;
  });
  const id = nodes.length;
  nodes.push({
    kind: "op",
    id,
    op,
    inputs: refs,
    params,
    attrs,
    instance: "op",
    annotations: new Set(),
    outputs: r.outputs,
    site: SITE,
    region: 0,
  });
  return {
    name: options.name ?? "Case",
    nodes,
    inputs,
    outputs: r.outputs.map((_, i) => ({ name: `y${i}`, ref: { node: id, index: i } })),
    regions: new Map(),
    dimDefaults: new Map(),
  };
}
