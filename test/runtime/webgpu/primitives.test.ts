// Every primitive, forward, on the WebGPU executor against the CPU executor, over the random
// graphs the CPU executor's own test uses (test/runtime/primitive-scenarios.ts). Every node
// gets a copy (a cast to its own dtype) that is a named output, so the originals are
// intermediates in the planned arena, elementwise chains fuse with their copies, and all
// values come back in the run's one submit.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PRIMITIVES, type PGraph } from "../../../compiler/prim/ir.ts";
import { compile } from "../../../runtime/cpu/executor.ts";
import type { HostArray } from "../../../runtime/cpu/reference.ts";
import { Rng } from "../../../runtime/rng.ts";
import { releaseGpu, type GpuContext } from "../../../runtime/webgpu/device.ts";
import { compileGpu } from "../../../runtime/webgpu/executor.ts";
import { Gen, SCENARIOS } from "../primitive-scenarios.ts";
import { expectClose, gpuOrSkip } from "./helpers.ts";

let gpu: GpuContext | undefined;
beforeAll(async () => {
  gpu = await gpuOrSkip();
});
afterAll(releaseGpu);

/** The graph with a copy of every node as an output. */
function withCopies(graph: PGraph): { full: PGraph; copyOf: (node: number) => string } {
  const base = graph.nodes.length;
  const copies = graph.nodes.map((n, i) => ({ ...n, id: base + i, op: "cast", inputs: [n.id], attrs: { dtype: n.dtype } }));
  return {
    full: { ...graph, nodes: [...graph.nodes, ...copies], outputs: copies.map((c) => ({ name: `copy${c.id}`, node: c.id })) },
    copyOf: (node) => `copy${base + node}`,
  };
}

async function agree(graph: PGraph, feeds: ReadonlyMap<string, HostArray>, seed: number, fuse: boolean): Promise<void> {
  const { full, copyOf } = withCopies(graph);
  const cpu = compile(full);
  cpu.run(feeds, { seed });
  const program = await compileGpu(full, { gpu: gpu!, fuse });
  const values = await program.run(feeds, { seed, read: full.outputs.map((o) => o.name) });
  expect(program.counters.submits).toBe(1);
  for (const n of graph.nodes)
    expectClose(`node ${n.id} (${n.op} [${n.shape.join(",")}] ${n.dtype})`, n.dtype, values.get(copyOf(n.id))!, cpu.output(copyOf(n.id)));
  program.destroy();
}

describe("WebGPU executor agrees with the CPU executor on every primitive", () => {
  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    it(name, async (ctx) => {
      if (!gpu) return ctx.skip();
      for (let trial = 0; trial < 3; trial++) {
        const g = new Gen(new Rng(1000 * trial + name.length));
        scenario(g);
        await agree(g.b.graph(), g.feeds, trial, trial !== 1);
      }
    });
  }

  it("the scenarios cover every primitive", () => {
    const seen = new Set<string>();
    for (const scenario of Object.values(SCENARIOS)) {
      const g = new Gen(new Rng(5));
      scenario(g);
      for (const n of g.b.nodes) seen.add(n.op);
    }
    expect(PRIMITIVES.filter((op) => !seen.has(op))).toEqual([]);
  });
});
