// Hover: what the name under the cursor is (a binding's tensor type, a hyperparameter's
// values, a block's signature and doc comment, a model's totals), and for a layer call its
// instance, output type, parameters and MACs.

import type { Hover } from "vscode-languageserver/node";
import type { SourceRange } from "../../grammar/ast.js";
import { getOp } from "../../compiler/ops/index.js";
import { symbolAt, type SymbolDef } from "../../compiler/symbols.js";
import { typeToString } from "../../compiler/ops/types.js";
import { ANNOTATIONS, formatBytes } from "../../compiler/elaborate.js";
import type { Dim } from "../../compiler/dim.js";
import type { ModelGraph } from "../../compiler/ir/graph.js";
import type { ApplicationSite, DocumentAnalysis, LayerSite } from "./analysis.js";
import { formatCount, toRange } from "./convert.js";
import { blockSignature, builtinSignature, code, opSignature, sourceText } from "./describe.js";
import { valueOfName } from "./values.js";

/** Instances listed for a layer or block applied many times. */
const MAX_INSTANCES_SHOWN = 4;

export function hover(a: DocumentAnalysis, lastGood: DocumentAnalysis | undefined, offset: number): Hover | null {
  const at = symbolAt(a.symbols, offset);
  if (at) {
    const parts = [describeSymbol(a, lastGood, at.def)];
    if (at.reference && (at.def.kind === "block" || at.def.kind === "model")) {
      const app = innermost(
        a.applications.filter((s) => s.application.block === at.def.name && contains(s.application.range, offset)),
        (s) => s.application.range,
      );
      if (app.length) parts.push(describeApplications(a, app));
    }
    return { contents: { kind: "markdown", value: parts.join("\n\n---\n\n") }, range: toRange(at.reference?.range ?? at.def.range) };
  }
  const annotation = a.symbols.annotations.find((n) => contains(n.range, offset));
  const known = annotation && ANNOTATIONS[annotation.name];
  if (known) return { contents: { kind: "markdown", value: `\`@${annotation.name}\`: ${known}` }, range: toRange(annotation.range) };
  const builtin = a.symbols.builtins.find((b) => contains(b.range, offset));
  const layers = innermost(
    a.layers.filter((s) => contains(s.node.site.range, offset)),
    (s) => s.node.site.range,
  );
  const parts: string[] = [];
  if (builtin) parts.push(describeBuiltin(builtin.name, builtin.argument));
  if (layers.length && !builtin?.argument) parts.push(describeLayers(a, layers));
  else if (!builtin) {
    const apps = innermost(
      a.applications.filter((s) => contains(s.application.range, offset)),
      (s) => s.application.range,
    );
    if (apps.length) parts.push(describeApplications(a, apps));
  }
  if (parts.length === 0) return null;
  return { contents: { kind: "markdown", value: parts.join("\n\n---\n\n") }, ...(builtin ? { range: toRange(builtin.range) } : {}) };
}

function contains(r: SourceRange, offset: number): boolean {
  return r.start.offset <= offset && offset <= r.end.offset;
}

/** The sites with the smallest range among those given (one range may have many instances). */
function innermost<T>(sites: readonly T[], range: (s: T) => SourceRange): T[] {
  let best: T[] = [];
  let width = Infinity;
  for (const s of sites) {
    const r = range(s);
    const w = r.end.offset - r.start.offset;
    if (w < width) {
      width = w;
      best = [s];
    } else if (w === width && r.start.offset === range(best[0]!).start.offset) best.push(s);
  }
  return best;
}

const KIND_WORDS: Record<SymbolDef["kind"], string> = {
  model: "model",
  block: "block",
  const: "constant",
  module: "module",
  hyperparameter: "hyperparameter",
  input: "input",
  state: "carried state",
  param: "parameter",
  layer: "shared layer",
  binding: "binding",
  output: "output",
  dim: "symbolic dimension",
  variable: "loop variable",
};

function describeSymbol(a: DocumentAnalysis, lastGood: DocumentAnalysis | undefined, def: SymbolDef): string {
  const program = a.check.program;
  const where = def.container ? ` in ${def.container.kind} \`${def.container.name}\`` : "";
  const doc = def.doc ? `\n\n${def.doc}` : "";
  switch (def.kind) {
    case "model":
    case "block": {
      if (def.node.kind !== "Block") break;
      const sig = blockSignature(def.node, program, def.file);
      const totals = def.kind === "model" ? modelTotalsText(a, def) : "";
      return `${code(`${def.kind} ${sig.label}`)}${doc}${totals ? `\n\n${totals}` : ""}`;
    }
    case "const":
      if (def.node.kind === "Const") return `${code(`const ${def.name} = ${sourceText(program, def.file, def.node.value.range)}`)}${doc}`;
      break;
    case "module":
      if (def.node.kind === "Import") return `${code(`import "${def.node.path.value}" as ${def.name}`)}${doc}`;
      break;
    default:
      break;
  }
  const declared = declaredText(a, def);
  const value = valueOfName(a, lastGood, def);
  // a tensor shows its type (`h: f32[B, 400]`), anything else its value (`C = 64`)
  const shown = value && !declared && value.values.length === 1 ? `${value.tensors ? ": " : " = "}${value.values[0]}` : "";
  const lines = [code(`${def.kind === "dim" ? "dim " : ""}${def.name}${declared}${shown}`)];
  lines.push(`${KIND_WORDS[def.kind]}${where}`);
  const saysValue = (v: string): boolean => declared === `: ${v}` || declared.endsWith(` = ${v}`);
  if (value && (value.values.length > 1 || (declared && !saysValue(value.values[0]!)))) {
    const more = value.more ? ` (and ${value.more} more)` : "";
    lines.push(
      value.values.length === 1
        ? `value: \`${value.values[0]}\`${more}`
        : `values in its ${value.values.length} applications${more}:\n${value.values.map((v) => `- \`${v}\``).join("\n")}`,
    );
  }
  if (value?.stale) lines.push("_(from the last check without syntax errors)_");
  return lines.join("\n\n") + doc;
}

/** The type or default the source gives a name, as written. */
function declaredText(a: DocumentAnalysis, def: SymbolDef): string {
  const program = a.check.program;
  const n = def.node;
  switch (n.kind) {
    case "HyperParam":
      return `${n.type ? `: ${sourceText(program, def.file, n.type.range)}` : ""}${n.default ? ` = ${sourceText(program, def.file, n.default.range)}` : ""}`;
    case "TypedName":
    case "Param":
      return `: ${sourceText(program, def.file, n.type.range)}`;
    case "BindingTarget":
    case "Output":
      return n.type ? `: ${sourceText(program, def.file, n.type.range)}` : "";
    default:
      return "";
  }
}

function modelTotalsText(a: DocumentAnalysis, def: SymbolDef): string {
  const report = a.modelTotals(def);
  if (!report) {
    const errors = a.modelErrors(def);
    return errors ? `_${errors} error${errors === 1 ? "" : "s"}: no totals until it checks_` : "";
  }
  const dims = Object.entries(report.dims)
    .map(([k, v]) => `${k} = ${v}`)
    .join(", ");
  return (
    [
      `| | |\n|---|---|`,
      `| parameters | ${formatCount(report.params.total)} (${formatCount(report.params.trainable)} trainable) |`,
      `| MACs (forward) | ${formatCount(report.macs.forward)} |`,
      `| FLOPs (forward) | ${formatCount(report.flops.forward)} |`,
      `| memory (training step) | ${formatBytes(report.memory)} |`,
    ].join("\n") + (dims ? `\n\nat ${dims}` : "")
  );
}

function describeBuiltin(name: string, argument: string | undefined): string {
  const op = getOp(name);
  const sig = op ? opSignature(op) : builtinSignature(name);
  if (!sig) return code(name);
  if (argument) {
    const p = sig.parameters.find((x) => x.name === argument);
    return p ? `${code(`${sig.name}(… ${p.label} …)`)}${p.doc ? `\n\n${p.doc}` : ""}` : code(name);
  }
  return `${code(sig.label)}${sig.doc ? `\n\n${sig.doc}` : ""}`;
}

/** Which values the figures take symbolic dims at (unbound ones count as 1: per sample). */
function dimNote(model: ModelGraph, shapes: readonly (readonly Dim[])[]): string {
  const names = new Set<string>();
  for (const shape of shapes) for (const d of shape) for (const n of d.symbols()) names.add(n);
  if (names.size === 0) return "";
  return ` at ${[...names].map((n) => `${n} = ${model.dimDefaults.get(n) ?? 1}`).join(", ")}`;
}

function describeLayers(a: DocumentAnalysis, sites: readonly LayerSite[]): string {
  const first = sites[0]!;
  const op = first.node.op;
  const rows = sites.slice(0, MAX_INSTANCES_SHOWN).map((s) => {
    const f = a.layerFigures(s);
    const out = s.node.outputs.map(typeToString).join(", ");
    return `| \`${s.node.instance || op.name}\` | \`${out}\` | ${formatCount(f.params)} | ${formatCount(f.macs)} |`;
  });
  const more = sites.length > MAX_INSTANCES_SHOWN ? `\n\n… and ${sites.length - MAX_INSTANCES_SHOWN} more instances` : "";
  return [
    `**${op.name}**: ${sites.length === 1 ? "one instance" : `${sites.length} instances`}`,
    `| instance | output | params | MACs${dimNote(
      first.model,
      sites.flatMap((s) => s.node.outputs.map((t) => t.shape)),
    )} |\n|---|---|---:|---:|\n${rows.join("\n")}${more}`,
  ].join("\n\n");
}

function describeApplications(a: DocumentAnalysis, sites: readonly ApplicationSite[]): string {
  const block = sites[0]!.application.block;
  const model = sites[0]!.model;
  const rows = sites.slice(0, MAX_INSTANCES_SHOWN).map((s) => {
    const f = a.applicationFigures(s);
    return `| \`${s.application.instance}\` | ${formatCount(f.params)} | ${formatCount(f.macs)} |`;
  });
  const more = sites.length > MAX_INSTANCES_SHOWN ? `\n\n… and ${sites.length - MAX_INSTANCES_SHOWN} more instances` : "";
  return [
    `**${block}**: ${sites.length === 1 ? "one instance" : `${sites.length} instances`}`,
    `| instance | params | MACs${dimNote(
      model,
      model.inputs.map((id) => model.nodes[id]!.outputs[0]!.shape),
    )} |\n|---|---:|---:|\n${rows.join("\n")}${more}`,
  ].join("\n\n");
}
