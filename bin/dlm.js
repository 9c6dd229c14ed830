#!/usr/bin/env node
// Starts the CLI from the bundle dist/dlm.mjs (built by `npm run build`, which
// `npm install` runs) when it is newer than every source file; otherwise runs the
// TypeScript sources through tsx, so an edited checkout never runs stale code.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleIsFresh } from "./bundle-freshness.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bundle = join(root, "dist", "dlm.mjs");

if (bundleIsFresh(bundle)) {
  await import(bundle);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cli/entry.ts");
}
