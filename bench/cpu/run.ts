// The CPU benchmark: dlm against the libraries a user would pick instead, side by side in one
// run, on the same computations (see common.ts for the cases):
//   tfjs-cpu, tfjs-wasm   @tensorflow/tfjs with its plain-JS and wasm (XNNPACK) backends
//   jax-js                @jax-js/jax on its wasm device
//   onnxruntime           onnxruntime-node on one thread (the native ceiling, like for like)
//   onnxruntime-mt        onnxruntime-node with its default threads (one per core)
//   dlm                   dlm with its kernel threads (DLM_THREADS, else the machine's parallelism)
//   dlm-1t                dlm on one thread (DLM_THREADS=1), like for like with the peers
// tfjs and jax-js run on one thread in Node. Each implementation runs in a process of its
// own (no shared heap, JIT or thread pool). Each case is timed for at least one second after
// a warm-up and gives the median call time; the implementations take turns over `--rounds`
// rounds (default 3) and each reports its best round's median, so a burst of load from other
// processes on the machine does not land on one implementation only. GFLOP/s for kernels,
// optimiser steps per second for training.
//
//   npm run bench [-- --json FILE] [--impls dlm,jax-js] [--cases mlp-train] [--min-ms 1000] [--rounds 3]
//
// The peers live in bench/package.json (not the main install); the first run installs them
// with `npm ci --ignore-scripts` (onnxruntime-node's install script downloads CUDA libraries).

import { execFileSync, spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { kernelThreads } from "../../runtime/cpu/kernels/threads.js";
import { BENCH_DIR, CASES, measure, type Impl, type Row } from "./common.js";

const IMPLS = ["dlm", "dlm-1t", "tfjs-cpu", "tfjs-wasm", "jax-js", "onnxruntime", "onnxruntime-mt"] as const;
type ImplName = (typeof IMPLS)[number];
const PEER_PACKAGES = ["@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm", "@jax-js/jax", "onnxruntime-node", "onnx-proto"];

async function implementation(name: ImplName): Promise<Impl> {
  switch (name) {
    case "dlm":
    case "dlm-1t":
      return (await import("./dlm.js")).dlm;
    case "tfjs-cpu":
      return (await import("./tfjs.js")).tfjs("cpu");
    case "tfjs-wasm":
      return (await import("./tfjs.js")).tfjs("wasm");
    case "jax-js":
      return (await import("./jax.js")).jaxjs;
    case "onnxruntime":
      return (await import("./ort.js")).onnxruntime("one");
    case "onnxruntime-mt":
      return (await import("./ort.js")).onnxruntime("default");
  }
}

const NOTES: Partial<Record<ImplName, Partial<Record<string, string>>>> = {
  onnxruntime: {
    "mlp-train": "hand-built ONNX forward+backward+SGD graph run for inference (onnxruntime-node has no training API)",
    "lenet-train": "hand-built ONNX forward+backward+SGD graph run for inference (onnxruntime-node has no training API)",
  },
};
NOTES["onnxruntime-mt"] = NOTES.onnxruntime;

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 160);
}

/** In a child process: run every case of one implementation, one JSON row per line. */
async function child(name: ImplName, cases: string[], minMs: number): Promise<void> {
  // tfjs prints an advert for tfjs-node on load; keep stdout for rows.
  const log = console.log;
  console.log = (...a: unknown[]) => console.error(...a);
  const impl = await implementation(name);
  for (const c of CASES.filter((c) => cases.includes(c.name))) {
    const row: Row = { case: c.name, impl: name, value: null, unit: c.unit };
    const note = NOTES[name]?.[c.name];
    try {
      const p = await impl(c.name);
      if ("na" in p) row.note = p.na;
      else {
        const t = await measure(p.step, minMs);
        row.value = c.flops ? c.flops / t.median / 1e9 : 1 / t.median;
        p.dispose?.();
        if (note) row.note = note;
      }
    } catch (e) {
      row.note = `n/a: ${firstLine(e)}`;
    }
    log(`ROW ${JSON.stringify(row)}`);
  }
}

function runChild(name: ImplName, cases: string[], minMs: number): Promise<Row[]> {
  return new Promise((resolve) => {
    const p = spawn(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), "--child", name, "--cases", cases.join(","), "--min-ms", String(minMs)],
      {
        stdio: ["ignore", "pipe", "pipe"],
        env: name === "dlm-1t" ? { ...process.env, DLM_THREADS: "1" } : process.env,
      },
    );
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("close", (code) => {
      const rows = out
        .split("\n")
        .filter((l) => l.startsWith("ROW "))
        .map((l) => JSON.parse(l.slice(4)) as Row);
      for (const c of CASES.filter((c) => cases.includes(c.name)))
        if (!rows.some((r) => r.case === c.name))
          rows.push({
            case: c.name,
            impl: name,
            value: null,
            unit: c.unit,
            note: `n/a: process exited ${code}: ${err.trim().split("\n").pop() ?? ""}`.slice(0, 200),
          });
      resolve(rows);
    });
  });
}

function ensurePeers(): void {
  const missing = PEER_PACKAGES.filter((p) => !existsSync(join(BENCH_DIR, "node_modules", p, "package.json")));
  if (missing.length === 0) return;
  console.error(`bench: installing the peer libraries into bench/node_modules (missing: ${missing.join(", ")})`);
  execFileSync("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: BENCH_DIR, stdio: "inherit" });
}

function fmt(v: number | null, unit: string): string {
  if (v === null) return "n/a";
  return unit === "GFLOP/s" ? v.toFixed(2) : v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (k: string) => {
    const i = args.indexOf(k);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const cases = (opt("--cases") ?? CASES.map((c) => c.name).join(",")).split(",");
  const minMs = Number(opt("--min-ms") ?? 1000);
  const childName = opt("--child");
  if (childName) return child(childName as ImplName, cases, minMs);

  const impls = (opt("--impls") ?? IMPLS.join(",")).split(",") as ImplName[];
  for (const i of impls) if (!IMPLS.includes(i)) throw new Error(`bench: unknown impl '${i}'; known: ${IMPLS.join(", ")}`);
  for (const c of cases) if (!CASES.some((k) => k.name === c)) throw new Error(`bench: unknown case '${c}'`);
  if (impls.some((i) => i !== "dlm")) ensurePeers();

  const cpu = cpus();
  console.log(
    `dlm CPU benchmark — ${cpu.length} x ${cpu[0]?.model ?? "?"}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}, ` +
      `dlm kernel threads ${kernelThreads()}, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}`,
  );
  const rounds = Number(opt("--rounds") ?? 3);
  const rows: Row[] = [];
  for (let round = 1; round <= rounds; round++)
    for (const name of impls) {
      process.stderr.write(`  round ${round}/${rounds}: ${name}\n`);
      for (const r of await runChild(name, cases, minMs)) {
        const prev = rows.find((q) => q.case === r.case && q.impl === r.impl);
        if (!prev) rows.push(r);
        else if (r.value !== null && (prev.value === null || r.value > prev.value)) Object.assign(prev, r);
      }
    }

  const head = ["case", "impl", "value", "unit", "dlm ÷ impl"];
  const table: string[][] = [];
  const notes: string[] = [];
  for (const c of CASES.filter((c) => cases.includes(c.name))) {
    const d = rows.find((r) => r.case === c.name && r.impl === "dlm")?.value ?? null;
    for (const r of rows.filter((r) => r.case === c.name)) {
      const ratio = r.impl === "dlm" || d === null || r.value === null ? "" : `${(d / r.value).toFixed(2)}x`;
      table.push([c.name, r.impl, fmt(r.value, r.unit), r.unit, ratio]);
      if (r.note) notes.push(`${c.name} / ${r.impl}: ${r.note}`);
    }
  }
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
  const line = (cells: string[]) => cells.map((s, i) => (i >= 2 ? s.padStart(widths[i]!) : s.padEnd(widths[i]!))).join("  ");
  console.log(line(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  let prev = "";
  for (const t of table) {
    if (prev && t[0] !== prev) console.log("");
    prev = t[0]!;
    console.log(line(t));
  }
  const [seen] = [new Set<string>()];
  for (const n of notes) if (!seen.has(n)) seen.add(n) && console.log(`  note: ${n}`);

  // The goal: at least 2x jax-js and at least tfjs-wasm on every case.
  const goal: string[] = [];
  for (const ours of ["dlm", "dlm-1t"] as const) {
    if (!impls.includes(ours)) continue;
    for (const c of CASES.filter((c) => cases.includes(c.name))) {
      const v = (impl: string) => rows.find((r) => r.case === c.name && r.impl === impl)?.value ?? null;
      const d = v(ours);
      if (d === null) continue;
      const j = v("jax-js");
      const w = v("tfjs-wasm");
      const parts = [
        j === null ? "jax-js n/a" : `${(d / j).toFixed(2)}x jax-js (${d / j >= 2 ? "met" : "MISSED"})`,
        w === null ? "tfjs-wasm n/a" : `${(d / w).toFixed(2)}x tfjs-wasm (${d / w >= 1 ? "met" : "MISSED"})`,
      ];
      if (impls.includes("jax-js") || impls.includes("tfjs-wasm")) goal.push(`  ${ours} ${c.name}: ${parts.join(", ")}`);
    }
  }
  if (goal.length) console.log(`goal (≥ 2x jax-js, ≥ 1x tfjs-wasm):\n${goal.join("\n")}`);
  console.log(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );

  const json = opt("--json");
  if (json) {
    writeFileSync(json, JSON.stringify(rows, null, 2) + "\n");
    console.log(`wrote ${rows.length} rows to ${json}`);
  }
}

await main();
