// Go to definition, find references and rename, over the symbol index: blocks, models,
// hyperparameters (named arguments at block calls included), bindings, dims and the rest.
// References and renames cover every open document (a block of one file used by another).

import { ResponseError, ErrorCodes, type Location, type Range, type TextEdit, type WorkspaceEdit } from "vscode-languageserver/node";
import type { SourceRange } from "../../grammar/ast.js";
import { symbolAt, symbolKey, type SymbolDef } from "../../compiler/symbols.js";
import type { DocumentAnalysis } from "./analysis.js";
import { location, pathToUri, toRange } from "./convert.js";

export function definition(a: DocumentAnalysis, offset: number, openUris: ReadonlyMap<string, string>): Location | null {
  const at = symbolAt(a.symbols, offset);
  return at ? location(at.def.file, at.def.range, openUris) : null;
}

/** Every place (definition first, when asked for) that names `def`, in the given analyses. */
function occurrences(def: SymbolDef, analyses: readonly DocumentAnalysis[]): { path: string; range: Range; isDefinition: boolean }[] {
  const key = symbolKey(def);
  const out: { path: string; range: Range; isDefinition: boolean }[] = [];
  const seen = new Set<string>();
  const add = (path: string, r: SourceRange, isDefinition: boolean): void => {
    const k = `${path}#${r.start.offset}`;
    if (seen.has(k)) return;
    seen.add(k);
    out.push({ path, range: toRange(r), isDefinition });
  };
  for (const an of analyses) {
    if (an.path === def.file) for (const d of an.symbols.definitions) if (symbolKey(d) === key) add(an.path, d.range, true);
    for (const r of an.symbols.references) if (symbolKey(r.target) === key) add(an.path, r.range, false);
  }
  // the definition itself, in a file none of the analyses is of
  if (!seen.has(`${def.file}#${def.range.start.offset}`)) out.unshift({ path: def.file, range: toRange(def.range), isDefinition: true });
  return out;
}

export function references(
  a: DocumentAnalysis,
  offset: number,
  includeDeclaration: boolean,
  analyses: readonly DocumentAnalysis[],
  openUris: ReadonlyMap<string, string>,
): Location[] {
  const at = symbolAt(a.symbols, offset);
  if (!at) return [];
  return occurrences(at.def, withCurrent(a, analyses))
    .filter((o) => includeDeclaration || !o.isDefinition)
    .map((o) => ({ uri: pathToUri(o.path, openUris), range: o.range }));
}

export function prepareRename(
  a: DocumentAnalysis,
  offset: number,
  openUris: ReadonlyMap<string, string>,
): { range: Range; placeholder: string } | null {
  const at = symbolAt(a.symbols, offset);
  if (!at) return null;
  const refusal = renameRefusal(a, at.def, openUris);
  if (refusal) throw new ResponseError(ErrorCodes.InvalidRequest, refusal);
  return { range: toRange(at.reference?.range ?? at.def.range), placeholder: at.def.name };
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const KEYWORDS = new Set([
  "import",
  "input",
  "in",
  "as",
  "const",
  "block",
  "model",
  "train",
  "phase",
  "state",
  "param",
  "layer",
  "output",
  "next",
  "for",
  "if",
  "else",
  "and",
  "or",
  "not",
  "true",
  "false",
  "none",
]);

export function rename(
  a: DocumentAnalysis,
  offset: number,
  newName: string,
  analyses: readonly DocumentAnalysis[],
  openUris: ReadonlyMap<string, string>,
): WorkspaceEdit | null {
  const at = symbolAt(a.symbols, offset);
  if (!at) return null;
  const refusal = renameRefusal(a, at.def, openUris);
  if (refusal) throw new ResponseError(ErrorCodes.InvalidRequest, refusal);
  if (!IDENTIFIER.test(newName) || KEYWORDS.has(newName))
    throw new ResponseError(ErrorCodes.InvalidParams, `'${newName}' is not a valid name`);
  const clash = a.symbols.definitions.find(
    (d) => d.name === newName && d.container?.name === at.def.container?.name && symbolKey(d) !== symbolKey(at.def),
  );
  if (clash) throw new ResponseError(ErrorCodes.InvalidParams, `'${newName}' is already defined here (line ${clash.range.start.line})`);
  const changes: Record<string, TextEdit[]> = {};
  for (const o of occurrences(at.def, withCurrent(a, analyses)))
    (changes[pathToUri(o.path, openUris)] ??= []).push({ range: o.range, newText: newName });
  return { changes };
}

/** A name defined in a file that is not open (the standard library, an unopened import) is left alone. */
function renameRefusal(a: DocumentAnalysis, def: SymbolDef, openUris: ReadonlyMap<string, string>): string | undefined {
  if (def.file === a.path || openUris.has(def.file)) return undefined;
  return `'${def.name}' is defined in ${def.file}, which is not open; rename it there`;
}

function withCurrent(a: DocumentAnalysis, analyses: readonly DocumentAnalysis[]): DocumentAnalysis[] {
  return [a, ...analyses.filter((x) => x.path !== a.path)];
}
