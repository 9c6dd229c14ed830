// Lowering: the elaborated model graph (high-level ops, symbolic dims, scan regions) to a
// primitive graph at concrete shapes. Each op lowers itself (OpDef.lower); scans are
// unrolled over their (now known) length; parameters become named leaves shared by every
// use. The result is what autodiff differentiates and the backends run.

import type { Dim } from "./dim.js";
import type { ModelGraph, Node, ScanNode, SourceSite, TensorRef } from "./ir/graph.js";
import { PrimBuilder, type T } from "./prim/builder.js";
import type { PDType } from "./prim/ir.js";
import type { AttrValue, ConcreteAttr, DType, InitArgs, InitName } from "./ops/types.js";

export interface LowerOptions {
  /** values of symbolic dims (the batch, sequence lengths); unbound dims fall back to the model's defaults */
  readonly dims?: ReadonlyMap<string, number>;
  /** training mode: dropout on, batch norm on batch statistics and updating its buffers */
  readonly training: boolean;
  /** extra named results to lower (the train section's loss) */
  readonly extraOutputs?: readonly { readonly name: string; readonly ref: TensorRef }[];
}

export interface LoweredParam {
  readonly name: string;
  readonly node: T;
  readonly shape: readonly number[];
  readonly dtype: PDType;
  readonly init: InitName;
  readonly initArgs?: Readonly<Record<string, number>>;
  readonly trainable: boolean;
  readonly buffer: boolean;
  readonly noDecay: boolean;
  readonly lrScale: number;
}

export interface LoweredModel {
  readonly builder: PrimBuilder;
  readonly params: readonly LoweredParam[];
  readonly inputs: readonly { readonly name: string; readonly node: T; readonly shape: readonly number[]; readonly dtype: PDType }[];
  /** the model's outputs, then the extra outputs, by name */
  readonly outputs: readonly { readonly name: string; readonly node: T }[];
  /** new values of buffers after a training step */
  readonly bufferUpdates: readonly { readonly name: string; readonly node: T }[];
  readonly dims: ReadonlyMap<string, number>;
}

/** A model that cannot be lowered as written (an unbound dim, an op without a lowering). */
export class LowerError extends Error {
  constructor(
    message: string,
    readonly site?: SourceSite,
  ) {
    super(message);
  }
}

export function runtimeDType(d: DType): PDType {
  return d === "bool" ? "bool" : d.startsWith("f") || d === "bf16" ? "f32" : "i32";
}

/** Values by the elaborated graph's refs, looked up through enclosing scan steps. */
class Env {
  private readonly map = new Map<string, T>();
  constructor(private readonly parent?: Env) {}
  get(ref: TensorRef): T | undefined {
    return this.map.get(`${ref.node}:${ref.index}`) ?? this.parent?.get(ref);
  }
  set(node: number, index: number, value: T): void {
    this.map.set(`${node}:${index}`, value);
  }
}

/** Initialiser numbers at concrete shapes: `fan_in` becomes the bound 1/sqrt(fan_in). */
export function concreteInitArgs(args: InitArgs, dim: (d: Dim) => number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(args)) {
    const x = typeof v === "number" ? v : dim(v);
    if (k === "fan_in") out.bound = 1 / Math.sqrt(x);
    else out[k] = x;
  }
  return out;
}

export function lowerModel(g: ModelGraph, options: LowerOptions): LoweredModel {
  return new Lowering(g, options).run();
}

class Lowering {
  private readonly b = new PrimBuilder();
  private readonly dims: Map<string, number>;
  private readonly params: LoweredParam[] = [];
  private readonly inputs: { name: string; node: T; shape: readonly number[]; dtype: PDType }[] = [];
  private readonly bufferUpdates: { name: string; node: T }[] = [];
  private readonly byRegion = new Map<number, Node[]>();
  /** nodes the requested outputs depend on; the rest (a train input at inference) is skipped */
  private readonly live: Uint8Array;

  constructor(
    private readonly g: ModelGraph,
    private readonly options: LowerOptions,
  ) {
    this.dims = new Map(g.dimDefaults);
    for (const [k, v] of options.dims ?? []) this.dims.set(k, v);
    for (const n of g.nodes) {
      const list = this.byRegion.get(n.region) ?? [];
      list.push(n);
      this.byRegion.set(n.region, list);
    }
    this.live = this.liveNodes([...g.outputs, ...(options.extraOutputs ?? [])].map((o) => o.ref.node));
  }

  /** Mark what the outputs need, sweeping backwards (a scan's body precedes it in id order). */
  private liveNodes(roots: readonly number[]): Uint8Array {
    const live = new Uint8Array(this.g.nodes.length);
    for (const r of roots) live[r] = 1;
    for (let id = this.g.nodes.length - 1; id >= 0; id--) {
      if (!live[id]) continue;
      const n = this.g.nodes[id]!;
      if (n.kind === "op") {
        for (const r of n.inputs) if (r) live[r.node] = 1;
        for (const p of n.params) live[p] = 1;
      } else if (n.kind === "scan") {
        for (const r of n.inputs) live[r.node] = 1;
        for (const m of this.byRegion.get(n.body.region) ?? []) live[m.id] = 1;
      }
    }
    return live;
  }

  run(): LoweredModel {
    const env = new Env();
    // Parameters first: one leaf each, whatever region uses them.
    for (const n of this.g.nodes) {
      if (n.kind !== "param") continue;
      const t = n.outputs[0]!;
      const shape = this.shapeOf(t.shape, n.site);
      const dtype = runtimeDType(t.dtype);
      const node = this.b.param(n.name, shape, dtype);
      env.set(n.id, 0, node);
      this.params.push({
        name: n.name,
        node,
        shape,
        dtype,
        init: n.init,
        ...(n.initArgs ? { initArgs: this.initArgs(n.initArgs, n.site) } : {}),
        trainable: n.trainable && !n.buffer,
        buffer: n.buffer,
        noDecay: n.noDecay,
        lrScale: n.lrScale ?? 1,
      });
    }
    this.lowerRegion(0, env);
    const outputs = [...this.g.outputs, ...(this.options.extraOutputs ?? [])].map((o) => {
      const node = env.get(o.ref);
      if (node === undefined) throw new LowerError(`output '${o.name}' was not computed`);
      this.b.output(o.name, node);
      return { name: o.name, node };
    });
    for (const u of this.bufferUpdates) this.b.output(`update:${u.name}`, u.node);
    return { builder: this.b, params: this.params, inputs: this.inputs, outputs, bufferUpdates: this.bufferUpdates, dims: this.dims };
  }

  private initArgs(args: InitArgs, site: SourceSite): Record<string, number> {
    return concreteInitArgs(args, (d) => this.dim(d, site));
  }

  private dim(d: Dim, site?: SourceSite): number {
    const v = d.evaluate((name) => this.dims.get(name));
    if (v === undefined) {
      const free = [...d.symbols()].filter((s) => !this.dims.has(s));
      throw new LowerError(`dimension ${free.join(", ")} is not bound; give it a value (--dim ${free[0] ?? "B"}=...)`, site);
    }
    return v;
  }

  private shapeOf(shape: readonly Dim[], site?: SourceSite): number[] {
    return shape.map((d) => this.dim(d, site));
  }

  private attr(v: AttrValue, site: SourceSite): ConcreteAttr {
    if (v === null || typeof v === "number" || typeof v === "boolean" || typeof v === "string") return v;
    if (Array.isArray(v)) return (v as readonly AttrValue[]).map((x) => this.attr(x, site));
    return this.dim(v as Dim, site);
  }

  private lowerRegion(region: number, env: Env): void {
    for (const n of this.byRegion.get(region) ?? []) {
      if (!this.live[n.id]) continue;
      switch (n.kind) {
        case "param":
          break;
        case "input":
          // top-level inputs are fed per call; inputs inside a scan body are set by the scan
          if (region === 0) {
            const t = n.outputs[0]!;
            const shape = this.shapeOf(t.shape, n.site);
            const dtype = runtimeDType(t.dtype);
            const node = this.b.input(n.name, shape, dtype);
            this.inputs.push({ name: n.name, node, shape, dtype });
            env.set(n.id, 0, node);
          }
          break;
        case "const": {
          const t = n.outputs[0]!;
          const v = n.value;
          const value = typeof v === "boolean" ? (v ? 1 : 0) : typeof v === "number" ? v : this.dim(v, n.site);
          env.set(n.id, 0, this.b.scalar(value, runtimeDType(t.dtype), this.shapeOf(t.shape, n.site)));
          break;
        }
        case "op":
          this.lowerOp(n, env);
          break;
        case "scan":
          this.lowerScan(n, env);
          break;
      }
    }
  }

  private lowerOp(n: Extract<Node, { kind: "op" }>, env: Env): void {
    const op = n.op;
    if (!op.lower) throw new LowerError(`the op '${op.name}' cannot run yet (it has no lowering to primitives)`, n.site);
    const inputs = n.inputs.map((r) => {
      if (r === null) return undefined;
      const v = env.get(r);
      if (v === undefined) throw new LowerError(`internal: input of '${op.name}' not lowered`, n.site);
      return v;
    });
    const attrs: Record<string, ConcreteAttr> = {};
    for (const [k, v] of Object.entries(n.attrs)) attrs[k] = this.attr(v, n.site);
    const params = n.params.map((p) => env.get({ node: p, index: 0 })!);
    const outputs = n.outputs.map((t) => ({ shape: this.shapeOf(t.shape, n.site), dtype: runtimeDType(t.dtype) }));
    this.b.site = {
      origin: n.site,
      instance: n.instance,
      ...(n.checkpointRegion !== undefined ? { checkpoint: n.checkpointRegion } : {}),
      ...(n.annotations.has("nofuse") ? { nofuse: true as const } : {}),
    };
    const results = op.lower({
      b: this.b,
      inputs,
      attrs,
      params,
      outputs,
      training: this.options.training,
      updateBuffer: (i, value) => {
        const p = this.g.nodes[n.params[i]!];
        if (p?.kind !== "param") throw new LowerError(`internal: '${op.name}' updates a buffer it does not own`, n.site);
        this.bufferUpdates.push({ name: p.name, node: value });
      },
    });
    this.b.site = {};
    if (results.length !== outputs.length)
      throw new LowerError(`internal: '${op.name}' lowered to ${results.length} outputs, expected ${outputs.length}`, n.site);
    results.forEach((r, i) => {
      const got = this.b.shape(r);
      const want = outputs[i]!.shape;
      if (got.length !== want.length || got.some((d, k) => d !== want[k]) || this.b.dtype(r) !== outputs[i]!.dtype)
        throw new LowerError(
          `internal: '${op.name}' lowered output ${i} to ${this.b.dtype(r)}[${got.join(", ")}], its shape rule says ${outputs[i]!.dtype}[${want.join(", ")}]`,
          n.site,
        );
      env.set(n.id, i, r);
    });
  }

  /** Unroll a scan over its length; the final states follow the stacked outputs. */
  private lowerScan(n: ScanNode, env: Env): void {
    const { body, axis } = n;
    const trips = this.dim(n.trips, n.site);
    const seqs = n.inputs.slice(0, n.sequenceCount).map((r) => env.get(r)!);
    let states = n.inputs.slice(n.sequenceCount).map((r) => env.get(r)!);
    const perStep: T[][] = body.stepOutputs.map(() => new Array<T>(trips));
    for (let k = 0; k < trips; k++) {
      const t = n.reverse ? trips - 1 - k : k;
      const stepEnv = new Env(env);
      seqs.forEach((s, i) => {
        const shape = this.b.shape(s);
        const slice = this.b.sliceAxis(s, axis, t, t + 1);
        stepEnv.set(
          body.stepInputs[i]!,
          0,
          this.b.reshape(
            slice,
            shape.filter((_, j) => j !== axis),
          ),
        );
      });
      states.forEach((s, j) => stepEnv.set(body.stateInputs[j]!, 0, s));
      this.lowerRegion(body.region, stepEnv);
      body.stepOutputs.forEach((r, o) => (perStep[o]![t] = stepEnv.get(r)!));
      states = body.stateOutputs.map((r) => stepEnv.get(r)!);
    }
    perStep.forEach((steps, o) => {
      const withAxis = steps.map((s) => {
        const shape = [...this.b.shape(s)];
        shape.splice(axis, 0, 1);
        return this.b.reshape(s, shape);
      });
      env.set(n.id, o, this.b.concat(withAxis, axis));
    });
    states.forEach((s, j) => env.set(n.id, body.stepOutputs.length + j, s));
  }
}
