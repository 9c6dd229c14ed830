// A name's values for hovers and inlay hints: from the current analysis, or, when the
// current text breaks the statement (a half-typed line), from the last analysis without
// syntax errors, matched by block, kind, name and occurrence rather than by position.

import type { ValueFact } from "../../compiler/facts.js";
import type { SymbolDef } from "../../compiler/symbols.js";
import { stableKey, type DocumentAnalysis } from "./analysis.js";

export interface NameValue extends ValueFact {
  /** from an older analysis */
  readonly stale: boolean;
}

export function valueOfName(a: DocumentAnalysis, lastGood: DocumentAnalysis | undefined, def: SymbolDef): NameValue | undefined {
  const current = a.valueOf(def);
  if (current) return { ...current, stale: false };
  if (!lastGood || lastGood === a || def.file !== a.path) return undefined;
  const key = stableKey(a.symbols, def);
  const old = key ? lastGood.valueByKey(key) : undefined;
  return old ? { ...old, stale: true } : undefined;
}
