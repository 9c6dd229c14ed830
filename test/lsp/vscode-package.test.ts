// The VS Code extension packages into a valid .vsix (read back with `unzip`, not with the
// tool that wrote it) holding the manifest, the grammar, the language configuration, the
// client and the server bundle; and the server inside it works on its own, away from this
// checkout. Slow (it bundles and packages): run by `npm run test:vscode`.

import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import {
  createProtocolConnection,
  DidOpenTextDocumentNotification,
  ExitNotification,
  HoverRequest,
  InitializeRequest,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  type Diagnostic,
  type MarkupContent,
} from "vscode-languageserver-protocol/node";
import { spawn } from "node:child_process";
import { ROOT } from "./client.js";

const enabled = process.env.DLM_TEST_VSCODE === "1";
const work = enabled ? mkdtempSync(join(tmpdir(), "dlm-vsix-")) : "";
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.runIf(enabled)("the VS Code extension package", () => {
  const version = (JSON.parse(readFileSync(join(ROOT, "editors/vscode/package.json"), "utf8")) as { version: string }).version;
  const vsix = join(ROOT, "dist", `dlm-${version}.vsix`);

  it("packages offline", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "tools/package-vscode.ts")], { cwd: ROOT, encoding: "utf8" });
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.status).toBe(0);
  }, 300_000);

  it("is a zip with the manifest, content types, grammar, configuration, client and server", () => {
    const entries = execFileSync("unzip", ["-Z1", vsix], { encoding: "utf8" }).trim().split("\n");
    expect(entries).toEqual(
      expect.arrayContaining([
        "[Content_Types].xml",
        "extension.vsixmanifest",
        "extension/package.json",
        "extension/readme.md",
        "extension/dist/extension.js",
        "extension/dist/server.mjs",
        "extension/syntaxes/dlm.tmLanguage.json",
        "extension/language-configuration.json",
        "extension/std/vision.dlm",
        "extension/std/transformer.dlm",
      ]),
    );
    expect(entries.some((e) => e.includes("node_modules") || e.endsWith(".ts"))).toBe(false);
    execFileSync("unzip", ["-q", vsix, "-d", work]);
    const manifest = readFileSync(join(work, "extension.vsixmanifest"), "utf8");
    expect(manifest).toMatch(new RegExp(`<Identity [^>]*Id="dlm"[^>]*Version="${version.replace(/\./g, "\\.")}"[^>]*Publisher="dlm"`));
    expect(manifest).toContain('<Asset Type="Microsoft.VisualStudio.Code.Manifest" Path="extension/package.json"');
  });

  it("every path the extension's package.json names is in the archive, and the grammar is the dlm grammar", () => {
    const pkg = JSON.parse(readFileSync(join(work, "extension/package.json"), "utf8")) as {
      main: string;
      contributes: { languages: { extensions: string[]; configuration: string }[]; grammars: { scopeName: string; path: string }[] };
    };
    const exists = (p: string) => readFileSync(join(work, "extension", p)).length > 0;
    expect(exists(pkg.main)).toBe(true);
    expect(pkg.contributes.languages[0]!.extensions).toEqual([".dlm"]);
    expect(exists(pkg.contributes.languages[0]!.configuration)).toBe(true);
    const grammar = JSON.parse(readFileSync(join(work, "extension", pkg.contributes.grammars[0]!.path), "utf8")) as { scopeName: string };
    expect(grammar.scopeName).toBe(pkg.contributes.grammars[0]!.scopeName);
    const config = JSON.parse(readFileSync(join(work, "extension", pkg.contributes.languages[0]!.configuration), "utf8")) as {
      comments: { lineComment: string };
    };
    expect(config.comments.lineComment).toBe("//");
  });

  it("the client loads and exports activate and deactivate", () => {
    // `vscode` exists only inside the editor: a stand-in that answers every property
    const loader = join(work, "load.cjs");
    writeFileSync(
      loader,
      `const Module = require("module");
const stub = new Proxy(function () {}, { get: (t, k) => (k === "prototype" ? {} : stub), construct: () => stub, apply: () => stub });
const load = Module._load;
Module._load = function (request, ...rest) { return request === "vscode" ? stub : load.call(this, request, ...rest); };
const ext = require("./extension/dist/extension.js");
process.stdout.write(typeof ext.activate + " " + typeof ext.deactivate);`,
    );
    expect(execFileSync(process.execPath, [loader], { cwd: work, encoding: "utf8" })).toBe("function function");
  });

  it("the bundled server checks a file that imports the standard library, away from this checkout", async () => {
    const child = spawn(process.execPath, [join(work, "extension/dist/server.mjs"), "--stdio"], {
      cwd: work,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const c = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    const published = new Promise<Diagnostic[]>((resolve) =>
      c.onNotification(PublishDiagnosticsNotification.type, (p) => resolve(p.diagnostics)),
    );
    c.listen();
    await c.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: null,
      capabilities: {},
      initializationOptions: { diagnosticsDelay: 0 },
    });
    const uri = pathToFileURL(join(work, "net.dlm")).href;
    const text = 'import "std/vision"\nmodel N() {\n  input x: f32[B, 64, 8, 8]\n  y = x |> BasicBlock(64)\n  output z = y |> relu(2)\n}\n';
    await c.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: "dlm", version: 1, text } });
    const diagnostics = await published;
    expect(diagnostics.map((d) => d.code)).toEqual(["DLM2004"]);
    const h = await c.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 3, character: 3 } });
    expect((h!.contents as MarkupContent).value).toContain("y: f32[B, 64, 8, 8]");
    await c.sendRequest(ShutdownRequest.type);
    await c.sendNotification(ExitNotification.type);
    c.dispose();
  }, 60_000);
});
