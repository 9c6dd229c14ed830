// Shared by the rewrite tests: run a graph with and without a rewrite on the CPU executor and
// compare, and check the rewritten graph with the IR verifier.

import { expect } from "vitest";
import type { Rewritten } from "../../../compiler/passes/rewrite.js";
import { NO_PASSES, type PassOptions } from "../../../compiler/passes/pipeline.js";
import { numelOf, type PGraph } from "../../../compiler/prim/ir.js";
import { verifyGraph } from "../../../compiler/prim/verify.js";
import { compile } from "../../../runtime/cpu/executor.js";
import type { HostArray } from "../../../runtime/cpu/reference.js";

/** Values with the awkward floats in them: NaN, ±0, ±∞, tiny and huge numbers, then a deterministic spread. */
export function awkward(n: number, seed = 1): Float32Array {
  const special = [NaN, 0, -0, Infinity, -Infinity, 1e-40, -3e38, 1, -1];
  let s = seed;
  return Float32Array.from({ length: n }, (_, i) => special[i] ?? ((s = (s * 48271) % 2147483647) / 2147483647) * 8 - 4);
}

/** Feeds for every input and parameter of `graph` (f32: `values(n)`, i32: small non-negative, bool: alternating). */
export function feedsFor(graph: PGraph, values: (n: number, seed: number) => Float32Array = awkward): Map<string, HostArray> {
  const feeds = new Map<string, HostArray>();
  for (const [k, e] of [...graph.inputs, ...graph.params].entries()) {
    const n = graph.nodes[e.node]!;
    const len = numelOf(n.shape);
    feeds.set(
      e.name,
      n.dtype === "f32"
        ? values(len, k + 1)
        : n.dtype === "i32"
          ? Int32Array.from({ length: len }, (_, i) => i % 3)
          : Uint8Array.from({ length: len }, (_, i) => i % 2),
    );
  }
  return feeds;
}

/** Every output of `graph` (copied out) run with only `on` of the passes (the rest off). */
export function runWith(graph: PGraph, on: PassOptions, feeds: ReadonlyMap<string, HostArray>): Map<string, HostArray> {
  const p = compile(graph, { ...NO_PASSES, ...on });
  p.run(feeds);
  return new Map(graph.outputs.map((o) => [o.name, p.output(o.name).slice()]));
}

/** The rewritten graph is well formed, and its outputs keep their names. */
export function expectWellFormed(before: PGraph, r: Rewritten): void {
  expect(verifyGraph(r.graph)).toEqual([]);
  expect(r.graph.outputs.map((o) => o.name)).toEqual(before.outputs.map((o) => o.name));
  expect(r.nodeOf.length).toBe(before.nodes.length);
}

/** Bit-for-bit equality of two runs (Object.is per element: NaN equals NaN, −0 differs from +0). */
export function expectSameBits(a: ReadonlyMap<string, ArrayLike<number>>, b: ReadonlyMap<string, ArrayLike<number>>): void {
  const bytes = (v: ArrayLike<number>): Buffer | undefined =>
    ArrayBuffer.isView(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : undefined;
  for (const [name, xs] of a) {
    const ys = b.get(name)!;
    expect(ys.length, name).toBe(xs.length);
    // equal bytes are equal bits (the common case, and fast on large gradients); else per element
    const [bx, by] = [bytes(xs), bytes(ys)];
    if (bx && by && bx.equals(by)) continue;
    for (let i = 0; i < xs.length; i++) if (!Object.is(xs[i], ys[i])) expect.fail(`${name}[${i}]: ${xs[i]} vs ${ys[i]}`);
  }
}
