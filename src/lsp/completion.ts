// Completion and signature help. What is offered depends on where the cursor is (see
// cursor.ts): statement keywords at the start of a line, callables after `|>`, the
// callee's named arguments at the start of an argument, dims and hyperparameters in a
// tensor type, dtypes after `name:`, and otherwise every name in scope with the operators.

import { readdirSync } from "node:fs";
import { dirname } from "node:path";
import {
  CompletionItemKind,
  InsertTextFormat,
  type CompletionItem,
  type SignatureHelp,
  type SignatureInformation,
} from "vscode-languageserver/node";
import { ANNOTATIONS, BUILTINS, KNOWN_ANNOTATIONS } from "../../compiler/elaborate.js";
import { OPS, getOp } from "../../compiler/ops/index.js";
import { DTYPES } from "../../compiler/ops/types.js";
import { visibleSymbols, type SymbolDef, type SymbolKind } from "../../compiler/symbols.js";
import { TRAIN_BUILTINS } from "../../compiler/train.js";
import { STD_DIR } from "../host.js";
import type { DocumentAnalysis } from "./analysis.js";
import { cursorContext, type CallContext, type CursorContext } from "./cursor.js";
import { blockSignature, builtinSignature, opSignature, type Signature } from "./describe.js";
import { valueOfName } from "./values.js";

const STATEMENT_KEYWORDS = ["input", "output", "state", "next", "param", "layer", "for", "if"];
const TOP_LEVEL_KEYWORDS = ["model", "block", "train", "import", "const"];
const HYPERPARAMETER_TYPES = ["int", "float", "bool", "str", "dim", "list", "layer", "any"];
const TENSOR_MEMBERS: readonly [string, string][] = [
  ["shape", "the list of its dims"],
  ["rank", "the number of its dims"],
  ["dtype", "its element type"],
  ["T", "transposed (the last two axes swapped)"],
];

const SYMBOL_KINDS: Record<SymbolKind, CompletionItemKind> = {
  model: CompletionItemKind.Module,
  block: CompletionItemKind.Class,
  const: CompletionItemKind.Constant,
  module: CompletionItemKind.Module,
  hyperparameter: CompletionItemKind.Property,
  input: CompletionItemKind.Variable,
  state: CompletionItemKind.Variable,
  param: CompletionItemKind.Field,
  layer: CompletionItemKind.Function,
  binding: CompletionItemKind.Variable,
  output: CompletionItemKind.Variable,
  dim: CompletionItemKind.TypeParameter,
  variable: CompletionItemKind.Variable,
};

export function completions(a: DocumentAnalysis, lastGood: DocumentAnalysis | undefined, offset: number): CompletionItem[] {
  const ctx = cursorContext(a.text, offset);
  const scope = (): SymbolDef[] => visibleSymbols(a.symbols, offset);
  const inTrain = a.symbols.trainSections.some((t) => t.range.start.offset <= offset && offset <= t.range.end.offset);
  switch (ctx.kind) {
    case "none":
      return [];
    case "top-level":
      return TOP_LEVEL_KEYWORDS.map(keyword);
    case "model-name":
      return [...a.symbols.topLevel.values()].filter((d) => d.kind === "model").map((d) => symbolItem(a, lastGood, d));
    case "annotation":
      return [...KNOWN_ANNOTATIONS].map((n) => ({
        label: n,
        kind: CompletionItemKind.Keyword,
        detail: `@${n}`,
        documentation: ANNOTATIONS[n],
      }));
    case "import-path":
      return importPaths(a.path);
    case "dtype":
      return DTYPES.map((d) => ({ label: d, kind: CompletionItemKind.TypeParameter, detail: "dtype" }));
    case "hyperparameter-type":
      return HYPERPARAMETER_TYPES.map((t) => ({ label: t, kind: CompletionItemKind.TypeParameter, detail: "hyperparameter type" }));
    case "dims":
      return scope()
        .filter((d) => d.kind === "dim" || d.kind === "hyperparameter" || d.kind === "const" || d.kind === "binding")
        .map((d) => symbolItem(a, lastGood, d));
    case "member":
      return memberItems(a, lastGood, ctx);
    case "pipe-stage":
      return [
        ...scope()
          .filter(isCallable)
          .map((d) => symbolItem(a, lastGood, d)),
        ...opItems(),
      ];
    case "statement":
      return [...STATEMENT_KEYWORDS.map(keyword), ...expressionItems(a, lastGood, scope(), inTrain)];
    case "expression": {
      const named = ctx.call && ctx.call.atArgumentStart ? argumentItems(a, offset, ctx.call) : [];
      return [...named, ...expressionItems(a, lastGood, scope(), inTrain)];
    }
  }
}

function keyword(word: string): CompletionItem {
  return { label: word, kind: CompletionItemKind.Keyword, sortText: `0_${word}` };
}

function isCallable(d: SymbolDef): boolean {
  return d.kind === "block" || d.kind === "model" || d.kind === "layer" || d.kind === "module" || d.kind === "hyperparameter";
}

function symbolItem(a: DocumentAnalysis, lastGood: DocumentAnalysis | undefined, d: SymbolDef): CompletionItem {
  let detail: string = d.kind;
  if ((d.kind === "block" || d.kind === "model") && d.node.kind === "Block") detail = blockSignature(d.node, a.check.program, d.file).label;
  else {
    const v = valueOfName(a, lastGood, d);
    if (v) detail = `${d.kind}: ${v.values[0]}${v.values.length > 1 ? " | …" : ""}`;
  }
  return {
    label: d.name,
    kind: SYMBOL_KINDS[d.kind],
    detail,
    ...(d.doc ? { documentation: { kind: "markdown", value: d.doc } } : {}),
    // locals first, then the file's declarations, then the language's names
    sortText: `${d.container ? 1 : 2}_${d.name}`,
  };
}

let opItemCache: CompletionItem[] | undefined;
function opItems(): CompletionItem[] {
  return (opItemCache ??= [...OPS.values()].map((op) => {
    const sig = opSignature(op);
    return {
      label: op.name,
      kind: CompletionItemKind.Function,
      detail: sig.label,
      documentation: { kind: "markdown", value: op.doc },
      sortText: `3_${op.name}`,
    };
  }));
}

function expressionItems(
  a: DocumentAnalysis,
  lastGood: DocumentAnalysis | undefined,
  scope: readonly SymbolDef[],
  inTrain: boolean,
): CompletionItem[] {
  const items = scope.map((d) => symbolItem(a, lastGood, d));
  items.push(...opItems());
  for (const [name, usage] of BUILTINS)
    items.push({ label: name, kind: CompletionItemKind.Function, detail: usage, sortText: `3_${name}` });
  if (inTrain)
    for (const [name, spec] of TRAIN_BUILTINS)
      items.push({
        label: name,
        kind: CompletionItemKind.Function,
        detail: `${spec.kind}: ${name}(${spec.args.join(", ")})`,
        sortText: `2_${name}`,
      });
  for (const k of ["true", "false", "none"]) items.push({ label: k, kind: CompletionItemKind.Keyword, sortText: `4_${k}` });
  return items;
}

/** `name: ` for each argument of the callee not given yet. */
function argumentItems(a: DocumentAnalysis, offset: number, call: CallContext): CompletionItem[] {
  const sig = signatureOf(a, offset, call);
  if (!sig) return [];
  return sig.parameters
    .filter((p) => !call.named.includes(p.name))
    .map((p, i) => ({
      label: `${p.name}:`,
      kind: CompletionItemKind.Field,
      detail: p.label,
      ...(p.doc ? { documentation: p.doc } : {}),
      insertText: `${p.name}: `,
      insertTextFormat: InsertTextFormat.PlainText,
      // the settings first: inputs mostly come by position or through the pipe
      sortText: `0_${p.isInput ? 1 : 0}_${String(i).padStart(3, "0")}`,
    }));
}

function memberItems(a: DocumentAnalysis, lastGood: DocumentAnalysis | undefined, ctx: CursorContext): CompletionItem[] {
  const target = visibleSymbols(a.symbols, ctx.prefixStart).find((d) => d.name === ctx.memberOf);
  if (target?.kind === "module" && target.moduleFile) {
    const scope = a.check.program.scopes.get(target.moduleFile);
    const items: CompletionItem[] = [];
    for (const [name, d] of scope ?? [])
      if (d.kind === "block" && d.file === target.moduleFile) {
        items.push({
          label: name,
          kind: d.decl.isModel ? CompletionItemKind.Module : CompletionItemKind.Class,
          detail: blockSignature(d.decl, a.check.program, d.file).label,
          ...(d.decl.doc ? { documentation: { kind: "markdown", value: d.decl.doc } } : {}),
        });
      } else if (d.kind === "const" && d.file === target.moduleFile) items.push({ label: name, kind: CompletionItemKind.Constant });
    return items;
  }
  if (target) {
    const v = valueOfName(a, lastGood, target);
    if (v?.tensors) return TENSOR_MEMBERS.map(([label, detail]) => ({ label, kind: CompletionItemKind.Property, detail }));
  }
  return [];
}

function importPaths(path: string): CompletionItem[] {
  const items: CompletionItem[] = [];
  const list = (dir: string): string[] => {
    try {
      return readdirSync(dir).filter((f) => f.endsWith(".dlm"));
    } catch {
      return [];
    }
  };
  for (const f of list(STD_DIR))
    items.push({ label: `std/${f.slice(0, -4)}`, kind: CompletionItemKind.Module, detail: "standard library" });
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path))
    for (const f of list(dirname(path)))
      if (f !== path.slice(path.lastIndexOf("/") + 1)) items.push({ label: `./${f}`, kind: CompletionItemKind.File });
  return items;
}

// ---------------------------------------------------------------------------
// Signature help

/** The callee's signature: an op, a builtin, a block of this file, an import, or a module's. */
function signatureOf(a: DocumentAnalysis, offset: number, call: CallContext): Signature | undefined {
  const program = a.check.program;
  if (call.qualifier) {
    const module = visibleSymbols(a.symbols, offset).find((d) => d.name === call.qualifier && d.kind === "module");
    const d = module?.moduleFile ? program.scopes.get(module.moduleFile)?.get(call.callee) : undefined;
    return d?.kind === "block" ? blockSignature(d.decl, program, d.file) : undefined;
  }
  const def = visibleSymbols(a.symbols, offset).find((d) => d.name === call.callee);
  if (def)
    return (def.kind === "block" || def.kind === "model") && def.node.kind === "Block"
      ? blockSignature(def.node, program, def.file)
      : undefined;
  const op = getOp(call.callee);
  return op ? opSignature(op) : builtinSignature(call.callee);
}

export function signatureHelp(a: DocumentAnalysis, offset: number): SignatureHelp | null {
  const ctx = cursorContext(a.text, offset);
  if (!ctx.call || ctx.kind === "none") return null;
  const sig = signatureOf(a, offset, ctx.call);
  if (!sig) return null;
  const info: SignatureInformation = {
    label: sig.label,
    ...(sig.doc ? { documentation: { kind: "markdown", value: sig.doc } } : {}),
    parameters: sig.parameters.map((p) => ({ label: p.label, ...(p.doc ? { documentation: p.doc } : {}) })),
  };
  const active = activeParameter(sig, ctx.call);
  return { signatures: [info], activeSignature: 0, ...(active !== undefined ? { activeParameter: active } : {}) };
}

/**
 * Which parameter the current argument fills: a named one by name; otherwise leading
 * tensor-looking arguments fill the inputs (the pipe fills the first), the rest the settings in order.
 */
function activeParameter(sig: Signature, call: CallContext): number | undefined {
  if (call.currentName) {
    const i = sig.parameters.findIndex((p) => p.name === call.currentName);
    return i >= 0 ? i : undefined;
  }
  const inputs = sig.parameters.filter((p) => p.isInput).length;
  let slot = call.piped && inputs > 0 ? 1 : 0;
  let settings = 0;
  for (const tensorLike of call.positional) {
    if (tensorLike && slot < inputs && settings === 0) slot++;
    else settings++;
  }
  if (slot < inputs && settings === 0) return slot;
  // the settings in order, less those already given by name
  const free = sig.parameters.map((p, i) => ({ p, i })).filter(({ p, i }) => i >= inputs && !call.named.includes(p.name));
  return free[settings]?.i;
}
