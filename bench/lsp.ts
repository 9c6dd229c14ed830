// How fast the language server answers on a 1,000-line file: diagnostics after an edit
// (check + conversion) and hover, measured in-process (the server's own work) and as a
// round trip over stdio to a real `dlm lsp --stdio` process (what an editor waits for,
// the debounce set to 0). Prints medians and 90th percentiles against the budgets.
//   npm run bench:lsp      (in-process with the server's Node options, src/lsp/node-flags.ts)

import { spawn } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  createProtocolConnection,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  HoverRequest,
  InitializedNotification,
  InitializeRequest,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  type Position,
} from "vscode-languageserver-protocol/node";
import { analyzeDocument } from "../src/lsp/analysis.js";
import { toLspDiagnostic } from "../src/lsp/convert.js";
import { EditorFiles } from "../src/lsp/host.js";
import { hover } from "../src/lsp/hover.js";
import { generateLargeFile } from "./lsp-file.js";

const root = join(import.meta.dirname, "..");
const EDITS = Number(process.env.DLM_BENCH_EDITS ?? 40);
const BUDGET = { diagnostics: 50, hover: 10 };

/** The text after edit number k: the model's `classes` default changes, so every edit is a full re-check. */
function edited(text: string, k: number): string {
  return text.replace("classes: int = 10", `classes: int = ${10 + (k % 7)}`);
}

/** The same edit as `edited`, as an editor sends it: the default's digits replaced in place. */
function digitChange(text: string, k: number): { range: { start: Position; end: Position }; text: string } {
  const offset = text.indexOf("classes: int = 10") + "classes: int = ".length;
  const before = text.slice(0, offset).split("\n");
  const start = { line: before.length - 1, character: before[before.length - 1]!.length };
  return { range: { start, end: { line: start.line, character: start.character + 2 } }, text: String(10 + (k % 7)) };
}

function stats(xs: number[]): { median: number; p90: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, p90: s[Math.floor(s.length * 0.9)]!, max: s[s.length - 1]! };
}

/** Where to hover: a binding in the model and a layer call inside a block. */
function hoverTargets(text: string): { binding: number; layer: number } {
  return { binding: text.indexOf("  h40 =") + 2, layer: text.indexOf("conv2d(out, 3, padding") + 2 };
}

function inProcess(text: string): { diagnostics: number[]; hover: number[]; size: number } {
  const path = join(root, "bench", "__large.dlm");
  let current = text;
  const files = new EditorFiles(() => new Map([[path, current]]));
  const open = new Map<string, string>();
  const check = (k: number) => {
    current = edited(text, k);
    const a = analyzeDocument(path, k, current, files.hostFor(path));
    a.check.diagnostics.map((d) => toLspDiagnostic(d, path, open));
    return a;
  };
  for (let k = 0; k < 5; k++) check(k); // warm up
  const diagnostics: number[] = [];
  for (let k = 0; k < EDITS; k++) {
    const t0 = performance.now();
    check(k);
    diagnostics.push(performance.now() - t0);
  }
  const a = check(EDITS);
  const targets = hoverTargets(a.text);
  const hovers: number[] = [];
  for (let k = 0; k < EDITS * 5; k++) {
    const t0 = performance.now();
    const h = hover(a, a, k % 2 ? targets.binding : targets.layer);
    hovers.push(performance.now() - t0);
    if (!h) throw new Error("no hover");
  }
  if (a.check.diagnostics.length) throw new Error(`the generated file has errors: ${a.check.diagnostics[0]!.message}`);
  return { diagnostics, hover: hovers, size: a.text.split("\n").length };
}

async function roundTrip(text: string): Promise<{ diagnostics: number[]; hover: number[] }> {
  const child = spawn(process.execPath, [join(root, "bin", "dlm.js"), "lsp", "--stdio"], { stdio: ["pipe", "pipe", "inherit"] });
  const c = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  let waiting: ((version: number) => void) | undefined;
  c.onNotification(PublishDiagnosticsNotification.type, (p) => waiting?.(p.version ?? 0));
  c.listen();
  await c.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: null,
    capabilities: {},
    initializationOptions: { diagnosticsDelay: 0 },
  });
  await c.sendNotification(InitializedNotification.type, {});
  const uri = pathToFileURL(join(root, "bench", "__large.dlm")).href;
  const published = (version: number) =>
    new Promise<void>((resolve) => {
      waiting = (v) => {
        if (v >= version) resolve();
      };
    });
  let done = published(1);
  await c.sendNotification(DidOpenTextDocumentNotification.type, {
    textDocument: { uri, languageId: "dlm", version: 1, text: edited(text, 0) },
  });
  await done;
  const diagnostics: number[] = [];
  for (let k = 1; k <= EDITS + 5; k++) {
    const version = k + 1;
    done = published(version);
    const t0 = performance.now();
    await c.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version },
      contentChanges: [digitChange(text, k)],
    });
    await done;
    if (k > 5) diagnostics.push(performance.now() - t0); // the first few warm the JIT
  }
  const current = edited(text, EDITS + 5);
  const targets = hoverTargets(current);
  const position = (offset: number): Position => {
    const before = current.slice(0, offset).split("\n");
    return { line: before.length - 1, character: before[before.length - 1]!.length };
  };
  const hovers: number[] = [];
  for (let k = 0; k < EDITS * 2; k++) {
    const t0 = performance.now();
    await c.sendRequest(HoverRequest.type, { textDocument: { uri }, position: position(k % 2 ? targets.binding : targets.layer) });
    if (k >= 5) hovers.push(performance.now() - t0);
  }
  await c.sendRequest(ShutdownRequest.type);
  await c.sendNotification(ExitNotification.type);
  c.dispose();
  return { diagnostics, hover: hovers };
}

const text = generateLargeFile();
const local = inProcess(text);
const remote = await roundTrip(text);
const row = (what: string, xs: number[], budget: number) => {
  const s = stats(xs);
  return `${what.padEnd(42)}${s.median.toFixed(1).padStart(8)}${s.p90.toFixed(1).padStart(8)}${s.max.toFixed(1).padStart(8)}${String(budget).padStart(8)}   ${s.median <= budget ? "ok" : "OVER"}`;
};
// contention from other processes shows directly in these times: say how busy the machine was
console.log(`${local.size}-line file, ${EDITS} edits (ms); load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`);
console.log(`${"".padEnd(42)}${"median".padStart(8)}${"p90".padStart(8)}${"max".padStart(8)}${"budget".padStart(8)}`);
console.log(row("diagnostics per edit, in-process", local.diagnostics, BUDGET.diagnostics));
console.log(row("diagnostics per edit, round trip (stdio)", remote.diagnostics, BUDGET.diagnostics));
console.log(row("hover, in-process", local.hover, BUDGET.hover));
console.log(row("hover, round trip (stdio)", remote.hover, BUDGET.hover));
