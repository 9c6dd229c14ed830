// The language server as an editor sees it: the real `dlm lsp --stdio` process, driven by
// vscode-languageserver-protocol's client connection. Each capability is checked on small
// documents whose positions are marked with `<|name>`.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CodeLensRequest,
  CompletionRequest,
  DefinitionRequest,
  DiagnosticSeverity,
  DocumentFormattingRequest,
  DocumentSymbolRequest,
  HoverRequest,
  InlayHintRequest,
  PrepareRenameRequest,
  ReferencesRequest,
  RenameRequest,
  SignatureHelpRequest,
  type CompletionItem,
  type CompletionList,
  type DocumentSymbol,
  type Hover,
  type Location,
  type MarkupContent,
  type Position,
} from "vscode-languageserver-protocol/node";
import { fileUri, marked, ROOT, startServer, type ServerProcess } from "./client.js";

let server: ServerProcess;
beforeAll(async () => {
  server = await startServer();
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

/** A model with one block used twice, a doc comment, a pipe and named arguments. */
const NET = marked(`import "std/vision"

/// Two <|docword>3x3 convolutions at one resolution.
block <|blockdef>Twice(out: int, <|stridedef>stride: int = 1) {
  input x: f32[B, C, H, W]
  y = x |> <|conv>conv2d(out, 3, stride: <|strideuse>stride, padding: 1) |> relu
  output y
}

model <|model>Net(<|classesdef>classes: int = 10) {
  input x: f32[B, 3, 32, 32]
  <|a>a = x |> <|twice1>Twice(8) |> <|twice2>Twice(16, <|stridearg>stride: 2)
  h = <|ause>a |> flatten
  output logits = h |> linear(<|classes>classes)
}
`);
const NET_URI = fileUri("test/lsp/__net.dlm");

function text(h: Hover | null): string {
  return h ? (h.contents as MarkupContent).value : "";
}

function labels(r: CompletionItem[] | CompletionList | null): string[] {
  return (Array.isArray(r) ? r : (r?.items ?? [])).map((i) => i.label);
}

async function hoverAt(uri: string, position: Position): Promise<string> {
  return text(await server.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position }));
}

async function completeAt(uri: string, position: Position): Promise<string[]> {
  return labels(await server.connection.sendRequest(CompletionRequest.type, { textDocument: { uri }, position }));
}

describe("diagnostics", () => {
  // errors in four places: a dim conflict at a block's input, an ascription, an unknown
  // op and a half-typed line
  const BROKEN = readFileSync(join(ROOT, "test/lsp/fixtures/broken.dlm"), "utf8");
  const uri = fileUri("test/lsp/fixtures/broken.dlm");

  it("reports every error with its range, code, related places and hint", async () => {
    server.open(uri, BROKEN);
    const diags = await server.diagnostics(uri);
    const brief = diags.map((d) => `${d.code} ${d.range.start.line + 1}:${d.range.start.character + 1}`);
    expect(brief).toEqual(["DLM3104 3:33", "DLM3101 10:13", "DLM2002 11:7", "DLM2005 13:7", "DLM1004 14:3"]);
    expect(diags.every((d) => d.severity === DiagnosticSeverity.Error && d.source === "dlm")).toBe(true);

    // where C was bound, and the application that bound it, as related locations
    const conflict = diags[0]!;
    expect(conflict.message).toContain("dimension 'C' is bound to 864 but here it is 7");
    const related = conflict.relatedInformation!.map(
      (r) => `${r.location.range.start.line + 1}:${r.location.range.start.character + 1} ${r.message}`,
    );
    expect(related).toEqual(["3:19 'C' was bound to 864 from input 'a' (dim 1)", "12:7 in this application of 'Mix'"]);
    expect(conflict.relatedInformation![0]!.location.uri).toBe(uri);
    // the ascription names the op that computed the value, and hints at the input
    const ascription = diags[1]!;
    expect(ascription.relatedInformation![0]!.message).toContain("computed by flatten");
    expect(ascription.message).toContain("hint: the value derives from input 'x'");
    expect(diags[2]!.message).toContain("hint: did you mean 'relu'?");
    expect(diags[2]!.range.end).toEqual({ line: 10, character: 11 });
  });

  it("follows edits: a fixed line loses its error, the others stay", async () => {
    server.change(uri, 2, [{ range: { start: { line: 10, character: 6 }, end: { line: 10, character: 11 } }, text: "relu" }]);
    const diags = await server.diagnostics(uri, 2);
    expect(diags.map((d) => d.code)).toEqual(["DLM3104", "DLM3101", "DLM2005", "DLM1004"]);
  });

  it("shows an error inside an imported file at the import, linked to the file", async () => {
    const importer = fileUri("test/lsp/fixtures/uses_broken_lib.dlm");
    server.open(importer, readFileSync(join(ROOT, "test/lsp/fixtures/uses_broken_lib.dlm"), "utf8"));
    const diags = await server.diagnostics(importer);
    expect(diags).toHaveLength(1);
    expect(diags[0]!.range.start.line).toBe(0);
    expect(diags[0]!.message).toMatch(/^in "\.\/broken_lib\.dlm": unknown name 'undefined_thing'/);
    expect(diags[0]!.relatedInformation![0]!.location.uri).toBe(fileUri("test/lsp/fixtures/broken_lib.dlm"));
  });
});

describe("documents that are not files", () => {
  it("an untitled buffer is checked, with the standard library", async () => {
    const uri = "untitled:Untitled-1";
    server.open(uri, 'import "std/vision"\nmodel U() {\n  input x: f32[B, 8, 4, 4]\n  output y = x |> BasicBlock(8) |> nope\n}\n');
    const diags = await server.diagnostics(uri);
    expect(diags.map((d) => `${d.code} ${d.range.start.line + 1}:${d.range.start.character + 1}`)).toEqual(["DLM2002 4:36"]);
    server.close(uri);
  });
});

describe("hover, inlay hints, code lens", () => {
  beforeAll(async () => {
    server.open(NET_URI, NET.text);
    expect(await server.diagnostics(NET_URI)).toEqual([]);
  });

  it("hover on an annotation says what it does", async () => {
    const doc = marked(`@<|budget>memory_budget("1MB")
model Annotated {
  input x: f32[B, 4]
  @<|nofuse>nofuse h = x |> linear(4) |> relu
  output h
}
`);
    const uri = fileUri("test/lsp/__annotations.dlm");
    server.open(uri, doc.text);
    expect(await server.diagnostics(uri)).toEqual([]);
    expect(await hoverAt(uri, doc.at.budget!)).toMatch(/^`@memory_budget`: .*--memory-budget overrides it/);
    expect(await hoverAt(uri, doc.at.nofuse!)).toMatch(/^`@nofuse`: .*join no fused kernel/);
  });

  it("hover on a binding shows its tensor type", async () => {
    const h = await hoverAt(NET_URI, NET.at.a!);
    expect(h).toContain("a: f32[B, 16, 16, 16]");
    expect(h).toContain("binding in model `Net`");
    expect(await hoverAt(NET_URI, NET.at.ause!)).toContain("a: f32[B, 16, 16, 16]");
  });

  it("hover on a layer call shows each instance's output, parameters and MACs", async () => {
    const h = await hoverAt(NET_URI, NET.at.conv!);
    expect(h).toContain("2-D convolution");
    expect(h).toContain("**conv2d**: 2 instances");
    // Twice(8) on 3×32×32: 8·3·9 + 8 = 224 params, 8·32·32·3·9 = 221,184 MACs; Twice(16, stride 2): 1,168 and 294,912
    expect(h).toMatch(/`a\.0\.y\.0` \| `f32\[B, 8, 32, 32\]` \| 224 \| 221,184/);
    expect(h).toMatch(/`a\.1\.y\.0` \| `f32\[B, 16, 16, 16\]` \| 1,168 \| 294,912/);
    expect(h).toContain("MACs at B = 1");
  });

  it("hover on a block shows its signature, doc comment and, at a call, that application's figures", async () => {
    const decl = await hoverAt(NET_URI, NET.at.blockdef!);
    expect(decl).toContain("block Twice(x: f32[B, C, H, W], out: int, stride: int = 1)");
    expect(decl).toContain("Two 3x3 convolutions at one resolution.");
    const call = await hoverAt(NET_URI, NET.at.twice1!);
    expect(call).toContain("Two 3x3 convolutions");
    expect(call).toMatch(/`a\.0` \| 224 \| 221,184/);
  });

  it("hover on a hyperparameter shows its values in each application", async () => {
    const h = await hoverAt(NET_URI, NET.at.strideuse!);
    expect(h).toContain("stride: int = 1");
    expect(h).toContain("- `1`");
    expect(h).toContain("- `2`");
  });

  it("hover on a model shows its totals", async () => {
    const h = await hoverAt(NET_URI, NET.at.model!);
    // 224 + 1,168 + linear 4096→10 (40,970) = 42,362; 221,184 + 294,912 + 40,960 = 557,056
    expect(h).toContain("| parameters | 42,362 (42,362 trainable) |");
    expect(h).toContain("| MACs (forward) | 557,056 |");
  });

  it("inlay hints give the inferred type of each binding without an ascription", async () => {
    const hints = await server.connection.sendRequest(InlayHintRequest.type, {
      textDocument: { uri: NET_URI },
      range: { start: { line: 0, character: 0 }, end: { line: 20, character: 0 } },
    });
    const shown = (hints ?? []).map((h) => `${h.position.line + 1}:${h.position.character + 1}${h.label as string}`);
    // `y` is two shapes (one per application): the dims they share, `?` for the others
    expect(shown).toEqual(["6:4: f32[B, ?, ?, ?]", "12:4: f32[B, 16, 16, 16]", "13:4: f32[B, 4096]", "14:16: f32[B, 10]"]);
  });

  it("a code lens over each model gives its totals", async () => {
    const lenses = await server.connection.sendRequest(CodeLensRequest.type, { textDocument: { uri: NET_URI } });
    expect(lenses).toHaveLength(1);
    expect(lenses![0]!.range.start).toEqual(NET.at.model);
    // memory at B = 1 with adam: 42,362 params × 4 bytes × (weights, gradients, 2 moments) = 677,792
    // + the input 3·32·32·4 = 12,288 + activations (8,192 · 2 + 4,096 · 3 + 10) · 4 = 114,728 → 804,808 B
    expect(lenses![0]!.command!.title).toBe("42,362 params · 557K MACs · 786 KiB per training step (B=1)");
  });

  it("the example LeNet's lens matches its documented totals", async () => {
    const uri = fileUri("examples/lenet_seed002.dlm");
    server.open(uri, readFileSync(join(ROOT, "examples/lenet_seed002.dlm"), "utf8"));
    const lenses = await server.connection.sendRequest(CodeLensRequest.type, { textDocument: { uri } });
    expect(lenses![0]!.command!.title).toMatch(/^62,006 params · 652K MACs/);
    server.close(uri);
  });
});

describe("completion and signature help", () => {
  const DOC = marked(`block Cell(hidden: int, scale: float = 1.0) {
  input x: f32[B, F]
  output linear(x, hidden)
}

model M(width: int = 32) {
  input x: f32[B, 16]
  y = x |> <|pipe>
  z = x |> linear(width, <|arg>) |> relu
  w = linear(x, <|kernel>out: 4)
  c = Cell(x, 8, sc<|blockarg>)
  t: f32[<|dims>] = z
  <|stmt>
  u: <|dtype>
  v = x |> conv2d(4, 3, str<|partial>
}
`);
  const uri = fileUri("test/lsp/__completion.dlm");
  beforeAll(() => server.open(uri, DOC.text));

  it("after a pipe: operators and blocks", async () => {
    const items = await completeAt(uri, DOC.at.pipe!);
    expect(items).toContain("conv2d");
    expect(items).toContain("relu");
    expect(items).toContain("Cell");
    expect(items).not.toContain("input");
  });

  it("inside a call: the callee's named arguments first, then names in scope", async () => {
    const raw = await server.connection.sendRequest(CompletionRequest.type, { textDocument: { uri }, position: DOC.at.arg! });
    const items = (Array.isArray(raw) ? raw : raw!.items).sort((a, b) => (a.sortText ?? a.label).localeCompare(b.sortText ?? b.label));
    expect(items[0]!.label).toBe("out:");
    expect(items.map((i) => i.label)).toEqual(expect.arrayContaining(["bias:", "init:", "width", "x", "B", "linear"]));
    expect(items.find((i) => i.label === "bias:")!.insertText).toBe("bias: ");
  });

  it("a block's hyperparameters are its named arguments", async () => {
    const items = await completeAt(uri, DOC.at.blockarg!);
    expect(items).toEqual(expect.arrayContaining(["hidden:", "scale:"]));
  });

  it("in a tensor type: dims and hyperparameters, no operators", async () => {
    const items = await completeAt(uri, DOC.at.dims!);
    expect(items).toEqual(expect.arrayContaining(["B", "width"]));
    expect(items).not.toContain("conv2d");
  });

  it("at the start of a statement: keywords and names; after `name:` a dtype", async () => {
    expect(await completeAt(uri, DOC.at.stmt!)).toEqual(expect.arrayContaining(["input", "output", "state", "layer", "for", "y", "Cell"]));
    expect(await completeAt(uri, DOC.at.dtype!)).toEqual(expect.arrayContaining(["f32", "i64", "bool"]));
  });

  it("on a half-typed last line: the named arguments of the call being typed", async () => {
    expect(await completeAt(uri, DOC.at.partial!)).toEqual(expect.arrayContaining(["stride:", "padding:", "groups:"]));
  });

  it("signature help names the parameter being written", async () => {
    const sig = (p: Position) => server.connection.sendRequest(SignatureHelpRequest.type, { textDocument: { uri }, position: p });
    const piped = await sig(DOC.at.arg!);
    expect(piped!.signatures[0]!.label).toBe('linear(x, out: int, bias: bool = true, init: string = "kaiming_uniform")');
    // `x |> linear(width, |)`: the pipe gives x, width is out, so bias is next
    expect(piped!.activeParameter).toBe(2);
    const named = await sig(DOC.at.kernel!);
    // at the start of the second argument of an unpiped call: the first setting, out
    expect(named!.activeParameter).toBe(1);
    const block = await sig(DOC.at.blockarg!);
    expect(block!.signatures[0]!.label).toBe("Cell(x: f32[B, F], hidden: int, scale: float = 1.0)");
    expect(block!.activeParameter).toBe(2);
  });
});

describe("definition, references, rename", () => {
  it("go to definition: a binding, a hyperparameter from a named argument, an imported block", async () => {
    const def = (p: Position) =>
      server.connection.sendRequest(DefinitionRequest.type, { textDocument: { uri: NET_URI }, position: p }) as Promise<Location>;
    expect((await def(NET.at.ause!)).range.start).toEqual(NET.at.a);
    expect((await def(NET.at.stridearg!)).range.start).toEqual(NET.at.stridedef);
    expect((await def(NET.at.strideuse!)).range.start).toEqual(NET.at.stridedef);
    expect((await def(NET.at.classes!)).range.start).toEqual(NET.at.classesdef);
  });

  it("find references: every use of a block, with and without its declaration", async () => {
    const refs = (includeDeclaration: boolean) =>
      server.connection.sendRequest(ReferencesRequest.type, {
        textDocument: { uri: NET_URI },
        position: NET.at.twice1!,
        context: { includeDeclaration },
      });
    expect((await refs(true))!.map((l) => l.range.start)).toEqual([NET.at.blockdef, NET.at.twice1, NET.at.twice2]);
    expect((await refs(false))!).toHaveLength(2);
  });

  it("rename a hyperparameter: its declaration, its uses and the named arguments at calls", async () => {
    const prep = await server.connection.sendRequest(PrepareRenameRequest.type, {
      textDocument: { uri: NET_URI },
      position: NET.at.strideuse!,
    });
    expect(prep).toMatchObject({ placeholder: "stride" });
    const edit = await server.connection.sendRequest(RenameRequest.type, {
      textDocument: { uri: NET_URI },
      position: NET.at.stridedef!,
      newName: "step",
    });
    expect(edit!.changes![NET_URI]!.map((e) => e.range.start)).toEqual([NET.at.stridedef, NET.at.strideuse, NET.at.stridearg]);
    expect(edit!.changes![NET_URI]!.every((e) => e.newText === "step")).toBe(true);
  });

  it("rename refuses a keyword, a clash, and names of files that are not open", async () => {
    const rename = (p: Position, newName: string) =>
      server.connection.sendRequest(RenameRequest.type, { textDocument: { uri: NET_URI }, position: p, newName });
    await expect(rename(NET.at.a!, "input")).rejects.toThrow(/not a valid name/);
    await expect(rename(NET.at.a!, "h")).rejects.toThrow(/already defined/);
    const lib = marked(`import "std/vision"\nmodel R() {\n  input x: f32[B, 3, 8, 8]\n  output x |> <|b>BasicBlock(3)\n}\n`);
    const uri = fileUri("test/lsp/__std_user.dlm");
    server.open(uri, lib.text);
    await expect(server.connection.sendRequest(PrepareRenameRequest.type, { textDocument: { uri }, position: lib.at.b! })).rejects.toThrow(
      /not open/,
    );
    // but go to definition reaches into the standard library
    const def = (await server.connection.sendRequest(DefinitionRequest.type, { textDocument: { uri }, position: lib.at.b! })) as Location;
    expect(def.uri).toMatch(/std\/vision\.dlm$/);
    server.close(uri);
  });
});

describe("across open documents", () => {
  const lib = marked(`/// A dense layer.\nblock <|def>Dense(out: int<|params>) {\n  input x: f32[B, F]\n  output linear(x, out)\n}\n`);
  const user = marked(`import "./__lib.dlm"\n\nmodel U() {\n  input x: f32[B, 4]\n  output y = x |> <|use>Dense(2)\n}\n`);
  const libUri = fileUri("test/lsp/__lib.dlm");
  const userUri = fileUri("test/lsp/__user.dlm");

  it("a block of one open file: its references and its rename reach the files that use it", async () => {
    server.open(libUri, lib.text);
    server.open(userUri, user.text);
    expect(await server.diagnostics(userUri)).toEqual([]);
    const refs = await server.connection.sendRequest(ReferencesRequest.type, {
      textDocument: { uri: libUri },
      position: lib.at.def!,
      context: { includeDeclaration: true },
    });
    expect(refs!.map((l) => [l.uri, l.range.start])).toEqual([
      [libUri, lib.at.def],
      [userUri, user.at.use],
    ]);
    const edit = await server.connection.sendRequest(RenameRequest.type, {
      textDocument: { uri: userUri },
      position: user.at.use!,
      newName: "Affine",
    });
    expect(Object.keys(edit!.changes!).sort()).toEqual([libUri, userUri].sort());
  });

  it("an edit to an imported file checks the files that import it again", async () => {
    server.change(libUri, 2, [{ range: { start: lib.at.params!, end: lib.at.params! }, text: ", extra: int" }]);
    const diags = await server.diagnostics(userUri);
    expect(diags.map((d) => (d.message as string).split("\n")[0])).toEqual(["missing argument 'extra' for 'Dense'"]);
    server.close(libUri);
    server.close(userUri);
  });
});

describe("document symbols and formatting", () => {
  it("outlines blocks and models with their names", async () => {
    const symbols = (await server.connection.sendRequest(DocumentSymbolRequest.type, {
      textDocument: { uri: NET_URI },
    })) as DocumentSymbol[];
    expect(symbols.map((s) => s.name)).toEqual(["Twice", "Net"]);
    expect(symbols[0]!.children!.map((c) => c.name)).toEqual(["out", "stride", "x", "y"]);
    expect(symbols[1]!.children!.map((c) => `${c.name} ${c.detail ?? ""}`)).toEqual([
      "classes 10",
      "x f32[B, 3, 32, 32]",
      "a f32[B, 16, 16, 16]",
      "h f32[B, 4096]",
      "logits f32[B, 10]",
    ]);
  });

  it("formats a document with the canonical layout, and leaves a broken one alone", async () => {
    const uri = fileUri("test/lsp/__format.dlm");
    server.open(uri, "model F(){\n    input x:f32[B,4]\n  output y=x|>linear(2)\n}\n");
    const edits = await server.connection.sendRequest(DocumentFormattingRequest.type, {
      textDocument: { uri },
      options: { tabSize: 2, insertSpaces: true },
    });
    expect(edits).toHaveLength(1);
    expect(edits![0]!.newText).toBe("model F() {\n  input x: f32[B, 4]\n  output y = x |> linear(2)\n}\n");
    server.change(uri, 2, [{ text: "model F( {\n" }]);
    expect(
      await server.connection.sendRequest(DocumentFormattingRequest.type, {
        textDocument: { uri },
        options: { tabSize: 2, insertSpaces: true },
      }),
    ).toEqual([]);
    server.close(uri);
  });
});

describe("half-typed documents", () => {
  it("answers from the last good check while a line is being typed", async () => {
    const uri = fileUri("test/lsp/__typing.dlm");
    const doc = marked(`model T() {\n  input x: f32[B, 8]\n  <|h>h = linear(x, 4)\n  output y = relu(h)\n}\n`);
    server.open(uri, doc.text);
    await server.diagnostics(uri);
    // break the line h is defined on: `h = linear(x, 4` + ` |> ` (no closing paren, a dangling pipe)
    server.change(uri, 2, [{ range: { start: { line: 2, character: 19 }, end: { line: 2, character: 20 } }, text: " |> " }]);
    const diags = await server.diagnostics(uri, 2);
    expect(diags.some((d) => d.code?.toString().startsWith("DLM1"))).toBe(true);
    const h = await hoverAt(uri, doc.at.h!);
    expect(h).toContain("h: f32[B, 4]");
    expect(h).toContain("from the last check without syntax errors");
    const hints = await server.connection.sendRequest(InlayHintRequest.type, {
      textDocument: { uri },
      range: { start: { line: 0, character: 0 }, end: { line: 9, character: 0 } },
    });
    expect(hints!.map((x) => x.label)).toContain(": f32[B, 4]");
    const symbols = (await server.connection.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri } })) as DocumentSymbol[];
    expect(symbols.map((s) => s.name)).toEqual(["T"]);
    expect(await completeAt(uri, { line: 2, character: 23 })).toContain("relu");
    // linear 8 → 4: 36 parameters, 32 MACs
    const lens = await server.connection.sendRequest(CodeLensRequest.type, { textDocument: { uri } });
    expect(lens![0]!.command!.title).toMatch(/^\d+ errors? · last clean check: 36 params · 32 MACs/);
    server.close(uri);
  });

  it("the server process is alive, wrote nothing to stderr and logged no failure", () => {
    expect(server.process.exitCode).toBe(null);
    expect(server.stderr()).toBe("");
    expect(server.logs()).toEqual([]);
  });
});

describe("the command", () => {
  it("`dlm lsp` takes --stdio and nothing else", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/entry.ts"), "lsp"], { cwd: ROOT, encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("dlm lsp takes --stdio");
  });
});
