// TypeScript code generation: a model, lowered to primitives at concrete sizes, becomes one
// readable, deterministic TypeScript module over flat typed arrays that imports only the
// runtime surface runtime/module.ts. The module holds
//
//   - one `const` per buffer, allocated once when the module loads (parameters are named
//     after their hierarchical names, `p_layer1_0_conv1_weight`; node buffers after the graph
//     and node id, `f12` in the forward graph, `e12` in evaluation, `t12` in training);
//   - constants inlined as literals;
//   - per primitive node, one kernel built once from runtime/module.ts's `ops` (the CPU
//     executor's own kernel builders), with a comment naming the primitive, its shape, the
//     layer instance and the .dlm line it comes from; each graph runs as a straight-line list
//     of kernel calls;
//   - the API: forward(inputs), trainStep(inputs, lr?), evaluate(inputs), parameters(),
//     gradients(), loadWeights(map), init(seed?), steps(), and `info` (names, shapes, sizes).
//
// Training follows runtime/trainer.ts exactly: the same lowered graphs (one per train phase),
// parameter initialisation, optimiser and schedule, clipping, rng seeds per step and buffer
// updates, so a generated module and the executor agree to rounding.
//
// Names and strings from the .dlm file only appear inside escaped string literals (see
// names.ts); generated identifiers are mangled. The output depends on nothing but the model,
// its train section and the options (no time stamps, no absolute paths unless given).

import type { ModelGraph } from "../ir/graph.js";
import { lowerModel, type LoweredModel, type LoweredParam } from "../lower.js";
import { BINARY, numelOf, PRIMITIVES, UNARY, type PDType, type PGraph, type PNode } from "../prim/ir.js";
import type { FusionGroup } from "../passes/fusion.js";
import { arenaOffset } from "../passes/memory-plan.js";
import { optimise } from "../passes/pipeline.js";
import { EPILOGUE_PARAMS, fusedLoop } from "./fused-loop.js";
import { buildEvalGraph, buildTrainingGraph, checkpointedStep, type StepPassOptions, type TrainingGraph } from "../training-graph.js";
import type { TrainSetup } from "../train.js";
import { jsString, literal, Mangler, numberLiteral } from "./names.js";

export interface TsModuleOptions {
  /** values of the symbolic dims, the batch `B` included */
  readonly dims: ReadonlyMap<string, number>;
  /** the module specifier generated code imports the runtime from (runtime/module.ts) */
  readonly runtimeImport: string;
  /** seeds parameter initialisation and the rng nodes, as `dlm train --seed` (default: the train section's, else 0) */
  readonly seed?: number;
  /** how a source file is named in comments (default: its last path component) */
  readonly displayPath?: (file: string) => string;
  /** compiler passes, each on by default as in the executor (NO_PASSES of compiler/passes/pipeline.ts is -O0); `checkpoint: false` ignores `@checkpoint` and the budget */
  readonly passes?: StepPassOptions;
  /** bytes a training step's planned activation arena may take: gradient checkpointing fits it (default: the model's `@memory_budget`) */
  readonly memoryBudget?: number;
}

const PRIMS: ReadonlySet<string> = new Set(PRIMITIVES);
const SCALAR_OPS: ReadonlySet<string> = new Set<string>([...UNARY, ...BINARY]);

const ARRAY_OF: Readonly<Record<PDType, string>> = { f32: "Float32Array", i32: "Int32Array", bool: "Uint8Array" };

interface GraphOut {
  /** declarations at module level */
  readonly decls: string[];
  /** the run function */
  readonly run: string;
  /** identifier of each node's buffer */
  readonly ids: readonly string[];
}

export function generateTsModule(graph: ModelGraph, train: TrainSetup | undefined, options: TsModuleOptions): string {
  return new TsGenerator(graph, train, options).generate();
}

class TsGenerator {
  private readonly params = new Mangler("p_");
  private readonly seed: number;
  private readonly display: (file: string) => string;

  constructor(
    private readonly g: ModelGraph,
    private readonly train: TrainSetup | undefined,
    private readonly o: TsModuleOptions,
  ) {
    this.seed = o.seed ?? train?.seed ?? 0;
    if (!Number.isSafeInteger(this.seed) || this.seed < 0)
      throw new Error(`codegen: the seed must be a non-negative integer, got ${this.seed}`);
    this.display = o.displayPath ?? ((f) => f.split(/[\\/]/).pop() ?? f);
  }

  generate(): string {
    const forward = lowerModel(this.g, { training: false, dims: this.o.dims });
    const phases: { name: string; steps: number; tg: TrainingGraph; setup: NonNullable<TrainSetup["optimizer"]> }[] = [];
    let evalModel: LoweredModel | undefined;
    if (this.train) {
      const setup = this.train;
      const list = setup.phases.length > 0 ? setup.phases : [{ name: "main", params: [] as readonly string[], steps: 1 }];
      for (const ps of list) {
        const loss = ("loss" in ps ? ps.loss : undefined) ?? setup.loss;
        if (!loss) throw new Error(`codegen: train phase '${ps.name}' has no loss`);
        const prefixes = ps.params;
        const built = buildTrainingGraph(
          this.g,
          loss,
          this.o.dims,
          (name) => prefixes.length === 0 || prefixes.some((p) => name === p || name.startsWith(`${p}.`)),
        );
        // checkpointed as `dlm train` checkpoints it, so the module's step computes and holds what the trainer's does
        const { training: tg } = checkpointedStep(this.g, built, {
          passes: this.o.passes ?? {},
          ...(this.o.memoryBudget !== undefined ? { budget: this.o.memoryBudget } : {}),
        });
        const opt = ("optimizer" in ps && ps.optimizer) || setup.optimizer;
        phases.push({ name: ps.name, steps: ps.steps, tg, setup: opt });
      }
      evalModel = buildEvalGraph(this.g, this.o.dims, setup);
    }
    // Parameters in the order the trainer initialises them (the first training graph's).
    const params: LoweredParam[] = [...(phases[0]?.tg.model.params ?? forward.params)];
    for (const m of [forward, ...phases.map((p) => p.tg.model), ...(evalModel ? [evalModel] : [])])
      for (const p of m.params) if (!params.some((q) => q.name === p.name)) params.push(p);
    for (const p of params) this.params.id(p.name);

    const out: string[] = [];
    const source = this.g.nodes[0]?.site.file;
    out.push(
      `// Generated by dlm from ${source !== undefined ? jsString(this.display(source)) : "a model"}, model ${jsString(this.g.name)}; do not edit.`,
      `// Sizes: ${[...this.o.dims].map(([k, v]) => `${jsString(k)} = ${v}`).join(", ") || "none"}. Every buffer is allocated once, when the module loads;`,
      "// forward, trainStep and evaluate reuse them (results are views into the module's buffers, valid until the next call).",
      "",
      `import * as rt from ${jsString(this.o.runtimeImport)};`,
      "",
      `const SEED = ${this.seed};`,
      "",
    );

    // info
    const tensorInfo = (name: string, shape: readonly number[], dtype: string): string =>
      `{ name: ${jsString(name)}, dtype: ${jsString(dtype)}, shape: ${literal(shape)} }`;
    const modelOutputs = forward.outputs.slice(0, this.g.outputs.length);
    const trainInputs = phases[0]?.tg.model.inputs.filter((i) => !forward.inputs.some((f) => f.name === i.name)) ?? [];
    out.push(
      "/** The model this module computes, at its compiled sizes. */",
      "export const info = {",
      `  model: ${jsString(this.g.name)},`,
      `  dims: [${[...this.o.dims].map(([k, v]) => `{ name: ${jsString(k)}, value: ${v} }`).join(", ")}],`,
      `  seed: SEED,`,
      `  inputs: [${forward.inputs.map((i) => tensorInfo(i.name, i.shape, i.dtype)).join(", ")}],`,
      `  trainInputs: [${trainInputs.map((i) => tensorInfo(i.name, i.shape, i.dtype)).join(", ")}],`,
      `  outputs: [${modelOutputs.map((x) => tensorInfo(x.name, forward.builder.shape(x.node), forward.builder.dtype(x.node))).join(", ")}],`,
      `  params: [${params.map((p) => `{ name: ${jsString(p.name)}, dtype: ${jsString(p.dtype)}, shape: ${literal(p.shape)}, trainable: ${p.trainable}, buffer: ${p.buffer} }`).join(", ")}],`,
      `  optimizer: ${phases.length ? jsString(phases[0]!.setup.name) : "null"},`,
      "};",
      "",
    );

    // parameters
    out.push(
      "// ---------------------------------------------------------------------------",
      "// Parameters and buffers, by their hierarchical names",
      "",
    );
    for (const p of params) {
      const what = p.buffer ? "buffer" : p.trainable ? "trainable" : "frozen";
      out.push(`// ${jsString(p.name)} ${p.dtype}[${p.shape.join(", ")}], ${what}, init ${jsString(p.init)}`);
      out.push(`const ${this.params.id(p.name)} = new ${ARRAY_OF[p.dtype]}(${numelOf(p.shape)});`);
    }
    out.push("", "const PARAMS: rt.ParamEntry[] = [");
    for (const p of params) {
      const args = p.initArgs ? `, initArgs: ${literal(p.initArgs)}` : "";
      out.push(
        `  { name: ${jsString(p.name)}, value: ${this.params.id(p.name)}, shape: ${literal(p.shape)}, init: ${jsString(p.init)}${args}, trainable: ${p.trainable}, buffer: ${p.buffer} },`,
      );
    }
    out.push("];", "", "const PARAM_MAP: ReadonlyMap<string, rt.Buf> = new Map(PARAMS.map((p) => [p.name, p.value]));", "");

    // graphs
    const fw = this.emitGraph("f", "runForward", "forward (inference mode)", forward);
    out.push(...fw.decls, fw.run, "");
    out.push(this.slots("FORWARD_INPUTS", forward, fw), this.outputsMap("FORWARD_OUTPUTS", modelOutputs, fw), "");
    let ev: GraphOut | undefined;
    if (evalModel) {
      ev = this.emitGraph("e", "runEval", "evaluation (inference mode, with the loss)", evalModel);
      out.push(...ev.decls, ev.run, "");
      out.push(
        this.slots("EVAL_INPUTS", evalModel, ev),
        this.outputsMap("EVAL_OUTPUTS", evalModel.outputs.slice(0, this.g.outputs.length), ev),
        "",
      );
    }
    const tr = phases.map((ph, k) => {
      const prefix = phases.length === 1 ? "t" : `t${k}_`;
      const gOut = this.emitGraph(
        prefix,
        `runTrain${k}`,
        `training step, phase ${jsString(ph.name)}: forward, loss and gradients`,
        ph.tg.model,
      );
      out.push(...gOut.decls, gOut.run, "");
      out.push(this.slots(`TRAIN${k}_INPUTS`, ph.tg.model, gOut));
      out.push(`const TRAINED${k}: rt.ParamBuffer[] = [`);
      for (const [name, node] of ph.tg.grads) {
        const p = ph.tg.model.params.find((q) => q.name === name)!;
        out.push(
          `  { name: ${jsString(name)}, value: ${this.params.id(name)}, grad: ${gOut.ids[node]}, lrScale: ${numberLiteral(p.lrScale)}, decay: ${!p.noDecay} },`,
        );
      }
      out.push("];");
      const args: Record<string, number | boolean> = { ...ph.setup.args };
      if (this.train!.weightDecay !== undefined && args.weight_decay === undefined) args.weight_decay = this.train!.weightDecay;
      out.push(`const optimizer${k} = rt.createOptimizer(${jsString(ph.setup.name)}, TRAINED${k}, ${literal(args)});`);
      const sch = this.train!.schedule;
      out.push(
        sch
          ? `const schedule${k} = rt.createSchedule(${jsString(sch.name)}, optimizer${k}.lr, ${literal(sch.args)});`
          : `const schedule${k}: rt.Schedule = () => optimizer${k}.lr;`,
        "",
      );
      return gOut;
    });

    // API
    out.push(
      "// ---------------------------------------------------------------------------",
      "// API",
      "",
      "let step = 0;",
      "",
      "/** Run the model in inference mode on one batch: its outputs by name. */",
      "export function forward(inputs: rt.Feeds): ReadonlyMap<string, rt.Buf> {",
      "  rt.feed(FORWARD_INPUTS, inputs);",
      "  fRng.reset(SEED);",
      "  runForward();",
      "  return FORWARD_OUTPUTS;",
      "}",
      "",
    );
    if (phases.length > 0 && ev && evalModel) {
      for (const [k, ph] of phases.entries()) {
        const gOut = tr[k]!;
        const rngName = `${phases.length === 1 ? "t" : `t${k}_`}Rng`;
        const lossNode = ph.tg.loss;
        const updates = ph.tg.model.bufferUpdates;
        out.push(
          `/** One optimiser step of phase ${jsString(ph.name)}; returns its loss. */`,
          `function trainPhase${k}(inputs: rt.Feeds, lr: number | undefined): number {`,
          `  rt.feed(TRAIN${k}_INPUTS, inputs);`,
          `  ${rngName}.reset(SEED * 1000003 + step);`,
          `  runTrain${k}();`,
          `  const loss = ${gOut.ids[lossNode]}[0]!;`,
          "  rt.checkFinite(loss, step + 1);",
          ...(this.train!.clipValue !== undefined ? [`  rt.clipGradValue(TRAINED${k}, ${numberLiteral(this.train!.clipValue)});`] : []),
          ...(this.train!.clipNorm !== undefined ? [`  rt.clipGradNorm(TRAINED${k}, ${numberLiteral(this.train!.clipNorm)});`] : []),
          `  optimizer${k}.step(lr ?? schedule${k}(optimizer${k}.stepCount));`,
          ...updates.map((u) => `  ${this.params.id(u.name)}.set(${gOut.ids[u.node]}); // ${jsString(u.name)}`),
          "  step++;",
          "  return loss;",
          "}",
          "",
        );
      }
      const body: string[] = [];
      phases.forEach((ph, k) => {
        const call = `trainPhase${k}(inputs, lr)`;
        if (k === 0) body.push(`  const loss = ${call};`, ...(ph.steps > 1 ? [`  for (let s = 1; s < ${ph.steps}; s++) ${call};`] : []));
        else body.push(ph.steps > 1 ? `  for (let s = 0; s < ${ph.steps}; s++) ${call};` : `  ${call};`);
      });
      const evalLoss = evalModel.outputs[evalModel.outputs.length - 1]!.node;
      out.push(
        "/**",
        " * One training step on one batch (model inputs and train inputs): forward, loss, gradients and",
        " * the optimiser's update of the parameters. `lr` overrides the learning rate of this step",
        " * (default: the train section's schedule). Returns the loss (of the first phase).",
        " */",
        "export function trainStep(inputs: rt.Feeds, lr?: number): number {",
        ...body,
        "  return loss;",
        "}",
        "",
        "/** The loss and outputs on one batch in evaluation mode (dropout off, running statistics). */",
        "export function evaluate(inputs: rt.Feeds): { loss: number; outputs: ReadonlyMap<string, rt.Buf> } {",
        "  rt.feed(EVAL_INPUTS, inputs);",
        "  eRng.reset(SEED);",
        "  runEval();",
        `  return { loss: ${ev.ids[evalLoss]}[0]!, outputs: EVAL_OUTPUTS };`,
        "}",
        "",
        `const GRADIENTS: ReadonlyMap<string, Float32Array> = new Map(TRAINED0.map((p) => [p.name, p.grad]));`,
        "",
        "/** The gradients of the last training step (of the first phase), by parameter name. */",
        "export function gradients(): ReadonlyMap<string, Float32Array> {",
        "  return GRADIENTS;",
        "}",
        "",
      );
    } else {
      const why = jsString(`dlm: model ${this.g.name} has no train section`);
      out.push(
        "/** This model has no train section: there is no training step. */",
        "export function trainStep(_inputs: rt.Feeds, _lr?: number): number {",
        `  throw new Error(${why});`,
        "}",
        "",
        "/** This model has no train section: there is no loss to evaluate. */",
        "export function evaluate(_inputs: rt.Feeds): { loss: number; outputs: ReadonlyMap<string, rt.Buf> } {",
        `  throw new Error(${why});`,
        "}",
        "",
        "/** No training step, so no gradients. */",
        "export function gradients(): ReadonlyMap<string, Float32Array> {",
        "  return new Map();",
        "}",
        "",
      );
    }
    out.push(
      "/** The live parameter and buffer arrays by hierarchical name (read or write them in place). */",
      "export function parameters(): ReadonlyMap<string, rt.Buf> {",
      "  return PARAM_MAP;",
      "}",
      "",
      "/** Copy weights in by name (a Map or an object of arrays); unknown names and wrong sizes throw. */",
      "export function loadWeights(weights: rt.Feeds): void {",
      "  rt.loadWeights(PARAMS, weights);",
      "}",
      "",
      "/** Re-initialise every parameter as `dlm train --seed` would (default: the compiled seed). */",
      "export function init(seed: number = SEED): void {",
      "  rt.initParams(PARAMS, seed);",
      "}",
      "",
      "/** Optimiser steps taken so far. */",
      "export function steps(): number {",
      "  return step;",
      "}",
      "",
      "init();",
    );
    return out.join("\n") + "\n";
  }

  private slots(name: string, m: LoweredModel, gOut: GraphOut): string {
    return `const ${name}: rt.Slot[] = [${m.inputs.map((i) => `{ name: ${jsString(i.name)}, buf: ${gOut.ids[i.node]} }`).join(", ")}];`;
  }

  private outputsMap(name: string, outs: readonly { name: string; node: number }[], gOut: GraphOut): string {
    return `const ${name}: ReadonlyMap<string, rt.Buf> = new Map<string, rt.Buf>([${outs.map((x) => `[${jsString(x.name)}, ${gOut.ids[x.node]}]`).join(", ")}]);`;
  }

  /** Buffers and kernels of one graph, and its run function. */
  private emitGraph(prefix: string, runName: string, title: string, m: LoweredModel): GraphOut {
    // the executor's passes, so that module and executor compute alike: the graph rewritten
    // (constants folded, algebra simplified, batch norm folded into convolutions), dead code
    // dropped, repeats merged, elementwise chains and row reductions fused, intermediates
    // placed in one planned arena
    const source = m.builder.graph();
    const { graph: g, nodeOf, live, representative: rep, fusion, memory: plan } = optimise(source, this.o.passes ?? {});
    const paramOf = new Map(g.params.map((p) => [p.node, p.name]));
    const inputOf = new Map(g.inputs.map((i) => [i.node, i.name]));
    const ids: string[] = [];
    const decls: string[] = [
      "// ---------------------------------------------------------------------------",
      `// ${title}: ${g.nodes.length} primitives`,
      "",
      `const ${prefix}Rng = new rt.SeededStream(SEED);`,
    ];
    const calls: string[] = [];
    if (plan) decls.push(`const ${prefix}Arena = new ArrayBuffer(${plan.planned}); // intermediates, placed by the memory planner`);
    for (const n of g.nodes) {
      if (!PRIMS.has(n.op)) throw new Error(`codegen: unknown primitive '${n.op}' (node ${n.id})`);
      for (const i of n.inputs) if (!(i < n.id)) throw new Error(`codegen: node ${n.id} reads node ${i}, which comes later`);
      if (!live[n.id]) continue;
      if (rep && rep[n.id] !== n.id) {
        ids[n.id] = ids[rep[n.id]!]!; // computed once, by the earlier node
        continue;
      }
      const id = `${prefix}${n.id}`;
      const offset = plan ? arenaOffset(plan, n.id) : undefined; // own bytes, or an input's it overwrites in place
      const alloc =
        offset !== undefined
          ? `new ${ARRAY_OF[n.dtype]}(${prefix}Arena, ${offset}, ${numelOf(n.shape)})`
          : `new ${ARRAY_OF[n.dtype]}(${numelOf(n.shape)})`;
      const group = fusion && fusion.groupOf[n.id]! >= 0 ? fusion.groups[fusion.groupOf[n.id]!]! : undefined;
      if (group) {
        if (!fusion!.virtual[n.id]) {
          ids[n.id] = id;
          decls.push(`// ${this.site(n)}`, `const ${id} = ${alloc};`);
        }
        if (group.members.at(-1) === n.id) this.emitFused(g, group, `${id}k`, ids, decls, calls);
        continue;
      }
      switch (n.op) {
        case "param": {
          const name = paramOf.get(n.id);
          if (name === undefined) throw new Error(`codegen: parameter node ${n.id} has no name`);
          ids[n.id] = this.params.id(name);
          continue;
        }
        case "reshape":
        case "stop_gradient":
          ids[n.id] = ids[n.inputs[0]!]!;
          continue;
        case "input":
          ids[n.id] = id;
          decls.push(`const ${id} = ${alloc}; // input ${jsString(inputOf.get(n.id) ?? "")} ${n.dtype}[${n.shape.join(", ")}]`);
          continue;
        case "const":
          ids[n.id] = id;
          decls.push(`const ${id} = ${constInit(n)};`);
          continue;
      }
      ids[n.id] = id;
      decls.push(`// ${this.site(n)}`, `const ${id} = ${alloc};`);
      if (n.op === "rng_uniform" || n.op === "rng_normal") {
        decls.push(`const ${id}k = (): void => ${prefix}Rng.${n.op === "rng_uniform" ? "uniform" : "normal"}(${id});`);
        calls.push(`  ${id}k(); // ${n.op}`);
        continue;
      }
      const operands = [`[${id}, ${literal(n.shape)}]`, ...n.inputs.map((i) => `[${ids[i]!}, ${literal(g.nodes[i]!.shape)}]`)];
      const call = `rt.ops.${n.op}(${n.id}, ${literal(n.attrs)}, ${operands.join(", ")})`;
      if (n.op === "iota") decls.push(`${call};`);
      else {
        decls.push(`const ${id}k = ${call};`);
        calls.push(`  ${id}k(); // ${n.op}${n.instance !== undefined ? ` ${jsString(n.instance)}` : ""}`);
      }
    }
    const run = [`function ${runName}(): void {`, ...calls, "}"].join("\n");
    // callers name nodes of the graph they built
    return { decls, run, ids: Array.from(source.nodes, (_, i) => ids[nodeOf[i]!]!) };
  }

  /** A fusion group's kernel: its loop (compiler/codegen/fused-loop.ts) bound to the buffers it reads and writes. */
  private emitFused(g: PGraph, group: FusionGroup, name: string, ids: readonly string[], decls: string[], calls: string[]): void {
    const loop = fusedLoop(g, group, (op) => SCALAR_OPS.has(op), { typed: true });
    const params = [
      ...loop.scalarOps.map((_, k) => `f${k}: rt.ScalarFn`),
      ...loop.inputs.map((node, k) => `in${k}: ${ARRAY_OF[g.nodes[node]!.dtype]}`),
      ...loop.outputs.map((node, k) => `out${k}: ${ARRAY_OF[g.nodes[node]!.dtype]}`),
    ];
    const args = [
      ...loop.scalarOps.map((op) => `rt.scalar[${jsString(op)}]!`),
      ...loop.inputs.map((i) => ids[i]!),
      ...loop.outputs.map((o) => ids[o]!),
    ];
    const ops = group.members.map((m) => g.nodes[m]!.op).join(" -> ");
    const epilogue = group.kind === "epilogue";
    const loopFn = [
      `((${params.join(", ")}): ${epilogue ? "rt.Epilogue" : "rt.Kernel"} => {`,
      "const fround = Math.fround;",
      ...(loop.setup ? [loop.setup] : []),
      `return (${epilogue ? EPILOGUE_PARAMS.map((p) => `${p}: ${p === "src" ? "Float32Array" : "number"}`).join(", ") : ""}) => {`,
      loop.body,
      "};",
      `})(${args.join(", ")})`,
    ];
    if (epilogue) {
      // the product's own kernel, its output handed to the loop instead of written
      const anchor = g.nodes[group.members[0]!]!;
      const operands = anchor.inputs.map((i) => `[${ids[i]!}, ${literal(g.nodes[i]!.shape)}]`);
      decls.push(
        `// ${this.site(anchor)}`,
        `// fused: ${ops} (epilogue)`,
        `const ${name} = rt.withEpilogue(${jsString(anchor.op)}, ${anchor.id}, ${literal(anchor.attrs)}, ${literal(anchor.shape)},`,
        ...loopFn,
        `, ${operands.join(", ")});`,
      );
    } else decls.push(`// fused: ${ops}`, `const ${name} = ${loopFn[0]!}`, ...loopFn.slice(1), ";");
    calls.push(`  ${name}(); // fused ${ops}`);
  }

  /** `op dtype[shape]`, the layer instance and the source line a node comes from. */
  private site(n: PNode): string {
    let s = `${n.op} ${n.dtype}[${n.shape.join(", ")}]`;
    if (n.instance !== undefined) s += ` in ${jsString(n.instance)}`;
    if (n.origin) s += ` at ${jsString(this.display(n.origin.file))} line ${n.origin.range.start.line}`;
    return s;
  }
}

/** A constant node's buffer, its values inlined. */
function constInit(n: PNode): string {
  const T = ARRAY_OF[n.dtype];
  const size = numelOf(n.shape);
  const norm = (v: number): number => (n.dtype === "bool" ? (v !== 0 ? 1 : 0) : v);
  const values = n.attrs["values"] as readonly number[] | undefined;
  if (values) {
    if (values.length !== size) throw new Error(`codegen: constant node ${n.id} has ${values.length} values for ${size} elements`);
    return `new ${T}([${values.map((v) => numberLiteral(norm(v))).join(", ")}])`;
  }
  const v = norm(n.attrs["value"] as number);
  return Object.is(v, 0) ? `new ${T}(${size})` : `new ${T}(${size}).fill(${numberLiteral(v)})`;
}
