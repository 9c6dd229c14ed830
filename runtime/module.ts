// The runtime surface of generated TypeScript modules (compiler/codegen/ts.ts): the one module
// they import, as `import * as rt from "<path>/runtime/module.js"`. Everything a generated
// model needs is here and nothing else is imported by it, so bundling a model (`dlm compile
// --bundle`) inlines exactly this module and what it reaches (kernels, optimisers,
// initialisers, the random stream).
//
// Stability: generated code calls only what this file exports; the names and signatures
// below are the contract between the code generator and the runtime.
//
//   ops.<primitive>(node, attrs, [out, shape], [in0, shape0], ...) -> kernel closure
//       the executor's kernel builder for one primitive node (runtime/cpu/builders.ts): plans
//       once, returns a () => void that computes the node into `out` (a no-op where nothing
//       runs per call: iota fills `out` right away).
//   withEpilogue(op, node, attrs, shape, epilogue, [in0, shape0], ...) -> kernel closure
//       ops.matmul / ops.conv whose output is not written but handed, a finished stretch at a
//       time, to `epilogue(values, s, o, n)` (a fused group's loop, compiler/codegen/fused-loop.ts)
//   feed(slots, feeds)          copy named inputs into the module's input buffers
//   initParams(params, seed)    initialise parameters exactly as runtime/trainer.ts does
//   loadWeights(params, map)    copy named weights into the parameter buffers
//   createOptimizer, createSchedule, clipGradNorm, clipGradValue   runtime/optim.ts
//   SeededStream                the rng nodes' random stream (runtime/cpu/ops-rng.ts)
//   scalar, ScalarFn            every elementwise primitive's scalar function, by name: the
//                               fused loops of compiler/codegen/fused-loop.ts call them

import type { InitName } from "../compiler/ops/types.js";
import { PRIMITIVES } from "../compiler/prim/ir.js";
import { BUILDERS, dtypeOf, epilogueKernel, type Buf, type Epilogue, type Kernel } from "./cpu/builders.js";
import { SeededStream } from "./cpu/ops-rng.js";
import { initialize } from "./init.js";
import { Rng } from "./rng.js";

export { SeededStream } from "./cpu/ops-rng.js";
export { SCALAR_F as scalar } from "./cpu/ops-math.js";

/** The scalar function of an elementwise primitive. */
export type ScalarFn = (...x: number[]) => number;
export { clipGradNorm, clipGradValue, createOptimizer, createSchedule, type Optimizer, type ParamBuffer, type Schedule } from "./optim.js";
export type { Buf, Epilogue, Kernel } from "./cpu/builders.js";

export type PrimitiveName = (typeof PRIMITIVES)[number];

/** A buffer and its shape: an operand of a kernel. */
export type Operand = readonly [Buf, readonly number[]];

/**
 * Plans a kernel for primitive node `node` (its id, for error messages) with attributes `attrs`
 * writing `out` from `ins`, and returns it.
 */
export type KernelBuilder = (node: number, attrs: Readonly<Record<string, unknown>>, out: Operand, ...ins: Operand[]) => Kernel;

const NOOP: Kernel = () => {};
let sharedRng: SeededStream | undefined;

function builder(op: PrimitiveName): KernelBuilder {
  const build = BUILDERS[op];
  if (!build) throw new Error(`dlm runtime: no kernel for primitive '${op}'`);
  return (node, attrs, out, ...ins) =>
    build({
      n: { id: node, op, inputs: [], attrs, shape: out[1], dtype: dtypeOf(out[0]) },
      out: out[0],
      ins: ins.map((x) => x[0]),
      shapes: ins.map((x) => x[1]),
      // generated code runs rng nodes itself, from its own stream; a builder called directly gets a shared one
      rng: (sharedRng ??= new SeededStream(0)),
    }) ?? NOOP;
}

/** The kernel of a matmul or conv node (of output `shape`) whose output goes through `epilogue` instead of into memory. */
export function withEpilogue(
  op: "matmul" | "conv",
  node: number,
  attrs: Readonly<Record<string, unknown>>,
  shape: readonly number[],
  epilogue: Epilogue,
  ...ins: Operand[]
): Kernel {
  return epilogueKernel(
    {
      n: { id: node, op, inputs: [], attrs, shape, dtype: "f32" },
      ins: ins.map((x) => x[0]),
      shapes: ins.map((x) => x[1]),
      rng: (sharedRng ??= new SeededStream(0)),
    },
    epilogue,
  );
}

/** The kernel builder of every primitive, by name. */
export const ops: Readonly<Record<PrimitiveName, KernelBuilder>> = Object.fromEntries(PRIMITIVES.map((op) => [op, builder(op)])) as Record<
  PrimitiveName,
  KernelBuilder
>;

/** Data for a call: a Map or a plain object from input name to values (typed arrays or number arrays). */
export type Feeds = ReadonlyMap<string, ArrayLike<number>> | Readonly<Record<string, ArrayLike<number>>>;

/** A named buffer of a generated module (an input it copies feeds into). */
export interface Slot {
  readonly name: string;
  readonly buf: Buf;
}

function lookup(feeds: Feeds, name: string): ArrayLike<number> | undefined {
  if (feeds instanceof Map) return (feeds as ReadonlyMap<string, ArrayLike<number>>).get(name);
  return Object.prototype.hasOwnProperty.call(feeds, name) ? (feeds as Readonly<Record<string, ArrayLike<number>>>)[name] : undefined;
}

/** Copy values into a buffer (as the executor does: lengths must match; bools become 0/1). */
export function copyInto(name: string, buf: Buf, f: ArrayLike<number>): void {
  if (f === null || typeof f !== "object" || typeof f.length !== "number")
    throw new TypeError(`dlm: '${name}' must be an array of numbers`);
  if (f.length !== buf.length) throw new Error(`dlm: '${name}' has ${f.length} values, needs ${buf.length}`);
  if (f === buf) return;
  if (buf instanceof Uint8Array) for (let i = 0; i < buf.length; i++) buf[i] = f[i] !== 0 ? 1 : 0;
  else if (ArrayBuffer.isView(f)) buf.set(f as unknown as ArrayLike<number>);
  else for (let i = 0; i < buf.length; i++) buf[i] = f[i]!;
}

/** Copy every slot's feed in; each input must be fed. */
export function feed(slots: readonly Slot[], feeds: Feeds): void {
  if (feeds === null || typeof feeds !== "object") throw new TypeError("dlm: inputs must be a Map or an object of arrays");
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i]!;
    const f = lookup(feeds, s.name);
    if (f === undefined) throw new Error(`dlm: no value for input '${s.name}'`);
    copyInto(s.name, s.buf, f);
  }
}

/** A parameter (or buffer) of a generated module. */
export interface ParamEntry {
  readonly name: string;
  readonly value: Buf;
  readonly shape: readonly number[];
  readonly init: InitName;
  readonly initArgs?: Readonly<Record<string, number>>;
  readonly trainable: boolean;
  readonly buffer: boolean;
}

/**
 * Initialise every parameter from `seed` exactly as runtime/trainer.ts does (the i-th
 * parameter draws from `new Rng(seed).fork(0).fork(i)`), so a generated module and `dlm train`
 * start from the same values.
 */
export function initParams(params: readonly ParamEntry[], seed: number): void {
  const rng = new Rng(seed).fork(0);
  params.forEach((p, i) => {
    if (p.value instanceof Float32Array) initialize(p.init, p.shape, p.value, rng.fork(i), p.initArgs ?? {});
    else {
      const data = new Float32Array(p.value.length);
      initialize(p.init, p.shape, data, rng.fork(i), p.initArgs ?? {});
      copyInto(p.name, p.value, data);
    }
  });
}

/** Copy weights by name into the parameter buffers; unknown names and wrong sizes are errors. */
export function loadWeights(params: readonly ParamEntry[], weights: Feeds): void {
  const byName = new Map(params.map((p) => [p.name, p]));
  const names = weights instanceof Map ? [...weights.keys()] : Object.keys(weights);
  for (const name of names) {
    const p = byName.get(name);
    if (!p) throw new Error(`dlm: the model has no parameter '${name}'`);
    copyInto(name, p.value, lookup(weights, name)!);
  }
}

/** Fails a training step whose loss is NaN or infinite. */
export function checkFinite(loss: number, step: number): void {
  if (!Number.isFinite(loss)) throw new Error(`dlm: the loss became non-finite (${loss}) at step ${step}`);
}
