// The playground end to end: build it with Vite, serve the static files from 127.0.0.1 and
// drive Debian's chromium through playwright-core. Type a model with a shape error, see the
// diagnostic at its line, fix it with keystrokes, see the parameter count the library
// computes, train a few steps and see the loss fall, stop a long run; screenshots are saved
// to tmp/playground/ (playground-diagnostic.png, playground.png). Skips (saying so) where
// chromium is not installed.

import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { checkSource, summarizeSource } from "../../src/index.js";
import { CHROMIUM, launchWebGpuChromium, serveStatic } from "./serve.js";

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`playground test skipped: no chromium at ${CHROMIUM} (.ci/run installs Debian's chromium)`);

const repo = fileURLToPath(new URL("../..", import.meta.url));
const SCREENSHOT = join(repo, "tmp", "playground", "playground.png");

/** A model whose third line adds a [B, 16] to a [B, 8]; deleting the ` + x` fixes it. */
const BROKEN = `model Tiny {
  input x: f32[B, 8]
  h = relu(linear(x, 16) as hidden) + x
  output logits = linear(h, 3) as head
}

train Tiny {
  input labels: i32[B]
  loss = cross_entropy(logits, labels)
  optimizer = adam(lr: 0.02)
  batch = 16
}
`;
const FAULT = " + x";
const FIXED = BROKEN.replace(FAULT, "");
const faultLine = BROKEN.split("\n").findIndex((l) => l.includes(FAULT)) + 1;
const STEPS = 48;

describe.skipIf(!hasChromium)("the playground in headless Chromium", () => {
  let outDir = "";
  let server: Server | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let url = "";
  const pageErrors: string[] = [];

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), "dlm-playground-"));
    const { build } = await import("vite");
    await build({
      configFile: join(repo, "playground", "vite.config.ts"),
      logLevel: "warn",
      build: { outDir, emptyOutDir: true, minify: false, reportCompressedSize: false },
    });
    const served = await serveStatic(outDir);
    server = served.server;
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.on("pageerror", (e) => pageErrors.push(e.message));
    url = served.url;
    await page.goto(url);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((done) => (server ? server.close(done) : done(undefined)));
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it("checks, summarises, draws and trains what is typed", async () => {
    // the default model loads checked and summarised
    await page.waitForSelector("#param-count", { timeout: 30_000 });
    expect(await page.textContent("#check-status")).toBe("no problems");

    // type a model with a shape error: the diagnostic the library gives appears at its line
    const expected = checkSource(BROKEN, "playground.dlm").diagnostics;
    expect(expected).toHaveLength(1);
    expect(expected[0]!.code).toMatch(/^DLM3/); // a shape error
    expect(expected[0]!.range.start.line).toBe(faultLine);
    await page.click(".cm-content");
    await page.keyboard.press("Control+a");
    await page.keyboard.insertText(BROKEN);
    const problem = page.locator("#problems li.problem");
    await expect.poll(() => problem.count(), { timeout: 10_000 }).toBe(1);
    expect(await problem.getAttribute("data-line")).toBe(String(faultLine));
    expect(await problem.getAttribute("data-code")).toBe(expected[0]!.code);
    expect(await problem.textContent()).toBe(
      `${faultLine}:${expected[0]!.range.start.column} error ${expected[0]!.code}: ${expected[0]!.message}`,
    );
    expect(await page.textContent("#check-status")).toBe("1 error");
    expect(await page.locator(".cm-lintRange-error").count()).toBeGreaterThan(0);
    expect(await page.isDisabled("#train")).toBe(true);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT.replace(/\.png$/, "-diagnostic.png") });

    // fix it with keystrokes: to the end of the faulty line, delete " + x"
    await page.keyboard.press("Control+Home");
    for (let i = 1; i < faultLine; i++) await page.keyboard.press("ArrowDown");
    await page.keyboard.press("End");
    for (let i = 0; i < FAULT.length; i++) await page.keyboard.press("Backspace");
    expect(await page.evaluate(() => document.querySelector(".cm-content")?.textContent?.includes("as hidden) + x"))).toBe(false);
    await expect.poll(() => problem.count(), { timeout: 10_000 }).toBe(0);
    expect(await page.textContent("#check-status")).toBe("no problems");

    // the parameter count is the library's (`dlm summary`'s) for the fixed model
    const summary = summarizeSource(FIXED, "playground.dlm");
    expect(summary.report).toBeDefined();
    await expect
      .poll(() => page.getAttribute("#param-count", "data-value"), { timeout: 10_000 })
      .toBe(String(summary.report!.params.total));
    expect(await page.textContent("#param-count")).toBe(summary.report!.params.total.toLocaleString("en-US"));
    // the graph has a box per layer and the hidden layer's output shape on an arrow
    expect(await page.locator("#graph .box-op").count()).toBe(summary.report!.layers.length);
    const hiddenShape = summary.report!.layers.find((l) => l.name === "hidden")!.shape;
    expect(await page.locator(`#graph .arrow[data-shape="${hiddenShape}"]`).count()).toBeGreaterThan(0);

    // WebGPU is offered where the browser has an adapter; otherwise a note says training runs on the CPU
    const webgpuOffered = (await page.locator('#backend option[value="webgpu"]').count()) > 0;
    expect(await page.textContent("#backend-note")).toMatch(webgpuOffered ? /^$/ : /^WebGPU: no adapter .*training runs on the CPU$/);

    // train a few steps on the CPU: the loss read from the page falls
    expect(await page.inputValue("#backend")).toBe("cpu");
    await page.fill("#steps", String(STEPS));
    await page.click("#train");
    await page.waitForSelector('#loss-curve[data-state="done"]', { timeout: 60_000 });
    const losses = JSON.parse((await page.getAttribute("#loss-curve", "data-losses")) ?? "[]") as number[];
    expect(losses).toHaveLength(STEPS);
    expect(losses.every(Number.isFinite)).toBe(true);
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const first = mean(losses.slice(0, 8));
    const last = mean(losses.slice(-8));
    expect(last).toBeLessThan(0.8 * first);
    expect(await page.textContent("#train-status")).toMatch(new RegExp(`^${STEPS} steps in `));
    expect(await page.locator("#loss-curve svg path").count()).toBeGreaterThan(0);

    await page.screenshot({ path: SCREENSHOT });

    // Stop ends a long run at once
    await page.fill("#steps", "100000");
    await page.click("#train");
    await page.waitForFunction(() => /^step \d+\//.test(document.getElementById("train-status")?.textContent ?? ""), undefined, {
      timeout: 30_000,
    });
    expect(await page.textContent("#train")).toBe("Stop");
    await page.click("#train");
    expect(await page.textContent("#train-status")).toMatch(/^stopped after \d+ steps$/);
    expect(await page.textContent("#train")).toBe("Train");
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it("trains on WebGPU where chromium gives an adapter (SwiftShader)", async () => {
    const gpuBrowser = await launchWebGpuChromium();
    try {
      const gpuPage = await gpuBrowser.newPage({ viewport: { width: 1600, height: 1000 } });
      const errors: string[] = [];
      gpuPage.on("pageerror", (e) => errors.push(e.message));
      await gpuPage.goto(url);
      await gpuPage.waitForSelector("#param-count", { timeout: 30_000 });
      await gpuPage.waitForFunction(() => (document.getElementById("backend") as HTMLSelectElement).options.length > 0);
      if ((await gpuPage.locator('#backend option[value="webgpu"]').count()) === 0) {
        console.warn(`playground WebGPU training skipped: ${await gpuPage.textContent("#backend-note")}`);
        return;
      }
      expect(await gpuPage.textContent("#backend-note")).toBe("");
      await gpuPage.selectOption("#backend", "webgpu");
      await gpuPage.fill("#steps", String(STEPS));
      await gpuPage.click("#train");
      await gpuPage.waitForSelector('#loss-curve[data-state="done"]', { timeout: 90_000 });
      expect(await gpuPage.textContent("#train-status")).toMatch(new RegExp(`^${STEPS} steps in `));
      const losses = JSON.parse((await gpuPage.getAttribute("#loss-curve", "data-losses")) ?? "[]") as number[];
      expect(losses).toHaveLength(STEPS);
      const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
      expect(mean(losses.slice(-8))).toBeLessThan(0.8 * mean(losses.slice(0, 8)));
      expect(errors).toEqual([]);
    } finally {
      await gpuBrowser.close();
    }
  }, 150_000);
});
