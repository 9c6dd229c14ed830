// The playground's build: `npm run playground` serves it with live reload, `npm run
// playground:build` writes static files to playground/dist (relative URLs: they work from
// any folder or static host).

import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";

const repo = fileURLToPath(new URL("..", import.meta.url));

/**
 * The runtime reaches the file system only through dynamic `import("node:...")` in functions
 * the page never calls (saving checkpoints); in the browser such an import fails with this
 * message instead of Vite's warning at every build.
 */
function nodeModulesUnavailable(): Plugin {
  const prefix = "\0node-unavailable:";
  return {
    name: "dlm-node-modules-unavailable",
    enforce: "pre",
    resolveId: (id) => (id.startsWith("node:") ? prefix + id : null),
    load: (id) =>
      id.startsWith(prefix) ? `throw new Error(${JSON.stringify(`${id.slice(prefix.length)} is not available in the browser`)});` : null,
  };
}

export default defineConfig({
  plugins: [nodeModulesUnavailable()],
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "./",
  // the dev server's pre-bundled dependencies stay with this checkout (node_modules may be shared)
  cacheDir: "node_modules/.vite",
  // the page imports the compiler, runtime and standard library from the repository
  server: { fs: { allow: [repo] } },
  worker: { format: "es", plugins: () => [nodeModulesUnavailable()] },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 4096,
  },
});
