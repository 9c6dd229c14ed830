// Static memory planning: placements never overlap values that are live together, stay within
// 1.05x of the lower bound on every example's training step, and a planned program computes
// exactly what a program with a buffer per value computes (bit for bit, over training steps).

import { describe, expect, it } from "vitest";
import { buildTrainingGraph } from "../../../compiler/training-graph.js";
import { planLifetimes, peakLiveBytes, type Lifetime } from "../../../compiler/passes/memory-plan.js";
import { optimise } from "../../../compiler/passes/pipeline.js";
import { Rng } from "../../../runtime/rng.js";
import { check } from "../../../src/index.js";
import { EXAMPLES_DIR, FAST, LONG, trainExample } from "../../../tools/train-examples.js";
import { join } from "node:path";

const bytes = (v: Float32Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

function randomLifetimes(rng: Rng, n: number, steps: number): Lifetime[] {
  return Array.from({ length: n }, (_, id) => {
    const start = rng.int(steps);
    const end = Math.min(steps - 1, start + rng.int(rng.int(2) ? 3 : steps));
    return { id, bytes: 1 + rng.int(rng.int(4) === 0 ? 100_000 : 1000), start, end };
  });
}

describe("planLifetimes", () => {
  it("never gives overlapping bytes to values live at the same step; offsets aligned; lower bound ≤ arena ≤ naive", () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 200; trial++) {
      const values = randomLifetimes(rng, 1 + rng.int(60), 1 + rng.int(40));
      const alignment = [1, 4, 16, 256][rng.int(4)]!;
      const plan = planLifetimes(values, alignment);
      const aligned = (b: number): number => Math.ceil(b / alignment) * alignment;
      for (const v of values) {
        const o = plan.offsets.get(v.id)!;
        expect(o % alignment).toBe(0);
        expect(o + v.bytes).toBeLessThanOrEqual(plan.planned);
      }
      for (const a of values)
        for (const b of values) {
          if (a.id >= b.id || a.end < b.start || b.end < a.start) continue;
          const [oa, ob] = [plan.offsets.get(a.id)!, plan.offsets.get(b.id)!];
          if (oa < ob + b.bytes && ob < oa + a.bytes) expect.fail(`trial ${trial}: values ${a.id} and ${b.id} overlap in time and bytes`);
        }
      expect(plan.lowerBound).toBe(peakLiveBytes(values));
      expect(plan.planned).toBeGreaterThanOrEqual(plan.lowerBound);
      expect(plan.planned).toBeLessThanOrEqual(values.reduce((s, v) => s + aligned(v.bytes), 0));
    }
  });

  it("computes the lower bound by hand on a small case, and reaches it", () => {
    // a [0,1] 100 B, b [1,2] 50 B, c [2,3] 100 B: at step 1 a+b = 150, at step 2 b+c = 150
    const values = [
      { id: 0, bytes: 100, start: 0, end: 1 },
      { id: 1, bytes: 50, start: 1, end: 2 },
      { id: 2, bytes: 100, start: 2, end: 3 },
    ];
    const plan = planLifetimes(values, 1);
    expect(plan.lowerBound).toBe(150);
    expect(plan.naive).toBe(250);
    expect(plan.planned).toBe(150); // a and c share bytes
    expect(plan.offsets.get(0)).toBe(plan.offsets.get(2));
  });

  it("plans nothing for no values", () => {
    expect(planLifetimes([])).toMatchObject({ planned: 0, naive: 0, lowerBound: 0 });
  });
});

describe("every example's training step", () => {
  it("is planned within 1.05x of the lower bound (largest total of simultaneously live bytes)", () => {
    const rows: string[] = [];
    for (const r of [...FAST, ...LONG]) {
      const m = check(join(EXAMPLES_DIR, r.file)).models.get(r.model)!;
      const loss = m.train!.loss ?? m.train!.phases[0]!.loss!;
      const graph = buildTrainingGraph(m.graph!, loss, new Map(Object.entries({ B: r.batch, ...r.dims }))).model.builder.graph();
      // as the executor plans it: the graph rewritten, without dead code, repeats merged, fused
      const plan = optimise(graph).memory!;
      rows.push(`${r.model}: ${(plan.planned / plan.lowerBound).toFixed(3)}`);
      expect(plan.planned, r.model).toBeLessThanOrEqual(1.05 * plan.lowerBound);
      expect(plan.planned, r.model).toBeLessThanOrEqual(plan.naive);
    }
    expect(rows.length).toBe(FAST.length + LONG.length);
  });

  it("computes bit for bit what the unoptimised program (a buffer per value, no merged repeats, no fused kernels) computes (2 steps of the fast examples)", () => {
    for (const run of FAST) {
      const short = { ...run, steps: 2 };
      // streaming attention sums in another order (pipeline.test.ts holds it to float32 tolerance): both run the unfused chain
      const planned = trainExample(short, { passes: { flashAttention: false } });
      const unplanned = trainExample(short, { passes: { plan: false, cse: false, fuse: false } });
      expect(planned.losses, run.model).toEqual(unplanned.losses);
      for (const [name, v] of unplanned.values)
        expect(bytes(planned.values.get(name)!).equals(bytes(v)), `${run.model} ${name}`).toBe(true);
    }
  }, 180_000); // two short trainings of 30 models: a few seconds each on a busy machine
});
