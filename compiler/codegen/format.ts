// Formatting of generated code with prettier's API, at fixed options (not the project's
// configuration files), so that the same model gives byte-identical output wherever it is
// compiled. prettier is loaded on demand; where it is not installed the generator's own
// layout is kept (it is already one statement per line).

export const PRETTIER_OPTIONS = { parser: "typescript", printWidth: 120, trailingComma: "all", endOfLine: "lf" } as const;

type PrettierApi = { format(text: string, options: Record<string, unknown>): Promise<string> };

let prettier: Promise<PrettierApi | null> | undefined;

function loadPrettier(): Promise<PrettierApi | null> {
  // a computed specifier keeps bundlers (tools/build.ts) from inlining prettier into the CLI
  const name = ["prett", "ier"].join("");
  return (prettier ??= import(name).then(
    (m: { default?: PrettierApi } & PrettierApi) => m.default ?? m,
    () => null,
  ));
}

/** `code` formatted by prettier (TypeScript parser); a syntax error in it throws. */
export async function formatTs(code: string): Promise<string> {
  const p = await loadPrettier();
  return p ? p.format(code, { ...PRETTIER_OPTIONS }) : code;
}
