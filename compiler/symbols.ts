// Name binding over the AST, for editors: every name a file defines (blocks, models,
// consts, import aliases, hyperparameters, inputs, states, params, layers, bindings,
// outputs, symbolic dims, loop variables) and every use of one, with source ranges. It
// follows the elaborator's scoping rules (statements in order, a `for` loop reassigns in
// its enclosing scope, `if` branches and comprehensions open a scope, a `train` section
// sees its model's names, an unknown name in an input type or ascription binds a dim) but
// needs no elaboration, so it works on blocks no model uses and on half-typed files.

import type {
  AnyNode,
  Annotation,
  Argument,
  BlockDecl,
  BlockExpr,
  DlmFile,
  Expr,
  Identifier,
  SourceRange,
  Stmt,
  TensorTypeExpr,
  TrainDecl,
} from "../grammar/ast.js";
import { BUILTINS, INIT_NAMES } from "./elaborate.js";
import { getOp, isDType } from "./ops/index.js";
import type { Declaration, Program } from "./program.js";
import { TRAIN_BUILTINS } from "./train.js";

export type SymbolKind =
  | "model"
  | "block"
  | "const"
  | "module"
  | "hyperparameter"
  | "input"
  | "state"
  | "param"
  | "layer"
  | "binding"
  | "output"
  | "dim"
  | "variable";

export interface SymbolDef {
  readonly name: string;
  readonly kind: SymbolKind;
  readonly file: string;
  /** the defining name */
  readonly range: SourceRange;
  /** the whole declaration or statement */
  readonly declRange: SourceRange;
  /** the declaring node: BlockDecl, ConstDecl, ImportDecl, HyperParam, TypedName, ParamDecl, ... */
  readonly node: AnyNode;
  /** the block or model (or train section's model) the name is local to */
  readonly container?: SymbolDef;
  /** where the name can be seen, for locals */
  readonly scope?: SourceRange;
  /** `import ... as m`: the file m names */
  readonly moduleFile?: string;
  readonly doc?: string;
}

export interface SymbolReference {
  readonly range: SourceRange;
  readonly target: SymbolDef;
  /** a `next h`, a reassignment in a loop, or a named argument of a block call */
  readonly role?: "assignment" | "argument";
}

/** A name the language provides: an operator, a compile-time builtin, a training builtin. */
export interface BuiltinUse {
  readonly range: SourceRange;
  readonly name: string;
  /** a named argument `kernel:` of a call to `name` */
  readonly argument?: string;
}

export interface SymbolIndex {
  readonly file: string;
  /** names defined in this file, in source order */
  readonly definitions: readonly SymbolDef[];
  /** uses of names in this file (the definition may be in another file), in source order */
  readonly references: readonly SymbolReference[];
  readonly builtins: readonly BuiltinUse[];
  /** names visible at the top level of the file (its own declarations and imports) */
  readonly topLevel: ReadonlyMap<string, SymbolDef>;
  /** `train` sections and the model whose names they see */
  readonly trainSections: readonly { readonly range: SourceRange; readonly model: SymbolDef }[];
  /** annotations written in this file: the range of `@name` and the name */
  readonly annotations: readonly { readonly range: SourceRange; readonly name: string }[];
}

/** Two definitions are the same when they start at the same place in the same file. */
export function symbolKey(d: SymbolDef): string {
  return `${d.file}#${d.range.start.offset}`;
}

/** A name the elaborator resolves without any declaration (ops, dtypes, builtins, initialisers). */
export function isPredefinedName(name: string): boolean {
  return getOp(name) !== undefined || isDType(name) || BUILTINS.has(name) || TRAIN_BUILTINS.has(name) || INIT_NAMES.has(name);
}

export function bindSymbols(program: Program, file: string): SymbolIndex {
  return new Binder(program, file).run();
}

class LocalScope {
  readonly names = new Map<string, SymbolDef>();
  constructor(readonly parent?: LocalScope) {}

  find(name: string): SymbolDef | undefined {
    for (let s: LocalScope | undefined = this; s; s = s.parent) {
      const d = s.names.get(name);
      if (d) return d;
    }
    return undefined;
  }
}

interface Context {
  readonly scope: LocalScope;
  readonly container: SymbolDef;
  /** the extent of the innermost scope, for `SymbolDef.scope` */
  readonly extent: SourceRange;
}

/** How a type expression binds: block inputs and ascriptions bind unknown dims, `param`/`state` types only read. */
type TypeMode = "binds-dims" | "reads";

class Binder {
  private readonly definitions: SymbolDef[] = [];
  private readonly references: SymbolReference[] = [];
  private readonly builtins: BuiltinUse[] = [];
  private readonly topLevel = new Map<string, SymbolDef>();
  /** definitions of declarations made in other files (imported blocks and their hyperparameters) */
  private readonly foreign = new Map<AnyNode, SymbolDef>();
  private readonly modelScopes = new Map<string, { scope: LocalScope; def: SymbolDef }>();
  private readonly blockDefs = new Map<BlockDecl, SymbolDef>();
  private readonly trainSections: { range: SourceRange; model: SymbolDef }[] = [];
  private readonly annotations: { range: SourceRange; name: string }[] = [];

  constructor(
    private readonly program: Program,
    private readonly file: string,
  ) {}

  run(): SymbolIndex {
    const ast = this.program.files.get(this.file)?.ast;
    if (ast) {
      this.bindTopLevel(ast);
      for (const item of ast.items) {
        if (item.kind === "Block") this.bindBlock(item, this.blockDefs.get(item)!);
        else if (item.kind === "Const") this.bindExpr(item.value, undefined);
      }
      // after every model, so a train section written before its model still sees its names
      for (const item of ast.items) if (item.kind === "Train") this.bindTrain(item);
    }
    this.definitions.sort((a, b) => a.range.start.offset - b.range.start.offset);
    this.references.sort((a, b) => a.range.start.offset - b.range.start.offset);
    return {
      file: this.file,
      definitions: this.definitions,
      references: this.references,
      builtins: this.builtins,
      topLevel: this.topLevel,
      trainSections: this.trainSections,
      annotations: this.annotations,
    };
  }

  // -------------------------------------------------------------------------
  // Definitions

  private define(def: SymbolDef): SymbolDef {
    if (def.name !== "" && def.file === this.file) this.definitions.push(def);
    return def;
  }

  /** A block or model of this file. */
  private declare(item: BlockDecl): SymbolDef {
    return this.define({
      name: item.name.name,
      kind: item.isModel ? "model" : "block",
      file: this.file,
      range: item.name.range,
      declRange: item.range,
      node: item,
      ...(item.doc ? { doc: item.doc } : {}),
    });
  }

  /** As the checker's scopes: a local declaration shadows an import; of two local ones the first stays. */
  private declareTopLevel(def: SymbolDef): void {
    const existing = this.topLevel.get(def.name);
    if (!existing || existing.file !== this.file || existing.kind === "module") this.topLevel.set(def.name, def);
  }

  private bindTopLevel(ast: DlmFile): void {
    for (const item of ast.items) {
      if (item.kind === "Import") {
        if (item.alias) {
          const target = this.program.scopes.get(this.file)?.get(item.alias.name);
          const def = this.define({
            name: item.alias.name,
            kind: "module",
            file: this.file,
            range: item.alias.range,
            declRange: item.range,
            node: item,
            ...(target?.kind === "module" ? { moduleFile: target.file } : {}),
            ...(item.doc ? { doc: item.doc } : {}),
          });
          if (!this.topLevel.has(def.name)) this.topLevel.set(def.name, def);
        }
      } else if (item.kind === "Block") {
        const def = this.declare(item);
        this.blockDefs.set(item, def);
        this.declareTopLevel(def);
      } else if (item.kind === "Const") {
        const def = this.define({
          name: item.name.name,
          kind: "const",
          file: this.file,
          range: item.name.range,
          declRange: item.range,
          node: item,
          ...(item.doc ? { doc: item.doc } : {}),
        });
        this.declareTopLevel(def);
      }
    }
    // names brought in by `import "x"` (no alias): the checker's scope has them
    for (const [name, d] of this.program.scopes.get(this.file) ?? [])
      if (!this.topLevel.has(name) && d.kind !== "module" && d.file !== this.file) this.topLevel.set(name, this.foreignDecl(d));
  }

  private foreignDecl(d: Exclude<Declaration, { kind: "module" }>): SymbolDef {
    const node = d.decl;
    const known = this.foreign.get(node);
    if (known) return known;
    const def: SymbolDef = {
      name: node.name.name,
      kind: node.kind === "Const" ? "const" : node.isModel ? "model" : "block",
      file: d.file,
      range: node.name.range,
      declRange: node.range,
      node,
      ...(node.doc ? { doc: node.doc } : {}),
    };
    this.foreign.set(node, def);
    return def;
  }

  /** The definition of a block's hyperparameter, for `Block(stride: 2)`; blocks of other files too. */
  private hyperParamOf(block: SymbolDef, name: string): SymbolDef | undefined {
    if (block.node.kind !== "Block") return undefined;
    const hp = block.node.params.find((p) => p.name.name === name);
    if (!hp) return undefined;
    if (block.file === this.file) return this.definitions.find((d) => d.node === hp);
    const known = this.foreign.get(hp);
    if (known) return known;
    const def: SymbolDef = {
      name,
      kind: "hyperparameter",
      file: block.file,
      range: hp.name.range,
      declRange: hp.range,
      node: hp,
      container: block,
      ...(hp.doc ? { doc: hp.doc } : {}),
    };
    this.foreign.set(hp, def);
    return def;
  }

  private local(ctx: Context, kind: SymbolKind, name: Identifier, declRange: SourceRange, node: AnyNode): SymbolDef | undefined {
    if (name.name === "") return undefined;
    const def = this.define({
      name: name.name,
      kind,
      file: this.file,
      range: name.range,
      declRange,
      node,
      container: ctx.container,
      scope: ctx.extent,
    });
    ctx.scope.names.set(name.name, def);
    return def;
  }

  /**
   * A binding, output or loop variable: a new name, or (in a loop, or by mistake) a new
   * value for one already bound in this block, which is a use of the first definition.
   */
  private assign(ctx: Context, kind: SymbolKind, name: Identifier, declRange: SourceRange, node: AnyNode): void {
    const existing = ctx.scope.find(name.name);
    if (existing) this.references.push({ range: name.range, target: existing, role: "assignment" });
    else this.local(ctx, kind, name, declRange, node);
  }

  // -------------------------------------------------------------------------
  // Blocks, models and train sections

  private bindBlock(decl: BlockDecl, def: SymbolDef): void {
    const scope = new LocalScope();
    const ctx: Context = { scope, container: def, extent: decl.range };
    for (const hp of decl.params) {
      if (hp.default) this.bindExpr(hp.default, ctx);
      if (hp.name.name === "") continue;
      const d = this.define({
        name: hp.name.name,
        kind: "hyperparameter",
        file: this.file,
        range: hp.name.range,
        declRange: hp.range,
        node: hp,
        container: def,
        scope: decl.range,
        ...(hp.doc ? { doc: hp.doc } : {}),
      });
      scope.names.set(hp.name.name, d);
    }
    this.bindAnnotations(decl.annotations, ctx);
    this.bindStatements(decl.body, ctx);
    if (decl.isModel && !this.modelScopes.has(decl.name.name)) this.modelScopes.set(decl.name.name, { scope, def });
  }

  private bindTrain(decl: TrainDecl): void {
    const model = this.modelScopes.get(decl.model.name);
    const modelDef = model?.def ?? this.topLevel.get(decl.model.name);
    if (modelDef) this.references.push({ range: decl.model.range, target: modelDef });
    if (!modelDef) return;
    this.trainSections.push({ range: decl.range, model: modelDef });
    const ctx: Context = { scope: new LocalScope(model?.scope), container: modelDef, extent: decl.range };
    this.bindAnnotations(decl.annotations, ctx);
    for (const s of decl.body) {
      if (s.kind === "Phase") {
        const phase: Context = { ...ctx, scope: new LocalScope(ctx.scope), extent: s.range };
        this.bindAnnotations(s.annotations, phase);
        this.bindStatements(s.body, phase);
      } else this.bindStatements([s], ctx);
    }
  }

  private bindStatements(body: readonly Stmt[], ctx: Context): void {
    for (const stmt of body) this.bindStatement(stmt, ctx);
  }

  private bindStatement(stmt: Stmt, ctx: Context): void {
    this.bindAnnotations(stmt.annotations, ctx);
    switch (stmt.kind) {
      case "Input":
        for (const item of stmt.items) {
          this.bindType(item.type, ctx, "binds-dims");
          this.local(ctx, "input", item.name, item.range, item);
        }
        return;
      case "State":
        for (const item of stmt.items) {
          this.bindType(item.type, ctx, "reads");
          if (item.init) this.bindExpr(item.init, ctx);
          this.local(ctx, "state", item.name, item.range, item);
        }
        return;
      case "Param":
        this.bindType(stmt.type, ctx, "reads");
        if (stmt.init) this.bindExpr(stmt.init, ctx);
        this.local(ctx, "param", stmt.name, stmt.range, stmt);
        return;
      case "Layer":
        this.bindExpr(stmt.value, ctx);
        this.assign(ctx, "layer", stmt.name, stmt.range, stmt);
        return;
      case "Output":
        this.bindExpr(stmt.value, ctx);
        if (stmt.type) this.bindType(stmt.type, ctx, "binds-dims");
        if (stmt.name) this.assign(ctx, "output", stmt.name, stmt.range, stmt);
        return;
      case "Next": {
        const state = ctx.scope.find(stmt.name.name);
        if (state) this.references.push({ range: stmt.name.range, target: state, role: "assignment" });
        this.bindExpr(stmt.value, ctx);
        return;
      }
      case "Binding":
        this.bindExpr(stmt.value, ctx);
        for (const t of stmt.targets) {
          if (t.type) this.bindType(t.type, ctx, "binds-dims");
          this.assign(ctx, "binding", t.name, stmt.range, t);
        }
        return;
      case "For": {
        this.bindExpr(stmt.iterable, ctx);
        // the loop variable and the names the body binds live in the enclosing scope
        this.assign(ctx, "variable", stmt.variable, stmt.range, stmt.variable);
        this.bindStatements(stmt.body, ctx);
        return;
      }
      case "ErrorStmt":
        return;
    }
  }

  private bindAnnotations(annotations: readonly Annotation[] | undefined, ctx: Context | undefined): void {
    for (const a of annotations ?? []) {
      this.annotations.push({ range: a.name.range, name: a.name.name });
      for (const arg of a.args) this.bindExpr(arg.value, ctx);
    }
  }

  private bindType(t: TensorTypeExpr, ctx: Context, mode: TypeMode): void {
    for (const d of t.dims) {
      if (d.kind === "Wildcard") continue;
      const { names, others } = splitArithmetic(d);
      for (const id of names) {
        // `f32[B, C, H * 2]`: in an input type or an ascription, names not yet known are dims bound here
        const binds = mode === "binds-dims" && id.name !== "" && !this.resolve(id.name, ctx) && !isPredefinedName(id.name);
        if (binds) this.local(ctx, "dim", id, id.range, id);
        else this.bindName(id, ctx);
      }
      for (const o of others) this.bindExpr(o, ctx);
    }
  }

  // -------------------------------------------------------------------------
  // Expressions

  private resolve(name: string, ctx: Context | undefined): SymbolDef | undefined {
    return ctx?.scope.find(name) ?? this.topLevel.get(name);
  }

  private bindName(id: Identifier, ctx: Context | undefined): SymbolDef | undefined {
    if (id.name === "") return undefined;
    const def = this.resolve(id.name, ctx);
    if (def) this.references.push({ range: id.range, target: def });
    else if (isPredefinedName(id.name)) this.builtins.push({ range: id.range, name: id.name });
    return def;
  }

  private bindExpr(e: Expr, ctx: Context | undefined): void {
    switch (e.kind) {
      case "Number":
      case "String":
      case "Bool":
      case "None":
      case "Missing":
        return;
      case "Identifier":
        this.bindName(e, ctx);
        return;
      case "Unary":
        this.bindExpr(e.operand, ctx);
        return;
      case "Binary":
        this.bindExpr(e.left, ctx);
        this.bindExpr(e.right, ctx);
        return;
      case "Pipe":
        this.bindExpr(e.head, ctx);
        for (const s of e.stages) this.bindExpr(s, ctx);
        return;
      case "Call":
        this.bindCall(e.callee, e.args, ctx);
        return;
      case "Index":
        this.bindExpr(e.target, ctx);
        for (const i of e.indices) {
          if (i.kind !== "Slice") this.bindExpr(i, ctx);
          else for (const part of [i.start, i.stop, i.step]) if (part) this.bindExpr(part, ctx);
        }
        return;
      case "Member":
        this.bindMember(e.target, e.member, ctx);
        return;
      case "Named":
        // `as conv1` names a layer instance, not a value
        this.bindExpr(e.value, ctx);
        if (e.index) this.bindExpr(e.index, ctx);
        return;
      case "List":
      case "Tuple":
        for (const x of e.elements) this.bindExpr(x, ctx);
        return;
      case "Comprehension": {
        this.bindExpr(e.iterable, ctx);
        const inner = ctx ? { ...ctx, scope: new LocalScope(ctx.scope), extent: e.range } : undefined;
        if (inner) this.local(inner, "variable", e.variable, e.range, e.variable);
        if (e.condition) this.bindExpr(e.condition, inner);
        this.bindExpr(e.element, inner);
        return;
      }
      case "Range":
        this.bindExpr(e.start, ctx);
        this.bindExpr(e.end, ctx);
        return;
      case "If":
        this.bindExpr(e.condition, ctx);
        this.bindBranch(e.then, ctx);
        if (e.else?.kind === "If") this.bindExpr(e.else, ctx);
        else if (e.else) this.bindBranch(e.else, ctx);
        return;
    }
  }

  private bindBranch(b: BlockExpr, ctx: Context | undefined): void {
    const inner = ctx ? { ...ctx, scope: new LocalScope(ctx.scope), extent: b.range } : undefined;
    if (inner) this.bindStatements(b.stmts, inner);
    this.bindExpr(b.result, inner);
  }

  private bindMember(target: Expr, member: Identifier, ctx: Context | undefined): SymbolDef | undefined {
    this.bindExpr(target, ctx);
    if (target.kind !== "Identifier") return undefined;
    const module = this.resolve(target.name, ctx);
    if (module?.kind !== "module" || !module.moduleFile) return undefined;
    const d = this.program.scopes.get(module.moduleFile)?.get(member.name);
    if (!d || d.kind === "module" || d.file !== module.moduleFile) return undefined;
    const def = this.foreignDecl(d);
    this.references.push({ range: member.range, target: def });
    return def;
  }

  private bindCall(callee: Expr, args: readonly Argument[], ctx: Context | undefined): void {
    let target: SymbolDef | undefined;
    let builtin: string | undefined;
    if (callee.kind === "Identifier") {
      target = this.bindName(callee, ctx);
      if (!target && isPredefinedName(callee.name)) builtin = callee.name;
    } else if (callee.kind === "Member") target = this.bindMember(callee.target, callee.member, ctx);
    else this.bindExpr(callee, ctx);
    for (const a of args) {
      if (a.name && a.name.name !== "") {
        const hp = target ? this.hyperParamOf(target, a.name.name) : undefined;
        if (hp) this.references.push({ range: a.name.range, target: hp, role: "argument" });
        else if (builtin) this.builtins.push({ range: a.name.range, name: builtin, argument: a.name.name });
      }
      this.bindExpr(a.value, ctx);
    }
  }
}

/** A dim expression's names (`H * 2` → H) apart from any other sub-expressions in it. */
function splitArithmetic(e: Expr): { names: Identifier[]; others: Expr[] } {
  const names: Identifier[] = [];
  const others: Expr[] = [];
  const visit = (x: Expr): void => {
    if (x.kind === "Identifier") names.push(x);
    else if (x.kind === "Binary") {
      visit(x.left);
      visit(x.right);
    } else if (x.kind === "Unary") visit(x.operand);
    else if (x.kind !== "Number") others.push(x);
  };
  visit(e);
  return { names, others };
}

/** The innermost definition or reference at an offset: what the cursor is on. */
export function symbolAt(index: SymbolIndex, offset: number): { def: SymbolDef; reference?: SymbolReference } | undefined {
  const within = (r: SourceRange): boolean => r.start.offset <= offset && offset <= r.end.offset;
  for (const r of index.references) if (within(r.range)) return { def: r.target, reference: r };
  for (const d of index.definitions) if (within(d.range)) return { def: d };
  return undefined;
}

/** Names visible at an offset: locals bound before it in the enclosing scopes, then the file's top level. */
export function visibleSymbols(index: SymbolIndex, offset: number): SymbolDef[] {
  const within = (r: SourceRange | undefined): boolean => r !== undefined && r.start.offset <= offset && offset <= r.end.offset;
  const train = index.trainSections.find((t) => within(t.range));
  const modelKey = train ? symbolKey(train.model) : undefined;
  const seen = new Set<string>();
  const out: SymbolDef[] = [];
  // innermost first: later definitions shadow earlier ones
  for (let i = index.definitions.length - 1; i >= 0; i--) {
    const d = index.definitions[i]!;
    if (!d.container || seen.has(d.name)) continue;
    const visible =
      (within(d.scope) && (d.kind === "hyperparameter" || d.kind === "dim" || d.range.end.offset <= offset)) ||
      // a train section sees the names its model's body binds (not those inside its branches)
      (modelKey !== undefined && symbolKey(d.container) === modelKey && d.scope?.start.offset === train!.model.declRange.start.offset);
    if (!visible) continue;
    seen.add(d.name);
    out.push(d);
  }
  for (const d of index.topLevel.values())
    if (!seen.has(d.name)) {
      seen.add(d.name);
      out.push(d);
    }
  return out;
}
