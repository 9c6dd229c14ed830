// One checked version of a document: the checker's result (diagnostics, and per model the
// graph and what elaboration learned about each name), the file's symbol index, and
// what the features read from them (a name's values, the layers at a place, a model's
// totals), derived on first use. An analysis never changes; an edit makes a new one.

import type { SourceRange } from "../../grammar/ast.js";
import { analyzeModel, countLayer, type ModelReport } from "../../compiler/analyze.js";
import { createDiagnostic, Diagnostics, type Diagnostic } from "../../compiler/diagnostics/index.js";
import type { ElaborateResult } from "../../compiler/elaborate.js";
import type { BlockApplication, ValueFact } from "../../compiler/facts.js";
import type { ModelGraph, OpNode } from "../../compiler/ir/graph.js";
import { checkFile, type CheckResult } from "../../compiler/pipeline.js";
import type { CompilerHost, SourceFile } from "../../compiler/program.js";
import { bindSymbols, type SymbolDef, type SymbolIndex } from "../../compiler/symbols.js";

export interface LayerFigures {
  readonly params: number;
  readonly macs: number;
  readonly flops: number;
}

/** An op node made by the source at some range, in one model's graph. */
export interface LayerSite {
  readonly model: ModelGraph;
  readonly node: OpNode;
}

export interface ApplicationSite {
  readonly model: ModelGraph;
  readonly application: BlockApplication;
}

const EMPTY_INDEX = (file: string): SymbolIndex => ({
  file,
  definitions: [],
  references: [],
  builtins: [],
  topLevel: new Map(),
  trainSections: [],
  annotations: [],
});

export function analyzeDocument(path: string, version: number, text: string, host: CompilerHost): DocumentAnalysis {
  let check: CheckResult;
  try {
    check = checkFile(path, host, { recordFacts: true });
  } catch (e) {
    // the checker reports its own failures as diagnostics; this is the last line of defence
    const diag = createDiagnostic(Diagnostics.Internal_error_0, path, WHOLE_START, [String((e as Error)?.message ?? e)]);
    check = { program: { entry: path, files: new Map(), scopes: new Map(), diagnostics: [] }, models: new Map(), diagnostics: [diag] };
  }
  let symbols: SymbolIndex;
  try {
    symbols = bindSymbols(check.program, path);
  } catch {
    symbols = EMPTY_INDEX(path);
  }
  return new DocumentAnalysis(path, version, text, check, symbols);
}

const WHOLE_START: SourceRange = { start: { offset: 0, line: 1, column: 1 }, end: { offset: 0, line: 1, column: 1 } };

export class DocumentAnalysis {
  private factsByOffset?: Map<number, ValueFact>;
  private factsByKey?: Map<string, ValueFact>;
  private layerSites?: LayerSite[];
  private applicationSites?: ApplicationSite[];
  private readonly totals = new Map<string, ModelReport | undefined>();

  constructor(
    readonly path: string,
    readonly version: number,
    readonly text: string,
    readonly check: CheckResult,
    readonly symbols: SymbolIndex,
  ) {}

  get file(): SourceFile | undefined {
    return this.check.program.files.get(this.path);
  }

  /** syntax errors in this document */
  get syntaxErrors(): readonly Diagnostic[] {
    return this.check.diagnostics.filter((d) => d.file === this.path && d.severity === "error" && d.code.startsWith("DLM1"));
  }

  // -------------------------------------------------------------------------
  // What each name evaluated to

  /** The values a name of this document took, from this analysis. */
  valueOf(def: SymbolDef): ValueFact | undefined {
    if (!this.factsByOffset) {
      this.factsByOffset = new Map();
      for (const r of this.check.models.values())
        for (const f of r.facts?.values ?? [])
          if (f.file === this.path)
            this.factsByOffset.set(f.range.start.offset, mergeFacts(this.factsByOffset.get(f.range.start.offset), f));
    }
    return def.file === this.path ? this.factsByOffset.get(def.range.start.offset) : undefined;
  }

  /**
   * The values of the definition that `key` (from `stableKey`) names: how an older
   * analysis answers for a name whose statement the current text breaks.
   */
  valueByKey(key: string): ValueFact | undefined {
    if (!this.factsByKey) {
      this.factsByKey = new Map();
      for (const d of this.symbols.definitions) {
        const f = this.valueOf(d);
        const key = stableKey(this.symbols, d);
        if (f && key) this.factsByKey.set(key, f);
      }
    }
    return this.factsByKey.get(key);
  }

  // -------------------------------------------------------------------------
  // Layers and block applications

  /** Op nodes made by this document, from every model. */
  get layers(): readonly LayerSite[] {
    if (!this.layerSites) {
      this.layerSites = [];
      for (const g of this.graphs())
        for (const n of g.nodes) if (n.kind === "op" && n.site.file === this.path) this.layerSites.push({ model: g, node: n });
    }
    return this.layerSites;
  }

  get applications(): readonly ApplicationSite[] {
    if (!this.applicationSites) {
      this.applicationSites = [];
      for (const r of this.check.models.values())
        if (r.graph)
          for (const a of r.facts?.applications ?? [])
            if (a.file === this.path) this.applicationSites.push({ model: r.graph, application: a });
    }
    return this.applicationSites;
  }

  private *graphs(): Iterable<ModelGraph> {
    for (const r of this.check.models.values()) if (r.graph) yield r.graph;
  }

  /** Parameters and compute of one layer. */
  layerFigures(site: LayerSite): LayerFigures {
    return countLayer(site.model, site.node);
  }

  /** Parameters and compute of everything one block application made (its instance and below). */
  applicationFigures(site: ApplicationSite): LayerFigures {
    const g = site.model;
    const prefix = `${site.application.instance}.`;
    let params = 0;
    let macs = 0;
    let flops = 0;
    for (const n of g.nodes) {
      if (n.kind === "param" && !n.buffer && n.name.startsWith(prefix)) params += countParam(g, n.id);
      if (n.kind === "op" && (n.instance === site.application.instance || n.instance.startsWith(prefix))) {
        const c = countLayer(g, n);
        macs += c.macs;
        flops += c.flops;
      }
    }
    return { params, macs, flops };
  }

  // -------------------------------------------------------------------------
  // Models

  result(model: string): ElaborateResult | undefined {
    return this.check.models.get(model);
  }

  /** Errors that make a model's figures meaningless: its own, and syntax errors inside its declaration. */
  modelErrors(model: SymbolDef): number {
    const r = this.check.models.get(model.name);
    const own = r ? r.diagnostics.filter((d) => d.severity === "error").length : 1;
    const syntax = this.syntaxErrors.filter(
      (d) => d.range.start.offset >= model.declRange.start.offset && d.range.start.offset <= model.declRange.end.offset,
    ).length;
    return own + syntax;
  }

  /** The model's report (parameters, MACs, memory at the default dims), when it checked cleanly. */
  modelTotals(model: SymbolDef): ModelReport | undefined {
    if (this.totals.has(model.name)) return this.totals.get(model.name);
    const r = this.check.models.get(model.name);
    let report: ModelReport | undefined;
    if (r?.graph && this.modelErrors(model) === 0) {
      try {
        report = analyzeModel(r.graph, r.train);
      } catch {
        report = undefined;
      }
    }
    this.totals.set(model.name, report);
    return report;
  }
}

function countParam(g: ModelGraph, id: number): number {
  const env = (name: string): number => g.dimDefaults.get(name) ?? 1;
  return g.nodes[id]!.outputs[0]!.shape.reduce((a, d) => a * (d.evaluate(env) ?? 0), 1);
}

function mergeFacts(a: ValueFact | undefined, b: ValueFact): ValueFact {
  if (!a) return b;
  const values = [...a.values];
  const tensors = a.tensors && b.tensors ? [...a.tensors] : undefined;
  let more = a.more + b.more;
  b.values.forEach((v, i) => {
    if (values.includes(v)) return;
    if (values.length >= 8) {
      more++;
      return;
    }
    values.push(v);
    if (tensors) tensors.push(b.tensors![i]!);
  });
  return { ...a, values, more, ...(tensors ? { tensors } : {}) };
}

const keyCache = new WeakMap<SymbolIndex, Map<SymbolDef, string>>();

/**
 * A name for a definition that survives edits elsewhere in the file: its block, its kind,
 * its name and which definition of that name in the block it is.
 */
export function stableKey(index: SymbolIndex, def: SymbolDef): string | undefined {
  let keys = keyCache.get(index);
  if (!keys) {
    keys = new Map();
    const seen = new Map<string, number>();
    for (const d of index.definitions) {
      const base = `${d.container?.name ?? ""}/${d.kind}/${d.name}`;
      const ordinal = seen.get(base) ?? 0;
      seen.set(base, ordinal + 1);
      keys.set(d, `${base}/${ordinal}`);
    }
    keyCache.set(index, keys);
  }
  return keys.get(def);
}
