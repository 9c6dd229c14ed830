// Inlay hints: the inferred type after each binding and output that has no ascription.
// A name in a block applied with different shapes shows the dims all applications agree
// on and `?` for the others (the hover lists each).

import { InlayHintKind, type InlayHint, type Range } from "vscode-languageserver/node";
import { shapesEqual } from "../../compiler/dim.js";
import { typeToString, type TensorType } from "../../compiler/ops/types.js";
import type { DocumentAnalysis } from "./analysis.js";
import { toPosition } from "./convert.js";
import { valueOfName } from "./values.js";

export function inlayHints(a: DocumentAnalysis, lastGood: DocumentAnalysis | undefined, range: Range): InlayHint[] {
  const hints: InlayHint[] = [];
  for (const def of a.symbols.definitions) {
    const line = def.range.end.line - 1;
    if (line < range.start.line || line > range.end.line) continue;
    const n = def.node;
    const unascribed = (n.kind === "BindingTarget" || n.kind === "Output") && !n.type;
    if (!unascribed) continue;
    const value = valueOfName(a, lastGood, def);
    const label = value?.tensors ? typeLabel(value.tensors) : undefined;
    if (!label) continue;
    hints.push({ position: toPosition(def.range.end), label: `: ${label}`, kind: InlayHintKind.Type, paddingLeft: false });
  }
  return hints;
}

/** One type for every application's value: exact when they agree, `?` where dims differ. */
export function typeLabel(applications: readonly (readonly TensorType[])[]): string | undefined {
  const first = applications[0];
  if (!first || first.length !== 1)
    return first && first.length > 1 && applications.length === 1 ? `(${first.map(typeToString).join(", ")})` : undefined;
  const t = first[0]!;
  const all = applications.map((x) => x[0]!);
  if (all.every((x) => x.dtype === t.dtype && shapesEqual(x.shape, t.shape))) return typeToString(t);
  if (!all.every((x) => x.shape.length === t.shape.length)) return undefined;
  const dims = t.shape.map((d, i) => (all.every((x) => x.shape[i]!.equals(d)) ? d.toString() : "?"));
  const dtype = all.every((x) => x.dtype === t.dtype) ? t.dtype : "?";
  return `${dtype}[${dims.join(", ")}]`;
}
