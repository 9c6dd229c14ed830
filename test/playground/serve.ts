// Shared by the browser tests: a static file server (pages must come from a secure context,
// 127.0.0.1, for workers, modules and WebGPU) and Debian's chromium with WebGPU on SwiftShader.

import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { extname, join, normalize, sep } from "node:path";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".css": "text/css",
  ".svg": "image/svg+xml",
};

/** A static file server for `root` on 127.0.0.1 (a secure context) at an ephemeral port. */
export async function serveStatic(root: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
    const file = normalize(join(root, path.endsWith("/") ? `${path}index.html` : path));
    if (!file.startsWith(root + sep)) return void res.writeHead(403).end();
    readFile(file).then(
      (body) => res.writeHead(200, { "content-type": CONTENT_TYPES[extname(file)] ?? "application/octet-stream" }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("the test server has no port");
  return { server, url: `http://127.0.0.1:${address.port}/` };
}

/** Debian's chromium, which .ci/run installs. */
export const CHROMIUM = "/usr/bin/chromium";

/** Headless chromium whose pages get a WebGPU adapter from SwiftShader. */
export async function launchWebGpuChromium() {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--enable-unsafe-webgpu",
      "--use-webgpu-adapter=swiftshader",
      "--no-first-run",
      "--disable-background-networking",
    ],
  });
}
