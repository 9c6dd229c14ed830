// A program: the entry file plus everything it imports, parsed, with one declaration
// table per file. File access goes through a host so that this stage stays pure (the
// CLI passes a file-system host, the language server an in-memory one).

import type { BlockDecl, ConstDecl, DlmFile, ImportDecl, SourceRange } from "../grammar/ast.js";
import { parseDlm } from "../grammar/parse.js";
import { createDiagnostic, Diagnostics, START_RANGE, type Diagnostic } from "./diagnostics/index.js";

export type ResolveResult = { readonly path: string } | { readonly error: string; readonly reason: "not_found" | "outside" };

export interface CompilerHost {
  /** the text of a file, or why it cannot be read */
  readFile(path: string): { readonly text: string } | { readonly error: string };
  /** where an import points; `outside` for paths that leave the project or name devices */
  resolveImport(fromFile: string, spec: string): ResolveResult;
}

export interface SourceFile {
  readonly path: string;
  readonly text: string;
  readonly ast: DlmFile;
  readonly parseDiagnostics: readonly Diagnostic[];
}

export type Declaration =
  | { readonly kind: "block"; readonly decl: BlockDecl; readonly file: string }
  | { readonly kind: "const"; readonly decl: ConstDecl; readonly file: string }
  | { readonly kind: "module"; readonly file: string; readonly range: SourceRange };

export interface Program {
  readonly entry: string;
  readonly files: ReadonlyMap<string, SourceFile>;
  /** per file: every name visible at its top level */
  readonly scopes: ReadonlyMap<string, ReadonlyMap<string, Declaration>>;
  readonly diagnostics: readonly Diagnostic[];
}

const parseCache = new Map<string, { text: string; file: SourceFile }>();

/** Parse with a per-path cache keyed by the exact text: editors re-check on every keystroke. */
export function parseSource(path: string, text: string): SourceFile {
  const hit = parseCache.get(path);
  if (hit && hit.text === text) return hit.file;
  const { ast, diagnostics } = parseDlm(text, path);
  const file: SourceFile = { path, text, ast, parseDiagnostics: diagnostics };
  if (parseCache.size > 256) parseCache.clear();
  parseCache.set(path, { text, file });
  return file;
}

export function loadProgram(entry: string, host: CompilerHost): Program {
  const files = new Map<string, SourceFile>();
  const scopes = new Map<string, Map<string, Declaration>>();
  const diagnostics: Diagnostic[] = [];
  /** the chain of files being loaded, for cycle messages */
  const loading: string[] = [];

  const load = (path: string, importedAt?: { file: string; item: ImportDecl }): SourceFile | undefined => {
    const done = files.get(path);
    if (done) return done;
    const read = host.readFile(path);
    if ("error" in read) {
      // an unreadable import is reported at the import, where it can be fixed
      diagnostics.push(
        importedAt
          ? createDiagnostic(Diagnostics.Import_not_found_0, importedAt.file, importedAt.item.path.range, [importedAt.item.path.value], {
              hint: `${path}: ${read.error}`,
            })
          : createDiagnostic(Diagnostics.Cannot_read_file_0_1, path, START_RANGE, [path, read.error]),
      );
      return undefined;
    }
    const file = parseSource(path, read.text);
    files.set(path, file);
    diagnostics.push(...file.parseDiagnostics);
    loading.push(path);
    scopes.set(path, buildScope(file));
    loading.pop();
    return file;
  };

  const buildScope = (file: SourceFile): Map<string, Declaration> => {
    const scope = new Map<string, Declaration>();
    const define = (name: string, d: Declaration, range: SourceRange): void => {
      const prev = scope.get(name);
      if (prev && prev.file === file.path && prev.kind !== "module") {
        diagnostics.push(createDiagnostic(Diagnostics.Duplicate_definition_0, file.path, range, [name]));
        return;
      }
      scope.set(name, d);
    };
    // Imports first, so local declarations shadow imported ones.
    for (const item of file.ast.items) if (item.kind === "Import") importInto(file, item, define);
    for (const item of file.ast.items) {
      if (item.kind === "Block") define(item.name.name, { kind: "block", decl: item, file: file.path }, item.name.range);
      else if (item.kind === "Const") define(item.name.name, { kind: "const", decl: item, file: file.path }, item.name.range);
    }
    return scope;
  };

  const importInto = (file: SourceFile, item: ImportDecl, define: (name: string, d: Declaration, range: SourceRange) => void): void => {
    const spec = item.path.value;
    const resolved = host.resolveImport(file.path, spec);
    if ("error" in resolved) {
      const msg = resolved.reason === "outside" ? Diagnostics.Import_outside_project_0 : Diagnostics.Import_not_found_0;
      diagnostics.push(createDiagnostic(msg, file.path, item.path.range, [spec], { hint: resolved.error }));
      return;
    }
    if (loading.includes(resolved.path)) {
      const chain = [...loading.slice(loading.indexOf(resolved.path)), resolved.path].map(fileName);
      diagnostics.push(createDiagnostic(Diagnostics.Import_cycle_0, file.path, item.path.range, [chain.join(" → ")]));
      return;
    }
    const target = load(resolved.path, { file: file.path, item });
    if (!target) return;
    if (item.alias) {
      define(item.alias.name, { kind: "module", file: resolved.path, range: item.range }, item.alias.range);
      return;
    }
    for (const [name, d] of scopes.get(resolved.path) ?? [])
      if (d.kind !== "module" && d.file === resolved.path) define(name, d, item.range);
  };

  load(entry);
  return { entry, files, scopes, diagnostics };
}

/** The last component of a path (this module stays free of Node APIs, for browsers). */
function fileName(path: string): string {
  return path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1);
}
