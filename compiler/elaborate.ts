// Elaboration: evaluates a model's declaration at compile time into the IR graph.
// Blocks are instantiated (inlined) with their hyperparameters, repeats and
// comprehensions are expanded, parameters are created with stable hierarchical names,
// and every tensor's shape is inferred and checked on the way (symbolic dims unify
// at block inputs and ascriptions). Errors become diagnostics; a failed statement binds
// its names to a poison value so one mistake yields one message.

import type {
  Annotation,
  Argument,
  BlockDecl,
  CallExpr,
  Expr,
  IfExpr,
  SourceRange,
  Stmt,
  TensorTypeExpr,
  TrainDecl,
  TypeName,
} from "../grammar/ast.js";
import { Dim, numel, shapeToString, shapesEqual } from "./dim.js";
import { createDiagnostic, Diagnostics, type Diagnostic, type DiagnosticMessage, type RelatedNote } from "./diagnostics/index.js";
import type { ConstNode, InputNode, ModelGraph, Node, OpNode, ParamNode, ScanNode, SourceSite, TensorRef } from "./ir/graph.js";
import { getOp, OPS } from "./ops/index.js";
import {
  bytesOf,
  isDType,
  OpError,
  typeToString,
  type AttrSpec,
  type AttrValue,
  type DType,
  type InitArgs,
  type InitName,
  type InputSpec,
  type OpDef,
  type TensorType,
} from "./ops/types.js";
import type { Declaration, Program } from "./program.js";
import {
  CallableValue,
  ConfigValue,
  describeValue,
  InitValue,
  isTensor,
  ModuleValue,
  PoisonValue,
  TensorValue,
  TupleValue,
  type EvalArg,
  type Value,
} from "./values.js";
import { checkTrainSetup, TRAIN_BUILTINS, type TrainSetup } from "./train.js";
import { suggest } from "./suggest.js";
import { FactRecorder, type ElaborationFacts } from "./facts.js";
import { BYTE_SIZE_FORMS, byteSize } from "./byte-size.js";

export interface ElaborateOptions {
  /** which model; default: the last model of the entry file */
  readonly model?: string;
  /** values for symbolic dims, used for reports and the size check */
  readonly dims?: ReadonlyMap<string, number>;
  /** hyperparameter overrides for the model */
  readonly params?: ReadonlyMap<string, Value>;
  /** record what each name evaluated to and where blocks were applied (for editors) */
  readonly recordFacts?: boolean;
}

export interface ElaborateResult {
  readonly graph?: ModelGraph;
  readonly train?: TrainSetup;
  readonly modelDecl?: BlockDecl;
  readonly diagnostics: readonly Diagnostic[];
  /** with `recordFacts` */
  readonly facts?: ElaborationFacts;
}

/** Limits that keep hostile programs from hanging or exhausting memory. */
const LIMITS = { depth: 48, nodes: 200_000, range: 100_000, bytesPerTensor: 2 ** 40 };

/** The annotations the compiler understands, each with what it does (for editors). */
export const ANNOTATIONS: Readonly<Record<string, string>> = {
  checkpoint: "recompute this statement's or block's values in the backward pass instead of keeping them (gradient checkpointing)",
  frozen: "the parameters created here are not trained",
  lr: "@lr(x): scale the learning rate of the parameters created here by x",
  no_decay: "no weight decay for the parameters created here",
  nofuse: "the operations written here join no fused kernel",
  name: '@name("x"): name the layer instance',
  inline: "inline the block into its callers",
  memory_budget:
    '@memory_budget("256MB") on a model: plan its training step\'s activations within that many bytes (gradient checkpointing; --memory-budget overrides it)',
};

/** annotations the compiler understands (`@frozen`, `@lr(0.1)`) */
export const KNOWN_ANNOTATIONS: ReadonlySet<string> = new Set(Object.keys(ANNOTATIONS));

/** What an annotation is written on ("inner model": a model another model uses as a block). */
type AnnotationTarget = "model" | "inner model" | "block" | "statement";

/** initialisers a `param` or `state` declaration may name */
export const INIT_NAMES: ReadonlySet<string> = new Set<InitName | "learned">([
  "zeros",
  "ones",
  "normal",
  "uniform",
  "xavier_uniform",
  "xavier_normal",
  "kaiming_uniform",
  "kaiming_normal",
  "orthogonal",
  "lecun_normal",
  "constant",
  "learned",
]);

/** Aborts the current statement; the diagnostic is already recorded. */
class Abort extends Error {}

interface NameHint {
  readonly name: string;
  readonly explicit: boolean;
}

interface ScanContext {
  readonly stateTypes: Map<string, { type: TensorType; ref: TensorRef; range: SourceRange }>;
  readonly nexts: Map<string, TensorValue>;
  readonly initials: TensorRef[];
  readonly stateOrder: string[];
  readonly instance: string;
  readonly stepInputs: TensorValue[];
}

interface Frame {
  readonly file: string;
  readonly instancePath: string;
  readonly counters: Map<string, number>;
  readonly decl?: BlockDecl;
  readonly scan?: ScanContext;
  /** where each symbolic dim of this instance was bound, for notes */
  readonly dimSites: Map<string, { site: SourceSite; what: string }>;
  loopDepth: number;
  inputsConsumed: number;
  readonly inputs: readonly TensorValue[];
  readonly outputs: { name: string; value: Value; range: SourceRange }[];
  /**
   * the body of a shared layer (or a scan cell) being applied again: its instances and
   * parameters already exist and are reused, not claimed anew
   */
  readonly shared: boolean;
  /** where this block instance is applied (for notes on its input errors) */
  callSite?: SourceSite;
}

interface VarEntry {
  value: Value;
  readonly range: SourceRange;
}

class Scope {
  readonly vars = new Map<string, VarEntry>();
  constructor(
    readonly frame: Frame,
    readonly parent?: Scope,
  ) {}

  find(name: string): VarEntry | undefined {
    for (let s: Scope | undefined = this; s; s = s.parent) {
      const v = s.vars.get(name);
      if (v) return v;
    }
    return undefined;
  }
}

export function elaborate(program: Program, options: ElaborateOptions = {}): ElaborateResult {
  const entry = program.files.get(program.entry);
  if (!entry) return { diagnostics: [] };
  const models = entry.ast.items.filter((i): i is BlockDecl => i.kind === "Block" && i.isModel);
  if (models.length === 0) {
    return {
      diagnostics: [createDiagnostic(Diagnostics.No_model_in_file, program.entry, entry.ast.range, [])],
    };
  }
  const decl = options.model ? models.find((m) => m.name.name === options.model) : models[models.length - 1];
  if (!decl) {
    return {
      diagnostics: [
        createDiagnostic(Diagnostics.Model_not_found_0, program.entry, entry.ast.range, [options.model!], {
          hint: `models in this file: ${models.map((m) => m.name.name).join(", ")}`,
        }),
      ],
    };
  }
  const trainDecls = entry.ast.items.filter((i): i is TrainDecl => i.kind === "Train" && i.model.name === decl.name.name);
  const elaborator = new Elaborator(program, options);
  try {
    return elaborator.elaborateModel(decl, trainDecls);
  } catch (e) {
    // A bug must surface as a diagnostic the user can report, never as a crash of the
    // editor or the command line.
    return { diagnostics: [...elaborator.diagnosticsSoFar(), internalError(e, program.entry, decl.name.range)] };
  }
}

function internalError(e: unknown, file: string, range: SourceRange): Diagnostic {
  const what = e instanceof Error ? `${e.message}${e.stack ? ` (${e.stack.split("\n")[1]?.trim() ?? ""})` : ""}` : String(e);
  return createDiagnostic(Diagnostics.Internal_error_0, file, range, [what], {
    hint: "please report this with the .dlm file that caused it",
  });
}

/** `train N { ... }` sections whose model N is not declared in the file. */
export function checkTrainTargets(program: Program): Diagnostic[] {
  const entry = program.files.get(program.entry);
  if (!entry) return [];
  const models = modelNames(program);
  return entry.ast.items
    .filter((i): i is TrainDecl => i.kind === "Train" && !models.includes(i.model.name))
    .map((t) =>
      createDiagnostic(Diagnostics.Train_unknown_model_0, program.entry, t.model.range, [t.model.name], {
        hint:
          suggestHint(t.model.name, models) ??
          (models.length ? `models in this file: ${models.join(", ")}` : "declare the model in this file"),
      }),
    );
}

/** Names of every model in a file, in order. */
export function modelNames(program: Program): string[] {
  const entry = program.files.get(program.entry);
  return entry ? entry.ast.items.filter((i): i is BlockDecl => i.kind === "Block" && i.isModel).map((m) => m.name.name) : [];
}

class Elaborator {
  private readonly nodes: Node[] = [];
  private readonly regions = new Map<number, { parent: number; trips: Dim }>();
  private readonly paramsByName = new Map<string, number>();
  private readonly instanceNames = new Set<string>();
  private readonly diagnostics: Diagnostic[] = [];
  private readonly dimDefaults = new Map<string, number>();
  private readonly constCache = new Map<string, Value>();
  private readonly annotationStack: Set<string>[] = [];
  /** the `@checkpoint` regions being elaborated, outermost first (one per annotated statement or block instance) */
  private readonly checkpointRegions: number[] = [];
  private checkpointRegionCount = 0;
  /** the model's `@memory_budget`, in bytes */
  private memoryBudget: number | undefined;
  private region = 0;
  private regionCounter = 0;
  private depth = 0;
  private lrScale: number | undefined;
  private readonly facts: FactRecorder | undefined;

  constructor(
    private readonly program: Program,
    private readonly options: ElaborateOptions,
  ) {
    this.facts = options.recordFacts ? new FactRecorder() : undefined;
  }

  // -------------------------------------------------------------------------
  // Entry points

  diagnosticsSoFar(): readonly Diagnostic[] {
    return this.diagnostics;
  }

  private errorCount(): number {
    return this.diagnostics.filter((d) => d.severity === "error").length;
  }

  private hasSyntaxErrors(file: string): boolean {
    return this.program.diagnostics.some((d) => d.file === file && d.severity === "error" && d.code.startsWith("DLM1"));
  }

  elaborateModel(decl: BlockDecl, trainDecls: readonly TrainDecl[]): ElaborateResult {
    const file = this.program.entry;
    const frame = this.newFrame(file, "", decl, [], undefined);
    const scope = new Scope(frame);
    this.bindModelHyperParams(decl, scope);
    this.withAnnotations(decl.annotations, scope, () => this.execBody(decl.body, scope), "model");
    if (frame.outputs.length === 0 && this.errorCount() === 0 && !this.hasSyntaxErrors(file))
      this.report(Diagnostics.Missing_output_0, file, decl.name.range, [`model '${decl.name.name}'`]);

    const outputs: { name: string; ref: TensorRef }[] = [];
    for (const o of frame.outputs)
      for (const [i, t] of flattenTensors(o.value).entries())
        outputs.push({ name: flattenTensors(o.value).length > 1 ? `${o.name}.${i}` : o.name, ref: t.ref });

    let train: TrainSetup | undefined;
    for (const t of trainDecls) train = this.elaborateTrain(t, scope);

    const graph: ModelGraph = {
      name: decl.name.name,
      nodes: this.nodes,
      inputs: this.nodes.filter((n) => n.kind === "input" && n.region === 0).map((n) => n.id),
      outputs,
      regions: this.regions,
      dimDefaults: this.reportDims(),
      ...(this.memoryBudget !== undefined ? { memoryBudget: this.memoryBudget } : {}),
    };
    this.checkSizes(graph);
    return { graph, train, modelDecl: decl, diagnostics: this.diagnostics, ...(this.facts ? { facts: this.facts.finish() } : {}) };
  }

  private reportDims(): Map<string, number> {
    const out = new Map(this.dimDefaults);
    for (const [k, v] of this.options.dims ?? []) out.set(k, v);
    return out;
  }

  /** Tensors too large to ever allocate are rejected with the memory they would need. */
  private checkSizes(g: ModelGraph): void {
    const env = (name: string): number => g.dimDefaults.get(name) ?? 1;
    for (const n of this.nodes)
      for (const t of n.outputs) {
        const count = numel(t.shape).evaluate(env);
        if (count === undefined) continue;
        const bytes = count * bytesOf(t.dtype);
        if (bytes > LIMITS.bytesPerTensor || !Number.isFinite(bytes)) {
          this.report(Diagnostics.Tensor_too_large_0_1, n.site.file, n.site.range, [typeToString(t), formatBytes(bytes)], {
            hint: "this would need more memory than any machine has; check the dimensions",
          });
          return;
        }
      }
  }

  private bindModelHyperParams(decl: BlockDecl, scope: Scope): void {
    for (const hp of decl.params) {
      const override = this.options.params?.get(hp.name.name);
      const typeName = hp.type?.name.name;
      if (typeName === "dim") {
        const sym = Dim.sym(hp.name.name);
        if (hp.default) {
          const v = this.guard(() => this.evalExpr(hp.default!, scope), undefined);
          if (v instanceof Dim && v.constant !== undefined) this.dimDefaults.set(hp.name.name, v.constant);
          else if (v !== undefined)
            this.report(Diagnostics.Hyperparameter_type_0_1, scope.frame.file, hp.default.range, [hp.name.name, "an integer"]);
        }
        this.define(scope, hp.name.name, sym, hp.name.range);
        continue;
      }
      let value: Value | undefined = override;
      if (value === undefined && hp.default) value = this.guard(() => this.evalExpr(hp.default!, scope), undefined);
      if (value === undefined) {
        if (!hp.default)
          this.report(Diagnostics.Missing_argument_0_for_1, scope.frame.file, hp.name.range, [hp.name.name, decl.name.name], {
            hint: "a model's hyperparameters need defaults (or --param on the command line)",
          });
        value = PoisonValue.instance;
      }
      // a bad default is underlined itself; a bad --param override at the declaration
      const where = override === undefined && hp.default ? hp.default.range : hp.range;
      const checked = this.guard(
        () => this.checkHyperParamType(hp.name.name, hp.type, value, scope.frame.file, where),
        PoisonValue.instance,
      );
      this.define(scope, hp.name.name, checked, hp.name.range);
    }
  }

  // -------------------------------------------------------------------------
  // Statements

  private execBody(body: readonly Stmt[], scope: Scope): void {
    for (const stmt of body) this.execStmt(stmt, scope);
  }

  private execStmt(stmt: Stmt, scope: Scope): void {
    if (stmt.kind === "ErrorStmt") return;
    try {
      this.withAnnotations(stmt.annotations, scope, () => this.execStmtInner(stmt, scope), "statement");
    } catch (e) {
      if (!(e instanceof Abort)) throw e;
      // Bind the statement's names to poison so later uses stay quiet.
      for (const name of definedNames(stmt))
        if (!scope.find(name)) scope.vars.set(name, { value: PoisonValue.instance, range: stmt.range });
    }
  }

  private execStmtInner(stmt: Stmt, scope: Scope): void {
    const frame = scope.frame;
    const file = frame.file;
    switch (stmt.kind) {
      case "Input":
        for (const item of stmt.items) {
          if (frame.instancePath === "" && !frame.scan && this.depth === 0) {
            const type = this.evalTensorType(item.type, scope, "model-input");
            const node = this.addNode<InputNode>({
              kind: "input",
              name: item.name.name,
              outputs: [type],
              site: { file, range: item.range },
            });
            this.define(scope, item.name.name, new TensorValue({ node: node.id, index: 0 }, type), item.name.range);
          } else {
            const arg = frame.inputs[frame.inputsConsumed++];
            // a scan cell (or a call) that supplies fewer tensors than the block declares inputs
            if (!arg) {
              const site = frame.callSite ?? { file, range: item.range };
              throw this.fail(Diagnostics.Missing_argument_0_for_1, site.file, site.range, [
                item.name.name,
                frame.decl?.name.name ?? "the block",
              ]);
            }
            this.unifyType(item.type, arg.type, scope, item.name.name, "input");
            this.define(scope, item.name.name, arg, item.name.range);
          }
        }
        return;
      case "State":
        if (!frame.scan) throw this.fail(Diagnostics.State_outside_scan_0, file, stmt.range, [frame.decl?.name.name ?? "?"]);
        for (const item of stmt.items) this.declareState(item.name.name, item.type, item.init, item.range, scope);
        return;
      case "Param": {
        const type = this.evalTensorType(stmt.type, scope, "strict");
        const init = stmt.init ? this.evalInit(stmt.init, scope) : new InitValue("normal", { std: 0.02 });
        const name = this.joinPath(frame.instancePath, stmt.name.name);
        const id = this.createParam(
          name,
          { name: stmt.name.name, shape: type.shape, dtype: type.dtype, init: init.name as InitName, initArgs: init.args },
          { file, range: stmt.range },
          false,
        );
        this.define(scope, stmt.name.name, new TensorValue({ node: id, index: 0 }, type), stmt.name.range);
        return;
      }
      case "Layer": {
        const value = this.evalExpr(stmt.value, scope);
        if (!(value instanceof CallableValue))
          throw this.fail(Diagnostics.Wrong_value_kind_0_expected_1, file, stmt.value.range, [
            describeValue(value),
            "a layer (an operator or block call without its input)",
          ]);
        const instance = this.claimInstance(frame, stmt.name.name, true, file, stmt.name.range);
        this.define(scope, stmt.name.name, new CallableValue(value.target, value.args, instance), stmt.name.range);
        return;
      }
      case "Output": {
        const name = stmt.name?.name ?? (stmt.value.kind === "Identifier" ? stmt.value.name : `output${frame.outputs.length}`);
        const value = this.evalExpr(stmt.value, scope, stmt.name ? { name: stmt.name.name, explicit: false } : undefined);
        this.requireTensors(value, file, stmt.value.range);
        if (stmt.type) this.checkAscription(stmt.type, value, scope, stmt.value.range, name);
        if (frame.outputs.some((o) => o.name === name))
          throw this.fail(Diagnostics.Duplicate_definition_0, file, stmt.name?.range ?? stmt.value.range, [`output ${name}`]);
        frame.outputs.push({ name, value, range: stmt.range });
        if (stmt.name) this.define(scope, name, value, stmt.name.range);
        return;
      }
      case "Next": {
        const scan = frame.scan;
        const state = scan?.stateTypes.get(stmt.name.name);
        if (!scan || !state) throw this.fail(Diagnostics.Next_without_state_0, file, stmt.name.range, [stmt.name.name]);
        const value = this.evalExpr(stmt.value, scope, { name: stmt.name.name, explicit: false });
        if (!(value instanceof TensorValue)) throw this.fail(Diagnostics.Not_a_tensor_0, file, stmt.value.range, [describeValue(value)]);
        if (!shapesEqual(value.type.shape, state.type.shape) || value.type.dtype !== state.type.dtype)
          throw this.fail(Diagnostics.Shape_mismatch_0_1, file, stmt.value.range, [typeToString(state.type), typeToString(value.type)], {
            notes: [{ message: `state '${stmt.name.name}' is declared here`, file, range: state.range }],
            hint: "the next value of a carried state must have the state's type",
          });
        if (scan.nexts.has(stmt.name.name))
          throw this.fail(Diagnostics.Duplicate_definition_0, file, stmt.name.range, [`next ${stmt.name.name}`]);
        scan.nexts.set(stmt.name.name, value);
        return;
      }
      case "Binding":
        return this.execBinding(stmt, scope);
      case "For": {
        const iterable = this.evalExpr(stmt.iterable, scope);
        const items = this.iterate(iterable, file, stmt.iterable.range);
        frame.loopDepth++;
        try {
          for (const item of items) {
            scope.vars.set(stmt.variable.name, { value: item, range: stmt.variable.range });
            this.execBody(stmt.body, scope);
          }
        } finally {
          frame.loopDepth--;
        }
        return;
      }
      case "ErrorStmt":
        return;
      default:
        return assertNever(stmt);
    }
  }

  private execBinding(stmt: Extract<Stmt, { kind: "Binding" }>, scope: Scope): void {
    const file = scope.frame.file;
    const single = stmt.targets.length === 1 ? stmt.targets[0]! : undefined;
    const hint = single ? { name: single.name.name, explicit: false } : undefined;
    const value = this.evalExpr(stmt.value, scope, hint);
    if (single) {
      if (single.type) this.checkAscription(single.type, value, scope, stmt.value.range, single.name.name);
      this.define(scope, single.name.name, value, single.name.range);
      return;
    }
    const items = value instanceof TupleValue ? value.items : Array.isArray(value) ? (value as readonly Value[]) : undefined;
    if (value instanceof PoisonValue) {
      for (const t of stmt.targets) this.define(scope, t.name.name, value, t.name.range);
      return;
    }
    if (!items || items.length !== stmt.targets.length)
      throw this.fail(Diagnostics.Unpack_count_0_1, file, stmt.value.range, [
        stmt.targets.length,
        items ? items.length : describeValue(value),
      ]);
    stmt.targets.forEach((t, i) => {
      if (t.type) this.checkAscription(t.type, items[i]!, scope, stmt.value.range, t.name.name);
      this.define(scope, t.name.name, items[i]!, t.name.range);
    });
  }

  private define(scope: Scope, name: string, value: Value, range: SourceRange): void {
    const existing = scope.find(name);
    if (existing && scope.frame.loopDepth === 0 && !(existing.value instanceof PoisonValue)) {
      this.report(Diagnostics.Reassign_outside_loop_0, scope.frame.file, range, [name], {
        notes: [{ message: `'${name}' was first defined here`, file: scope.frame.file, range: existing.range }],
        hint: "choose a new name",
      });
      return;
    }
    if (existing) existing.value = value;
    else scope.vars.set(name, { value, range });
    this.facts?.value(scope.frame.file, range, value);
  }

  private declareState(name: string, typeExpr: TensorTypeExpr, init: Expr | undefined, range: SourceRange, scope: Scope): void {
    const scan = scope.frame.scan!;
    const file = scope.frame.file;
    const type = this.evalTensorType(typeExpr, scope, "strict");
    // The initial value lives outside the loop.
    const saved = this.region;
    this.region = this.regions.get(saved)?.parent ?? 0;
    let initial: TensorRef;
    try {
      const initName = init ? this.evalInit(init, scope) : new InitValue("zeros", {});
      if (initName.name === "learned") {
        const shape = type.shape.slice(1);
        const id = this.createParam(
          this.joinPath(scan.instance, `${name}0`),
          { name: `${name}0`, shape, dtype: type.dtype, init: "zeros" },
          { file, range },
          false,
        );
        initial = this.broadcastInitial({ node: id, index: 0 }, { dtype: type.dtype, shape }, type, { file, range });
      } else {
        const op = getOp(initName.name === "ones" ? "ones" : "zeros")!;
        const node = this.addOpNode(
          op,
          [],
          [],
          { shape: type.shape as readonly Dim[], dtype: type.dtype },
          [type],
          this.joinPath(scan.instance, `${name}_init`),
          { file, range },
        );
        initial = { node: node.id, index: 0 };
      }
    } finally {
      this.region = saved;
    }
    const node = this.addNode<InputNode>({
      kind: "input",
      name: this.joinPath(scan.instance, name),
      outputs: [type],
      site: { file, range },
    });
    const ref = { node: node.id, index: 0 };
    scan.stateTypes.set(name, { type, ref, range });
    scan.stateOrder.push(name);
    scan.initials.push(initial);
    this.define(scope, name, new TensorValue(ref, type), range);
  }

  private broadcastInitial(ref: TensorRef, from: TensorType, to: TensorType, site: SourceSite): TensorRef {
    const op = getOp("expand")!;
    const node = this.addOpNode(op, [ref], [], { shape: to.shape as readonly Dim[] }, [to], "", site);
    void from;
    return { node: node.id, index: 0 };
  }

  // -------------------------------------------------------------------------
  // Types and unification

  /**
   * Evaluate a tensor type. In "model-input" mode unknown names become symbolic dims;
   * in "strict" mode they are errors.
   */
  private evalTensorType(t: TensorTypeExpr, scope: Scope, mode: "model-input" | "strict"): TensorType {
    const file = scope.frame.file;
    const dtype = t.dtype.name;
    if (!isDType(dtype))
      throw this.fail(Diagnostics.Unknown_type_0, file, t.dtype.range, [dtype], {
        hint: suggestHint(dtype, ["f16", "bf16", "f32", "f64", "i8", "u8", "i32", "i64", "bool"]),
      });
    const shape: Dim[] = [];
    for (const d of t.dims) {
      if (d.kind === "Wildcard")
        throw this.fail(Diagnostics.Unbound_dim_0, file, d.range, ["_"], { hint: "'_' only matches in ascriptions and block inputs" });
      if (mode === "model-input" && d.kind === "Identifier" && this.lookupOptional(d.name, scope) === undefined) {
        const sym = Dim.sym(d.name);
        this.define(scope, d.name, sym, d.range);
        scope.frame.dimSites.set(d.name, { site: { file, range: d.range }, what: "a symbolic dimension of the model's input" });
        shape.push(sym);
        continue;
      }
      shape.push(this.toDimValue(this.evalExpr(d, scope), file, d.range));
    }
    return { dtype, shape };
  }

  private toDimValue(v: Value, file: string, range: SourceRange): Dim {
    if (v instanceof Dim) {
      if (v.constant !== undefined && v.constant <= 0)
        throw this.fail(Diagnostics.Negative_dim_0, file, range, [v.constant], { hint: "every size in a tensor type must be at least 1" });
      return v;
    }
    if (v instanceof PoisonValue) throw new Abort();
    throw this.fail(Diagnostics.Wrong_value_kind_0_expected_1, file, range, [describeValue(v), "an integer dimension"]);
  }

  /** Match a declared type against an actual one, binding unknown dim names. */
  private unifyType(t: TensorTypeExpr, actual: TensorType, scope: Scope, what: string, role: "input" | "ascription"): void {
    const file = scope.frame.file;
    const dtype = t.dtype.name;
    if (!isDType(dtype)) throw this.fail(Diagnostics.Unknown_type_0, file, t.dtype.range, [dtype]);
    if (dtype !== actual.dtype)
      throw this.fail(Diagnostics.Dtype_mismatch_0_1, file, t.dtype.range, [dtype, actual.dtype], {
        notes: [{ message: `'${what}' is ${typeToString(actual)}` }],
        hint: isDType(actual.dtype) ? `convert with cast(${what}, ${dtype})` : undefined,
      });
    if (t.dims.length !== actual.shape.length)
      throw this.fail(Diagnostics.Rank_mismatch_0_1, file, t.range, [this.showDeclared(t), typeToString(actual)], {
        notes: [{ message: `declared rank ${t.dims.length}, actual rank ${actual.shape.length}` }],
      });
    const site = { file, range: t.range };
    t.dims.forEach((d, i) => {
      const got = actual.shape[i]!;
      if (d.kind === "Wildcard") return;
      if (d.kind === "Identifier" && !this.lookupOptional(d.name, scope)) {
        this.define(scope, d.name, got, d.range);
        scope.frame.dimSites.set(d.name, {
          site: { file, range: d.range },
          what: `${role === "input" ? "input" : "binding"} '${what}' (dim ${i})`,
        });
        return;
      }
      // A dim expression in one still-unknown name (H * 2): solve for it when possible.
      const unknown = d.kind !== "Identifier" ? this.unknownIdentifiers(d, scope) : [];
      if (unknown.length === 1 && got.constant !== undefined) {
        const sym = Dim.sym(`__solve_${unknown[0]}`);
        const probe = new Scope(scope.frame, scope);
        probe.vars.set(unknown[0]!, { value: sym, range: d.range });
        const expr = this.evalExpr(d, probe);
        const sol = expr instanceof Dim ? expr.solveFor(got.constant) : undefined;
        if (sol) {
          this.define(scope, unknown[0]!, Dim.const(sol.value), d.range);
          scope.frame.dimSites.set(unknown[0]!, { site, what: `${role} '${what}' (dim ${i})` });
          return;
        }
      }
      const want = this.toDimValue(this.evalExpr(d, scope), file, d.range);
      if (!want.equals(got)) {
        const notes: RelatedNote[] = [{ message: `dim ${i} is declared as ${want} but the value has ${got}` }];
        const named = d.kind === "Identifier" ? [d.name] : [];
        for (const name of new Set([...named, ...want.symbols()])) {
          const s = scope.frame.dimSites.get(name);
          const to = want.toString() === name ? "" : ` to ${want}`;
          if (s) notes.push({ message: `'${name}' was bound${to} from ${s.what}`, file: s.site.file, range: s.site.range });
        }
        const call = scope.frame.callSite;
        if (role === "input" && call)
          notes.push({
            message: `in this application of '${scope.frame.decl?.name.name ?? "the block"}'`,
            file: call.file,
            range: call.range,
          });
        const isName = d.kind === "Identifier";
        throw this.fail(
          isName ? Diagnostics.Dim_conflict_0_1_2 : Diagnostics.Shape_mismatch_0_1,
          file,
          d.range,
          isName
            ? [d.name, want.toString() === d.name ? "a symbolic size" : want.toString(), got.toString()]
            : [this.showDeclared(t, scope), typeToString(actual)],
          {
            notes: isName
              ? [{ message: `declared ${this.showDeclared(t, scope)}, got ${typeToString(actual)}` }, ...notes.slice(1)]
              : notes,
          },
        );
      }
    });
  }

  private unknownIdentifiers(e: Expr, scope: Scope): string[] {
    const out = new Set<string>();
    const visit = (x: Expr): void => {
      switch (x.kind) {
        case "Identifier":
          if (!this.lookupOptional(x.name, scope)) out.add(x.name);
          return;
        case "Binary":
          visit(x.left);
          visit(x.right);
          return;
        case "Unary":
          visit(x.operand);
          return;
        default:
          return;
      }
    };
    visit(e);
    return [...out];
  }

  private showDeclared(t: TensorTypeExpr, scope?: Scope): string {
    const parts = t.dims.map((d) => {
      if (d.kind === "Wildcard") return "_";
      if (scope) {
        try {
          const v = this.evalExpr(d, scope);
          if (v instanceof Dim) return v.toString();
        } catch {
          /* fall through to the source text */
        }
      }
      return d.kind === "Identifier" ? d.name : "?";
    });
    return `${t.dtype.name}[${parts.join(", ")}]`;
  }

  private checkAscription(t: TensorTypeExpr, value: Value, scope: Scope, valueRange: SourceRange, name: string): void {
    if (value instanceof PoisonValue) return;
    if (!(value instanceof TensorValue))
      throw this.fail(Diagnostics.Not_a_tensor_0, scope.frame.file, valueRange, [describeValue(value)], {
        hint: value instanceof CallableValue ? "this layer was never applied to an input" : undefined,
      });
    try {
      this.unifyType(t, value.type, scope, name, "ascription");
    } catch (e) {
      if (!(e instanceof Abort)) throw e;
      // Add where the value came from, then re-raise.
      const last = this.diagnostics[this.diagnostics.length - 1];
      const origin = this.nodes[value.ref.node];
      if (last && origin && origin.kind === "op") {
        const inputs = origin.inputs
          .filter((r): r is TensorRef => r !== null)
          .map((r) => typeToString(this.nodes[r.node]!.outputs[r.index]!));
        const extra: RelatedNote = {
          message: `the value is computed by ${origin.op.name} here${inputs.length ? `, from ${inputs.join(" and ")}` : ""}`,
          file: origin.site.file,
          range: origin.site.range,
        };
        this.diagnostics[this.diagnostics.length - 1] = {
          ...last,
          notes: [...(last.notes ?? []), extra],
          hint: last.hint ?? this.traceHint(value),
        };
      }
      throw e;
    }
  }

  /** For a wrong ascription, name the model input the mismatch traces back to. */
  private traceHint(value: TensorValue): string | undefined {
    const seen = new Set<number>();
    const stack = [value.ref.node];
    while (stack.length) {
      const id = stack.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      const n = this.nodes[id]!;
      if (n.kind === "input" && n.region === 0)
        return `the value derives from input '${n.name}' ${typeToString(n.outputs[0]!)}: check the input size the model was designed for`;
      if (n.kind === "op") for (const r of n.inputs) if (r) stack.push(r.node);
    }
    return undefined;
  }

  // -------------------------------------------------------------------------
  // Expressions

  private evalExpr(e: Expr, scope: Scope, hint?: NameHint): Value {
    const file = scope.frame.file;
    switch (e.kind) {
      case "Number":
        return e.isFloat ? e.value : Dim.const(e.value);
      case "String":
        return e.value;
      case "Bool":
        return e.value;
      case "None":
        return null;
      case "Missing":
        throw new Abort();
      case "Identifier":
        return this.lookup(e.name, scope, e.range);
      case "Unary":
        return this.evalUnary(e.op, this.evalExpr(e.operand, scope), scope, e.range);
      case "Binary":
        return this.evalBinary(e.op, this.evalExpr(e.left, scope), this.evalExpr(e.right, scope), scope, e);
      case "Pipe":
        return this.evalPipe(e, scope, hint);
      case "Call":
        return this.evalCall(e, scope, hint, undefined);
      case "Named": {
        let name = e.name.name;
        if (e.index) name = `${name}.${this.formatIndex(this.evalExpr(e.index, scope), file, e.index.range)}`;
        if (e.value.kind === "Call") return this.evalCall(e.value, scope, { name, explicit: true }, undefined);
        const inner = this.evalExpr(e.value, scope, { name, explicit: true });
        return inner;
      }
      case "Index":
        return this.evalIndex(e, scope);
      case "Member":
        return this.evalMember(e, scope);
      case "List":
        return e.elements.map((x, i) => this.evalExpr(x, scope, hint ? { name: `${hint.name}.${i}`, explicit: hint.explicit } : undefined));
      case "Tuple":
        return new TupleValue(e.elements.map((x) => this.evalExpr(x, scope)));
      case "Comprehension": {
        const items = this.iterate(this.evalExpr(e.iterable, scope), file, e.iterable.range);
        const out: Value[] = [];
        const inner = new Scope(scope.frame, scope);
        for (const item of items) {
          inner.vars.set(e.variable.name, { value: item, range: e.variable.range });
          if (e.condition && !this.truthy(this.evalExpr(e.condition, inner), file, e.condition.range)) continue;
          out.push(this.evalExpr(e.element, inner, hint ? { name: `${hint.name}.${out.length}`, explicit: hint.explicit } : undefined));
        }
        return out;
      }
      case "Range": {
        const a = this.toConstInt(this.evalExpr(e.start, scope), file, e.start.range);
        const b = this.toConstInt(this.evalExpr(e.end, scope), file, e.end.range);
        if (b - a > LIMITS.range) throw this.fail(Diagnostics.Too_much_work_0, file, e.range, [`a range of ${b - a} elements`]);
        const out: Dim[] = [];
        for (let i = a; i < b; i++) out.push(Dim.const(i));
        return out;
      }
      case "If":
        return this.evalIf(e, scope, hint);
      default:
        return assertNever(e);
    }
  }

  private evalIf(e: IfExpr, scope: Scope, hint?: NameHint): Value {
    const c = this.truthy(this.evalExpr(e.condition, scope), scope.frame.file, e.condition.range);
    const branch = c ? e.then : e.else;
    if (!branch) return null;
    if (branch.kind === "If") return this.evalIf(branch, scope, hint);
    const inner = new Scope(scope.frame, scope);
    for (const b of branch.stmts) this.execStmt(b, inner);
    return this.evalExpr(branch.result, inner, hint);
  }

  private formatIndex(v: Value, file: string, range: SourceRange): string {
    if (v instanceof Dim && v.constant !== undefined) return String(v.constant);
    if (typeof v === "string" && /^[A-Za-z0-9_]+$/.test(v)) return v;
    throw this.fail(Diagnostics.Invalid_name_0, file, range, [describeValue(v), "instance indices must be integers or simple names"]);
  }

  private lookupOptional(name: string, scope: Scope): Value | undefined {
    const v = scope.find(name);
    if (v) return v.value;
    const decl = this.program.scopes.get(scope.frame.file)?.get(name);
    if (decl) return this.declValue(decl, name);
    const op = getOp(name);
    if (op) return new CallableValue({ kind: "op", op });
    if (isDType(name)) return name;
    if (BUILTINS.has(name) || TRAIN_BUILTINS.has(name)) return new CallableValue({ kind: "builtin", name });
    if (INIT_NAMES.has(name)) return new InitValue(name, {});
    return undefined;
  }

  /** A name in call position (`f(x)`, `x |> f`): unknown means an unknown op or block. */
  private evalCallee(e: Expr, scope: Scope, hint?: NameHint): Value {
    return e.kind === "Identifier" ? this.lookup(e.name, scope, e.range, true) : this.evalExpr(e, scope, hint);
  }

  private lookup(name: string, scope: Scope, range: SourceRange, callee = false): Value {
    const v = this.lookupOptional(name, scope);
    if (v !== undefined) return v;
    const file = scope.frame.file;
    const later = scope.frame.decl ? findLaterDefinition(scope.frame.decl.body, name, range) : undefined;
    if (later)
      throw this.fail(Diagnostics.Cycle_0, file, range, [name], {
        notes: [{ message: `'${name}' is defined later, here`, file, range: later }],
        hint: "statements run in order; a value cannot depend on itself (there are no cycles in a model graph)",
      });
    const candidates = [...this.visibleNames(scope), ...OPS.keys()];
    throw this.fail(callee ? Diagnostics.Unknown_op_or_block_0 : Diagnostics.Unknown_name_0, file, range, [name], {
      hint: suggestHint(name, candidates),
    });
  }

  private visibleNames(scope: Scope): string[] {
    const out: string[] = [];
    for (let s: Scope | undefined = scope; s; s = s.parent) out.push(...s.vars.keys());
    out.push(...(this.program.scopes.get(scope.frame.file)?.keys() ?? []));
    return out;
  }

  private declValue(decl: Declaration, name: string): Value {
    switch (decl.kind) {
      case "block":
        return new CallableValue({ kind: "block", decl: decl.decl, file: decl.file });
      case "module":
        return new ModuleValue(decl.file);
      case "const": {
        const key = `${decl.file}::${name}`;
        const cached = this.constCache.get(key);
        if (cached !== undefined) return cached;
        this.constCache.set(key, PoisonValue.instance); // guards self-reference
        const frame = this.newFrame(decl.file, "", undefined, [], undefined);
        const value = this.guard(() => this.evalExpr(decl.decl.value, new Scope(frame)), PoisonValue.instance);
        this.constCache.set(key, value);
        return value;
      }
    }
  }

  private evalMember(e: Extract<Expr, { kind: "Member" }>, scope: Scope): Value {
    const file = scope.frame.file;
    const target = this.evalExpr(e.target, scope);
    const m = e.member.name;
    if (target instanceof PoisonValue) return target;
    if (target instanceof ModuleValue) {
      const d = this.program.scopes.get(target.file)?.get(m);
      if (!d || d.file !== target.file)
        throw this.fail(Diagnostics.Bad_member_0_of_1, file, e.member.range, [m, describeValue(target)], {
          hint: suggestHint(m, [...(this.program.scopes.get(target.file)?.keys() ?? [])]),
        });
      return this.declValue(d, m);
    }
    if (target instanceof CallableValue && target.sharedInstance) {
      const full = `${target.sharedInstance}.${m}`;
      const id = this.paramsByName.get(full);
      if (id === undefined) {
        const known = [...this.paramsByName.keys()]
          .filter((k) => k.startsWith(target.sharedInstance + "."))
          .map((k) => k.slice(target.sharedInstance!.length + 1));
        throw this.fail(Diagnostics.Bad_member_0_of_1, file, e.member.range, [m, `layer '${target.sharedInstance}'`], {
          hint: known.length ? `its parameters: ${known.join(", ")}` : "apply the layer before reading its parameters",
        });
      }
      return new TensorValue({ node: id, index: 0 }, this.nodes[id]!.outputs[0]!);
    }
    if (target instanceof TensorValue) {
      if (m === "shape") return target.type.shape;
      if (m === "rank") return Dim.const(target.type.shape.length);
      if (m === "dtype") return target.type.dtype;
      if (m === "T") return this.applyOp(getOp("transpose")!, [target], {}, scope, e.range, undefined, [e.target.range]);
    }
    throw this.fail(Diagnostics.Bad_member_0_of_1, file, e.member.range, [m, describeValue(target)]);
  }

  private evalIndex(e: Extract<Expr, { kind: "Index" }>, scope: Scope): Value {
    const file = scope.frame.file;
    const target = this.evalExpr(e.target, scope);
    if (target instanceof PoisonValue) return target;
    if (target instanceof TensorValue) return this.indexTensor(target, e, scope);
    const items = target instanceof TupleValue ? target.items : Array.isArray(target) ? (target as readonly Value[]) : undefined;
    if (!items || e.indices.length !== 1 || e.indices[0]!.kind === "Slice") {
      if (items && e.indices.length === 1 && e.indices[0]!.kind === "Slice") {
        const s = e.indices[0]!;
        const start = s.start ? this.toConstInt(this.evalExpr(s.start, scope), file, s.start.range) : 0;
        const stop = s.stop ? this.toConstInt(this.evalExpr(s.stop, scope), file, s.stop.range) : items.length;
        return items.slice(start < 0 ? start + items.length : start, stop < 0 ? stop + items.length : stop);
      }
      throw this.fail(Diagnostics.Wrong_value_kind_0_expected_1, file, e.target.range, [
        describeValue(target),
        "a tensor, list or tuple to index",
      ]);
    }
    const idxExpr = e.indices[0] as Expr;
    let i = this.toConstInt(this.evalExpr(idxExpr, scope), file, idxExpr.range);
    if (i < 0) i += items.length;
    if (i < 0 || i >= items.length) throw this.fail(Diagnostics.Index_out_of_range_0_1, file, idxExpr.range, [i, items.length]);
    return items[i]!;
  }

  /** x[:, -1], x[..., 0:2], x[:, [0, 2]] lower to slice / index / take ops. */
  private indexTensor(t: TensorValue, e: Extract<Expr, { kind: "Index" }>, scope: Scope): Value {
    const file = scope.frame.file;
    if (e.indices.length > t.type.shape.length)
      throw this.fail(Diagnostics.Op_shape_error_0, file, e.range, [`too many indices (${e.indices.length}) for ${typeToString(t.type)}`]);
    let cur: Value = t;
    let axis = 0;
    for (const idx of e.indices) {
      const curT = cur as TensorValue;
      if (idx.kind === "Slice") {
        if (!idx.start && !idx.stop && !idx.step) {
          axis++;
          continue;
        }
        const attrs: Record<string, Value> = { axis: Dim.const(axis) };
        if (idx.start) attrs.start = this.evalExpr(idx.start, scope);
        if (idx.stop) attrs.end = this.evalExpr(idx.stop, scope);
        if (idx.step) attrs.step = this.evalExpr(idx.step, scope);
        cur = this.applyOp(getOp("slice")!, [curT], attrs, scope, idx.range, undefined, [e.target.range]);
        axis++;
        continue;
      }
      const v = this.evalExpr(idx, scope);
      if (v instanceof TensorValue) {
        cur = this.applyOp(getOp("take")!, [curT, v], { axis: Dim.const(axis) }, scope, idx.range, undefined, [e.target.range, idx.range]);
        axis++;
      } else if (Array.isArray(v)) {
        cur = this.applyOp(getOp("take")!, [curT], { indices: v, axis: Dim.const(axis) }, scope, idx.range, undefined, [e.target.range]);
        axis++;
      } else {
        cur = this.applyOp(getOp("index")!, [curT], { axis: Dim.const(axis), index: v }, scope, idx.range, undefined, [e.target.range]);
      }
    }
    return cur;
  }

  private evalUnary(op: "-" | "+" | "not", v: Value, scope: Scope, range: SourceRange): Value {
    if (v instanceof PoisonValue) return v;
    if (op === "not") return !this.truthy(v, scope.frame.file, range);
    if (op === "+") return v;
    if (v instanceof Dim) return v.scale(-1);
    if (typeof v === "number") return -v;
    if (v instanceof TensorValue) return this.applyOp(getOp("neg")!, [v], {}, scope, range, undefined, [range]);
    throw this.fail(Diagnostics.Wrong_value_kind_0_expected_1, scope.frame.file, range, [describeValue(v), "a number or tensor"]);
  }

  private evalBinary(op: string, a: Value, b: Value, scope: Scope, e: Extract<Expr, { kind: "Binary" }>): Value {
    const file = scope.frame.file;
    if (a instanceof PoisonValue || b instanceof PoisonValue) return PoisonValue.instance;
    if (op === "and") return this.truthy(a, file, e.left.range) && this.truthy(b, file, e.right.range);
    if (op === "or") return this.truthy(a, file, e.left.range) || this.truthy(b, file, e.right.range);
    if (a instanceof TensorValue || b instanceof TensorValue) {
      const name = TENSOR_BINARY[op];
      if (!name) throw this.fail(Diagnostics.Wrong_value_kind_0_expected_1, file, e.opRange, [`'${op}' on tensors`, "a tensor operator"]);
      return this.applyOp(getOp(name)!, [a, b], {}, scope, e.range, undefined, [e.left.range, e.right.range]);
    }
    try {
      const r = compileTimeBinary(op, a, b);
      if (r !== undefined) return r;
    } catch (err) {
      if (err instanceof RangeError) throw this.fail(Diagnostics.Division_by_zero, file, e.right.range, []);
      if (err instanceof UndecidableError)
        throw this.fail(Diagnostics.Cannot_decide_0, file, e.range, [err.message], {
          hint: "comparisons of symbolic dims are decided only when their difference is a constant",
        });
      throw err;
    }
    throw this.fail(Diagnostics.Wrong_value_kind_0_expected_1, file, e.opRange, [
      `${describeValue(a)} ${op} ${describeValue(b)}`,
      "operands this operator accepts",
    ]);
  }

  private truthy(v: Value, file: string, range: SourceRange): boolean {
    if (typeof v === "boolean") return v;
    if (v instanceof PoisonValue) throw new Abort();
    throw this.fail(Diagnostics.Wrong_value_kind_0_expected_1, file, range, [describeValue(v), "a boolean"]);
  }

  private toConstInt(v: Value, file: string, range: SourceRange): number {
    if (v instanceof Dim && v.constant !== undefined) return v.constant;
    if (v instanceof PoisonValue) throw new Abort();
    if (v instanceof Dim) throw this.fail(Diagnostics.Cannot_decide_0, file, range, [`the value of ${v}`]);
    throw this.fail(Diagnostics.Wrong_value_kind_0_expected_1, file, range, [describeValue(v), "an integer"]);
  }

  private iterate(v: Value, file: string, range: SourceRange): readonly Value[] {
    if (Array.isArray(v)) return v as readonly Value[];
    if (v instanceof TupleValue) return v.items;
    if (v instanceof Dim && v.constant !== undefined) {
      if (v.constant > LIMITS.range) throw this.fail(Diagnostics.Too_much_work_0, file, range, [`a loop of ${v.constant} iterations`]);
      return Array.from({ length: Math.max(0, v.constant) }, (_, i) => Dim.const(i));
    }
    if (v instanceof PoisonValue) throw new Abort();
    throw this.fail(Diagnostics.Not_iterable_0, file, range, [describeValue(v)]);
  }

  // -------------------------------------------------------------------------
  // Pipes and calls

  private evalPipe(e: Extract<Expr, { kind: "Pipe" }>, scope: Scope, hint?: NameHint): Value {
    let value = this.evalExpr(e.head, scope);
    let valueRange = e.head.range;
    const single = e.stages.length === 1;
    e.stages.forEach((stage, i) => {
      const stageHint = hint ? (single ? hint : { name: `${hint.name}.${i}`, explicit: hint.explicit }) : undefined;
      value = this.applyStage(stage, value, valueRange, scope, stageHint);
      valueRange = { start: e.head.range.start, end: stage.range.end };
    });
    return value;
  }

  private applyStage(stage: Expr, input: Value, inputRange: SourceRange, scope: Scope, hint?: NameHint): Value {
    if (input instanceof PoisonValue) return input;
    const file = scope.frame.file;
    const pipeArg: EvalArg = { value: input, range: inputRange, file };
    if (stage.kind === "Call") return this.evalCall(stage, scope, hint, pipeArg);
    if (stage.kind === "Named" && stage.value.kind === "Call") {
      let name = stage.name.name;
      if (stage.index) name = `${name}.${this.formatIndex(this.evalExpr(stage.index, scope), file, stage.index.range)}`;
      return this.evalCall(stage.value, scope, { name, explicit: true }, pipeArg);
    }
    const f = this.evalCallee(stage, scope, hint);
    return this.applyValue(f, input, inputRange, scope, stage.range, hint);
  }

  /** Apply a stage value (callable, or a list of them: a chain) to an input. */
  private applyValue(f: Value, input: Value, inputRange: SourceRange, scope: Scope, range: SourceRange, hint?: NameHint): Value {
    if (f instanceof PoisonValue || input instanceof PoisonValue) return PoisonValue.instance;
    if (Array.isArray(f)) {
      let v: Value = input;
      (f as readonly Value[]).forEach((g, j) => {
        v = this.applyValue(g, v, inputRange, scope, range, hint ? { name: `${hint.name}.${j}`, explicit: hint.explicit } : undefined);
      });
      return v;
    }
    if (f instanceof CallableValue)
      return this.applyCallable(f, [{ value: input, range: inputRange, file: scope.frame.file }], scope, range, hint);
    throw this.fail(Diagnostics.Not_callable_0, scope.frame.file, range, [describeValue(f)]);
  }

  private evalCall(e: CallExpr, scope: Scope, hint: NameHint | undefined, pipeArg: EvalArg | undefined): Value {
    const file = scope.frame.file;
    const callee = this.evalCallee(e.callee, scope);
    if (callee instanceof PoisonValue) return callee;
    const args = this.evalArgs(e.args, scope);
    if (pipeArg) args.unshift(pipeArg);
    if (!(callee instanceof CallableValue)) {
      if (typeof callee === "string" && isDType(callee))
        throw this.fail(Diagnostics.Not_callable_0, file, e.callee.range, [describeValue(callee)], {
          hint: `to convert a tensor use cast(x, ${callee})`,
        });
      throw this.fail(Diagnostics.Not_callable_0, file, e.callee.range, [describeValue(callee)]);
    }
    return this.applyCallable(callee, args, scope, e.range, hint, e);
  }

  private evalArgs(args: readonly Argument[], scope: Scope): EvalArg[] {
    const seen = new Set<string>();
    return args.map((a) => {
      if (a.name) {
        if (seen.has(a.name.name)) throw this.fail(Diagnostics.Duplicate_argument_0, scope.frame.file, a.name.range, [a.name.name]);
        seen.add(a.name.name);
      }
      const value = this.evalExpr(a.value, scope);
      return a.name
        ? { name: a.name.name, value, range: a.range, file: scope.frame.file }
        : { value, range: a.range, file: scope.frame.file };
    });
  }

  private applyCallable(f: CallableValue, newArgs: EvalArg[], scope: Scope, range: SourceRange, hint?: NameHint, call?: CallExpr): Value {
    const args = [...newArgs, ...f.args];
    if (args.some((a) => a.value instanceof PoisonValue)) return PoisonValue.instance;
    const target = f.target;
    if (target.kind === "builtin") {
      if (target.name === "scan") return this.evalScan(args, scope, range, hint);
      if (TRAIN_BUILTINS.has(target.name)) return this.trainBuiltin(target.name, args, scope, range);
      return this.evalBuiltin(target.name, args, scope, range);
    }
    const sig = target.kind === "op" ? opSignature(target.op) : blockSignature(target.decl);
    const bound = this.bindArgs(sig, args, f.displayName, scope.frame.file, call?.range ?? range);
    if (bound.missingInputs) return new CallableValue(target, args, f.sharedInstance);
    const name = f.sharedInstance ? { name: f.sharedInstance, explicit: true, shared: true } : hint;
    if (target.kind === "op") {
      // Elementwise math on plain numbers is evaluated at compile time (1 / sqrt(d)).
      if (bound.inputs.length === 1 && !(bound.inputs[0] instanceof TensorValue) && COMPILE_TIME_MATH[target.op.name]) {
        const x = bound.inputs[0];
        const n = x instanceof Dim ? x.constant : typeof x === "number" ? x : undefined;
        if (n !== undefined) return COMPILE_TIME_MATH[target.op.name]!(n);
      }
      return this.applyOp(
        target.op,
        bound.inputs,
        bound.attrs,
        scope,
        call?.range ?? range,
        name,
        bound.inputRanges,
        bound.attrRanges,
        f.sharedInstance !== undefined,
      );
    }
    return this.applyBlock(
      target.decl,
      target.file,
      bound.inputs as TensorValue[],
      bound.attrs,
      bound.attrRanges,
      scope,
      call?.range ?? range,
      name,
      f.sharedInstance !== undefined,
      undefined,
    );
  }

  private bindArgs(
    sig: Signature,
    args: readonly EvalArg[],
    calleeName: string,
    file: string,
    callRange: SourceRange,
  ): {
    inputs: Value[];
    /** per input slot; a variadic slot has one range per tensor */
    inputRanges: InputRange[];
    attrs: Record<string, Value>;
    attrRanges: Record<string, SourceRange>;
    missingInputs: boolean;
  } {
    const inputs: Value[] = [];
    const inputRanges: InputRange[] = [];
    const attrs: Record<string, Value> = {};
    const attrRanges: Record<string, SourceRange> = {};
    let inputIdx = 0;
    let attrIdx = 0;
    const variadic = sig.inputs.findIndex((s) => s.variadic);
    for (const a of args.filter((x) => !x.name)) {
      const v = a.value;
      const spreads =
        v instanceof TupleValue && v.items.every(isTensor)
          ? v.items
          : Array.isArray(v) && v.length > 0 && (v as Value[]).every(isTensor) && variadic >= 0
            ? (v as Value[])
            : undefined;
      if (isTensor(v) || (spreads && inputIdx <= Math.max(variadic, 0) && (variadic >= 0 || v instanceof TupleValue))) {
        for (const t of spreads ?? [v]) {
          if (variadic >= 0 && inputIdx >= variadic) {
            inputs[variadic] = [...((inputs[variadic] as Value[] | undefined) ?? []), t];
            inputRanges[variadic] = [...((inputRanges[variadic] as SourceRange[] | undefined) ?? []), a.range];
            inputIdx = variadic;
            continue;
          }
          if (inputIdx >= sig.inputs.length)
            throw this.fail(
              Diagnostics.Too_many_arguments_0_takes_1_got_2,
              a.file,
              a.range,
              [calleeName, `${sig.inputs.length} tensor input${sig.inputs.length === 1 ? "" : "s"}`, "another tensor"],
              { hint: sig.inputs.length ? `inputs: ${sig.inputs.map((s) => s.name).join(", ")}` : undefined },
            );
          inputs[inputIdx] = t;
          inputRanges[inputIdx] = a.range;
          inputIdx++;
        }
        continue;
      }
      const slot = sig.inputs[inputIdx];
      if (
        slot &&
        slot.acceptsScalar &&
        !slot.variadic &&
        (v instanceof Dim || typeof v === "number" || typeof v === "boolean") &&
        inputIdx > 0
      ) {
        inputs[inputIdx] = v;
        inputRanges[inputIdx] = a.range;
        inputIdx++;
        continue;
      }
      while (attrIdx < sig.attrs.length && attrs[sig.attrs[attrIdx]!.name] !== undefined) attrIdx++;
      const spec = sig.attrs[attrIdx];
      const wanted = sig.inputs[inputIdx];
      if (!spec && wanted && !wanted.optional)
        throw this.fail(Diagnostics.Not_a_tensor_0, a.file, a.range, [describeValue(v)], {
          hint: `'${calleeName}' takes a tensor for its input '${wanted.name}'`,
        });
      if (!spec)
        throw this.fail(
          Diagnostics.Too_many_arguments_0_takes_1_got_2,
          a.file,
          a.range,
          [calleeName, describeArity(sig), `also ${describeValue(v)}`],
          {
            hint: sig.attrs.length ? `its settings: ${sig.attrs.map((s) => s.name).join(", ")}` : undefined,
          },
        );
      attrs[spec.name] = v;
      attrRanges[spec.name] = a.range;
      attrIdx++;
    }
    for (const a of args.filter((x) => x.name)) {
      const name = a.name!;
      const inputPos = sig.inputs.findIndex((s) => s.name === name);
      if (inputPos >= 0) {
        if (inputs[inputPos] !== undefined) throw this.fail(Diagnostics.Duplicate_argument_0, a.file, a.range, [name]);
        inputs[inputPos] = a.value;
        inputRanges[inputPos] = a.range;
        continue;
      }
      if (!sig.attrs.some((s) => s.name === name))
        throw this.fail(Diagnostics.Unknown_argument_0_for_1, a.file, a.range, [name, calleeName], {
          hint:
            suggestHint(name, [...sig.attrs.map((s) => s.name), ...sig.inputs.map((s) => s.name)]) ??
            `it takes: ${[...sig.inputs, ...sig.attrs].map((s) => s.name).join(", ") || "nothing"}`,
        });
      if (attrs[name] !== undefined) throw this.fail(Diagnostics.Duplicate_argument_0, a.file, a.range, [name]);
      attrs[name] = a.value;
      attrRanges[name] = a.range;
    }
    const missingInputs = sig.inputs.some(
      (s, i) => !s.optional && (s.variadic ? !inputs[i] || (inputs[i] as Value[]).length === 0 : inputs[i] === undefined),
    );
    if (!missingInputs)
      for (const spec of sig.attrs)
        if (attrs[spec.name] === undefined && spec.default === undefined && !spec.optionalNoDefault)
          throw this.fail(Diagnostics.Missing_argument_0_for_1, file, callRange, [spec.name, calleeName], {
            hint: `call it as ${calleeName}(${[...sig.inputs.filter((s) => !s.optional).map((s) => s.name), ...sig.attrs.filter((s) => s.default === undefined).map((s) => `${s.name}: ...`)].join(", ")})`,
          });
    return { inputs, inputRanges, attrs, attrRanges, missingInputs };
  }

  // -------------------------------------------------------------------------
  // Ops

  private applyOp(
    op: OpDef,
    rawInputs: readonly Value[],
    rawAttrs: Record<string, Value>,
    scope: Scope,
    range: SourceRange,
    hint: (NameHint & { shared?: boolean }) | undefined,
    inputRanges: readonly InputRange[] = [],
    attrRanges: Record<string, SourceRange> = {},
    shared = false,
  ): Value {
    const file = scope.frame.file;
    const site = { file, range };
    if (rawInputs.some((v) => v instanceof PoisonValue)) return PoisonValue.instance;
    // Tensor inputs; a plain number in a scalar slot becomes a constant of the dtype of
    // the tensors it meets there (`where(mask, scores, -1e9)`: the scores', not the mask's).
    const peer = rawInputs.find((v, i) => isTensor(v) && op.inputs[i]?.acceptsScalar) ?? rawInputs.find(isTensor);
    const dtype = (peer as TensorValue | undefined)?.type.dtype ?? "f32";
    const inputs: (TensorValue | undefined)[] = [];
    /** one source range per entry of `inputs`, for errors that point at an input */
    const ranges: SourceRange[] = [];
    const rangeOf = (i: number, j = 0): SourceRange => {
      const r = inputRanges[i];
      return (Array.isArray(r) ? (r[j] ?? r[0]) : (r as SourceRange | undefined)) ?? range;
    };
    op.inputs.forEach((spec, i) => {
      const v = rawInputs[i];
      ranges.push(rangeOf(i));
      if (v === undefined || v === null) return inputs.push(undefined);
      if (spec.variadic) {
        ranges.pop();
        const list = (Array.isArray(v) ? v : [v]) as Value[];
        list.forEach((t, j) => {
          if (!(t instanceof TensorValue)) throw this.fail(Diagnostics.Not_a_tensor_0, file, rangeOf(i, j), [describeValue(t)]);
          ranges.push(rangeOf(i, j));
        });
        return inputs.push(...(list as TensorValue[]));
      }
      if (v instanceof TensorValue) return inputs.push(v);
      if (v instanceof Dim || typeof v === "number" || typeof v === "boolean")
        return inputs.push(this.constant(v, typeof v === "boolean" ? "bool" : dtype, site));
      throw this.fail(Diagnostics.Not_a_tensor_0, file, rangeOf(i), [describeValue(v)], {
        hint: v instanceof CallableValue ? "this layer was never applied to an input" : undefined,
      });
    });
    const attrs: Record<string, AttrValue> = {};
    for (const spec of op.attrs) {
      const v = rawAttrs[spec.name];
      attrs[spec.name] = v === undefined ? (spec.default ?? null) : this.toAttr(v, spec, file, attrRanges[spec.name] ?? range);
    }
    let result;
    try {
      result = op.infer({ inputs: inputs.map((t) => t?.type), attrs });
    } catch (e) {
      if (!(e instanceof OpError)) throw e;
      const at = e.options.at;
      const where = typeof at === "number" ? (ranges[at] ?? range) : typeof at === "string" ? (attrRanges[at] ?? range) : range;
      const notes: RelatedNote[] = (e.options.notes ?? []).map((message) => ({ message }));
      inputs.forEach((t, i) => {
        if (!t) return;
        const origin = this.nodes[t.ref.node]!;
        notes.push({
          message: `${op.inputs[Math.min(i, op.inputs.length - 1)]?.name ?? "input"} is ${typeToString(t.type)}`,
          file: origin.site.file,
          range: origin.site.range,
        });
      });
      const msg = e.options.code === "DLM3102" ? Diagnostics.Op_shape_error_0 : Diagnostics.Op_shape_error_0;
      this.diagnostics.push({
        ...createDiagnostic(msg, file, where, [`${op.name}: ${e.message}`], { notes, hint: e.options.hint }),
        ...(e.options.code ? { code: e.options.code } : {}),
      });
      throw new Abort();
    }
    const needsParams = (result.params?.length ?? 0) > 0;
    const instance = this.instanceFor(scope.frame, op.name, hint, needsParams, shared, file, range);
    const params = (result.params ?? []).map((p) =>
      this.createParam(this.joinPath(instance, p.name), p, site, shared || scope.frame.shared),
    );
    const node = this.addOpNode(
      op,
      inputs.map((t) => t?.ref ?? null),
      params,
      attrs,
      result.outputs,
      instance,
      site,
    );
    const outs = result.outputs.map((t, i) => new TensorValue({ node: node.id, index: i }, t));
    return outs.length === 1 ? outs[0]! : new TupleValue(outs);
  }

  private constant(v: Dim | number | boolean, dtype: DType, site: SourceSite): TensorValue {
    const node = this.addNode<ConstNode>({ kind: "const", value: v, outputs: [{ dtype, shape: [] }], site });
    return new TensorValue({ node: node.id, index: 0 }, { dtype, shape: [] });
  }

  private toAttr(v: Value, spec: AttrSpec, file: string, range: SourceRange): AttrValue {
    const bad = (): never => {
      throw this.fail(Diagnostics.Wrong_value_kind_0_expected_1, file, range, [describeValue(v), ATTR_TYPE_TEXT[spec.type]], {
        hint: `for '${spec.name}'`,
      });
    };
    const convert = (x: Value): AttrValue => {
      if (x === null || typeof x === "boolean" || typeof x === "string" || typeof x === "number" || x instanceof Dim) return x;
      if (Array.isArray(x)) return (x as Value[]).map(convert);
      if (x instanceof TupleValue) return x.items.map(convert);
      return bad();
    };
    if (v === null) return null;
    switch (spec.type) {
      case "int":
        if (v instanceof Dim) return v;
        if (typeof v === "number" && Number.isInteger(v)) return Dim.const(v);
        return bad();
      case "float":
        if (typeof v === "number") return v;
        if (v instanceof Dim && v.constant !== undefined) return v.constant;
        return bad();
      case "bool":
        return typeof v === "boolean" ? v : bad();
      case "string":
        return typeof v === "string" ? v : bad();
      case "dtype":
        return typeof v === "string" && isDType(v) ? v : bad();
      case "ints":
        if (v instanceof Dim) return v;
        if (Array.isArray(v) && (v as Value[]).every((x) => x instanceof Dim)) return v as Dim[];
        return bad();
      case "floats":
        if (typeof v === "number" || v instanceof Dim) return convert(v);
        if (Array.isArray(v)) return convert(v);
        return bad();
      case "any":
        return convert(v);
    }
  }

  private instanceFor(
    frame: Frame,
    opName: string,
    hint: (NameHint & { shared?: boolean }) | undefined,
    owns: boolean,
    shared: boolean,
    file: string,
    range: SourceRange,
  ): string {
    if (hint?.shared) return hint.name;
    if (hint) {
      const full = this.joinPath(frame.instancePath, hint.name);
      if (!owns && !hint.explicit) return full;
      return this.claimInstance(frame, hint.name, hint.explicit, file, range, shared);
    }
    const k = frame.counters.get(opName) ?? 0;
    frame.counters.set(opName, k + 1);
    const name = `${opName}_${k}`;
    return owns ? this.claimInstance(frame, name, false, file, range) : this.joinPath(frame.instancePath, name);
  }

  /** Reserve a unique instance path; derived names get a suffix, explicit duplicates are errors. */
  private claimInstance(frame: Frame, local: string, explicit: boolean, file: string, range: SourceRange, shared = false): string {
    let full = this.joinPath(frame.instancePath, local);
    if (shared || frame.shared) return full;
    if (this.instanceNames.has(full)) {
      if (explicit)
        throw this.fail(Diagnostics.Duplicate_definition_0, file, range, [`layer '${full}'`], {
          hint: "give each layer instance its own name, or declare it once with `layer` to share it",
        });
      let k = 1;
      while (this.instanceNames.has(`${full}_${k}`)) k++;
      full = `${full}_${k}`;
    }
    this.instanceNames.add(full);
    return full;
  }

  private joinPath(a: string, b: string): string {
    return a ? `${a}.${b}` : b;
  }

  private createParam(
    name: string,
    spec: {
      name: string;
      shape: readonly Dim[];
      dtype?: DType;
      init: InitName;
      initArgs?: InitArgs;
      buffer?: boolean;
      noDecay?: boolean;
    },
    site: SourceSite,
    shared: boolean,
  ): number {
    const type: TensorType = { dtype: spec.dtype ?? "f32", shape: spec.shape };
    const existing = this.paramsByName.get(name);
    if (existing !== undefined) {
      const prev = this.nodes[existing]!;
      if (shared && shapesEqual(prev.outputs[0]!.shape, type.shape)) return existing;
      throw this.fail(Diagnostics.Duplicate_definition_0, site.file, site.range, [`parameter '${name}'`], {
        notes: [
          {
            message: shared ? `the shared layer was first applied with ${typeToString(prev.outputs[0]!)}` : "first defined here",
            file: prev.site.file,
            range: prev.site.range,
          },
        ],
        hint: shared ? "a shared layer must see inputs of the same shape every time" : undefined,
      });
    }
    const frozen = this.annotationActive("frozen");
    const saved = this.region;
    this.region = 0;
    const node = this.addNode<ParamNode>({
      kind: "param",
      name,
      outputs: [type],
      site,
      init: spec.init,
      ...(spec.initArgs ? { initArgs: spec.initArgs } : {}),
      trainable: !frozen && !spec.buffer,
      buffer: spec.buffer ?? false,
      noDecay: (spec.noDecay ?? false) || this.annotationActive("no_decay"),
      ...(this.lrScale !== undefined ? { lrScale: this.lrScale } : {}),
    });
    this.region = saved;
    this.paramsByName.set(name, node.id);
    return node.id;
  }

  private addOpNode(
    op: OpDef,
    inputs: readonly (TensorRef | null)[],
    params: readonly number[],
    attrs: Record<string, AttrValue>,
    outputs: readonly TensorType[],
    instance: string,
    site: SourceSite,
  ): OpNode {
    const annotations = new Set<string>();
    for (const a of ["checkpoint", "nofuse"]) if (this.annotationActive(a)) annotations.add(a);
    const region = this.checkpointRegions[0];
    return this.addNode<OpNode>({
      kind: "op",
      op,
      inputs,
      params,
      attrs,
      outputs,
      instance,
      site,
      annotations,
      ...(region !== undefined ? { checkpointRegion: region } : {}),
    });
  }

  private addNode<N extends Node>(fields: Omit<N, "id" | "region">): N {
    if (this.nodes.length >= LIMITS.nodes)
      throw this.fail(Diagnostics.Too_much_work_0, fields.site.file, fields.site.range, [`more than ${LIMITS.nodes} graph nodes`]);
    const node = { ...fields, id: this.nodes.length, region: this.region } as unknown as N;
    this.nodes.push(node);
    return node;
  }

  // -------------------------------------------------------------------------
  // Blocks

  private newFrame(
    file: string,
    instancePath: string,
    decl: BlockDecl | undefined,
    inputs: readonly TensorValue[],
    scan: ScanContext | undefined,
    shared = false,
  ): Frame {
    return {
      file,
      instancePath,
      counters: new Map(),
      decl,
      scan,
      dimSites: new Map(),
      loopDepth: 0,
      inputsConsumed: 0,
      inputs,
      outputs: [],
      shared,
    };
  }

  private applyBlock(
    decl: BlockDecl,
    declFile: string,
    inputs: readonly TensorValue[],
    hparams: Record<string, Value>,
    hparamRanges: Record<string, SourceRange>,
    scope: Scope,
    range: SourceRange,
    hint: (NameHint & { shared?: boolean }) | undefined,
    shared: boolean,
    scan: Omit<ScanContext, "instance"> | undefined,
  ): Value {
    const file = scope.frame.file;
    if (this.depth >= LIMITS.depth)
      throw this.fail(Diagnostics.Recursive_block_0, file, range, [decl.name.name, this.depth], {
        hint: "a recursive block needs a base case: an `if` on a hyperparameter that stops the recursion",
      });
    const hasState = decl.body.some((s) => s.kind === "State");
    if (hasState && !scan)
      throw this.fail(Diagnostics.State_outside_scan_0, file, range, [decl.name.name], {
        hint: `use scan(xs, ${decl.name.name}(...), axis: 1) to run it over a sequence`,
      });
    for (const [i, t] of inputs.entries())
      if (!(t instanceof TensorValue))
        throw this.fail(Diagnostics.Not_a_tensor_0, file, range, [describeValue(t as Value)], {
          notes: [{ message: `input #${i + 1} of ${decl.name.name}` }],
        });
    const instance = hint?.shared ? hint.name : this.instanceFor(scope.frame, decl.name.name, hint, true, shared, file, range);
    const frame = this.newFrame(
      declFile,
      instance,
      decl,
      inputs,
      scan ? { ...scan, instance } : undefined,
      shared || hint?.shared === true || scope.frame.shared,
    );
    frame.callSite = { file, range };
    this.facts?.application(file, range, decl.name.name, instance);
    const inner = new Scope(frame);
    // Hyperparameters: given, or default (defaults may use earlier hyperparameters).
    for (const hp of decl.params) {
      let v: Value | undefined = hparams[hp.name.name];
      if (v === undefined) {
        if (!hp.default)
          throw this.fail(Diagnostics.Missing_argument_0_for_1, file, range, [hp.name.name, decl.name.name], {
            notes: [{ message: `'${hp.name.name}' is declared here`, file: declFile, range: hp.range }],
          });
        v = this.evalExpr(hp.default, inner);
      }
      const value = this.checkHyperParamType(hp.name.name, hp.type, v, file, hparamRanges[hp.name.name] ?? range);
      inner.vars.set(hp.name.name, { value, range: hp.name.range });
      this.facts?.value(declFile, hp.name.range, value);
    }
    const errorsBefore = this.errorCount();
    this.depth++;
    try {
      this.withAnnotations(decl.annotations, inner, () => this.execBody(decl.body, inner), decl.isModel ? "inner model" : "block");
    } finally {
      this.depth--;
    }
    // After an error in the body, a missing `next` or output is its consequence, not news.
    const bodyFailed = this.errorCount() > errorsBefore || this.hasSyntaxErrors(declFile);
    if (scan) {
      const ctx = frame.scan!;
      for (const name of ctx.stateOrder)
        if (!ctx.nexts.has(name)) {
          if (bodyFailed && decl.body.some((st) => st.kind === "Next" && st.name.name === name)) throw new Abort();
          throw this.fail(Diagnostics.Unused_state_0, declFile, ctx.stateTypes.get(name)!.range, [name]);
        }
    }
    if (frame.outputs.length === 0 && bodyFailed) throw new Abort();
    if (frame.outputs.length === 0)
      throw this.fail(Diagnostics.Missing_output_0, file, range, [`block '${decl.name.name}'`], {
        notes: [{ message: "declared here", file: declFile, range: decl.name.range }],
      });
    const outs = frame.outputs.map((o) => o.value);
    return outs.length === 1 ? outs[0]! : new TupleValue(outs);
  }

  private checkHyperParamType(name: string, type: TypeName | undefined, v: Value, file: string, range: SourceRange): Value {
    if (!type || v instanceof PoisonValue) return v;
    const t = type.name.name;
    const ok = (() => {
      switch (t) {
        case "int":
        case "dim":
          return v instanceof Dim;
        case "float":
          return typeof v === "number" || (v instanceof Dim && v.isConstant);
        case "bool":
          return typeof v === "boolean";
        case "str":
          return typeof v === "string";
        case "list":
          return Array.isArray(v) || v instanceof TupleValue;
        case "layer":
        case "block":
          return v instanceof CallableValue;
        case "tensor":
          return v instanceof TensorValue;
        case "any":
          return true;
        default:
          throw this.fail(Diagnostics.Unknown_type_0, file, range, [t], {
            hint: "hyperparameter types: int, float, bool, str, dim, list, layer, any",
          });
      }
    })();
    if (!ok)
      throw this.fail(Diagnostics.Hyperparameter_type_0_1, file, range, [
        name,
        `${t === "str" ? "a string" : t === "int" ? "an integer" : `of type ${t}`}, got ${describeValue(v)}`,
      ]);
    if (t === "float" && v instanceof Dim) return v.constant!;
    return v;
  }

  // -------------------------------------------------------------------------
  // scan

  private evalScan(args: readonly EvalArg[], scope: Scope, range: SourceRange, hint?: NameHint): Value {
    const file = scope.frame.file;
    const positional = args.filter((a) => !a.name);
    const named = new Map(args.filter((a) => a.name).map((a) => [a.name!, a]));
    for (const k of named.keys())
      if (!["axis", "reverse", "return_state", "bptt", "xs", "cell"].includes(k))
        throw this.fail(Diagnostics.Unknown_argument_0_for_1, file, named.get(k)!.range, [k, "scan"], {
          hint: "scan takes xs, cell, axis, reverse, return_state, bptt",
        });
    const xsArg = named.get("xs") ?? positional[0];
    const cellArg = named.get("cell") ?? positional[1];
    if (!xsArg || !cellArg)
      throw this.fail(Diagnostics.Missing_argument_0_for_1, file, range, [!xsArg ? "xs" : "cell", "scan"], {
        hint: "scan(xs, Cell(hidden), axis: 1)",
      });
    const seqs = (
      xsArg.value instanceof TensorValue
        ? [xsArg.value]
        : xsArg.value instanceof TupleValue
          ? xsArg.value.items
          : Array.isArray(xsArg.value)
            ? (xsArg.value as Value[])
            : []
    ) as Value[];
    if (seqs.length === 0 || !seqs.every(isTensor))
      throw this.fail(Diagnostics.Not_a_tensor_0, file, xsArg.range, [describeValue(xsArg.value)]);
    const cell = cellArg.value;
    if (!(cell instanceof CallableValue) || cell.target.kind !== "block")
      throw this.fail(Diagnostics.Wrong_value_kind_0_expected_1, file, cellArg.range, [
        describeValue(cell),
        "a block with `state` (a recurrent cell)",
      ]);
    const axisV = named.get("axis")?.value ?? Dim.const(1);
    const rank = (seqs[0] as TensorValue).type.shape.length;
    let axis = this.toConstInt(axisV, file, named.get("axis")?.range ?? range);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank)
      throw this.fail(Diagnostics.Op_shape_error_0, file, named.get("axis")?.range ?? range, [
        `scan: axis out of range for ${typeToString((seqs[0] as TensorValue).type)}`,
      ]);
    const reverse = named.get("reverse")?.value === true;
    const returnState = named.get("return_state")?.value === true;
    const bpttV = named.get("bptt")?.value;
    const trips = (seqs[0] as TensorValue).type.shape[axis]!;
    for (const s of seqs as TensorValue[])
      if (s.type.shape.length !== rank || !s.type.shape[axis]!.equals(trips))
        throw this.fail(Diagnostics.Op_shape_error_0, file, xsArg.range, [
          `scan: sequences differ in length along axis ${axis}: ${trips} vs ${s.type.shape[axis]}`,
        ]);

    const regionId = ++this.regionCounter;
    this.regions.set(regionId, { parent: this.region, trips });
    const saved = this.region;
    this.region = regionId;
    const instanceHint = hint;
    const instance = this.instanceFor(
      scope.frame,
      cell.target.decl.name.name,
      instanceHint,
      true,
      cell.sharedInstance !== undefined,
      file,
      range,
    );
    const ctx: Omit<ScanContext, "instance"> = { stateTypes: new Map(), nexts: new Map(), initials: [], stateOrder: [], stepInputs: [] };
    let stepOut: Value;
    const stepInputs: TensorValue[] = [];
    try {
      for (const [i, s] of (seqs as TensorValue[]).entries()) {
        const t: TensorType = { dtype: s.type.dtype, shape: s.type.shape.filter((_, k) => k !== axis) };
        const node = this.addNode<InputNode>({
          kind: "input",
          name: `${instance}.step${i}`,
          outputs: [t],
          site: { file, range: xsArg.range },
        });
        stepInputs.push(new TensorValue({ node: node.id, index: 0 }, t));
      }
      const sig = blockSignature(cell.target.decl);
      const bound = this.bindArgs(
        sig,
        [...stepInputs.map((t) => ({ value: t as Value, range: xsArg.range, file })), ...cell.args],
        cell.displayName,
        file,
        range,
      );
      stepOut = this.applyBlock(
        cell.target.decl,
        cell.target.file,
        bound.inputs as TensorValue[],
        bound.attrs,
        bound.attrRanges,
        scope,
        range,
        { name: instance, explicit: true, shared: true } as NameHint & { shared: boolean },
        true,
        ctx,
      );
    } finally {
      this.region = saved;
    }
    const outs = flattenTensors(stepOut);
    const stateOutputs = ctx.stateOrder.map((n) => ctx.nexts.get(n)!);
    const outputs: TensorType[] = [
      ...outs.map((t) => ({ dtype: t.type.dtype, shape: [...t.type.shape.slice(0, axis), trips, ...t.type.shape.slice(axis)] })),
      ...stateOutputs.map((t) => t.type),
    ];
    const node = this.addNode<ScanNode>({
      kind: "scan",
      instance,
      inputs: [...(seqs as TensorValue[]).map((s) => s.ref), ...ctx.initials],
      sequenceCount: seqs.length,
      axis,
      reverse,
      body: {
        region: regionId,
        stepInputs: stepInputs.map((t) => t.ref.node),
        stateInputs: ctx.stateOrder.map((n) => ctx.stateTypes.get(n)!.ref.node),
        stateOutputs: stateOutputs.map((t) => t.ref),
        stepOutputs: outs.map((t) => t.ref),
      },
      trips,
      ...(bpttV instanceof Dim && bpttV.constant !== undefined ? { bptt: bpttV.constant } : {}),
      outputs,
      site: { file, range },
    });
    const values = outputs.map((t, i) => new TensorValue({ node: node.id, index: i }, t));
    const stacked = values.slice(0, outs.length);
    const finals = values.slice(outs.length);
    const result = returnState ? [...stacked, ...finals] : stacked;
    return result.length === 1 ? result[0]! : new TupleValue(result);
  }

  // -------------------------------------------------------------------------
  // Builtins

  private evalBuiltin(name: string, args: readonly EvalArg[], scope: Scope, range: SourceRange): Value {
    const file = scope.frame.file;
    const vals = args.map((a) => a.value);
    switch (name) {
      case "len": {
        const v = vals[0];
        if (Array.isArray(v)) return Dim.const(v.length);
        if (v instanceof TupleValue) return Dim.const(v.items.length);
        if (typeof v === "string") return Dim.const(v.length);
        break;
      }
      case "min":
      case "max": {
        const list = (vals.length === 1 && Array.isArray(vals[0]) ? vals[0] : vals) as Value[];
        if (list.length > 0 && list.every((x) => x instanceof Dim))
          return (list as Dim[]).reduce((a, b) => (name === "min" ? a.min(b) : a.max(b)));
        if (list.length > 0 && list.every((x) => typeof x === "number" || (x instanceof Dim && x.isConstant)))
          return Math[name](...list.map((x) => (x instanceof Dim ? x.constant! : (x as number))));
        break;
      }
      case "int": {
        const v = vals[0];
        if (v instanceof Dim) return v;
        if (typeof v === "number") return Dim.const(Math.trunc(v));
        break;
      }
      case "float": {
        const v = vals[0];
        if (typeof v === "number") return v;
        if (v instanceof Dim && v.constant !== undefined) return v.constant;
        break;
      }
      case "str": {
        const v = vals[0];
        if (v instanceof Dim || typeof v === "number" || typeof v === "boolean" || typeof v === "string") return String(v);
        break;
      }
    }
    throw this.fail(Diagnostics.Wrong_value_kind_0_expected_1, file, range, [
      `${name}(${vals.map(describeValue).join(", ")})`,
      BUILTINS.get(name)!,
    ]);
  }

  private evalInit(e: Expr, scope: Scope): InitValue {
    const file = scope.frame.file;
    const calleeName = e.kind === "Identifier" ? e.name : e.kind === "Call" && e.callee.kind === "Identifier" ? e.callee.name : undefined;
    if (!calleeName || !INIT_NAMES.has(calleeName))
      throw this.fail(
        Diagnostics.Wrong_value_kind_0_expected_1,
        file,
        e.range,
        [calleeName ? `'${calleeName}'` : "an expression", "an initialiser"],
        {
          hint: `initialisers: ${[...INIT_NAMES].join(", ")}`,
        },
      );
    const args: Record<string, number> = {};
    if (e.kind === "Call")
      for (const a of e.args) {
        const v = this.evalExpr(a.value, scope);
        const n = v instanceof Dim ? v.constant : typeof v === "number" ? v : undefined;
        if (n === undefined || !a.name)
          throw this.fail(Diagnostics.Wrong_value_kind_0_expected_1, file, a.range, [describeValue(v), "a named number (std: 0.02)"]);
        args[a.name.name] = n;
      }
    return new InitValue(calleeName, args);
  }

  // -------------------------------------------------------------------------
  // Training setup

  /**
   * `optimizer = adamm(...)` or `schedule = cosin(...)`: an unknown optimizer or schedule
   * is reported as such, with the known ones, rather than as an unknown name.
   */
  private unknownTrainConfig(stmt: Stmt, scope: Scope): boolean {
    if (stmt.kind !== "Binding" || stmt.targets.length !== 1) return false;
    const setting = stmt.targets[0]!.name.name;
    const kind = setting === "optimizer" ? "optimizer" : setting === "schedule" ? "schedule" : undefined;
    const call = stmt.value.kind === "Call" ? stmt.value.callee : stmt.value;
    if (!kind || call.kind !== "Identifier" || this.lookupOptional(call.name, scope) !== undefined) return false;
    const known = [...TRAIN_BUILTINS].filter(([, b]) => b.kind === kind).map(([n]) => n);
    const msg = kind === "optimizer" ? Diagnostics.Train_unknown_optimizer_0 : Diagnostics.Train_unknown_schedule_0;
    this.report(msg, scope.frame.file, call.range, [call.name], {
      hint: suggestHint(call.name, known) ?? `${kind === "optimizer" ? "optimizers" : "schedules"}: ${known.join(", ")}`,
    });
    scope.vars.set(setting, { value: PoisonValue.instance, range: stmt.range });
    return true;
  }

  private elaborateTrain(decl: TrainDecl, modelScope: Scope): TrainSetup | undefined {
    const scope = new Scope(modelScope.frame, modelScope);
    const file = modelScope.frame.file;
    const settings = new Map<string, { value: Value; range: SourceRange; nameRange: SourceRange }>();
    const phases: {
      name: string;
      range: SourceRange;
      settings: Map<string, { value: Value; range: SourceRange; nameRange: SourceRange }>;
    }[] = [];
    const collect = (
      stmts: readonly Stmt[],
      into: Map<string, { value: Value; range: SourceRange; nameRange: SourceRange }>,
      s: Scope,
    ): void => {
      for (const stmt of stmts) {
        const before = new Set(s.vars.keys());
        if (this.unknownTrainConfig(stmt, s)) continue;
        this.execStmt(stmt, s);
        if (stmt.kind === "Binding" && stmt.targets.length === 1) {
          const name = stmt.targets[0]!.name.name;
          const v = s.vars.get(name);
          if (v && !before.has(name)) into.set(name, { value: v.value, range: stmt.value.range, nameRange: stmt.targets[0]!.name.range });
        }
      }
    };
    const frame = modelScope.frame;
    const savedLoop = frame.loopDepth;
    collect(
      decl.body.filter((s): s is Stmt => s.kind !== "Phase"),
      settings,
      scope,
    );
    for (const p of decl.body) {
      if (p.kind !== "Phase") continue;
      const ps = new Scope(frame, scope);
      const into = new Map<string, { value: Value; range: SourceRange; nameRange: SourceRange }>();
      collect(p.body, into, ps);
      phases.push({ name: p.name.name, range: p.range, settings: into });
    }
    frame.loopDepth = savedLoop;
    const result = checkTrainSetup({ decl, file, settings, phases, nodes: this.nodes, paramNames: [...this.paramsByName.keys()] });
    this.diagnostics.push(...result.diagnostics);
    return result.setup;
  }

  private trainBuiltin(name: string, args: readonly EvalArg[], scope: Scope, range: SourceRange): Value {
    const file = scope.frame.file;
    const spec = TRAIN_BUILTINS.get(name)!;
    const out: Record<string, Value> = {};
    let pos = 0;
    for (const a of args) {
      const key = a.name ?? spec.args[pos++];
      if (!key || !spec.args.includes(key))
        throw this.fail(
          a.name ? Diagnostics.Unknown_argument_0_for_1 : Diagnostics.Too_many_arguments_0_takes_1_got_2,
          file,
          a.range,
          a.name ? [a.name, name] : [name, `${spec.args.length} settings`, `more`],
          {
            hint: `${name} takes: ${spec.args.join(", ")}`,
          },
        );
      out[key] = a.value;
    }
    return new ConfigValue(spec.kind, name, out, range);
  }

  // -------------------------------------------------------------------------
  // Annotations and errors

  private withAnnotations<T>(annotations: readonly Annotation[], scope: Scope, f: () => T, target: AnnotationTarget): T {
    if (annotations.length === 0) return f();
    const set = new Set<string>();
    const savedLr = this.lrScale;
    for (const a of annotations) {
      const n = a.name.name;
      if (!KNOWN_ANNOTATIONS.has(n)) {
        this.report(Diagnostics.Unknown_annotation_0, scope.frame.file, a.range, [n], { hint: suggestHint(n, [...KNOWN_ANNOTATIONS]) });
        continue;
      }
      if (n === "nofuse" && a.args.length > 0) {
        this.report(Diagnostics.Bad_annotation_arguments_0_1, scope.frame.file, a.range, [n, "no arguments"]);
        continue;
      }
      if (n === "memory_budget") {
        if (target === "block" || target === "statement")
          this.report(Diagnostics.Annotation_not_allowed_here_0_1, scope.frame.file, a.range, [n, "a model declaration"]);
        else {
          const bytes = this.memoryBudgetOf(a, scope);
          // a model used inside another is planned with that one: its own budget is checked, not applied
          if (target === "model") this.memoryBudget = bytes;
        }
        continue;
      }
      set.add(n);
      if (n === "lr") {
        const v = a.args[0] ? this.guard(() => this.evalExpr(a.args[0]!.value, scope), undefined) : undefined;
        if (typeof v === "number" || (v instanceof Dim && v.isConstant)) this.lrScale = v instanceof Dim ? v.constant! : v;
      }
    }
    this.annotationStack.push(set);
    const checkpoint = set.has("checkpoint");
    if (checkpoint) this.checkpointRegions.push(this.checkpointRegionCount++);
    try {
      return f();
    } finally {
      this.annotationStack.pop();
      if (checkpoint) this.checkpointRegions.pop();
      this.lrScale = savedLr;
    }
  }

  /** The bytes `@memory_budget(SIZE)` gives: one size, a string with a unit ("256MB") or a whole number of bytes. */
  private memoryBudgetOf(a: Annotation, scope: Scope): number | undefined {
    const arg = a.args.length === 1 && !a.args[0]!.name ? a.args[0]!.value : undefined;
    const v = arg ? this.guard(() => this.evalExpr(arg, scope), undefined) : undefined;
    const bytes =
      typeof v === "string"
        ? byteSize(v)
        : v instanceof Dim && v.isConstant && v.constant! >= 1 && Number.isSafeInteger(v.constant)
          ? v.constant
          : undefined;
    if (bytes === undefined)
      this.report(Diagnostics.Bad_annotation_arguments_0_1, scope.frame.file, a.range, [
        "memory_budget",
        `one size: ${BYTE_SIZE_FORMS} as a string`,
      ]);
    return bytes;
  }

  private annotationActive(name: string): boolean {
    return this.annotationStack.some((s) => s.has(name));
  }

  private requireTensors(v: Value, file: string, range: SourceRange): void {
    if (v instanceof PoisonValue) throw new Abort();
    if (flattenTensors(v).length === 0 || (v instanceof TupleValue && !v.items.every(isTensor)))
      throw this.fail(Diagnostics.Not_a_tensor_0, file, range, [describeValue(v)], {
        hint: v instanceof CallableValue ? "this layer was never applied to an input" : undefined,
      });
  }

  private guard<T>(f: () => T, fallback: T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof Abort) return fallback;
      throw e;
    }
  }

  private report(
    msg: DiagnosticMessage,
    file: string,
    range: SourceRange,
    args: readonly (string | number)[],
    extra: { notes?: readonly RelatedNote[]; hint?: string | undefined } = {},
  ): void {
    this.diagnostics.push(createDiagnostic(msg, file, range, args, { notes: extra.notes, ...(extra.hint ? { hint: extra.hint } : {}) }));
  }

  private fail(
    msg: DiagnosticMessage,
    file: string,
    range: SourceRange,
    args: readonly (string | number)[],
    extra: { notes?: readonly RelatedNote[]; hint?: string | undefined } = {},
  ): Abort {
    this.report(msg, file, range, args, extra);
    return new Abort();
  }
}

// ---------------------------------------------------------------------------
// Helpers

type InputRange = SourceRange | readonly SourceRange[];

interface Signature {
  readonly inputs: readonly InputSpec[];
  readonly attrs: readonly (AttrSpec & { optionalNoDefault?: boolean })[];
}

const opSignatures = new WeakMap<OpDef, Signature>();
function opSignature(op: OpDef): Signature {
  let s = opSignatures.get(op);
  if (!s) opSignatures.set(op, (s = { inputs: op.inputs, attrs: op.attrs }));
  return s;
}

const blockSignatures = new WeakMap<BlockDecl, Signature>();
function blockSignature(decl: BlockDecl): Signature {
  let s = blockSignatures.get(decl);
  if (!s) {
    const inputs: InputSpec[] = [];
    for (const st of decl.body) if (st.kind === "Input") for (const item of st.items) inputs.push({ name: item.name.name });
    const attrs = decl.params.map((p) => ({ name: p.name.name, type: "any" as const, ...(p.default ? { default: null } : {}) }));
    s = { inputs, attrs };
    blockSignatures.set(decl, s);
  }
  return s;
}

function describeArity(sig: Signature): string {
  return `${sig.inputs.length} input${sig.inputs.length === 1 ? "" : "s"} and ${sig.attrs.length} setting${sig.attrs.length === 1 ? "" : "s"}`;
}

function flattenTensors(v: Value): TensorValue[] {
  if (v instanceof TensorValue) return [v];
  if (v instanceof TupleValue) return v.items.flatMap(flattenTensors);
  return [];
}

function definedNames(stmt: Stmt): string[] {
  switch (stmt.kind) {
    case "Binding":
      return stmt.targets.map((t) => t.name.name);
    case "Input":
    case "State":
      return stmt.items.map((i) => i.name.name);
    case "Param":
    case "Layer":
      return [stmt.name.name];
    case "Output":
      return stmt.name ? [stmt.name.name] : [];
    default:
      return [];
  }
}

function findLaterDefinition(body: readonly Stmt[], name: string, use: SourceRange): SourceRange | undefined {
  for (const s of body) {
    if (s.range.start.offset <= use.start.offset) continue;
    if (definedNames(s).includes(name)) return s.range;
  }
  return undefined;
}

function suggestHint(name: string, candidates: Iterable<string>): string | undefined {
  const s = suggest(name, candidates);
  return s ? `did you mean '${s}'?` : undefined;
}

const TENSOR_BINARY: Record<string, string> = {
  "+": "add",
  "-": "sub",
  "*": "mul",
  "/": "div",
  "**": "pow",
  "@": "matmul",
  "==": "eq",
  "!=": "ne",
  "<": "lt",
  "<=": "le",
  ">": "gt",
  ">=": "ge",
};

const ATTR_TYPE_TEXT: Record<AttrSpec["type"], string> = {
  int: "an integer",
  float: "a number",
  bool: "true or false",
  string: "a string",
  ints: "an integer or a list of integers",
  floats: "a number or a list of numbers",
  dtype: "a dtype (f32, i64, ...)",
  any: "a value",
};

const COMPILE_TIME_MATH: Record<string, (x: number) => number> = {
  sqrt: Math.sqrt,
  exp: Math.exp,
  log: Math.log,
  abs: Math.abs,
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  floor: Math.floor,
  ceil: Math.ceil,
};

/** compile-time functions, with how to call them */
export const BUILTINS = new Map<string, string>([
  ["scan", "scan(xs, Cell(...), axis: 1)"],
  ["len", "len(list)"],
  ["min", "min of integers or numbers"],
  ["max", "max of integers or numbers"],
  ["int", "int(number)"],
  ["float", "float(number)"],
  ["str", "str(value)"],
]);

class UndecidableError extends Error {}

/** Arithmetic and comparison on compile-time values (ints are exact Dims). */
function compileTimeBinary(op: string, a: Value, b: Value): Value | undefined {
  if (a instanceof Dim && b instanceof Dim) {
    switch (op) {
      case "+":
        return a.add(b);
      case "-":
        return a.sub(b);
      case "*":
        return a.mul(b);
      case "/":
        if (b.constant === 0) throw new RangeError();
        return a.floordiv(b);
      case "%":
        if (b.constant === 0) throw new RangeError();
        return a.mod(b);
      case "**": {
        const e = b.constant;
        if (e === undefined || e < 0) return a.constant !== undefined && e !== undefined ? Math.pow(a.constant, e) : undefined;
        if (e > 64 && a.constant === undefined) return undefined;
        if (a.constant !== undefined) {
          const r = Math.pow(a.constant, e);
          return Number.isSafeInteger(r) ? Dim.const(r) : r;
        }
        let r = Dim.const(1);
        for (let i = 0; i < e; i++) r = r.mul(a);
        return r;
      }
    }
    const diff = a.sub(b).constant;
    if (diff === undefined) {
      if (op === "==" && a.equals(b)) return true;
      throw new UndecidableError(`${a} ${op} ${b}`);
    }
    return compare(op, diff, 0);
  }
  const num = (x: Value): number | undefined => (typeof x === "number" ? x : x instanceof Dim ? x.constant : undefined);
  const na = num(a);
  const nb = num(b);
  if (na !== undefined && nb !== undefined) {
    switch (op) {
      case "+":
        return na + nb;
      case "-":
        return na - nb;
      case "*":
        return na * nb;
      case "/":
        if (nb === 0) throw new RangeError();
        return na / nb;
      case "%":
        return na % nb;
      case "**":
        return Math.pow(na, nb);
    }
    return compare(op, na, nb);
  }
  if (typeof a === "string" && typeof b === "string") {
    if (op === "+") return a + b;
    if (op === "==") return a === b;
    if (op === "!=") return a !== b;
  }
  if (typeof a === "boolean" && typeof b === "boolean") {
    if (op === "==") return a === b;
    if (op === "!=") return a !== b;
  }
  if (a === null || b === null) {
    if (op === "==") return a === b;
    if (op === "!=") return a !== b;
  }
  if (Array.isArray(a) && Array.isArray(b) && op === "+") return [...a, ...b];
  if (Array.isArray(a) && b instanceof Dim && op === "*" && b.constant !== undefined && b.constant * a.length <= LIMITS.range)
    return Array.from({ length: b.constant }, () => a).flat();
  return undefined;
}

function compare(op: string, a: number, b: number): boolean | undefined {
  switch (op) {
    case "==":
      return a === b;
    case "!=":
      return a !== b;
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    case ">=":
      return a >= b;
  }
  return undefined;
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  if (!Number.isFinite(v)) return "an unbounded amount of memory";
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

function assertNever(x: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(x)}`);
}

export { shapeToString };
