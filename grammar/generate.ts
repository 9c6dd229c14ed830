// Regenerates the grammar's committed artifacts from the parser: `diagrams.html`
// (railroad diagrams of every rule) and `cst.d.ts` (typings of the concrete syntax tree
// that to-ast.ts reads). Run with `npm run gen:grammar` after changing parser.ts.

import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createSyntaxDiagramsCode, generateCstDts } from "chevrotain";
import { dlmParser } from "./parser.js";

const here = dirname(fileURLToPath(import.meta.url));

export function renderDiagrams(): string {
  return createSyntaxDiagramsCode(dlmParser.getSerializedGastProductions());
}

export function renderCstDts(): string {
  const header = "// Generated from parser.ts by generate.ts (`npm run gen:grammar`). Do not edit by hand.\n\n";
  return header + generateCstDts(dlmParser.getGAstProductions());
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(join(here, "diagrams.html"), renderDiagrams());
  writeFileSync(join(here, "cst.d.ts"), renderCstDts());
  console.log("wrote grammar/diagrams.html and grammar/cst.d.ts");
}
