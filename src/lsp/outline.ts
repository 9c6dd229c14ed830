// Document symbols: the outline of a file. Models, blocks, consts and imports at the top;
// inside a block its hyperparameters, inputs, states, parameters, layers, bindings and
// outputs; train sections with their settings.

import { SymbolKind, type DocumentSymbol } from "vscode-languageserver/node";
import type { SymbolDef } from "../../compiler/symbols.js";
import type { DocumentAnalysis } from "./analysis.js";
import { toRange } from "./convert.js";
import { valueOfName } from "./values.js";

const OUTLINE_KINDS: Partial<Record<SymbolDef["kind"], SymbolKind>> = {
  model: SymbolKind.Module,
  block: SymbolKind.Class,
  const: SymbolKind.Constant,
  module: SymbolKind.Namespace,
  hyperparameter: SymbolKind.Property,
  input: SymbolKind.Variable,
  state: SymbolKind.Variable,
  param: SymbolKind.Field,
  layer: SymbolKind.Object,
  binding: SymbolKind.Variable,
  output: SymbolKind.Event,
};

export function documentSymbols(a: DocumentAnalysis, lastGood: DocumentAnalysis | undefined): DocumentSymbol[] {
  const top: DocumentSymbol[] = [];
  const children = new Map<SymbolDef, DocumentSymbol[]>();
  const trainChildren = new Map<number, DocumentSymbol[]>();
  for (const d of a.symbols.definitions) {
    const kind = OUTLINE_KINDS[d.kind];
    if (kind === undefined) continue;
    const value = d.container ? valueOfName(a, lastGood, d) : undefined;
    const sym: DocumentSymbol = {
      name: d.name,
      kind,
      range: toRange(enclosing(d)),
      selectionRange: toRange(d.range),
      ...(value ? { detail: value.values[0] } : d.kind === "model" || d.kind === "block" ? { detail: d.kind } : {}),
    };
    if (!d.container) {
      top.push(sym);
      children.set(d, (sym.children = []));
      continue;
    }
    // a train section's names are listed under the train section
    const train = a.symbols.trainSections.find(
      (t) => t.range.start.offset <= d.range.start.offset && d.range.end.offset <= t.range.end.offset,
    );
    if (train)
      (trainChildren.get(train.range.start.offset) ?? trainChildren.set(train.range.start.offset, []).get(train.range.start.offset)!).push(
        sym,
      );
    else {
      const parent = [...children.keys()].find(
        (p) => p.range.start.offset === d.container!.range.start.offset && p.file === d.container!.file,
      );
      if (parent) children.get(parent)!.push(sym);
    }
  }
  for (const t of a.symbols.trainSections)
    top.push({
      name: `train ${t.model.name}`,
      kind: SymbolKind.Namespace,
      range: toRange(t.range),
      selectionRange: toRange(t.range.start.line === t.range.end.line ? t.range : { start: t.range.start, end: t.range.start }),
      children: trainChildren.get(t.range.start.offset) ?? [],
    });
  return top.sort((x, y) => x.range.start.line - y.range.start.line || x.range.start.character - y.range.start.character);
}

/** The range an outline entry covers: the whole declaration, which always contains its name. */
function enclosing(d: SymbolDef): SymbolDef["range"] {
  const r = d.declRange;
  return r.start.offset <= d.range.start.offset && d.range.end.offset <= r.end.offset ? r : d.range;
}
