// PyTorch export: a model as one Python file holding an idiomatic torch.nn.Module whose
// state_dict names are dlm's parameter names (layers with a torch.nn counterpart become that
// module at the layer's path, `features["0"]` an nn.Conv2d; other parameters are registered one
// by one), its forward in training and evaluation mode (the train section's loss with
// `return_loss=True`), dlm's initialisers, safetensors reading and writing, strict
// `load_dlm_weights` / `save_dlm_weights`, and a `main()` that trains the model with
// DistributedDataParallel under torchrun (gloo on CPUs, nccl on GPUs) and writes a checkpoint
// dlm reads.
//
// Each op says how it reads in torch (its `torch` mapping, compiler/ops/torch-mapping.ts);
// scans become Python loops. Every name from the .dlm file reaches the output either mangled
// into an identifier ([A-Za-z0-9_], kept clear of keywords, builtins and the file's own names)
// or as an escaped string literal; comments carry only sanitised text. The output depends
// only on the graph, the train section and the options.

import { Dim } from "../dim.js";
import type { ModelGraph, Node, OpNode, ParamNode, ScanNode, SourceSite, TensorRef } from "../ir/graph.js";
import { liveNodes, typeOfRef } from "../ir/graph.js";
import type { TorchContext, TorchHelper } from "../ops/torch-mapping.js";
import { isFloat, isInteger, type AttrValue, type DType, type InitArgs, type InputSpec } from "../ops/types.js";
import type { TrainSetup } from "../train.js";
import { isPythonKeyword, Namer, mangle, pyComment, pyNumber, pyString } from "./python.js";
import { HELPER_NAMES, HELPER_NEEDS, HELPERS, IMPORTS, INIT, MODULE_NAMES, SCOPE, WEIGHTS_IO } from "./torch-python.js";

export interface TorchExportOptions {
  /**
   * Values of symbolic dims where the file needs numbers: parameter shapes, and the defaults
   * of the training template's synthetic data (default: the model's dim defaults).
   */
  readonly dims?: ReadonlyMap<string, number>;
  /** how a source file is named in messages (default: as given) */
  readonly displayPath?: (file: string) => string;
}

/** A model the exporter cannot write (an op without a PyTorch mapping, an unbound dim); `site` is where. */
export class TorchExportError extends Error {
  constructor(
    message: string,
    readonly site?: SourceSite,
  ) {
    super(message);
  }
}

const TORCH_DTYPES: Readonly<Record<DType, string>> = {
  f16: "torch.float16",
  bf16: "torch.bfloat16",
  f32: "torch.float32",
  f64: "torch.float64",
  i8: "torch.int8",
  u8: "torch.uint8",
  i32: "torch.int32",
  i64: "torch.int64",
  bool: "torch.bool",
};

/** Attribute names of nn.Module (torch 1.13 – 2.x) and of the exported class: a child so named is reached by key, not attribute. */
const MODULE_ATTRIBUTES: ReadonlySet<string> = new Set([
  "T_destination",
  "add_module",
  "apply",
  "bfloat16",
  "buffers",
  "call_super_init",
  "children",
  "compile",
  "cpu",
  "cuda",
  "double",
  "dump_patches",
  "eval",
  "extra_repr",
  "float",
  "forward",
  "get_buffer",
  "get_extra_state",
  "get_parameter",
  "get_submodule",
  "half",
  "ipu",
  "load_state_dict",
  "modules",
  "mtia",
  "named_buffers",
  "named_children",
  "named_modules",
  "named_parameters",
  "parameters",
  "register_backward_hook",
  "register_buffer",
  "register_forward_hook",
  "register_forward_pre_hook",
  "register_full_backward_hook",
  "register_full_backward_pre_hook",
  "register_load_state_dict_post_hook",
  "register_load_state_dict_pre_hook",
  "register_module",
  "register_parameter",
  "register_state_dict_post_hook",
  "register_state_dict_pre_hook",
  "requires_grad_",
  "reset_parameters",
  "set_extra_state",
  "set_submodule",
  "share_memory",
  "smart_apply",
  "state_dict",
  "to",
  "to_empty",
  "train",
  "training",
  "type",
  "xpu",
  "zero_grad",
]);

/** A child name that can be written as an attribute (`self.conv1`). */
function isAttributeName(name: string): boolean {
  return /^[A-Za-z][A-Za-z0-9_]*$/.test(name) && !MODULE_ATTRIBUTES.has(name) && !isPythonKeyword(name);
}

/** The text of one Python file: the module, the weight loaders, and a torchrun/DDP `main()`. */
export function torchModuleSource(graph: ModelGraph, train: TrainSetup | undefined, options: TorchExportOptions = {}): string {
  return new TorchWriter(graph, train, options).write();
}

// ---------------------------------------------------------------------------
// The module tree: scopes (Scope), layers (torch.nn modules) and single tensors, by path

interface TreeNode {
  kind: "scope" | "layer" | "tensor";
  readonly children: Map<string, TreeNode>;
  /** a layer's constructor */
  layer?: string;
  /** a tensor's parameter node */
  param?: ParamNode;
}

const newScope = (): TreeNode => ({ kind: "scope", children: new Map() });

/** Python lines with indentation. */
class Lines {
  readonly out: string[] = [];
  private depth = 0;

  line(text = ""): void {
    this.out.push(text === "" ? "" : "    ".repeat(this.depth) + text);
  }

  indented(f: () => void): void {
    this.depth++;
    f();
    this.depth--;
  }
}

/** Locals every forward may define. */
const FORWARD_LOCALS = ["self", "device", "dtype", "return_loss"];

/** A symbolic dim in a layer constructor: layers are built in __init__, where no size variable exists. */
class SymbolicInLayer extends Error {}

class TorchWriter {
  private readonly dims: Map<string, number>;
  private readonly nodes: readonly Node[];
  private readonly byRegion = new Map<number, Node[]>();
  private readonly modelLive: Uint8Array;
  private readonly lossLive: Uint8Array;
  private readonly loss?: TensorRef;
  private readonly paramShapes = new Map<number, number[]>();
  private readonly tree = newScope();
  /** op node id → the path of the layer holding its parameters */
  private readonly layerPath = new Map<number, string[]>();
  private readonly helpers = new Set<TorchHelper>();
  private readonly className: string;
  /** module-level names (the fixed text's, the helpers', the class's) */
  private readonly moduleNames: string[];

  constructor(
    private readonly g: ModelGraph,
    private readonly train: TrainSetup | undefined,
    private readonly options: TorchExportOptions,
  ) {
    this.dims = new Map(g.dimDefaults);
    for (const [k, v] of options.dims ?? []) this.dims.set(k, v);
    this.nodes = g.nodes;
    for (const n of g.nodes) this.byRegion.set(n.region, [...(this.byRegion.get(n.region) ?? []), n]);
    this.modelLive = liveNodes(
      g,
      g.outputs.map((o) => o.ref.node),
    );
    if (train?.loss) this.loss = train.loss;
    this.lossLive = liveNodes(g, this.loss ? [this.loss.node] : []);
    this.moduleNames = [...MODULE_NAMES, ...Object.values(HELPER_NAMES)];
    const namer = new Namer(this.moduleNames);
    this.className = namer.fresh(g.name, "Model");
    this.moduleNames.push(this.className);
  }

  write(): string {
    this.checkOps();
    this.shapeParams();
    this.assignLayers();
    this.buildTree();
    const cls = this.classText();
    const training = this.trainingText();
    const helpers = this.helperTexts();
    const parts = [
      `"""${pyComment(`The dlm model ${this.g.name} as a PyTorch module, generated by dlm export --torch.`)}

Parameter and buffer names are dlm's, so dlm's safetensors checkpoints load with
load_dlm_weights and save_dlm_weights writes files dlm reads (dlm run --weights).
Train on several processes or machines with PyTorch's launcher:

    python -m torch.distributed.run --nproc_per_node 2 THIS_FILE.py --steps 100
"""`,
      IMPORTS,
      `MODEL_NAME = ${pyString(this.g.name)}`,
      SCOPE,
      INIT,
      ...helpers,
      cls,
      WEIGHTS_IO,
      training,
      `if __name__ == "__main__":\n    main()`,
    ];
    return parts.join("\n\n\n") + "\n";
  }

  // -------------------------------------------------------------------------
  // Analysis

  private live(id: number): boolean {
    return this.modelLive[id] === 1 || this.lossLive[id] === 1;
  }

  private where(site: SourceSite): string {
    const file = this.options.displayPath ? this.options.displayPath(site.file) : site.file;
    return `${file}:${site.range.start.line}:${site.range.start.column}`;
  }

  /** Every op the file needs must have a mapping: all missing ones at once would be noisy, so the first, with its place. */
  private checkOps(): void {
    for (const n of this.nodes)
      if (n.kind === "op" && this.live(n.id) && !n.op.torch)
        throw new TorchExportError(
          `the op '${n.op.name}' (layer '${n.instance}', ${this.where(n.site)}) has no PyTorch mapping yet, so ${this.g.name} cannot be exported to PyTorch`,
          n.site,
        );
  }

  private shapeParams(): void {
    for (const n of this.nodes) {
      if (n.kind !== "param") continue;
      const shape = n.outputs[0]!.shape.map((d) => {
        const v = d.evaluate(this.dims);
        if (v === undefined)
          throw new TorchExportError(
            `the shape of parameter '${n.name}' depends on ${[...d.symbols()].filter((s) => !this.dims.has(s)).join(", ")}; give a value (--dim NAME=...)`,
            n.site,
          );
        return v;
      });
      this.paramShapes.set(n.id, shape);
    }
  }

  /**
   * Ops whose parameters are exactly `instance.local` (and nothing else lives under that path)
   * become their torch.nn layer, built once and called at every application; the rest use
   * their parameters functionally.
   */
  private assignLayers(): void {
    const byInstance = new Map<string, OpNode[]>();
    for (const n of this.nodes)
      if (n.kind === "op" && n.params.length > 0 && n.op.torch?.layer)
        byInstance.set(n.instance, [...(byInstance.get(n.instance) ?? []), n]);
    const paramNames = this.nodes.filter((n): n is ParamNode => n.kind === "param").map((n) => n.name);
    for (const [instance, ops] of byInstance) {
      const first = ops[0]!;
      const owned = new Set(first.params.map((p) => (this.nodes[p] as ParamNode).name));
      if (instance === "" || paramNames.includes(instance)) continue;
      if (![...owned].every((name) => name.startsWith(`${instance}.`))) continue;
      if (paramNames.some((name) => name.startsWith(`${instance}.`) && !owned.has(name))) continue;
      if (!ops.every((o) => o.params.length === first.params.length && o.params.every((p, i) => p === first.params[i]))) continue;
      const ctors = ops.map((o) => this.layerConstructor(o));
      if (ctors[0] === undefined || ctors.some((c) => c !== ctors[0])) continue;
      for (const o of ops) this.layerPath.set(o.id, instance.split("."));
      this.insert(instance.split("."), { kind: "layer", children: new Map(), layer: ctors[0] }, first.site);
    }
  }

  private layerConstructor(n: OpNode): string | undefined {
    try {
      return n.op.torch!.layer!(this.context(n, true));
    } catch (e) {
      if (e instanceof SymbolicInLayer) return undefined;
      throw e;
    }
  }

  private insert(path: readonly string[], leaf: TreeNode, site: SourceSite): void {
    if (path.some((p) => p === ""))
      throw new TorchExportError(`the name '${path.join(".")}' has an empty component, which PyTorch cannot hold`, site);
    let node = this.tree;
    for (const part of path.slice(0, -1)) {
      let next = node.children.get(part);
      if (!next) node.children.set(part, (next = newScope()));
      if (next.kind !== "scope")
        throw new TorchExportError(`'${path.join(".")}' lies inside '${part}', which is a single layer or tensor`, site);
      node = next;
    }
    const last = path[path.length - 1]!;
    if (node.children.has(last)) throw new TorchExportError(`two things are named '${path.join(".")}'`, site);
    node.children.set(last, leaf);
  }

  /** Parameters not inside a layer become tensors of their own. */
  private buildTree(): void {
    const inLayer = new Set<number>();
    for (const n of this.nodes) if (n.kind === "op" && this.layerPath.has(n.id)) for (const p of n.params) inLayer.add(p);
    for (const n of this.nodes)
      if (n.kind === "param" && !inLayer.has(n.id))
        this.insert(n.name.split("."), { kind: "tensor", children: new Map(), param: n }, n.site);
  }

  /** The Python expression reaching `path` from `self`. */
  private access(path: readonly string[]): string {
    let expr = "self";
    let node: TreeNode | undefined = this.tree;
    path.forEach((part, depth) => {
      const child: TreeNode | undefined = node?.children.get(part);
      if (isAttributeName(part) || (node?.kind === "layer" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(part))) expr += `.${part}`;
      else if (node?.kind === "layer") expr = `getattr(${expr}, ${pyString(part)})`;
      else if (depth > 0) expr += `[${pyString(part)}]`;
      else expr += `.${child?.kind === "tensor" ? (child.param!.buffer ? "_buffers" : "_parameters") : "_modules"}[${pyString(part)}]`;
      node = child ?? (node?.kind === "layer" ? node : undefined);
    });
    return expr;
  }

  paramAccess(id: number): string {
    return this.access((this.nodes[id] as ParamNode).name.split("."));
  }

  // -------------------------------------------------------------------------
  // The class

  private classText(): string {
    const L = new Lines();
    L.line(`class ${this.className}(nn.Module):`);
    L.indented(() => {
      L.line(`"""${pyComment(`dlm model ${this.g.name}: ${this.forwardDoc()}`)}"""`);
      L.line();
      L.line("def __init__(self):");
      L.indented(() => {
        L.line("super().__init__()");
        for (const [name, child] of this.tree.children) {
          const value = this.childValue(child, "        ");
          if (isAttributeName(name)) {
            if (child.kind === "tensor" && child.param!.buffer) L.line(`self.register_buffer(${pyString(name)}, ${value})`);
            else L.line(`self.${name} = ${value}`);
          } else {
            const table = child.kind === "tensor" ? (child.param!.buffer ? "_buffers" : "_parameters") : "_modules";
            L.line(`self.${table}[${pyString(name)}] = ${value}`);
          }
        }
        for (const n of this.nodes)
          if (n.kind === "param" && !n.trainable && !n.buffer && this.layerParam(n.id))
            L.line(`${this.paramAccess(n.id)}.requires_grad_(False)`);
        L.line("self.reset_parameters()");
      });
      L.line();
      L.line("def reset_parameters(self):");
      L.indented(() => {
        L.line(`"""${"Initialises every parameter and buffer as dlm does (same rules, torch's random numbers)."}"""`);
        L.line("with torch.no_grad():");
        L.indented(() => {
          for (const n of this.nodes)
            if (n.kind === "param") L.line(`init_tensor(${this.paramAccess(n.id)}, ${pyString(n.init)}, ${this.initArgs(n)})`);
          if (!this.nodes.some((n) => n.kind === "param")) L.line("pass");
        });
      });
      L.line();
      new ForwardWriter(this, L).write();
    });
    return L.out.join("\n");
  }

  private layerParam(id: number): boolean {
    for (const n of this.nodes) if (n.kind === "op" && this.layerPath.has(n.id) && n.params.includes(id)) return true;
    return false;
  }

  /** A tree node as a constructor expression; a scope spans lines indented from `indent`. */
  private childValue(node: TreeNode, indent: string): string {
    if (node.kind === "layer") return node.layer!;
    if (node.kind === "tensor") {
      const p = node.param!;
      const empty = `torch.empty(${this.shapeTuple(this.paramShapes.get(p.id)!)}, dtype=${TORCH_DTYPES[p.outputs[0]!.dtype]})`;
      if (p.buffer) return empty;
      return p.trainable ? `nn.Parameter(${empty})` : `nn.Parameter(${empty}, requires_grad=False)`;
    }
    const inner = `${indent}        `;
    const entries = [...node.children].map(([k, v]) => `${inner}${pyString(k)}: ${this.childValue(v, inner)},`);
    return `Scope(\n${indent}    {\n${entries.join("\n")}\n${indent}    }\n${indent})`;
  }

  shapeTuple(shape: readonly (number | string)[]): string {
    return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  }

  /** dlm's initialiser arguments at the exported dims (`fan_in` becomes the bound 1/sqrt(fan_in), as lowering does). */
  private initArgs(p: ParamNode): string {
    const args: InitArgs = p.initArgs ?? {};
    const entries = Object.entries(args).map(([k, v]) => {
      const x = typeof v === "number" ? v : (v as Dim).evaluate(this.dims);
      if (x === undefined) throw new TorchExportError(`the initialiser of '${p.name}' depends on an unbound dim`, p.site);
      return k === "fan_in" ? `"bound": ${pyNumber(1 / Math.sqrt(x))}` : `${pyString(k)}: ${pyNumber(x)}`;
    });
    return `{${entries.join(", ")}}`;
  }

  private forwardDoc(): string {
    const ins = this.modelInputs().map((n) => (n as { name: string }).name);
    const outs = this.g.outputs.map((o) => o.name);
    return `forward(${ins.join(", ")}) returns ${outs.length === 1 ? outs[0] : `(${outs.join(", ")})`}${this.loss ? `; with return_loss=True and the train section's inputs, (that, loss)` : ""}.`;
  }

  // -------------------------------------------------------------------------
  // What the forward writer needs

  modelInputs(): Node[] {
    return this.g.inputs.map((id) => this.nodes[id]!).filter((n) => this.modelLive[n.id]);
  }

  trainInputs(): Node[] {
    return this.g.inputs.map((id) => this.nodes[id]!).filter((n) => !this.modelLive[n.id] && this.lossLive[n.id]);
  }

  get graph(): ModelGraph {
    return this.g;
  }

  get lossRef(): TensorRef | undefined {
    return this.loss;
  }

  regionNodes(region: number): readonly Node[] {
    return this.byRegion.get(region) ?? [];
  }

  isModelLive(id: number): boolean {
    return this.modelLive[id] === 1;
  }

  isLossLive(id: number): boolean {
    return this.lossLive[id] === 1;
  }

  reservedNames(): readonly string[] {
    return this.moduleNames;
  }

  private args?: Map<number, string>;

  /** forward's argument names: the model inputs, then the train inputs, mangled. */
  private argTable(): Map<number, string> {
    if (!this.args) {
      const namer = new Namer([...this.moduleNames, ...FORWARD_LOCALS]);
      this.args = new Map([...this.modelInputs(), ...this.trainInputs()].map((n) => [n.id, namer.fresh((n as { name: string }).name)]));
    }
    return this.args;
  }

  argName(id: number): string {
    return this.argTable().get(id)!;
  }

  argNames(): string[] {
    return [...this.argTable().values()];
  }

  dimValue(name: string): number | undefined {
    return this.dims.get(name);
  }

  useHelper(h: TorchHelper): string {
    for (const dep of HELPER_NEEDS[h] ?? []) this.useHelper(dep);
    this.helpers.add(h);
    return HELPER_NAMES[h];
  }

  private helperTexts(): string[] {
    return (Object.keys(HELPERS) as TorchHelper[]).filter((h) => this.helpers.has(h)).map((h) => HELPERS[h]);
  }

  /**
   * The mapping context of op node `n`. `forLayer`: for the layer constructor in __init__
   * (constants only); else `operand` and `sizeVar` supply the forward's expressions.
   */
  context(
    n: OpNode,
    forLayer: boolean,
    operand?: (ref: TensorRef, spec: InputSpec | undefined) => string,
    sizeVar?: (sym: string) => string,
    device?: () => string,
    floatType?: () => string,
  ): TorchContext {
    const py = (v: AttrValue | undefined): string => this.py(v, forLayer ? undefined : sizeVar);
    const path = this.layerPath.get(n.id);
    return {
      inputs: n.inputs.map((r, i) => (r === null ? undefined : forLayer ? "x" : operand!(r, inputSpec(n, i)))),
      inputTypes: n.inputs.map((r) => (r === null ? undefined : typeOfRef(this.g, r))),
      tensor: (i) => {
        const r = n.inputs[i];
        if (!r) throw new Error(`input ${i} of ${n.op.name} is absent`);
        return forLayer ? "x" : operand!(r, undefined);
      },
      outputs: n.outputs,
      attrs: n.attrs,
      params: forLayer ? [] : n.params.map((p) => this.paramAccess(p)),
      paramShapes: n.params.map((p) => this.paramShapes.get(p)!),
      ...(path && !forLayer ? { layer: this.access(path) } : {}),
      training: "self.training",
      get device(): string {
        return device ? device() : "None";
      },
      py,
      int: (name) => {
        const v = n.attrs[name];
        const c = v instanceof Dim ? v.constant : typeof v === "number" && Number.isInteger(v) ? v : undefined;
        if (c === undefined) throw new TorchExportError(`'${name}' of ${n.op.name} must be known at export time`, n.site);
        return c;
      },
      dtype: (d) => (d === "f32" && floatType ? floatType() : TORCH_DTYPES[d]),
      helper: (h) => this.useHelper(h),
    };
  }

  /** A value as a Python literal; symbolic dims through `sizeVar` (none in a layer constructor). */
  py(v: AttrValue | undefined, sizeVar?: (sym: string) => string): string {
    if (v === undefined || v === null) return "None";
    if (v instanceof Dim) {
      const c = v.constant;
      if (c !== undefined) return String(c);
      if (!sizeVar) throw new SymbolicInLayer();
      return v.render({
        symbol: sizeVar,
        op: (kind, a, b) => (kind === "floordiv" ? `(${a} // ${b})` : kind === "mod" ? `(${a} % ${b})` : `${kind}(${a}, ${b})`),
      });
    }
    if (typeof v === "number") return pyNumber(v);
    if (typeof v === "boolean") return v ? "True" : "False";
    if (typeof v === "string") return pyString(v);
    const items = (v as readonly AttrValue[]).map((x) => this.py(x, sizeVar));
    return items.length === 1 ? `(${items[0]},)` : `(${items.join(", ")})`;
  }

  // -------------------------------------------------------------------------
  // Training template

  private trainingText(): string {
    return new TrainingWriter(this, this.train).write();
  }

  get modelClass(): string {
    return this.className;
  }

  integerRange(inputId: number): number {
    return integerRange(this.g, inputId);
  }

  paramNodes(): ParamNode[] {
    return this.nodes.filter((n): n is ParamNode => n.kind === "param");
  }

  /** Trainable parameters the loss does not reach (DDP must be told to expect them). */
  hasUnusedParams(): boolean {
    return this.paramNodes().some((p) => p.trainable && !p.buffer && !this.lossLive[p.id]);
  }
}

/** The input spec of tensor input `i` of an op (a variadic input covers the rest). */
function inputSpec(n: OpNode, i: number): InputSpec | undefined {
  const specs = n.op.inputs;
  const v = specs.findIndex((s) => s.variadic);
  return v >= 0 && i >= v ? specs[v] : specs[i];
}

// ---------------------------------------------------------------------------
// forward

class ForwardWriter {
  private readonly namer: Namer;
  private readonly values = new Map<string, string>();
  /** symbol → its local variable, for the symbols the body used */
  private readonly sizes = new Map<string, string>();
  private usesDevice = false;
  private usesFloatType = false;

  constructor(
    private readonly w: TorchWriter,
    private readonly L: Lines,
  ) {
    this.namer = new Namer([...w.reservedNames(), ...w.argNames(), ...FORWARD_LOCALS]);
    for (const o of w.graph.outputs) this.resultNames.set(`${o.ref.node}:${o.ref.index}`, o.name);
    if (w.lossRef) this.resultNames.set(`${w.lossRef.node}:${w.lossRef.index}`, "loss");
  }

  /** the model's outputs (and the loss) take their own names */
  private readonly resultNames = new Map<string, string>();

  write(): void {
    const { L, w } = this;
    const g = w.graph;
    const args = w.modelInputs().map((n) => this.bindInput(n));
    const trainArgs = w.lossRef ? w.trainInputs().map((n) => this.bindInput(n)) : [];
    const signature = ["self", ...args, ...(w.lossRef ? ["*", ...trainArgs.map((a) => `${a}=None`), "return_loss=False"] : [])];
    L.line(`def forward(${signature.join(", ")}):`);
    L.indented(() => {
      const body = new Lines();
      this.emitRegion(0, body, (id) => w.isModelLive(id));
      const outputs = g.outputs.map((o) => this.value(o.ref));
      const result = outputs.length === 1 ? outputs[0]! : `(${outputs.join(", ")})`;
      const modelSizes = [...this.sizes];
      const lossBody = new Lines();
      if (w.lossRef) this.emitRegion(0, lossBody, (id) => w.isLossLive(id) && !w.isModelLive(id));
      const lossSizes = [...this.sizes].slice(modelSizes.length);
      // size variables from the inputs' shapes (loss-only ones also from the train inputs), then the body
      for (const line of this.sizeLines(modelSizes, w.modelInputs())) L.line(line);
      if (this.usesDevice) L.line(`device = ${this.deviceSource(args)}`);
      if (this.usesFloatType)
        L.line(`dtype = ${this.floatTypeSource()}  # ${"f32 in dlm: the module's float type (model.double() widens it)"}`);
      for (const line of body.out) L.line(line);
      if (!w.lossRef) {
        L.line(`return ${result}`);
        return;
      }
      L.line("if not return_loss:");
      L.indented(() => L.line(`return ${result}`));
      for (const a of trainArgs) {
        L.line(`if ${a} is None:`);
        L.indented(() => L.line(`raise ValueError(${pyString(`the loss needs ${a}`)})`));
      }
      for (const line of this.sizeLines(lossSizes, [...w.modelInputs(), ...w.trainInputs()])) L.line(line);
      for (const line of lossBody.out) L.line(line);
      L.line(`return ${result}, ${this.value(w.lossRef)}`);
    });
  }

  private bindInput(n: Node): string {
    const name = this.w.argName(n.id);
    this.values.set(`${n.id}:0`, name);
    return name;
  }

  /** Where the forward's new tensors go: the first input's device, else a parameter's. */
  private deviceSource(args: readonly string[]): string {
    if (args.length > 0) return `${args[0]}.device`;
    return "next(iter(self.parameters()), torch.empty(0)).device";
  }

  /** `T = tokens.shape[1]` for each used size symbol: from an input's shape, else the export's value. */
  private sizeLines(syms: readonly [string, string][], inputs: readonly Node[]): string[] {
    return syms.map(([sym, v]) => {
      for (const n of inputs) {
        const axis = n.outputs[0]!.shape.findIndex((d) => d.symbols().size === 1 && d.equals(Dim.sym(sym)));
        if (axis >= 0) return `${v} = ${this.values.get(`${n.id}:0`)}.shape[${axis}]`;
      }
      const value = this.w.dimValue(sym);
      if (value === undefined)
        throw new TorchExportError(`the size ${sym} cannot be read from the model's inputs and has no value; give one (--dim ${sym}=...)`);
      return `${v} = ${value}  # ${pyComment(`the value of ${sym} at export`)}`;
    });
  }

  private sizeVar = (sym: string): string => {
    let v = this.sizes.get(sym);
    if (!v) this.sizes.set(sym, (v = this.namer.fresh(sym)));
    return v;
  };

  private device = (): string => {
    this.usesDevice = true;
    return "device";
  };

  private floatType = (): string => {
    this.usesFloatType = true;
    return "dtype";
  };

  /** the float type of the first float input, else of the parameters, else torch's default */
  private floatTypeSource(): string {
    const float = this.w.modelInputs().find((n) => isFloat(n.outputs[0]!.dtype));
    if (float) return `${this.w.argName(float.id)}.dtype`;
    return "next((p.dtype for p in self.parameters() if p.is_floating_point()), torch.get_default_dtype())";
  }

  private value(ref: TensorRef): string {
    const v = this.values.get(`${ref.node}:${ref.index}`);
    if (v !== undefined) return v;
    const n = this.w.graph.nodes[ref.node]!;
    if (n.kind === "const") return this.constant(n, true);
    // a parameter read as a tensor (`param w`, a tied `wte.weight`)
    if (n.kind === "param") return this.w.paramAccess(n.id);
    throw new Error(`internal: value of node ${ref.node} used before it is computed`);
  }

  /** A constant: a number literal where the op takes plain numbers, else a tensor. */
  private constant(n: Extract<Node, { kind: "const" }>, scalar: boolean): string {
    const t = n.outputs[0]!;
    const v = n.value;
    const lit =
      typeof v === "boolean" ? (v ? "True" : "False") : v instanceof Dim ? this.w.py(v, this.sizeVar) : pyNumber(v, !isFloat(t.dtype));
    if (scalar && t.shape.length === 0) return lit;
    const dtype = `dtype=${t.dtype === "f32" ? this.floatType() : TORCH_DTYPES[t.dtype]}, device=${this.device()}`;
    if (t.shape.length === 0) return `torch.tensor(${lit}, ${dtype})`;
    return `torch.full(${this.w.shapeTuple(t.shape.map((d) => this.w.py(d, this.sizeVar)))}, ${lit}, ${dtype})`;
  }

  private operand = (ref: TensorRef, spec: InputSpec | undefined): string => {
    const n = this.w.graph.nodes[ref.node]!;
    if (n.kind === "const") return this.constant(n, spec?.acceptsScalar === true);
    return this.value(ref);
  };

  /** The local name for the outputs of a node of `instance`: its last path component (with the one before, for a bare index). */
  private localName(instance: string): string {
    const parts = instance.split(".").filter((p) => p !== "");
    const last = parts[parts.length - 1] ?? "t";
    return /^\d+$/.test(last) && parts.length > 1 ? `${parts[parts.length - 2]}_${last}` : last;
  }

  private emitRegion(region: number, L: Lines, include: (id: number) => boolean): void {
    for (const n of this.w.regionNodes(region)) {
      if (region === 0 && !include(n.id)) continue;
      if (n.kind === "op") this.emitOp(n, L);
      else if (n.kind === "scan") this.emitScan(n, L);
    }
  }

  private emitOp(n: OpNode, L: Lines): void {
    const ctx = this.w.context(n, false, this.operand, this.sizeVar, this.device, this.floatType);
    const result = n.op.torch!.forward(ctx);
    const base = this.localName(n.instance);
    const names = n.outputs.map((_, i) =>
      this.namer.fresh(this.resultNames.get(`${n.id}:${i}`) ?? (n.outputs.length === 1 ? base : `${base}_${i}`)),
    );
    if (typeof result === "string") L.line(`${names.join(", ")} = ${result}`);
    else {
      if (result.length !== names.length)
        throw new Error(`internal: the torch mapping of ${n.op.name} gave ${result.length} outputs for ${names.length}`);
      result.forEach((r, i) => L.line(`${names[i]} = ${r}`));
    }
    names.forEach((name, i) => this.values.set(`${n.id}:${i}`, name));
  }

  /** A scan as a Python loop over the sequence axis; step outputs stacked, final states after them. */
  private emitScan(n: ScanNode, L: Lines): void {
    const { body } = n;
    const base = this.localName(n.instance);
    const seqs = n.inputs.slice(0, n.sequenceCount).map((r) => this.value(r));
    const t = this.namer.fresh("t");
    const stateVars = body.stateInputs.map((id) => this.namer.fresh(this.localName((this.w.graph.nodes[id] as { name: string }).name)));
    const steps = body.stepOutputs.map((_, i) => this.namer.fresh(body.stepOutputs.length === 1 ? `${base}_steps` : `${base}_steps_${i}`));
    L.line(`# ${pyComment(`scan of ${n.instance} over axis ${n.axis}${n.reverse ? ", last step first" : ""}`)}`);
    if (stateVars.length > 0)
      L.line(
        `${stateVars.join(", ")} = ${n.inputs
          .slice(n.sequenceCount)
          .map((r) => this.value(r))
          .join(", ")}`,
      );
    for (const s of steps) L.line(`${s} = []`);
    const trips = seqs.length > 0 ? `${seqs[0]}.shape[${n.axis}]` : this.w.py(n.trips, this.sizeVar);
    L.line(`for ${t} in ${n.reverse ? `reversed(range(${trips}))` : `range(${trips})`}:`);
    L.indented(() => {
      body.stepInputs.forEach((id, i) => {
        const v = this.namer.fresh(this.localName((this.w.graph.nodes[id] as { name: string }).name));
        L.line(`${v} = ${seqs[i]}.select(${n.axis}, ${t})`);
        this.values.set(`${id}:0`, v);
      });
      body.stateInputs.forEach((id, j) => this.values.set(`${id}:0`, stateVars[j]!));
      this.emitRegion(body.region, L, () => true);
      body.stepOutputs.forEach((r, i) => L.line(`${steps[i]}.append(${this.value(r)})`));
      if (stateVars.length > 0) L.line(`${stateVars.join(", ")} = ${body.stateOutputs.map((r) => this.value(r)).join(", ")}`);
    });
    steps.forEach((s, i) => {
      if (n.reverse) L.line(`${s}.reverse()`);
      const out = this.namer.fresh(body.stepOutputs.length === 1 ? base : `${base}_${i}`);
      L.line(`${out} = torch.stack(${s}, ${n.axis})`);
      this.values.set(`${n.id}:${i}`, out);
    });
    stateVars.forEach((v, j) => this.values.set(`${n.id}:${steps.length + j}`, v));
  }
}

// ---------------------------------------------------------------------------
// The training template

/** The exclusive bound of an integer input's values, read off what consumes it (synthetic data); 2 when nothing says. */
function integerRange(g: ModelGraph, inputId: number): number {
  const aliases = new Set([inputId]);
  for (const n of g.nodes) {
    if (n.kind !== "op" || !n.inputs.some((r) => r && aliases.has(r.node))) continue;
    const at = n.inputs.findIndex((r) => r && aliases.has(r.node));
    if (n.op.category === "shape" && at === 0) aliases.add(n.id);
    else if (n.op.name === "embedding") return (n.attrs.num as Dim).constant ?? 2;
    else if (n.op.name === "one_hot") return (n.attrs.depth as Dim | undefined)?.constant ?? 2;
    else if (n.op.category === "loss" && at === 1) {
      const logits = typeOfRef(g, n.inputs[0]!);
      return logits.shape[logits.shape.length - 1]?.constant ?? 2;
    }
  }
  return 2;
}

const OPTIMIZERS: Readonly<
  Record<string, { readonly cls: string; readonly args: (a: Readonly<Record<string, number | boolean>>) => string[] }>
> = {
  sgd: { cls: "torch.optim.SGD", args: (a) => kw({ momentum: a.momentum, dampening: a.dampening, nesterov: a.nesterov }) },
  momentum: { cls: "torch.optim.SGD", args: (a) => kw({ momentum: a.beta ?? 0.9, dampening: a.dampening }) },
  nesterov: { cls: "torch.optim.SGD", args: (a) => kw({ momentum: a.beta ?? 0.9, nesterov: true }) },
  adagrad: {
    cls: "torch.optim.Adagrad",
    args: (a) => kw({ lr_decay: a.lr_decay, eps: a.eps, initial_accumulator_value: a.initial_accumulator }),
  },
  rmsprop: { cls: "torch.optim.RMSprop", args: (a) => kw({ alpha: a.alpha, eps: a.eps, momentum: a.momentum, centered: a.centered }) },
  adam: { cls: "torch.optim.Adam", args: adamArgs },
  adamw: { cls: "torch.optim.AdamW", args: adamArgs },
};

/** dlm's default weight decay per optimiser (torch's): AdamW decays by default. */
const DEFAULT_DECAY: Readonly<Record<string, number>> = { adamw: 1e-2 };

function adamArgs(a: Readonly<Record<string, number | boolean>>): string[] {
  const betas =
    a.beta1 !== undefined || a.beta2 !== undefined
      ? `(${pyNumber(Number(a.beta1 ?? 0.9))}, ${pyNumber(Number(a.beta2 ?? 0.999))})`
      : undefined;
  return [...(betas ? [`betas=${betas}`] : []), ...kw({ eps: a.eps, amsgrad: a.amsgrad })];
}

function kw(args: Readonly<Record<string, number | boolean | undefined>>): string[] {
  return Object.entries(args)
    .filter((e): e is [string, number | boolean] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${typeof v === "boolean" ? (v ? "True" : "False") : pyNumber(v)}`);
}

class TrainingWriter {
  constructor(
    private readonly w: TorchWriter,
    private readonly train: TrainSetup | undefined,
  ) {}

  write(): string {
    const unsupported = this.unsupported();
    return [this.constants(), this.dataset(), this.optimizer(), this.schedule(), this.main(unsupported)].join("\n\n\n");
  }

  /** Why the template cannot train this model, if it cannot. */
  private unsupported(): string | undefined {
    if (!this.train) return `${this.w.graph.name} has no train section: add one (loss, optimizer) or train the module with your own loop`;
    if (this.train.phases.length > 0)
      return `the train section of ${this.w.graph.name} alternates phases (${this.train.phases.map((p) => p.name).join(", ")}), which this template does not: write the loop for them`;
    if (!this.w.lossRef) return `the train section of ${this.w.graph.name} has no loss`;
    const inputs = [...this.w.modelInputs(), ...this.w.trainInputs()];
    const unbatched = inputs.find((n) => !(n.outputs[0]!.shape[0]?.equals(Dim.sym("B")) ?? false));
    if (unbatched)
      return `the synthetic data of this template needs every input to start with the batch dim B, and '${(unbatched as { name: string }).name}' does not: write make_dataset for it`;
    return undefined;
  }

  private constants(): string {
    const params = this.w.paramNodes().filter((p) => p.trainable && !p.buffer);
    const noDecay = params.filter((p) => p.noDecay).map((p) => pyString(p.name));
    const scaled = params
      .filter((p) => p.lrScale !== undefined && p.lrScale !== 1)
      .map((p) => `${pyString(p.name)}: ${pyNumber(p.lrScale!)}`);
    const syms = new Set<string>();
    for (const n of [...this.w.modelInputs(), ...this.w.trainInputs()])
      for (const d of n.outputs[0]!.shape) for (const s of d.symbols()) syms.add(s);
    syms.delete("B");
    const dims = [...syms].sort().map((s) => {
      const v = this.w.dimValue(s);
      return `${pyString(s)}: ${v === undefined ? "None" : String(v)}`;
    });
    return [
      `# ${"Sizes of the symbolic dims other than the batch (--dim NAME=VALUE overrides)."}`,
      `DIMS = {${dims.join(", ")}}`,
      `# ${"Parameters dlm leaves out of weight decay (biases, norm scales, @no_decay), and @lr multipliers."}`,
      `NO_DECAY = {${noDecay.join(", ")}}`,
      `LR_SCALE = {${scaled.join(", ")}}`,
    ].join("\n");
  }

  /** make_dataset: synthetic tensors shaped like the inputs, in forward's order. */
  private dataset(): string {
    const L = new Lines();
    const inputs = [...this.w.modelInputs(), ...this.w.trainInputs()];
    L.line("def make_dataset(examples, dims, seed):");
    L.indented(() => {
      L.line('"""Synthetic data shaped like the model\'s inputs (then the train section\'s), in the order');
      L.line('forward takes them. Replace it with your own Dataset yielding the same tuples."""');
      L.line("g = torch.Generator().manual_seed(seed)");
      const names: string[] = [];
      inputs.forEach((n, i) => {
        const t = n.outputs[0]!;
        const v = `x${i}`;
        names.push(v);
        const shape = this.w.shapeTuple(t.shape.map((d, k) => (k === 0 ? "examples" : this.dimExpr(d))));
        const dtype = TORCH_DTYPES[t.dtype];
        L.line(`# ${pyComment((n as { name: string }).name)}`);
        if (isFloat(t.dtype)) L.line(`${v} = torch.randn(${shape}, generator=g, dtype=${dtype})`);
        else if (isInteger(t.dtype)) L.line(`${v} = torch.randint(0, ${this.w.integerRange(n.id)}, ${shape}, generator=g, dtype=${dtype})`);
        else {
          L.line(`${v} = torch.rand(${shape}, generator=g) < 0.9`);
          if (t.shape.length > 1) L.line(`${v}[..., 0] = True  # ${"no all-false row (a padding mask keeps one token)"}`);
        }
      });
      L.line(`return TensorDataset(${names.join(", ")})`);
    });
    return L.out.join("\n");
  }

  private dimExpr(d: Dim): string {
    return this.w.py(d, (s) => `dims[${pyString(s)}]`);
  }

  private optimizer(): string {
    const L = new Lines();
    const opt = this.train?.optimizer;
    const spec = OPTIMIZERS[opt?.name ?? "adam"]!;
    const args = opt?.args ?? {};
    const decay =
      typeof args.weight_decay === "number" ? args.weight_decay : (this.train?.weightDecay ?? DEFAULT_DECAY[opt?.name ?? "adam"] ?? 0);
    L.line("def make_optimizer(model, lr):");
    L.indented(() => {
      L.line(
        `"""${pyComment(`The train section's optimizer (${opt?.name ?? "adam"}) with dlm's parameter groups: no decay for NO_DECAY, lr x LR_SCALE.`)}"""`,
      );
      L.line("groups = {}");
      L.line("for name, p in model.named_parameters():");
      L.indented(() => {
        L.line("if p.requires_grad:");
        L.indented(() => L.line("groups.setdefault((LR_SCALE.get(name, 1.0), name not in NO_DECAY), []).append(p)"));
      });
      L.line("param_groups = [");
      L.indented(() =>
        L.line(`{"params": ps, "lr": lr * scale, "lr_scale": scale, "weight_decay": ${pyNumber(decay)} if decays else 0.0}`),
      );
      L.indented(() => L.line("for (scale, decays), ps in groups.items()"));
      L.line("]");
      L.line(`return ${spec.cls}(${["param_groups", "lr=lr", ...spec.args(args)].join(", ")})`);
    });
    return L.out.join("\n");
  }

  /** lr_at(step, lr): the train section's schedule, as dlm counts it (optimiser steps). */
  private schedule(): string {
    const L = new Lines();
    const s = this.train?.schedule;
    const a = s?.args ?? {};
    L.line("def lr_at(step, lr):");
    L.indented(() => {
      L.line(
        `"""${pyComment(`The learning rate of optimiser step \`step\` (from 0): ${s ? s.name : "constant"}, as dlm schedules it.`)}"""`,
      );
      const warmup = s?.name === "warmup" ? (a.steps ?? 0) : (a.warmup ?? 0);
      if (warmup > 0) {
        L.line(`if step < ${warmup}:`);
        L.indented(() => L.line(`return lr * (step + 1) / ${warmup}`));
        L.line(`step -= ${warmup}`);
      }
      if (s?.name === "step_lr") L.line(`return lr * ${pyNumber(a.gamma ?? 0.1)} ** (step // ${a.every ?? 1})`);
      else if (s?.name === "cosine") {
        const total = (a.steps ?? 1) - warmup;
        const min = pyNumber(a.min_lr ?? 0);
        L.line(`if step >= ${total}:`);
        L.indented(() => L.line(`return ${min}`));
        L.line(`return ${min} + (lr - ${min}) * (1 + math.cos(math.pi * step / ${total})) / 2`);
      } else L.line("return lr");
    });
    return L.out.join("\n");
  }

  private main(unsupported: string | undefined): string {
    const L = new Lines();
    const t = this.train;
    const name = this.w.graph.name;
    L.line("def main(argv=None):");
    L.indented(() => {
      L.line(`"""Trains ${this.w.modelClass} with DistributedDataParallel: python -m torch.distributed.run --nproc_per_node N this.py"""`);
      if (unsupported) {
        L.line(`raise SystemExit(${pyString(unsupported)})`);
        return;
      }
      const file = pyString(`${mangle(name, "model")}.safetensors`);
      L.line(`parser = argparse.ArgumentParser(description=${pyString(`Train ${name} (exported by dlm) with DistributedDataParallel.`)})`);
      L.line(`parser.add_argument("--epochs", type=int, default=${t!.epochs ?? 1})`);
      L.line(`parser.add_argument("--steps", type=int, default=None, help="stop after this many optimiser steps")`);
      L.line(`parser.add_argument("--batch", type=int, default=${t!.batch ?? 32}, help="examples per process and step")`);
      L.line(`parser.add_argument("--lr", type=float, default=${pyNumber(Number(t!.optimizer.args.lr ?? defaultLr(t!.optimizer.name)))})`);
      L.line(`parser.add_argument("--seed", type=int, default=${t!.seed ?? 0})`);
      L.line(`parser.add_argument("--examples", type=int, default=1024, help="size of the synthetic dataset")`);
      L.line(`parser.add_argument("--dim", action="append", default=[], metavar="NAME=VALUE", help="a symbolic dim's size")`);
      L.line(`parser.add_argument("--weights", help="start from a dlm safetensors file (default: dlm's initialisation)")`);
      L.line(`parser.add_argument("--save", default=${file}, help="checkpoint rank 0 writes at the end (dlm reads it)")`);
      L.line(`parser.add_argument("--log-every", type=int, default=10)`);
      L.line("args = parser.parse_args(argv)");
      L.line("dims = dict(DIMS)");
      L.line("for item in args.dim:");
      L.indented(() => {
        L.line('key, _, value = item.partition("=")');
        L.line("if key not in dims or not value.isdigit():");
        L.indented(() => L.line('parser.error(f"--dim {item}: expected NAME=VALUE with NAME one of {sorted(dims)}")'));
        L.line("dims[key] = int(value)");
      });
      L.line("missing = [k for k, v in dims.items() if v is None]");
      L.line("if missing:");
      L.indented(() => L.line('parser.error(f"give --dim {missing[0]}=VALUE")'));
      L.line();
      L.line('distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1');
      L.line('local_rank = int(os.environ.get("LOCAL_RANK", "0"))');
      L.line('device = torch.device("cuda", local_rank) if torch.cuda.is_available() else torch.device("cpu")');
      L.line('if device.type == "cuda":');
      L.indented(() => L.line("torch.cuda.set_device(device)"));
      L.line("if distributed:");
      L.indented(() => L.line('dist.init_process_group("nccl" if device.type == "cuda" else "gloo")'));
      L.line("rank = dist.get_rank() if distributed else 0");
      L.line("torch.manual_seed(args.seed)  # the same initial weights on every rank");
      L.line(`model = ${this.w.modelClass}().to(device)`);
      L.line("if args.weights:");
      L.indented(() => L.line("load_dlm_weights(model, args.weights)"));
      L.line("net = model");
      L.line("if distributed:");
      L.indented(() =>
        L.line(
          `net = DDP(model, device_ids=[local_rank] if device.type == "cuda" else None${this.w.hasUnusedParams() ? ", find_unused_parameters=True" : ""})`,
        ),
      );
      L.line("data = make_dataset(args.examples, dims, args.seed)");
      L.line("sampler = DistributedSampler(data, shuffle=True, seed=args.seed, drop_last=True) if distributed else None");
      L.line("order = torch.Generator().manual_seed(args.seed)  # the data order, on one process");
      L.line("loader = DataLoader(data, batch_size=args.batch, shuffle=sampler is None, sampler=sampler, drop_last=True, generator=order)");
      L.line("optimizer = make_optimizer(model, args.lr)");
      const accumulate = t!.accumulate > 1 ? t!.accumulate : 1;
      if (t!.augment.length > 0) L.line(`# ${"dlm's augment setting is not reproduced here: add torchvision transforms to your dataset"}`);
      L.line("step = 0");
      if (accumulate > 1) L.line("micro = 0");
      L.line("for epoch in range(args.epochs):");
      L.indented(() => {
        L.line("if sampler is not None:");
        L.indented(() => L.line("sampler.set_epoch(epoch)"));
        L.line("net.train()");
        L.line("for batch in loader:");
        L.indented(() => {
          L.line("if args.steps is not None and step >= args.steps:");
          L.indented(() => L.line("break"));
          L.line("batch = [t.to(device) for t in batch]");
          const nModel = this.w.modelInputs().length;
          const trainNames = this.forwardTrainArgs();
          const call = [
            ...Array.from({ length: nModel }, (_, i) => `batch[${i}]`),
            ...trainNames.map((a, i) => `${a}=batch[${nModel + i}]`),
            "return_loss=True",
          ].join(", ");
          if (accumulate > 1) {
            L.line(`last = (micro + 1) % ${accumulate} == 0`);
            L.line("with net.no_sync() if distributed and not last else contextlib.nullcontext():");
            L.indented(() => {
              L.line(`_, loss = net(${call})`);
              L.line(`(loss / ${accumulate}).backward()`);
            });
            L.line("micro += 1");
            L.line("if not last:");
            L.indented(() => L.line("continue"));
          } else {
            L.line(`_, loss = net(${call})`);
            L.line("loss.backward()");
          }
          L.line("for group in optimizer.param_groups:");
          L.indented(() => L.line('group["lr"] = lr_at(step, args.lr) * group["lr_scale"]'));
          if (t!.clipValue !== undefined) L.line(`torch.nn.utils.clip_grad_value_(model.parameters(), ${pyNumber(t!.clipValue)})`);
          if (t!.clipNorm !== undefined) L.line(`torch.nn.utils.clip_grad_norm_(model.parameters(), ${pyNumber(t!.clipNorm)})`);
          L.line("optimizer.step()");
          L.line("optimizer.zero_grad(set_to_none=True)");
          L.line("step += 1");
          L.line("if rank == 0 and (step == 1 or step % args.log_every == 0):");
          L.indented(() => L.line('print(f"epoch {epoch + 1} step {step} loss {loss.item():.6f}", flush=True)'));
        });
      });
      L.line("if rank == 0:");
      L.indented(() => {
        L.line("save_dlm_weights(model, args.save)");
        L.line('print(f"saved {args.save} after {step} steps", flush=True)');
      });
      L.line("if distributed:");
      L.indented(() => L.line("dist.destroy_process_group()"));
    });
    return L.out.join("\n");
  }

  /** forward's keyword names of the train inputs. */
  private forwardTrainArgs(): string[] {
    return this.w.trainInputs().map((n) => this.w.argName(n.id));
  }
}

function defaultLr(optimizer: string): number {
  return optimizer === "adagrad" || optimizer === "rmsprop" ? 1e-2 : 1e-3;
}
