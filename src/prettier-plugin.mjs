// Prettier's entry to the .dlm plugin (prettier-plugin.ts): prettier imports plugins as
// JavaScript. It loads the bundle tools/build.ts makes (dist/prettier-plugin.mjs) when
// that is newer than the sources, else the TypeScript sources through tsx (a dependency
// of dlm) in a namespace of its own, so prettier's other imports are not affected and the
// plugin is never older than the formatter.
import { fileURLToPath } from "node:url";
import { bundleIsFresh } from "../bin/bundle-freshness.js";

const bundle = new URL("../dist/prettier-plugin.mjs", import.meta.url);

async function load() {
  if (bundleIsFresh(fileURLToPath(bundle))) return import(bundle.href);
  const { register } = await import("tsx/esm/api");
  return register({ namespace: "dlm-prettier-plugin" }).import("./prettier-plugin.ts", import.meta.url);
}

const plugin = await load();
export const { languages, parsers, printers } = plugin;
export default { languages, parsers, printers };
