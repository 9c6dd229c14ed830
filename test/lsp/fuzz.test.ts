// A fuzzed editing session against one server process: random deletions, insertions of
// code fragments and half-typed lines, line duplications and undos over several examples,
// each followed by requests at random places (some past the end of the text). The server
// must stay alive, log no failure, and every response and published diagnostic must be
// well-formed. `npm run fuzz:lsp` runs thousands of edits; the default run 200.
// DLM_FUZZ_SEED replays a session.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TextDocument } from "vscode-languageserver-textdocument";
import {
  CodeLensRequest,
  CompletionRequest,
  DefinitionRequest,
  DocumentFormattingRequest,
  DocumentSymbolRequest,
  HoverRequest,
  InlayHintRequest,
  PrepareRenameRequest,
  PublishDiagnosticsNotification,
  ReferencesRequest,
  RenameRequest,
  ResponseError,
  SignatureHelpRequest,
  type Position,
  type Range,
} from "vscode-languageserver-protocol/node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { fileUri, ROOT, startServer, type ServerProcess } from "./client.js";

const EDITS = Number(process.env.DLM_LSP_FUZZ_EDITS ?? 200);
const SEED = Number(process.env.DLM_FUZZ_SEED ?? 20240611);
const EXAMPLES = ["lenet_seed002.dlm", "resnet18.dlm", "lstm_lm.dlm", "transformer_encoder.dlm", "gan.dlm"];

const FRAGMENTS = [
  "(",
  ")",
  "{",
  "}",
  "[",
  "]",
  ",",
  ":",
  "=",
  " |> ",
  "@",
  ".",
  "..",
  '"',
  "\n",
  "x",
  "B",
  "0",
  "-1",
  "1e99",
  "conv2d(",
  "linear(x, ",
  "f32[B, ",
  "as ",
  "for i in 0..",
  "if ",
  "input ",
  "output ",
  "state ",
  "next ",
  "layer ",
  "block ",
  "model ",
  "train ",
  "/// doc\n",
  "/*",
  "//",
];
const HALF_LINES = [
  "  h = x |> conv2d(6, ker",
  "  y: f32[B, ",
  "  z = linear(",
  "  output ",
  "  q = x |> ",
  "block Half(out: int = ",
  "  w = [Dense(64) for i in 0..",
  "  input t: i64[B, T",
  "  s = scan(x, Cell(",
  '  import "std/',
];

/** mulberry32: a small seeded generator, so a failing session can be replayed */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let server: ServerProcess;
const problems: string[] = [];

beforeAll(async () => {
  server = await startServer();
  server.connection.onNotification(PublishDiagnosticsNotification.type, (p) => {
    for (const d of p.diagnostics)
      if (!isRange(d.range) || typeof d.message !== "string") problems.push(`bad diagnostic ${JSON.stringify(d)}`);
  });
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

function isPosition(p: unknown): p is Position {
  const q = p as Position;
  return typeof q?.line === "number" && typeof q.character === "number" && q.line >= 0 && q.character >= 0;
}

function isRange(r: unknown): r is Range {
  const q = r as Range;
  return (
    isPosition(q?.start) &&
    isPosition(q.end) &&
    (q.start.line < q.end.line || (q.start.line === q.end.line && q.start.character <= q.end.character))
  );
}

/** Every `range`/`selectionRange` anywhere in a response is a well-formed range; labels are strings. */
function wellFormed(value: unknown, path = "result"): string | undefined {
  if (value === null || typeof value !== "object") return undefined;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if ((k === "range" || k === "selectionRange") && !isRange(v)) return `${path}.${k} is not a range: ${JSON.stringify(v)}`;
    if (k === "position" && !isPosition(v)) return `${path}.${k} is not a position`;
    if (k === "label" && typeof v !== "string" && !Array.isArray(v)) return `${path}.label is not a string`;
    const inner = wellFormed(v, `${path}.${k}`);
    if (inner) return inner;
  }
  return undefined;
}

it(`survives ${EDITS} random edits with every response well-formed`, async () => {
  const rand = random(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const docs = EXAMPLES.map((name, i) => {
    const uri = fileUri(`test/lsp/__fuzz_${i}.dlm`);
    const text = readFileSync(join(ROOT, "examples", name), "utf8");
    server.open(uri, text);
    return { uri, doc: TextDocument.create(uri, "dlm", 1, text), original: text };
  });
  const c = server.connection;
  for (let step = 0; step < EDITS; step++) {
    const d = pick(docs);
    const text = d.doc.getText();
    const at = Math.floor(rand() * (text.length + 1));
    const r = rand();
    let change: { range: Range; text: string } | { text: string };
    if (r < 0.3) change = { range: rangeOf(d.doc, at, at + 1 + Math.floor(rand() * 30)), text: "" };
    else if (r < 0.6) change = { range: rangeOf(d.doc, at, at), text: pick(FRAGMENTS) };
    else if (r < 0.8) {
      const lineStart = text.lastIndexOf("\n", at - 1) + 1;
      change = { range: rangeOf(d.doc, lineStart, lineStart), text: `${pick(HALF_LINES)}\n` };
    } else if (r < 0.93) {
      const line = d.doc.positionAt(at).line;
      const lineText = text.split("\n")[line] ?? "";
      change = { range: { start: { line, character: 0 }, end: { line, character: 0 } }, text: `${lineText}\n` };
    } else change = { text: d.original }; // undo everything: a file that checks again
    const version = d.doc.version + 1;
    d.doc = TextDocument.update(d.doc, [change], version);
    server.change(d.uri, version, [change]);

    // requests at a random place (now and then past the end of the text)
    const offset = Math.floor(rand() * (d.doc.getText().length + 1));
    const position = rand() < 0.05 ? { line: d.doc.lineCount + 3, character: 7 } : d.doc.positionAt(offset);
    const td = { uri: d.uri };
    const requests: [string, () => Promise<unknown>][] = [
      ["hover", () => c.sendRequest(HoverRequest.type, { textDocument: td, position })],
      ["completion", () => c.sendRequest(CompletionRequest.type, { textDocument: td, position })],
      ["signatureHelp", () => c.sendRequest(SignatureHelpRequest.type, { textDocument: td, position })],
      ["definition", () => c.sendRequest(DefinitionRequest.type, { textDocument: td, position })],
      ["references", () => c.sendRequest(ReferencesRequest.type, { textDocument: td, position, context: { includeDeclaration: true } })],
      ["prepareRename", () => c.sendRequest(PrepareRenameRequest.type, { textDocument: td, position })],
      ["rename", () => c.sendRequest(RenameRequest.type, { textDocument: td, position, newName: "renamed" })],
      ["documentSymbol", () => c.sendRequest(DocumentSymbolRequest.type, { textDocument: td })],
      ["codeLens", () => c.sendRequest(CodeLensRequest.type, { textDocument: td })],
      [
        "inlayHint",
        () =>
          c.sendRequest(InlayHintRequest.type, {
            textDocument: td,
            range: { start: { line: 0, character: 0 }, end: { line: d.doc.lineCount, character: 0 } },
          }),
      ],
      [
        "formatting",
        () => c.sendRequest(DocumentFormattingRequest.type, { textDocument: td, options: { tabSize: 2, insertSpaces: true } }),
      ],
    ];
    for (const [name, send] of [pick(requests), pick(requests), pick(requests)]) {
      try {
        const problem = wellFormed(await send());
        if (problem) problems.push(`step ${step} ${name}: ${problem}`);
      } catch (e) {
        // a refused rename is an answer; anything else is a failure
        if (!(e instanceof ResponseError && (name === "rename" || name === "prepareRename")))
          problems.push(`step ${step} ${name}: ${String(e)}`);
      }
    }
    if (server.process.exitCode !== null) throw new Error(`the server exited at step ${step} (seed ${SEED}): ${server.stderr()}`);
  }
  // every document still gets a full, correct answer at the end
  for (const d of docs) {
    server.change(d.uri, d.doc.version + 1, [{ text: d.original }]);
    const symbols = await c.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri: d.uri } });
    expect(symbols!.length).toBeGreaterThan(0);
  }
  expect(problems, `seed ${SEED}`).toEqual([]);
  expect(server.logs(), `seed ${SEED}`).toEqual([]);
  expect(server.process.exitCode).toBe(null);
}, 600_000);

function rangeOf(doc: TextDocument, from: number, to: number): Range {
  const len = doc.getText().length;
  return { start: doc.positionAt(Math.min(from, len)), end: doc.positionAt(Math.min(to, len)) };
}
