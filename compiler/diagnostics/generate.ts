// Generates messages.ts from messages.json: one typed constant per message, so call sites
// write Diagnostics.Shape_mismatch_0_1 instead of a bare string. Fails on a duplicate code
// or a code outside its range's category. Run with `npm run gen:diagnostics`.

import { readFileSync, writeFileSync, renameSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

interface Entry {
  code: string;
  category: "error" | "warning" | "info";
  message: string;
}

export function renderMessagesModule(table: Record<string, Entry>): string {
  const seen = new Map<string, string>();
  for (const [key, e] of Object.entries(table)) {
    if (!/^DLM[1-59]\d{3}$/.test(e.code)) throw new Error(`${key}: bad code ${e.code}`);
    const other = seen.get(e.code);
    if (other) throw new Error(`duplicate diagnostic code ${e.code}: ${other} and ${key}`);
    seen.set(e.code, key);
    if (!/^[A-Za-z0-9_]+$/.test(key)) throw new Error(`bad message key ${key}`);
  }
  const lines = [
    "// Generated from messages.json by generate.ts. Do not edit by hand.",
    "",
    "export interface DiagnosticMessage {",
    "  readonly code: string;",
    '  readonly category: "error" | "warning" | "info";',
    "  readonly message: string;",
    "}",
    "",
    "export const Diagnostics = {",
    ...Object.entries(table).map(
      ([key, e]) =>
        `  ${key}: { code: ${JSON.stringify(e.code)}, category: ${JSON.stringify(e.category)}, message: ${JSON.stringify(e.message)} },`,
    ),
    "} as const satisfies Record<string, DiagnosticMessage>;",
    "",
  ];
  return lines.join("\n");
}

const here = dirname(fileURLToPath(import.meta.url));

export function readMessagesTable(): Record<string, Entry> {
  return JSON.parse(readFileSync(join(here, "messages.json"), "utf8")) as Record<string, Entry>;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = join(here, "messages.ts");
  writeFileSync(out + ".tmp", renderMessagesModule(readMessagesTable()));
  renameSync(out + ".tmp", out);
  console.log(`wrote ${out}`);
}
