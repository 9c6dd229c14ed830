// ONNX export of a model's inference graph (dropout off, batch norm on running statistics),
// from the op-level graph so that the batch and other sizes the inputs carry stay symbolic
// (dim_param). Each op maps itself (OpDef.onnx, in compiler/ops/); this file walks the graph,
// decides which sizes must be fixed, names values, writes constants, computes run-time shapes
// for reshapes of symbolic sizes, turns `scan` regions into ONNX Scan loops, and encodes the
// model with the official schema (proto.ts).
//
// Names: graph inputs and outputs are the model's input and output names, initializers the
// parameters' hierarchical names (features.0.weight), unchanged; other values are named after
// their layer instance and made unique.

import pkg from "../../../package.json" with { type: "json" };
import { Dim } from "../../dim.js";
import { liveNodes, type ModelGraph, type Node, type OpNode, type ScanNode, type SourceSite, type TensorRef } from "../../ir/graph.js";
import { concreteInitArgs } from "../../lower.js";
import type { AttrValue, DType, InitName, TensorType } from "../../ops/types.js";
import { DataType, ExportError, onnxDataType, type OnnxAttrs, type OnnxContext } from "./context.js";
import {
  AttributeType,
  encodeModel,
  type AttributeObject,
  type DimObject,
  type GraphProtoObject,
  type NodeObject,
  type TensorProtoObject,
  type ValueInfoObject,
} from "./proto.js";

/** The default ONNX opset (onnxruntime 1.18 and later run it): LayerNormalization, Gelu, axes as inputs. */
export const ONNX_OPSET = 21;
/** The IR version that goes with opset 21. */
export const ONNX_IR_VERSION = 10;

/** A parameter or buffer at the export's sizes, in the model's parameter order. */
export interface ExportParam {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly init: InitName;
  readonly initArgs?: Readonly<Record<string, number>>;
  /** needed by the exported outputs (only these become initializers) */
  readonly used: boolean;
}

/** What an export needs fixed before weights exist: the sizes it fixes and the parameters at those sizes. */
export interface OnnxPlan {
  readonly graph: ModelGraph;
  /** sizes fixed in the exported model: given ones, and those a parameter shape or a constant needs */
  readonly dims: ReadonlyMap<string, number>;
  readonly params: readonly ExportParam[];
}

/** A single symbol standing alone: `B`, not `2*B`. */
function loneSymbol(d: Dim): string | undefined {
  const syms = d.symbols();
  if (syms.size !== 1) return undefined;
  const [s] = syms as unknown as [string];
  return d.equals(Dim.sym(s)) ? s : undefined;
}

function symbolsOfAttr(v: AttrValue | undefined, out: Set<string>): void {
  if (v instanceof Dim) for (const s of v.symbols()) out.add(s);
  else if (Array.isArray(v)) for (const x of v) symbolsOfAttr(x, out);
}

/**
 * Decides which sizes the exported model fixes: those given (`--dim`), those a parameter's
 * shape mentions, and those no model input carries as an axis of its own (so the model cannot
 * learn them at run time); the latter two take the model's default when not given. Every
 * other size stays symbolic.
 */
export function planOnnxExport(g: ModelGraph, given: ReadonlyMap<string, number> = new Map()): OnnxPlan {
  const live = liveNodes(
    g,
    g.outputs.map((o) => o.ref.node),
  );
  const carried = new Set<string>();
  for (const id of g.inputs) if (live[id]) for (const d of g.nodes[id]!.outputs[0]!.shape) carried.add(loneSymbol(d) ?? "");
  const dims = new Map(given);
  const fix = (sym: string, why: () => string, site: SourceSite): void => {
    if (dims.has(sym)) return;
    const dflt = g.dimDefaults.get(sym);
    if (dflt === undefined) throw new ExportError(`${why()} needs a value for ${sym}: give --dim ${sym}=N`, site);
    dims.set(sym, dflt);
  };
  for (const n of g.nodes) {
    if (n.kind === "param")
      for (const s of n.outputs[0]!.shape.flatMap((d) => [...d.symbols()]))
        fix(s, () => `parameter '${n.name}' of shape [${n.outputs[0]!.shape.join(", ")}]`, n.site);
  }
  for (const n of g.nodes) {
    if (!live[n.id]) continue;
    const syms = new Set<string>();
    for (const t of n.outputs) for (const d of t.shape) for (const s of d.symbols()) syms.add(s);
    if (n.kind === "op") for (const v of Object.values(n.attrs)) symbolsOfAttr(v, syms);
    if (n.kind === "const") symbolsOfAttr(n.value as AttrValue, syms);
    for (const s of syms) if (!carried.has(s)) fix(s, () => `the size ${s} (not an axis of any input)`, n.site);
  }
  const params: ExportParam[] = [];
  for (const n of g.nodes) {
    if (n.kind !== "param") continue;
    const at = (d: Dim): number => d.evaluate(dims)!;
    params.push({
      name: n.name,
      shape: n.outputs[0]!.shape.map(at),
      dtype: n.outputs[0]!.dtype,
      init: n.init,
      ...(n.initArgs
        ? {
            initArgs: concreteInitArgs(n.initArgs, (d) => {
              const v = d.evaluate(dims);
              if (v === undefined) throw new ExportError(`the initialiser of parameter '${n.name}' needs ${d}: give --dim`, n.site);
              return v;
            }),
          }
        : {}),
      used: live[n.id] === 1,
    });
  }
  return { graph: g, dims, params };
}

/** The .onnx bytes of a planned export with these weights (by parameter name, at the plan's shapes). */
export function exportOnnx(plan: OnnxPlan, weights: ReadonlyMap<string, ArrayLike<number>>): Uint8Array {
  return new OnnxWriter(plan, weights).model();
}

/** Nodes, value infos and the cache of emitted helper values of one graph (the model's or a Scan body's). */
class Scope {
  readonly nodes: NodeObject[] = [];
  readonly valueInfo: ValueInfoObject[] = [];
  private readonly cache = new Map<string, string>();
  constructor(readonly parent?: Scope) {}
  lookup(key: string): string | undefined {
    return this.cache.get(key) ?? this.parent?.lookup(key);
  }
  remember(key: string, value: string): string {
    this.cache.set(key, value);
    return value;
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
class OnnxWriter {
  private readonly g: ModelGraph;
  private readonly fixed: ReadonlyMap<string, Dim>;
  private readonly used = new Set<string>();
  /** names with a declared type: inputs, initializers, values given a value_info */
  private readonly typed = new Set<string>();
  private readonly root = new Scope();
  private scope = this.root;
  private readonly initializers: TensorProtoObject[] = [];
  /** ONNX value name of each output of each exported node ("node:index") */
  private readonly values = new Map<string, string>();
  /** where each symbol the inputs carry can be read: an input and its axis */
  private readonly symbolSources = new Map<string, { readonly input: string; readonly axis: number }>();
  private readonly byRegion = new Map<number, Node[]>();
  private readonly live: Uint8Array;

  constructor(
    private readonly plan: OnnxPlan,
    private readonly weights: ReadonlyMap<string, ArrayLike<number>>,
  ) {
    this.g = plan.graph;
    this.fixed = new Map([...plan.dims].map(([k, v]) => [k, Dim.const(v)]));
    this.live = liveNodes(
      this.g,
      this.g.outputs.map((o) => o.ref.node),
    );
    for (const n of this.g.nodes) {
      const list = this.byRegion.get(n.region);
      if (list) list.push(n);
      else this.byRegion.set(n.region, [n]);
    }
  }

  model(): Uint8Array {
    if (!LITTLE_ENDIAN) throw new ExportError("ONNX export needs a little-endian machine");
    const g = this.g;
    const inputs: ValueInfoObject[] = [];
    // interface names first, so that generated names never take them
    const interfaceNames: string[] = [];
    for (const id of g.inputs) if (this.live[id]) interfaceNames.push((g.nodes[id] as { name: string }).name);
    for (const p of this.plan.params) if (p.used) interfaceNames.push(p.name);
    for (const o of g.outputs) interfaceNames.push(o.name);
    for (const name of interfaceNames) {
      if (LONE_SURROGATE.test(name)) throw new ExportError(`the name '${name}' is not valid Unicode`);
      if (this.used.has(name))
        throw new ExportError(`the name '${name}' is used twice among the inputs, parameters and outputs; ONNX needs distinct names`);
      this.used.add(name);
    }
    for (const name of interfaceNames.slice(0, interfaceNames.length - g.outputs.length)) this.typed.add(name);
    for (const id of g.inputs) {
      const n = g.nodes[id]!;
      if (!this.live[id] || n.kind !== "input") continue;
      const t = this.typeOf(n.outputs[0]!);
      inputs.push(valueInfo(n.name, t));
      this.values.set(`${id}:0`, n.name);
      t.shape.forEach((d, axis) => {
        const s = loneSymbol(d);
        if (s !== undefined && !this.symbolSources.has(s)) this.symbolSources.set(s, { input: n.name, axis });
      });
    }
    for (const n of g.nodes) if (n.kind === "param") this.values.set(`${n.id}:0`, n.name);
    this.emitRegion(0);
    const outputs = g.outputs.map((o) => {
      const t = this.typeOf(this.refType(o.ref));
      this.scope.nodes.push(this.nodeObject("Identity", [this.valueOf(o.ref)], [o.name], {}, `output.${o.name}`));
      return valueInfo(o.name, t);
    });
    for (const p of this.plan.params) if (p.used) this.initializers.push(this.weightTensor(p));
    const graph: GraphProtoObject = {
      name: g.name,
      node: this.root.nodes,
      input: inputs,
      output: outputs,
      initializer: this.initializers,
      value_info: this.root.valueInfo,
    };
    const fixedDims = [...this.plan.dims].map(([k, v]) => `${k}=${v}`).join(", ");
    return encodeModel({
      ir_version: ONNX_IR_VERSION,
      opset_import: [{ domain: "", version: ONNX_OPSET }],
      producer_name: "dlm",
      producer_version: pkg.version,
      graph,
      metadata_props: [{ key: "dlm.model", value: g.name }, ...(fixedDims ? [{ key: "dlm.fixed_dims", value: fixedDims }] : [])],
    });
  }

  // -------------------------------------------------------------------------
  // The graph walk

  private emitRegion(region: number): void {
    for (const n of this.byRegion.get(region) ?? []) {
      if (!this.live[n.id]) continue;
      if (n.kind === "op") this.emitOp(n);
      else if (n.kind === "scan") this.emitScan(n);
      else if (n.kind === "const") {
        try {
          this.emitConst(n);
        } catch (e) {
          if (e instanceof ExportError && !e.site) throw new ExportError(e.message, n.site);
          throw e;
        }
      }
    }
  }

  private emitConst(n: Extract<Node, { kind: "const" }>): void {
    const t = this.typeOf(n.outputs[0]!);
    const v = n.value;
    let value: string;
    if (v instanceof Dim) {
      const size = this.size(v, []);
      value = t.dtype === "i64" ? size : this.emit("Cast", [size], { to: onnxDataType(t.dtype) }, "const");
    } else value = this.constant([typeof v === "boolean" ? (v ? 1 : 0) : v], [], t.dtype);
    if (t.shape.length > 0) value = this.emit("Expand", [value, this.shape(t.shape, [])], {}, "const");
    this.values.set(`${n.id}:0`, value);
  }

  private emitOp(n: OpNode): void {
    const op = n.op;
    const where = `op '${op.name}'${n.instance ? ` (layer '${n.instance}')` : ""}`;
    if (!op.onnx) throw new ExportError(`${where} cannot be exported to ONNX: dlm has no ONNX mapping for it`, n.site);
    const types = n.inputs.map((r) => (r ? this.typeOf(this.refType(r)) : undefined));
    const values = n.inputs.map((r) => (r ? this.valueOf(r) : undefined));
    const sources = values.flatMap((v, i) => (v === undefined ? [] : [{ name: v, type: types[i]! }]));
    const prefix = n.instance || op.name;
    const attrs: Record<string, AttrValue> = {};
    for (const [k, v] of Object.entries(n.attrs)) attrs[k] = this.attr(v);
    const outputs = n.outputs.map((t) => this.typeOf(t));
    const fail = (reason: string): never => {
      throw new ExportError(`${where} cannot be exported to ONNX: ${reason}`, n.site);
    };
    const known = (d: Dim, what: string): number => {
      const c = d.substitute(this.fixed).constant;
      if (c === undefined) {
        const free = [...d.symbols()].filter((s) => !this.fixed.has(s));
        return fail(`${what} is ${d}, which must be known when exporting: give --dim ${free[0] ?? "B"}=N`);
      }
      return c;
    };
    const ctx: OnnxContext = {
      inputs: types,
      attrs,
      values,
      outputs,
      params: n.params.map((p) => (this.g.nodes[p] as { name: string }).name),
      paramTypes: n.params.map((p) => this.typeOf(this.g.nodes[p]!.outputs[0]!)),
      node: (opType, ins, a = {}, count = 1) => this.emitMulti(opType, ins, a, count, prefix),
      op: (opType, ins, a = {}) => this.emit(opType, ins, a, prefix),
      constant: (v, shape, dtype) => this.constant(v, shape, dtype),
      scalar: (v, dtype = "f32") => this.constant([v], [], dtype),
      ints: (v) => this.constant(v, [v.length], "i64"),
      shape: (dims) => this.shape(dims, sources),
      size: (d) => this.size(d, sources),
      int: (name) => {
        const v = attrs[name];
        if (typeof v === "number" && Number.isInteger(v)) return v;
        if (v instanceof Dim) return known(v, `'${name}'`);
        return fail(`'${name}' is not an integer`);
      },
      known,
      unsupported: fail,
    };
    let results: readonly string[];
    try {
      results = op.onnx(ctx);
    } catch (e) {
      if (e instanceof ExportError) throw e.site ? e : new ExportError(`${where} cannot be exported to ONNX: ${e.message}`, n.site);
      throw e;
    }
    if (results.length !== outputs.length)
      throw new Error(`internal: the ONNX mapping of '${op.name}' gave ${results.length} outputs, its shape rule ${outputs.length}`);
    results.forEach((r, i) => {
      this.values.set(`${n.id}:${i}`, r);
      this.declareType(r, outputs[i]!);
    });
  }

  /** The value's type in value_info, once (a value passed through, an input or a parameter already has one). */
  private declareType(name: string, t: TensorType): void {
    if (this.typed.has(name)) return;
    this.typed.add(name);
    this.scope.valueInfo.push(valueInfo(name, t));
  }

  /**
   * A scan becomes an ONNX Scan: the body (a subgraph reading outer values by name) takes the
   * states then one step of each sequence and gives the next states then the step outputs;
   * ONNX slices and stacks along `axis`, in reverse for a reverse scan.
   */
  private emitScan(n: ScanNode): void {
    const { body } = n;
    const outer = this.scope;
    const inner = new Scope(outer);
    const prefix = n.instance || "scan";
    const bodyInputs: ValueInfoObject[] = [];
    const declare = (id: number): void => {
      const node = this.g.nodes[id]!;
      const name = this.fresh(`${prefix}/${(node as { name?: string }).name ?? "in"}`);
      this.values.set(`${id}:0`, name);
      bodyInputs.push(valueInfo(name, this.typeOf(node.outputs[0]!)));
    };
    body.stateInputs.forEach(declare);
    body.stepInputs.forEach(declare);
    this.scope = inner;
    let bodyOutputs: ValueInfoObject[];
    try {
      this.emitRegion(body.region);
      bodyOutputs = [...body.stateOutputs, ...body.stepOutputs].map((r, i) => {
        const name = this.fresh(`${prefix}/${i < body.stateOutputs.length ? "next" : "out"}${i}`);
        inner.nodes.push(this.nodeObject("Identity", [this.valueOf(r)], [name], {}, `${prefix}/body_out`));
        return valueInfo(name, this.typeOf(this.refType(r)));
      });
    } finally {
      this.scope = outer;
    }
    const graph: GraphProtoObject = {
      name: `${prefix}/body`,
      node: inner.nodes,
      input: bodyInputs,
      output: bodyOutputs,
      value_info: inner.valueInfo,
    };
    const seqs = n.inputs.slice(0, n.sequenceCount).map((r) => this.valueOf(r));
    const states = n.inputs.slice(n.sequenceCount).map((r) => this.valueOf(r));
    const steps = body.stepOutputs.length;
    const dir = n.reverse ? 1 : 0;
    const outs = this.emitMulti(
      "Scan",
      [...states, ...seqs],
      {
        body: { graph },
        num_scan_inputs: seqs.length,
        scan_input_axes: seqs.map(() => n.axis),
        scan_input_directions: seqs.map(() => dir),
        scan_output_axes: body.stepOutputs.map(() => n.axis),
        scan_output_directions: body.stepOutputs.map(() => dir),
      },
      states.length + steps,
      prefix,
    );
    // dlm's scan gives the stacked step outputs first, then the final states
    for (let o = 0; o < steps; o++) this.values.set(`${n.id}:${o}`, outs[states.length + o]!);
    states.forEach((_, j) => this.values.set(`${n.id}:${steps + j}`, outs[j]!));
    n.outputs.forEach((t, i) => this.declareType(this.values.get(`${n.id}:${i}`)!, this.typeOf(t)));
  }

  // -------------------------------------------------------------------------
  // Values, names, nodes, constants

  private refType(r: TensorRef): TensorType {
    return this.g.nodes[r.node]!.outputs[r.index]!;
  }

  private valueOf(r: TensorRef): string {
    const v = this.values.get(`${r.node}:${r.index}`);
    if (v === undefined) throw new Error(`internal: ONNX export reached node ${r.node} before it was emitted`);
    return v;
  }

  /** A type with the fixed sizes substituted. */
  private typeOf(t: TensorType): TensorType {
    return this.fixed.size === 0 ? t : { dtype: t.dtype, shape: t.shape.map((d) => d.substitute(this.fixed)) };
  }

  private attr(v: AttrValue): AttrValue {
    if (v instanceof Dim) return v.substitute(this.fixed);
    if (Array.isArray(v)) return (v as readonly AttrValue[]).map((x) => this.attr(x));
    return v;
  }

  private fresh(base: string): string {
    let name = base;
    for (let k = 1; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }

  private nodeObject(
    opType: string,
    inputs: readonly (string | undefined)[],
    outputs: readonly string[],
    attrs: OnnxAttrs,
    name: string,
  ): NodeObject {
    // absent optional inputs are empty names; trailing ones are dropped
    const ins = inputs.map((i) => i ?? "");
    while (ins.length > 0 && ins[ins.length - 1] === "") ins.pop();
    return { name: this.fresh(`node:${name}`), op_type: opType, input: ins, output: outputs, attribute: attributes(attrs) };
  }

  private emitMulti(opType: string, inputs: readonly (string | undefined)[], attrs: OnnxAttrs, count: number, prefix: string): string[] {
    const outputs = Array.from({ length: count }, (_, i) => this.fresh(`${prefix}/${opType}${count > 1 ? `:${i}` : ""}`));
    this.scope.nodes.push(this.nodeObject(opType, inputs, outputs, attrs, `${prefix}/${opType}`));
    return outputs;
  }

  private emit(opType: string, inputs: readonly (string | undefined)[], attrs: OnnxAttrs, prefix: string): string {
    return this.emitMulti(opType, inputs, attrs, 1, prefix)[0]!;
  }

  /** A constant as an initializer of the main graph (visible in every Scan body); small ones are shared. */
  private constant(values: ArrayLike<number>, shape: readonly number[], dtype: DType): string {
    const type = onnxDataType(dtype);
    const key = values.length <= 64 ? `const:${type}:${shape.join("x")}:${Array.from(values).join(",")}` : undefined;
    const cached = key === undefined ? undefined : this.root.lookup(key);
    if (cached) return cached;
    const name = this.fresh(dtype === "i64" && shape.length <= 1 ? "const/i64" : "const");
    this.initializers.push({ name, dims: shape, data_type: type, raw_data: rawData(values, type) });
    return key === undefined ? name : this.root.remember(key, name);
  }

  private weightTensor(p: ExportParam): TensorProtoObject {
    const w = this.weights.get(p.name);
    const n = p.shape.reduce((a, b) => a * b, 1);
    if (!w) throw new ExportError(`no weights for parameter '${p.name}'`);
    if (w.length !== n)
      throw new ExportError(`the weights of '${p.name}' have ${w.length} values, its shape [${p.shape.join(", ")}] needs ${n}`);
    const type = onnxDataType(p.dtype);
    return { name: p.name, dims: p.shape, data_type: type, raw_data: rawData(w, type) };
  }

  // -------------------------------------------------------------------------
  // Sizes at run time

  /** An int64 [1] tensor holding `d` at run time. */
  private dimTensor(d: Dim, sources: readonly { readonly name: string; readonly type: TensorType }[]): string {
    const c = d.constant;
    if (c !== undefined) return this.constant([c], [1], "i64");
    const key = `dim:${d}`;
    const cached = this.scope.lookup(key);
    if (cached) return cached;
    // read off a tensor at hand with that size on some axis
    for (const s of sources) {
      const axis = s.type.shape.findIndex((x) => x.equals(d));
      if (axis >= 0) return this.scope.remember(key, this.emit("Shape", [s.name], { start: axis, end: axis + 1 }, "shape"));
    }
    // a polynomial in sizes the inputs carry
    const syms = d.symbols();
    if (!d.terms.every((t) => t.factors.every((f) => syms.has(f))) || ![...syms].every((s) => this.symbolSources.has(s))) {
      const free = [...syms].filter((s) => !this.symbolSources.has(s));
      throw new ExportError(
        `the size ${d} cannot be computed at run time in ONNX; fix it when exporting (--dim ${free[0] ?? [...syms][0] ?? "B"}=N)`,
      );
    }
    let sum: string | undefined;
    for (const t of d.terms) {
      let term: string | undefined;
      for (const f of t.factors) {
        const s = this.symbolTensor(f);
        term = term === undefined ? s : this.emit("Mul", [term, s], {}, "shape");
      }
      if (term === undefined) term = this.constant([t.coeff], [1], "i64");
      else if (t.coeff !== 1) term = this.emit("Mul", [term, this.constant([t.coeff], [1], "i64")], {}, "shape");
      sum = sum === undefined ? term : this.emit("Add", [sum, term], {}, "shape");
    }
    return this.scope.remember(key, sum!);
  }

  /** A symbol's value read off the model input that carries it, computed once in the main graph. */
  private symbolTensor(sym: string): string {
    const key = `sym:${sym}`;
    const cached = this.root.lookup(key);
    if (cached) return cached;
    const src = this.symbolSources.get(sym)!;
    const name = this.fresh(`shape/${sym}`);
    // first in the main graph: it depends only on a graph input
    this.root.nodes.unshift(this.nodeObject("Shape", [src.input], [name], { start: src.axis, end: src.axis + 1 }, `shape/${sym}`));
    return this.root.remember(key, name);
  }

  private shape(dims: readonly Dim[], sources: readonly { readonly name: string; readonly type: TensorType }[]): string {
    const ds = dims.map((d) => d.substitute(this.fixed));
    if (ds.every((d) => d.isConstant))
      return this.constant(
        ds.map((d) => d.constant!),
        [ds.length],
        "i64",
      );
    // runs of constants as one piece
    const pieces: string[] = [];
    let run: number[] = [];
    const flush = (): void => {
      if (run.length) pieces.push(this.constant(run, [run.length], "i64"));
      run = [];
    };
    for (const d of ds) {
      if (d.isConstant) run.push(d.constant!);
      else {
        flush();
        pieces.push(this.dimTensor(d, sources));
      }
    }
    flush();
    return this.emit("Concat", pieces, { axis: 0 }, "shape");
  }

  private size(d: Dim, sources: readonly { readonly name: string; readonly type: TensorType }[]): string {
    const s = d.substitute(this.fixed);
    if (s.isConstant) return this.constant([s.constant!], [], "i64");
    return this.emit("Squeeze", [this.dimTensor(s, sources), this.constant([0], [1], "i64")], {}, "shape");
  }
}

// ---------------------------------------------------------------------------
// Encoding helpers

function valueInfo(name: string, t: TensorType): ValueInfoObject {
  const dim: DimObject[] = t.shape.map((d) => {
    const c = d.constant;
    if (c !== undefined) return { dim_value: c };
    const s = loneSymbol(d);
    // a composite size (2*T) is left unnamed: ONNX names stand for independent sizes
    return s === undefined ? {} : { dim_param: s };
  });
  return { name, type: { tensor_type: { elem_type: onnxDataType(t.dtype), shape: { dim } } } };
}

function attributes(attrs: OnnxAttrs): AttributeObject[] {
  return Object.entries(attrs).map(([name, v]): AttributeObject => {
    if (typeof v === "number") {
      if (!Number.isInteger(v)) throw new Error(`internal: ONNX attribute '${name}' = ${v} is not an integer; wrap floats with float()`);
      return { name, type: AttributeType.INT, i: v };
    }
    if (typeof v === "string") return { name, type: AttributeType.STRING, s: new TextEncoder().encode(v) };
    if ("float" in v) return { name, type: AttributeType.FLOAT, f: v.float };
    if ("floats" in v) return { name, type: AttributeType.FLOATS, floats: v.floats };
    if ("strings" in v) return { name, type: AttributeType.STRINGS, strings: v.strings.map((x) => new TextEncoder().encode(x)) };
    if ("graph" in v) return { name, type: AttributeType.GRAPH, g: v.graph };
    if ("tensor" in v) {
      const { values, shape, dtype } = v.tensor;
      const t = { name: "", dims: shape, data_type: onnxDataType(dtype), raw_data: rawData(values, onnxDataType(dtype)) };
      return { name, type: AttributeType.TENSOR, t };
    }
    const ints = v as readonly number[];
    for (const x of ints) if (!Number.isInteger(x)) throw new Error(`internal: ONNX attribute '${name}' has a non-integer ${x}`);
    return { name, type: AttributeType.INTS, ints };
  });
}

/** Little-endian bytes of values as ONNX element type `type`. */
function rawData(values: ArrayLike<number>, type: number): Uint8Array {
  const bytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  switch (type) {
    case DataType.FLOAT:
      return bytes(values instanceof Float32Array ? values : Float32Array.from(values));
    case DataType.INT64:
      return bytes(BigInt64Array.from(Array.from(values, (v) => BigInt(Math.trunc(v)))));
    case DataType.INT32:
      return bytes(Int32Array.from(values));
    case DataType.INT8:
      return bytes(Int8Array.from(values));
    case DataType.BOOL:
      return Uint8Array.from(values, (v) => (v !== 0 ? 1 : 0));
    default:
      return Uint8Array.from(values);
  }
}
