// The in-memory compiler host (editors, tests, the browser): files are a map of paths to
// text, imports resolve among them and the standard library. No node imports, so the
// browser playground bundles it as it is.

import type { CompilerHost } from "../compiler/program.js";

/** `a/b/c.dlm` → `a/b`; a bare name → `.` (as node:path's posix dirname). */
function dirname(path: string): string {
  const cut = path.replace(/\/+$/, "").lastIndexOf("/");
  return cut < 0 ? "." : cut === 0 ? "/" : path.slice(0, cut);
}

function isAbsolute(path: string): boolean {
  return path.startsWith("/");
}

/** `x` → `x.dlm`; a name with an extension stays as it is. */
function withExtension(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  return base.lastIndexOf(".") > 0 ? path : `${path}.dlm`;
}

/** A host over in-memory files; imports resolve among them, `std/...` in `stdFiles`. */
export function createMemoryHost(files: ReadonlyMap<string, string>, stdFiles: ReadonlyMap<string, string> = new Map()): CompilerHost {
  return {
    readFile(path) {
      const text = files.get(path) ?? stdFiles.get(path);
      return text === undefined ? { error: "no such file" } : { text };
    },
    resolveImport(fromFile, spec) {
      if (spec.startsWith("std/")) {
        const p = withExtension(spec);
        return stdFiles.has(p) ? { path: p } : { error: `no standard library module ${spec}`, reason: "not_found" };
      }
      if (isAbsolute(spec)) return { error: "imports must be relative", reason: "outside" };
      const base = dirname(fromFile);
      const p = withExtension(base === "." ? spec : `${base}/${spec}`).replace(/\/\.\//g, "/");
      const norm = p
        .split("/")
        .reduce<string[]>((acc, part) => (part === ".." ? (acc.pop(), acc) : part === "." ? acc : [...acc, part]), []);
      if (p.split("/").filter((x) => x === "..").length > base.split("/").filter((x) => x && x !== ".").length)
        return { error: "the path leaves the project", reason: "outside" };
      const path = norm.join("/");
      return files.has(path) ? { path } : { error: "no such file", reason: "not_found" };
    },
  };
}
