// How fast the checker answers: in-process (what the language server sees per edit) and
// as a cold `dlm check` process (what a terminal user sees). Prints medians.
//   npm run bench:check

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { checkSource, summarizeSource } from "../src/index.js";

const root = join(import.meta.dirname, "..");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function inProcess(file: string, runs = 30): { check: number; summary: number } {
  const text = readFileSync(join(root, "examples", file), "utf8");
  for (let i = 0; i < 5; i++) checkSource(text, file); // warm the JIT and the std parse
  const check: number[] = [];
  const summary: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t0 = performance.now();
    checkSource(text, file);
    check.push(performance.now() - t0);
    t0 = performance.now();
    summarizeSource(text, file);
    summary.push(performance.now() - t0);
  }
  return { check: median(check), summary: median(summary) };
}

function coldProcess(file: string, runs = 5): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [join(root, "bin", "dlm.js"), "check", join(root, "examples", file)], { encoding: "utf8" });
    times.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`dlm check ${file} failed:\n${r.stderr}`);
  }
  return median(times);
}

const files = ["transformer_encoder.dlm", "bert_base.dlm", "gpt2_small.dlm", "resnet50.dlm", "densenet121.dlm"];
console.log("file                      check (warm)  summary (warm)  dlm check (cold process)");
for (const f of files) {
  const w = inProcess(f);
  const cold = coldProcess(f);
  console.log(
    `${f.padEnd(26)}${w.check.toFixed(1).padStart(9)} ms${w.summary.toFixed(1).padStart(13)} ms${cold.toFixed(0).padStart(18)} ms`,
  );
}
