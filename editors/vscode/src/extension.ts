// The VS Code client for dlm: starts the language server bundled with the extension
// (dist/server.mjs, the same code as `dlm lsp --stdio`) for .dlm files.

import * as vscode from "vscode";
import { SERVER_NODE_OPTIONS } from "../../../src/lsp/node-flags.js";
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from "vscode-languageclient/node";

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const server = context.asAbsolutePath("dist/server.mjs");
  const serverOptions: ServerOptions = {
    run: { module: server, transport: TransportKind.stdio, options: { execArgv: [...SERVER_NODE_OPTIONS] } },
    debug: { module: server, transport: TransportKind.stdio, options: { execArgv: [...SERVER_NODE_OPTIONS, "--inspect=6009"] } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "dlm" },
      { scheme: "untitled", language: "dlm" },
    ],
    // read at each (re)start, so a changed setting applies after the restart below
    initializationOptions: () => ({ diagnosticsDelay: vscode.workspace.getConfiguration("dlm").get<number>("diagnostics.delay", 200) }),
  };
  client = new LanguageClient("dlm", "dlm language server", serverOptions, clientOptions);
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("dlm.diagnostics.delay")) void vscode.commands.executeCommand("dlm.restartServer");
    }),
    vscode.commands.registerCommand("dlm.restartServer", async () => {
      await client?.restart();
    }),
  );
  await client.start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
  client = undefined;
}
