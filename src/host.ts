// Compiler hosts: how the pure compiler reaches files. The file-system host keeps imports
// inside the project folder, refuses devices and special files, and bounds file sizes;
// the in-memory host (memory-host.ts, free of node imports) serves editors, tests and the browser.

import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { CompilerHost, ResolveResult } from "../compiler/program.js";

export { createMemoryHost } from "./memory-host.js";

export const MAX_SOURCE_BYTES = 4 * 1024 * 1024;

/** The standard library of blocks written in .dlm, shipped with the package. */
export const STD_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "std");

const WINDOWS_DEVICES = /^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i;

function withExtension(p: string): string {
  return extname(p) === "" ? `${p}.dlm` : p;
}

/** Resolve `spec` as imported from `fromFile`, inside `root` (or the standard library). */
export function resolveImportPath(fromFile: string, spec: string, root: string): ResolveResult {
  if (spec.includes("\0") || spec.length > 1024) return { error: "the import path contains invalid characters", reason: "not_found" };
  const parts = spec.split(/[\\/]/);
  if (parts.some((p) => WINDOWS_DEVICES.test(p))) return { error: `'${spec}' names a device`, reason: "outside" };
  if (isAbsolute(spec) || /^[a-zA-Z]:/.test(spec) || spec.startsWith("\\\\"))
    return { error: "imports must be relative paths inside the project (or std/...)", reason: "outside" };
  if (parts[0] === "std") {
    const p = withExtension(join(STD_DIR, ...parts.slice(1)));
    return isInside(p, STD_DIR) ? { path: p } : { error: "the path leaves the standard library", reason: "outside" };
  }
  const p = withExtension(resolve(dirname(fromFile), spec));
  if (!isInside(p, root)) return { error: `the project folder is ${root}`, reason: "outside" };
  return { path: p };
}

function isInside(p: string, root: string): boolean {
  const rel = relative(root, p);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) && !rel.split(sep).includes("..");
}

/** The nearest folder above `file` holding package.json, dlm.json or .git; else its own folder. */
export function projectRoot(file: string): string {
  let dir = dirname(resolve(file));
  for (;;) {
    for (const marker of ["dlm.json", "package.json", ".git"]) {
      try {
        statSync(join(dir, marker));
        return dir;
      } catch {
        /* keep looking */
      }
    }
    const up = dirname(dir);
    if (up === dir) return dirname(resolve(file));
    dir = up;
  }
}

export function createFileSystemHost(entry: string, overlays: ReadonlyMap<string, string> = new Map()): CompilerHost {
  const root = projectRoot(entry);
  return {
    readFile(path) {
      const overlay = overlays.get(path);
      if (overlay !== undefined) return { text: overlay };
      try {
        const st = statSync(path);
        if (!st.isFile()) return { error: "not a regular file" };
        if (st.size > MAX_SOURCE_BYTES) return { error: `the file is ${st.size} bytes; the limit is ${MAX_SOURCE_BYTES}` };
        // Resolve symlinks so a link cannot smuggle a file from outside the project in.
        const real = realpathSync(path);
        if (path !== resolve(entry) && !isInside(real, realpathSync(root)) && !isInside(real, realpathSync(STD_DIR)))
          return { error: "the file is a link to outside the project" };
        return { text: readFileSync(path, "utf8") };
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        return { error: code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : String((e as Error).message) };
      }
    },
    resolveImport(fromFile, spec) {
      return resolveImportPath(fromFile, spec, root);
    },
  };
}

/** The standard library as a map for the in-memory host, keyed `std/NAME.dlm`. */
export function loadStdFiles(dir: string = STD_DIR): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(dir)) if (name.endsWith(".dlm")) files.set(`std/${name}`, readFileSync(join(dir, name), "utf8"));
  return files;
}
