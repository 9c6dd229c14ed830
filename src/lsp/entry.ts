// The language server as a program of its own (what the VS Code extension bundles and
// starts): serves over standard input and output, like `dlm lsp --stdio`.
import { runStdioServer } from "./server.js";

process.exitCode = await runStdioServer();
