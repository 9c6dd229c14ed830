// Completion in the playground's editor: operators with their signatures, compile-time and
// training builtins, keywords and dtypes, from the same tables the checker and the language
// server use (the language server also completes blocks, names and dims in scope).

import type { Completion, CompletionContext, CompletionResult } from "@codemirror/autocomplete";
import { BUILTINS } from "../../compiler/elaborate.js";
import { OPS } from "../../compiler/ops/index.js";
import { DTYPES } from "../../compiler/ops/types.js";
import { TRAIN_BUILTINS } from "../../compiler/train.js";
import { keywordTokens } from "../../grammar/tokens.js";
import { builtinSignature, opSignature, type Signature } from "../../src/lsp/describe.js";

function fromSignature(s: Signature, type: string): Completion {
  return { label: s.name, type, detail: s.label.slice(s.name.length), ...(s.doc ? { info: s.doc } : {}) };
}

/** Every completion the editor offers, sorted by label. */
export function completionOptions(): Completion[] {
  const options: Completion[] = [...OPS.values()].map((op) => fromSignature(opSignature(op), "function"));
  for (const name of [...BUILTINS.keys(), ...TRAIN_BUILTINS.keys()]) {
    const s = builtinSignature(name);
    if (s && !OPS.has(name)) options.push(fromSignature(s, "function"));
  }
  // keyword token names are their words, capitalised (`Input` for `input`)
  for (const k of keywordTokens) options.push({ label: k.name.toLowerCase(), type: "keyword" });
  for (const d of DTYPES) options.push({ label: d, type: "type" });
  return options.sort((a, b) => a.label.localeCompare(b.label));
}

let cached: Completion[] | undefined;

/** The completion source: the word before the cursor, or everything when asked (Ctrl-Space). */
export function completeDlm(ctx: CompletionContext): CompletionResult | null {
  const word = ctx.matchBefore(/[A-Za-z_][A-Za-z0-9_]*/);
  if (!word && !ctx.explicit) return null;
  return { from: word?.from ?? ctx.pos, options: (cached ??= completionOptions()), validFor: /^[A-Za-z0-9_]*$/ };
}
