// Whether a bundle built by tools/build.ts is newer than every source it was built from,
// so that an edited checkout never runs stale code: bin/dlm.js and the prettier plugin's
// entry use the bundle only then, and the TypeScript sources through tsx otherwise.
import { readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (entry.name.endsWith(".ts") || entry.name.endsWith(".json")) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

export function bundleIsFresh(bundle) {
  try {
    const built = statSync(bundle).mtimeMs;
    return ["src", "compiler", "grammar"].every((d) => newestSource(join(root, d)) <= built);
  } catch {
    return false;
  }
}
