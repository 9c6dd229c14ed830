// A real client for the language server tests: spawns `dlm lsp --stdio` as its own
// process and talks to it through vscode-languageserver-protocol's client-side connection.
// Positions in test documents are marked with `<|>` (several marks: `<|1>`, `<|2>`...).

import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  createProtocolConnection,
  DidChangeTextDocumentNotification,
  DidCloseTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  LogMessageNotification,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  type Diagnostic,
  type Position,
  type ProtocolConnection,
  type TextDocumentContentChangeEvent,
} from "vscode-languageserver-protocol/node";

export const ROOT = join(import.meta.dirname, "..", "..");

export interface ServerProcess {
  readonly connection: ProtocolConnection;
  readonly process: ChildProcess;
  /** what the server wrote to stderr */
  readonly stderr: () => string;
  /** `window/logMessage` messages (a handler that failed logs an error there) */
  readonly logs: () => readonly string[];
  /** the next diagnostics published for `uri` (at `version` or later, if given) */
  diagnostics(uri: string, version?: number): Promise<Diagnostic[]>;
  open(uri: string, text: string, version?: number): void;
  change(uri: string, version: number, changes: TextDocumentContentChangeEvent[]): void;
  close(uri: string): void;
  stop(): Promise<void>;
}

/** Starts the server from the sources and initialises it (diagnostics without a debounce delay). */
export async function startServer(options: { diagnosticsDelay?: number } = { diagnosticsDelay: 0 }): Promise<ServerProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/entry.ts"), "lsp", "--stdio"], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const connection = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  const published = new Map<string, { version?: number; diagnostics: Diagnostic[] }[]>();
  const waiters: { uri: string; version?: number; resolve: (d: Diagnostic[]) => void }[] = [];
  connection.onNotification(PublishDiagnosticsNotification.type, (p) => {
    const w = waiters.findIndex((x) => x.uri === p.uri && (x.version === undefined || (p.version ?? 0) >= x.version));
    if (w >= 0) waiters.splice(w, 1)[0]!.resolve(p.diagnostics);
    else
      published.set(p.uri, [
        ...(published.get(p.uri) ?? []),
        { ...(p.version !== undefined ? { version: p.version } : {}), diagnostics: p.diagnostics },
      ]);
  });
  const logs: string[] = [];
  connection.onNotification(LogMessageNotification.type, (p) => {
    logs.push(p.message);
  });
  connection.listen();
  await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: pathToFileURL(ROOT).href,
    capabilities: {},
    initializationOptions: options,
  });
  await connection.sendNotification(InitializedNotification.type, {});
  return {
    connection,
    process: child,
    stderr: () => stderr,
    logs: () => logs,
    diagnostics(uri, version) {
      const queued = published.get(uri) ?? [];
      const i = queued.findIndex((q) => version === undefined || (q.version ?? 0) >= version);
      if (i >= 0) {
        const [hit] = queued.splice(0, i + 1).slice(-1);
        return Promise.resolve(hit!.diagnostics);
      }
      return new Promise((resolve) => waiters.push({ uri, ...(version !== undefined ? { version } : {}), resolve }));
    },
    open(uri, text, version = 1) {
      void connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: "dlm", version, text } });
    },
    change(uri, version, changes) {
      void connection.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges: changes });
    },
    close(uri) {
      void connection.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
    },
    async stop() {
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      if (child.exitCode === null) {
        await connection.sendRequest(ShutdownRequest.type);
        await connection.sendNotification(ExitNotification.type);
        await exited;
      }
      connection.dispose();
    },
  };
}

/** Text with `<|>` / `<|name>` marks removed, and the position of each mark. */
export function marked(source: string): { text: string; at: Record<string, Position>; offsets: Record<string, number> } {
  const at: Record<string, Position> = {};
  const offsets: Record<string, number> = {};
  let text = "";
  let last = 0;
  for (const m of source.matchAll(/<\|(\w*)>/g)) {
    text += source.slice(last, m.index);
    last = m.index! + m[0].length;
    const lines = text.split("\n");
    at[m[1] || ""] = { line: lines.length - 1, character: lines[lines.length - 1]!.length };
    offsets[m[1] || ""] = text.length;
  }
  text += source.slice(last);
  return { text, at, offsets };
}

export function fileUri(relativePath: string): string {
  return pathToFileURL(join(ROOT, relativePath)).href;
}
