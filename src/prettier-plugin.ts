// The prettier plugin for .dlm files: one language, one parser and one printer, all
// handing the whole document to formatDlm, so `prettier --write "**/*.dlm"` and
// `dlm fmt` always agree. Prettier's printWidth is not consulted for the same reason:
// .dlm has one canonical layout (120 columns). Prettier loads the plugin through
// prettier-plugin.mjs, beside this file.

import type { Parser, Plugin, Printer, SupportLanguage } from "prettier";
import { formatDlm } from "../grammar/format.js";

/** What the parser hands the printer: the file, already formatted. */
interface FormattedDlm {
  readonly text: string;
  readonly formatted: string;
}

/** A syntax error as prettier reports it (with a code frame at `loc`). */
class DlmSyntaxError extends SyntaxError {
  constructor(
    message: string,
    readonly loc: { start: { line: number; column: number } },
  ) {
    super(message);
  }
}

export const languages: SupportLanguage[] = [
  { name: "dlm", parsers: ["dlm"], extensions: [".dlm"], vscodeLanguageIds: ["dlm"], tmScope: "source.dlm" },
];

const parser: Parser<FormattedDlm> = {
  astFormat: "dlm",
  parse(text, options) {
    const result = formatDlm(text, { file: options.filepath ?? "<input>" });
    if (!result.ok) {
      const { message, code, range } = result.diagnostic;
      throw new DlmSyntaxError(`${message} (${code})`, { start: { line: range.start.line, column: range.start.column } });
    }
    return { text, formatted: result.text };
  },
  locStart: () => 0,
  locEnd: (node) => node.text.length,
};

const printer: Printer<FormattedDlm> = {
  print: (path) => path.node.formatted,
};

export const parsers: Record<string, Parser> = { dlm: parser };
export const printers: Record<string, Printer> = { dlm: printer };

const plugin: Plugin = { languages, parsers, printers };
export default plugin;
