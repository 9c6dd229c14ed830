// The dlm language server: translates between the protocol and the checker. Documents
// live in memory; each edit makes the document stale, and the first request that needs
// its analysis (or the debounced diagnostics timer) checks it once. Features answer from
// the current analysis and fall back to the last one without syntax errors where a
// half-typed line leaves the current one without an answer. No handler ever throws: an
// internal failure is logged and answered with an empty result.

import {
  ProposedFeatures,
  TextDocumentSyncKind,
  TextDocuments,
  createConnection,
  type Connection,
  type InitializeResult,
  type Diagnostic as LspDiagnostic,
  ResponseError,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import type { SourceRange } from "../../grammar/ast.js";
import { formatDlm } from "../../grammar/format.js";
import { START_RANGE, type Diagnostic } from "../../compiler/diagnostics/index.js";
import type { CompilerHost } from "../../compiler/program.js";
import { analyzeDocument, type DocumentAnalysis } from "./analysis.js";
import { completions, signatureHelp } from "./completion.js";
import { toLspDiagnostic, uriToPath } from "./convert.js";
import { EditorFiles } from "./host.js";
import { hover } from "./hover.js";
import { inlayHints } from "./inlay.js";
import { codeLenses, totalsText } from "./lens.js";
import { definition, prepareRename, references, rename } from "./navigation.js";
import { documentSymbols } from "./outline.js";

/** What the client may set in `initializationOptions`. */
export interface ServerOptions {
  /** milliseconds between the last edit and the diagnostics (default 200; 0 = as soon as possible) */
  readonly diagnosticsDelay?: number;
}

export const DEFAULT_DIAGNOSTICS_DELAY_MS = 200;

interface DocumentState {
  analysis?: DocumentAnalysis;
  /** the last analysis without syntax errors in the document */
  lastGood?: DocumentAnalysis;
  /** the files its last analysis read (itself and its imports): an edit to one checks it again */
  files: ReadonlySet<string>;
  /** per model, the last analysis in which it checked cleanly (the code lens shows its totals while it has errors) */
  readonly cleanModels: Map<string, DocumentAnalysis>;
  timer?: ReturnType<typeof setTimeout>;
}

/** The server's documents and their analyses, apart from the connection that carries the protocol. */
export class DlmLanguageService {
  readonly documents = new TextDocuments(TextDocument);
  private readonly states = new Map<string, DocumentState>();
  private readonly files = new EditorFiles(() => this.openTexts());
  private delay = DEFAULT_DIAGNOSTICS_DELAY_MS;

  constructor(
    private readonly host: {
      readonly publish: (uri: string, version: number, diagnostics: LspDiagnostic[]) => void;
      readonly log: (message: string) => void;
    },
  ) {}

  configure(options: ServerOptions | undefined): void {
    const d = options?.diagnosticsDelay;
    if (typeof d === "number" && Number.isFinite(d) && d >= 0) this.delay = d;
  }

  private openTexts(): Map<string, string> {
    const out = new Map<string, string>();
    for (const doc of this.documents.all()) out.set(uriToPath(doc.uri), doc.getText());
    return out;
  }

  /** Open documents' URIs by path. */
  openUris(): Map<string, string> {
    const out = new Map<string, string>();
    for (const doc of this.documents.all()) out.set(uriToPath(doc.uri), doc.uri);
    return out;
  }

  private state(uri: string): DocumentState {
    let s = this.states.get(uri);
    if (!s) this.states.set(uri, (s = { cleanModels: new Map(), files: new Set() }));
    return s;
  }

  /** The analysis of the document's current text, checking it now if it is stale. */
  analysis(uri: string): DocumentAnalysis | undefined {
    const doc = this.documents.get(uri);
    if (!doc) return undefined;
    const s = this.state(uri);
    if (s.analysis && s.analysis.version === doc.version && s.analysis.text === doc.getText()) return s.analysis;
    const path = uriToPath(uri);
    const a = analyzeDocument(path, doc.version, doc.getText(), this.files.hostFor(path));
    s.analysis = a;
    s.files = new Set(a.check.program.files.keys());
    if (a.syntaxErrors.length === 0) s.lastGood = a;
    for (const d of a.symbols.definitions) if (d.kind === "model" && a.modelErrors(d) === 0) s.cleanModels.set(d.name, a);
    return a;
  }

  lastGood(uri: string): DocumentAnalysis | undefined {
    return this.states.get(uri)?.lastGood;
  }

  /** The totals of a model's last clean check, for its code lens while it has errors. */
  lastCleanTotals(uri: string, model: string): string | undefined {
    const a = this.states.get(uri)?.cleanModels.get(model);
    const def = a?.symbols.definitions.find((d) => d.kind === "model" && d.name === model);
    return a && def ? totalsText(a, def) : undefined;
  }

  /** Every open document's analysis (for references and renames across files). */
  allAnalyses(): DocumentAnalysis[] {
    return this.documents
      .all()
      .map((d) => this.analysis(d.uri))
      .filter((a): a is DocumentAnalysis => a !== undefined);
  }

  /** Check the document now and publish its diagnostics. */
  publishDiagnostics(uri: string): void {
    const a = this.analysis(uri);
    if (!a) return;
    const openUris = this.openUris();
    const imports = importSites(a, this.files.hostFor(a.path));
    const diagnostics = a.check.diagnostics.map((d) =>
      toLspDiagnostic(d, a.path, openUris, d.file === a.path ? undefined : siteFor(d, a, imports)),
    );
    this.host.publish(uri, a.version, diagnostics);
  }

  /** After an edit: diagnostics for this document and for open documents that import it, once typing pauses. */
  scheduleDiagnostics(uri: string): void {
    const path = uriToPath(uri);
    for (const doc of this.documents.all()) {
      const s = this.state(doc.uri);
      const dependent = doc.uri === uri || s.files.has(path);
      if (!dependent) continue;
      if (s.timer) clearTimeout(s.timer);
      const run = (): void => {
        s.timer = undefined;
        try {
          this.publishDiagnostics(doc.uri);
        } catch (e) {
          this.host.log(`diagnostics of ${doc.uri} failed: ${(e as Error)?.stack ?? String(e)}`);
        }
      };
      // a document that imports the edited one must be checked again too
      if (doc.uri !== uri) s.analysis = undefined;
      s.timer = setTimeout(run, this.delay);
    }
  }

  close(uri: string): void {
    const s = this.states.get(uri);
    if (s?.timer) clearTimeout(s.timer);
    this.states.delete(uri);
    this.host.publish(uri, 0, []);
    // documents that import it now read it from disk
    this.scheduleDiagnostics(uri);
  }

  dispose(): void {
    for (const s of this.states.values()) if (s.timer) clearTimeout(s.timer);
  }
}

/**
 * For each file the document's program loaded, the import statement of this document
 * that leads to it (directly or through other imports): a diagnostic inside an imported
 * file is shown there.
 */
function importSites(a: DocumentAnalysis, host: CompilerHost): Map<string, { range: SourceRange; why: string }> {
  const out = new Map<string, { range: SourceRange; why: string }>();
  const imports = (path: string): string[] => {
    const items = a.check.program.files.get(path)?.ast.items ?? [];
    const targets: string[] = [];
    for (const item of items)
      if (item.kind === "Import") {
        const r = host.resolveImport(path, item.path.value);
        if ("path" in r) targets.push(r.path);
      }
    return targets;
  };
  for (const item of a.file?.ast.items ?? []) {
    if (item.kind !== "Import") continue;
    const r = host.resolveImport(a.path, item.path.value);
    if (!("path" in r)) continue;
    const site = { range: item.path.range, why: `in "${item.path.value}"` };
    const queue = [r.path];
    while (queue.length) {
      const p = queue.shift()!;
      if (out.has(p) || p === a.path) continue;
      out.set(p, site);
      queue.push(...imports(p));
    }
  }
  return out;
}

/** Where in the document a diagnostic of another file shows: a note pointing here, else the import that leads there. */
function siteFor(d: Diagnostic, a: DocumentAnalysis, imports: ReadonlyMap<string, { range: SourceRange; why: string }>) {
  const note = d.notes?.find((n) => n.file === a.path && n.range);
  const where = `in ${d.file.slice(Math.max(d.file.lastIndexOf("/"), d.file.lastIndexOf("\\")) + 1)}:${d.range.start.line}`;
  if (note?.range) return { range: note.range, why: where };
  return imports.get(d.file) ?? { range: START_RANGE, why: where };
}

/** Runs a handler; a failure is logged and answered with `fallback`, never thrown at the client. */
function guard<P, R>(connection: Connection, name: string, fallback: R, handler: (params: P) => R): (params: P) => R {
  return (params: P): R => {
    try {
      return handler(params);
    } catch (e) {
      if (e instanceof ResponseError) throw e; // a deliberate answer (an invalid rename)
      connection.console.error(`dlm: ${name} failed: ${(e as Error)?.stack ?? String(e)}`);
      return fallback;
    }
  };
}

/** Wires the service to a connection and starts listening. */
export function startLanguageServer(connection: Connection): DlmLanguageService {
  const service = new DlmLanguageService({
    publish: (uri, version, diagnostics) => void connection.sendDiagnostics({ uri, ...(version ? { version } : {}), diagnostics }),
    log: (message) => connection.console.error(`dlm: ${message}`),
  });
  const { documents } = service;

  connection.onInitialize((params): InitializeResult => {
    service.configure(params.initializationOptions as ServerOptions | undefined);
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        completionProvider: { triggerCharacters: [".", "(", ",", "[", ">", "@", '"'] },
        signatureHelpProvider: { triggerCharacters: ["(", ","], retriggerCharacters: [":"] },
        definitionProvider: true,
        referencesProvider: true,
        renameProvider: { prepareProvider: true },
        documentSymbolProvider: true,
        codeLensProvider: { resolveProvider: false },
        documentFormattingProvider: true,
        inlayHintProvider: true,
      },
      serverInfo: { name: "dlm" },
    };
  });

  documents.onDidChangeContent(guard(connection, "didChange", undefined, (e) => service.scheduleDiagnostics(e.document.uri)));
  documents.onDidClose(guard(connection, "didClose", undefined, (e) => service.close(e.document.uri)));

  const at = (uri: string, position: { line: number; character: number }) => {
    const doc = documents.get(uri);
    const a = service.analysis(uri);
    return doc && a ? { a, offset: doc.offsetAt(position), lastGood: service.lastGood(uri) } : undefined;
  };

  connection.onHover(
    guard(connection, "hover", null, (p) => {
      const c = at(p.textDocument.uri, p.position);
      return c ? hover(c.a, c.lastGood, c.offset) : null;
    }),
  );
  connection.onCompletion(
    guard(connection, "completion", [], (p) => {
      const c = at(p.textDocument.uri, p.position);
      return c ? completions(c.a, c.lastGood, c.offset) : [];
    }),
  );
  connection.onSignatureHelp(
    guard(connection, "signatureHelp", null, (p) => {
      const c = at(p.textDocument.uri, p.position);
      return c ? signatureHelp(c.a, c.offset) : null;
    }),
  );
  connection.onDefinition(
    guard(connection, "definition", null, (p) => {
      const c = at(p.textDocument.uri, p.position);
      return c ? definition(c.a, c.offset, service.openUris()) : null;
    }),
  );
  connection.onReferences(
    guard(connection, "references", [], (p) => {
      const c = at(p.textDocument.uri, p.position);
      return c ? references(c.a, c.offset, p.context.includeDeclaration, service.allAnalyses(), service.openUris()) : [];
    }),
  );
  connection.onPrepareRename(
    guard(connection, "prepareRename", null, (p) => {
      const c = at(p.textDocument.uri, p.position);
      return c ? prepareRename(c.a, c.offset, service.openUris()) : null;
    }),
  );
  connection.onRenameRequest(
    guard(connection, "rename", null, (p) => {
      const c = at(p.textDocument.uri, p.position);
      return c ? rename(c.a, c.offset, p.newName, service.allAnalyses(), service.openUris()) : null;
    }),
  );
  connection.onDocumentSymbol(
    guard(connection, "documentSymbol", [], (p) => {
      const a = service.analysis(p.textDocument.uri);
      return a ? documentSymbols(a, service.lastGood(p.textDocument.uri)) : [];
    }),
  );
  connection.onCodeLens(
    guard(connection, "codeLens", [], (p) => {
      const a = service.analysis(p.textDocument.uri);
      return a ? codeLenses(a, (model) => service.lastCleanTotals(p.textDocument.uri, model)) : [];
    }),
  );
  connection.languages.inlayHint.on(
    guard(connection, "inlayHint", [], (p) => {
      const a = service.analysis(p.textDocument.uri);
      return a ? inlayHints(a, service.lastGood(p.textDocument.uri), p.range) : [];
    }),
  );
  connection.onDocumentFormatting(
    guard(connection, "formatting", [], (p) => {
      const doc = documents.get(p.textDocument.uri);
      if (!doc) return [];
      const text = doc.getText();
      const r = formatDlm(text, { file: uriToPath(doc.uri) });
      if (!r.ok || r.text === text) return [];
      return [{ range: { start: { line: 0, character: 0 }, end: doc.positionAt(text.length) }, newText: r.text }];
    }),
  );
  connection.onShutdown(() => service.dispose());

  documents.listen(connection);
  connection.listen();
  return service;
}

/** `dlm lsp --stdio`: serve over standard input and output until the client exits. */
export function runStdioServer(): Promise<number> {
  const connection = createConnection(ProposedFeatures.all, process.stdin, process.stdout);
  startLanguageServer(connection);
  return new Promise((resolve) => {
    connection.onExit(() => resolve(0));
    process.stdin.on("end", () => resolve(0));
  });
}
