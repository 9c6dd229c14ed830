// Memory benchmark: a dlm training step allocates no typed arrays after the first step, and
// the heap stays flat over 1,000 steps of the MLP (784-256-128-10, SGD, batch 64).
//
//   npm run bench:memory        (node --expose-gc: the heap is sampled after a full GC)
//
// Every typed-array and ArrayBuffer constructor is wrapped to count calls, and so are the
// TypedArray methods that make new arrays (slice, map, filter, subarray, from, of); the counts
// start after the first step (which may grow the GEMM's scratch pool). Exit status 1 if any
// typed array was made after the first step or the heap grew by more than 1 MiB.

import { trainer } from "./dlm.js";

const STEPS = Number(process.argv[2] ?? 1000);
const counts = new Map<string, number>();
let counting = false;
const sites = new Map<string, number>();
let tracing = false; // after the measured steps: where do the allocations come from?
function bump(k: string): void {
  if (tracing) {
    // the first caller outside this file
    const line =
      (new Error().stack ?? "")
        .split("\n")
        .slice(1)
        .find((l) => !l.includes("memory.ts")) ?? "?";
    const site = `${k} at ${line
      .trim()
      .replace(/^at /, "")
      .replace(/file:\/\/\S*?\/(runtime|compiler|src)\//, "$1/")}`;
    sites.set(site, (sites.get(site) ?? 0) + 1);
  } else if (counting) counts.set(k, (counts.get(k) ?? 0) + 1);
}

const CTORS = [
  "Float32Array",
  "Float64Array",
  "Int8Array",
  "Int16Array",
  "Int32Array",
  "Uint8Array",
  "Uint8ClampedArray",
  "Uint16Array",
  "Uint32Array",
  "BigInt64Array",
  "BigUint64Array",
  "ArrayBuffer",
  "SharedArrayBuffer",
] as const;
const g = globalThis as unknown as Record<string, unknown>;
for (const name of CTORS) {
  const C = g[name] as new (...a: unknown[]) => object;
  g[name] = new Proxy(C, {
    construct(target, args, newTarget) {
      bump(`new ${name}`);
      return Reflect.construct(target, args, newTarget) as object;
    },
  });
}
const TypedArray = Object.getPrototypeOf(Int8Array) as { prototype: Record<string, unknown> } & Record<string, unknown>;
for (const m of ["slice", "map", "filter", "subarray"]) {
  const f = TypedArray.prototype[m] as (...a: unknown[]) => unknown;
  TypedArray.prototype[m] = function (this: unknown, ...a: unknown[]) {
    bump(`.${m}()`);
    return f.apply(this, a);
  };
}
for (const m of ["from", "of"]) {
  const f = TypedArray[m] as (...a: unknown[]) => unknown;
  TypedArray[m] = function (this: unknown, ...a: unknown[]) {
    bump(`TypedArray.${m}()`);
    return f.apply(this, a);
  };
}

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) console.error("bench:memory: run with node --expose-gc for heap numbers after a full GC");
const MiB = 1024 * 1024;
const sample = () => {
  gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers };
};

const { trainer: t, feeds } = trainer("mlp");
const first = t.trainStep(feeds);
const start = sample();
counting = true;
const samples: { step: number; heap: number; buffers: number }[] = [{ step: 1, ...start }];
let loss = first;
for (let s = 2; s <= STEPS; s++) {
  loss = t.trainStep(feeds);
  if (s % 100 === 0) {
    counting = false; // the sampling itself is not the training step's
    samples.push({ step: s, ...sample() });
    counting = true;
  }
}
counting = false;
const end = sample();
if ([...counts.values()].some((n) => n > 0)) {
  tracing = true; // one more step, recording call sites (capturing stacks grows the heap: not measured)
  t.trainStep(feeds);
  tracing = false;
}

console.log(`MLP 784-256-128-10, SGD, batch 64: ${STEPS} training steps (loss ${first.toFixed(3)} → ${loss.toFixed(3)})`);
console.log("step   heapUsed (MiB)   arrayBuffers (MiB)");
for (const s of samples)
  console.log(`${String(s.step).padStart(5)}   ${(s.heap / MiB).toFixed(2).padStart(14)}   ${(s.buffers / MiB).toFixed(2).padStart(18)}`);
const total = [...counts.values()].reduce((a, b) => a + b, 0);
console.log(
  `typed arrays / ArrayBuffers made in steps 2..${STEPS}: ${total}` +
    (total ? `, ${(total / (STEPS - 1)).toFixed(1)} per step` : "") +
    `${total ? ` (${[...counts].map(([k, v]) => `${k}: ${v}`).join(", ")})` : ""}`,
);
for (const [site, n] of sites) console.log(`  ${n} per step: ${site}`);
const growth = end.heap - start.heap;
console.log(
  `heap after step 1: ${(start.heap / MiB).toFixed(2)} MiB, after step ${STEPS}: ${(end.heap / MiB).toFixed(2)} MiB (${growth >= 0 ? "+" : ""}${(growth / 1024).toFixed(0)} KiB); ` +
    `array buffers ${(start.buffers / MiB).toFixed(2)} → ${(end.buffers / MiB).toFixed(2)} MiB`,
);
const ok = total === 0 && growth < MiB && end.buffers - start.buffers < MiB;
const views = [...counts].filter(([k]) => !k.startsWith("new ")).reduce((a, [, n]) => a + n, 0);
const flat = growth < MiB && end.buffers - start.buffers < MiB;
console.log(
  ok
    ? "PASS: no typed array made after the first step; the heap is flat"
    : `FAIL: ${total - views} new typed arrays/buffers and ${views} views (subarray etc.) after the first step; heap ${flat ? "flat" : "NOT flat"}`,
);
process.exitCode = ok ? 0 : 1;
