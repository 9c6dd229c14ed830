// `dlm fmt`: the canonical layout (grammar/format.ts) applied to files. In place by default
// (only files that change are written, atomically); `--check` writes nothing and lists the
// files that would change; `--stdout FILE` and `-` (standard input) print the result.
// Exit codes: 0 nothing to do or done, 1 a file needs formatting (with --check) or has a
// syntax error or cannot be read, 2 a bad command line (thrown as FmtUsageError).

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { formatDlm } from "../../grammar/format.js";
import type { Diagnostic } from "../../compiler/diagnostics/index.js";
import { writeFileAtomic } from "../atomic.js";

export class FmtUsageError extends Error {}

export interface FmtOptions {
  /** files, folders (their .dlm files, recursively) or `-` for standard input */
  readonly paths: readonly string[];
  readonly check: boolean;
  readonly stdout: boolean;
  /** a diagnostic as the user reads it, with its source line */
  readonly render: (d: Diagnostic, source: string) => string;
  /** a path as shown to the user */
  readonly display: (path: string) => string;
  readonly readStdin?: () => string;
}

export async function runFmt(options: FmtOptions): Promise<number> {
  const { paths, check, stdout } = options;
  if (paths.length === 0) throw new FmtUsageError("dlm fmt needs at least one FILE (or - for standard input)");
  if (check && stdout) throw new FmtUsageError("--check and --stdout cannot be combined");
  const fromStdin = paths.includes("-");
  if (fromStdin && paths.length > 1) throw new FmtUsageError("- (standard input) cannot be combined with other files");
  if (stdout && paths.length !== 1) throw new FmtUsageError("--stdout takes exactly one FILE");

  if (fromStdin) {
    const text = (options.readStdin ?? (() => readFileSync(0, "utf8")))();
    const result = formatDlm(text, { file: "<stdin>" });
    if (!result.ok) return fail(options, result.diagnostic, text);
    if (!check) {
      process.stdout.write(result.text);
      return 0;
    }
    if (result.text === text) return 0;
    process.stdout.write("<stdin>\n");
    return 1;
  }

  let status = 0;
  for (const path of expand(paths)) {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      process.stderr.write(`dlm fmt: cannot read ${options.display(path)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
      status = 1;
      continue;
    }
    const result = formatDlm(text, { file: path });
    if (!result.ok) {
      status = fail(options, result.diagnostic, text);
      continue;
    }
    if (stdout) process.stdout.write(result.text);
    else if (result.text !== text) {
      if (check) status = 1;
      else await writeFileAtomic(path, result.text);
      process.stdout.write(`${options.display(path)}\n`);
    }
  }
  return status;
}

function fail(options: FmtOptions, d: Diagnostic, source: string): number {
  process.stderr.write(`${options.render(d, source)}\n`);
  return 1;
}

/** Files as given; folders as the .dlm files in them (recursively, in order; hidden folders and node_modules skipped). */
function expand(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let isDir = false;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      // reported when it is read
    }
    if (isDir) out.push(...dlmFilesIn(p));
    else out.push(p);
  }
  return out;
}

function dlmFilesIn(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!entry.name.startsWith(".") && entry.name !== "node_modules") out.push(...dlmFilesIn(p));
    } else if (entry.name.endsWith(".dlm")) out.push(p);
  }
  return out;
}
