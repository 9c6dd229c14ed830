// The compiler host of the language server: open documents from memory (what the user
// sees, saved or not), everything else (imports, the standard library) from disk through
// the file-system host's checks, remembered until the file changes on disk so a check per
// keystroke does not re-read the standard library.

import { statSync } from "node:fs";
import type { CompilerHost } from "../../compiler/program.js";
import { createFileSystemHost } from "../host.js";

interface CachedFile {
  readonly mtimeMs: number;
  readonly size: number;
  readonly result: { readonly text: string } | { readonly error: string };
}

export class EditorFiles {
  private readonly disk = new Map<string, CachedFile>();
  private readonly hosts = new Map<string, CompilerHost>();

  /** `open`: the open documents' texts by path */
  constructor(private readonly open: () => ReadonlyMap<string, string>) {}

  /** A host for checking the file at `entry`. */
  hostFor(entry: string): CompilerHost {
    // the file-system host finds the project root once; keep it per entry
    let fsHost = this.hosts.get(entry);
    if (!fsHost) {
      if (this.hosts.size > 64) this.hosts.clear();
      this.hosts.set(entry, (fsHost = createFileSystemHost(entry)));
    }
    const base = fsHost;
    return {
      readFile: (path) => {
        const text = this.open().get(path);
        return text !== undefined ? { text } : this.readDisk(path, base);
      },
      resolveImport: (from, spec) => base.resolveImport(from, spec),
    };
  }

  private readDisk(path: string, base: CompilerHost): CachedFile["result"] {
    let stat: { mtimeMs: number; size: number } | undefined;
    try {
      const s = statSync(path);
      stat = { mtimeMs: s.mtimeMs, size: s.size };
    } catch {
      stat = undefined;
    }
    const hit = this.disk.get(path);
    if (stat && hit && hit.mtimeMs === stat.mtimeMs && hit.size === stat.size) return hit.result;
    const result = base.readFile(path);
    if (stat) this.disk.set(path, { ...stat, result });
    else this.disk.delete(path);
    return result;
  }
}
