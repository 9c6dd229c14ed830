// Code lenses: over each model, its totals (parameters, forward MACs, training-step
// memory at the default dims). While the model has errors, the totals of its last clean
// check are shown, marked as such.

import type { CodeLens } from "vscode-languageserver/node";
import { formatBytes } from "../../compiler/elaborate.js";
import type { SymbolDef } from "../../compiler/symbols.js";
import type { DocumentAnalysis } from "./analysis.js";
import { formatCount, formatShort, toRange } from "./convert.js";

/** `62,006 params · 652K MACs · 1.2 MiB per training step (B=1)`, when the model checks cleanly. */
export function totalsText(a: DocumentAnalysis, model: SymbolDef): string | undefined {
  const report = a.modelTotals(model);
  if (!report) return undefined;
  const dims = Object.entries(report.dims)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
  return `${formatCount(report.params.total)} params · ${formatShort(report.macs.forward)} MACs · ${formatBytes(report.memory)} per training step${dims ? ` (${dims})` : ""}`;
}

/** `lastClean`: a model's totals at its last clean check. */
export function codeLenses(a: DocumentAnalysis, lastClean: (model: string) => string | undefined): CodeLens[] {
  const lenses: CodeLens[] = [];
  for (const d of a.symbols.definitions) {
    if (d.kind !== "model") continue;
    let title = totalsText(a, d);
    if (title === undefined) {
      const errors = a.modelErrors(d);
      const previous = lastClean(d.name);
      title = `${errors} error${errors === 1 ? "" : "s"}${previous ? ` · last clean check: ${previous}` : ""}`;
    }
    // a lens with an empty command is a label
    lenses.push({ range: toRange(d.range), command: { title, command: "" } });
  }
  return lenses;
}
