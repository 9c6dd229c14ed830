// Bundles in ES module format that inline CommonJS packages (the language server's protocol
// library) need a `require` for the Node built-ins those packages load; this banner line
// gives them one.
export const ESM_REQUIRE_SHIM =
  'import { createRequire as __dlmCreateRequire } from "node:module"; const require = __dlmCreateRequire(import.meta.url);';
