// The browser entry of the library (src/browser.ts): the standard library bundled by Vite is
// the one on disk, its checks and reports equal the Node API's, and nothing the page or its
// training worker loads imports a node module (the ARCHITECTURE rule "no IO below src/" as
// the browser sees it).

import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as browser from "../../src/browser.js";
import { checkSource, summarizeSource } from "../../src/index.js";
import { loadStdFiles } from "../../src/host.js";

const repo = fileURLToPath(new URL("../..", import.meta.url));

describe("src/browser.ts", () => {
  it("bundles every standard library file, as on disk", () => {
    const onDisk = loadStdFiles();
    expect(onDisk.size).toBeGreaterThan(0);
    expect(new Map(browser.stdFiles)).toEqual(onDisk);
  });

  it.each(["bert_base.dlm", "attention.dlm", "mlp_mnist.dlm"])("checks and summarises examples/%s as the Node API does", (file) => {
    const text = readFileSync(join(repo, "examples", file), "utf8");
    expect(browser.checkSource(text, file).diagnostics).toEqual(checkSource(text, file).diagnostics);
    const ours = browser.summarizeSource(text, file);
    expect(ours.report).toBeDefined();
    expect(ours.report).toEqual(summarizeSource(text, file).report);
  });

  it("reports a missing standard library module", () => {
    const r = browser.checkSource('import "std/nothing"\n', "x.dlm");
    expect(r.diagnostics.map((d) => d.message).join("\n")).toMatch(/std\/nothing/);
  });
});

/**
 * Static imports that survive compilation (`import ... from`, `export ... from`, `import "x"`;
 * not `import type`, which is erased, nor `import()`, which loads only when called).
 */
function staticImports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s(?!type\s)[^;]*?\sfrom\s+"([^"]+)"|^\s*import\s+"([^"]+)"/gms))
    out.push((m[1] ?? m[2])!);
  return out;
}

describe("the playground's module graph", () => {
  it("reaches no node module from the page or the training worker", () => {
    const entries = ["playground/src/main.ts", "playground/src/train-worker.ts"].map((p) => join(repo, p));
    const seen = new Set<string>();
    const offenders: string[] = [];
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const spec of staticImports(readFileSync(file, "utf8"))) {
        if (spec.startsWith("node:") || /^(fs|path|url|os|module|crypto|child_process)(\/|$)/.test(spec))
          offenders.push(`${file}: ${spec}`);
        else if (spec.startsWith(".") && !spec.includes("?")) {
          const target = resolve(dirname(file), spec.replace(/\.js$/, ".ts"));
          if (target.endsWith(".ts") && !existsSync(target.replace(/\.ts$/, ".d.ts"))) visit(target);
        }
      }
    };
    entries.forEach(visit);
    expect(seen.size).toBeGreaterThan(50); // the compiler and runtime were walked, not just the page
    expect(offenders).toEqual([]);
  });
});
