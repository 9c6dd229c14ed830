// The executor's max_pool_grad reuses the winners of an earlier max_pool of the same input and
// window (kernels/pool.ts path); without one, or with another window, it finds them again.

import { describe, expect, it } from "vitest";
import { PrimBuilder } from "../../../compiler/prim/builder.ts";
import { compile } from "../../../runtime/cpu/executor.ts";
import { evaluate } from "../../../runtime/cpu/reference.ts";
import { maxAbsDiff, randArray, rng } from "./helpers.js";

const win = (k: number, s: number, p = 0) => ({ kernel: [k, k], stride: [s, s], padLo: [p, p], padHi: [p, p], dilation: [1, 1] });

describe("executor max_pool_grad", () => {
  it("agrees with the reference with and without a forward max_pool of the same x, over several runs", () => {
    const b = new PrimBuilder();
    const x = b.input("x", [2, 3, 6, 6], "f32");
    const dy = b.input("dy", [2, 3, 3, 3], "f32");
    const dy2 = b.input("dy2", [2, 3, 2, 2], "f32");
    b.output("y", b.maxPool(x, win(2, 2)));
    b.output("dx", b.maxPoolGrad(x, dy, win(2, 2))); // after the forward: reuses its winners
    b.output("dx2", b.maxPoolGrad(x, dy2, win(3, 3, 1))); // another window: recomputes
    const h = b.relu(x);
    b.output("dh", b.maxPoolGrad(h, dy, win(2, 2))); // no forward of h: recomputes
    b.output("yh", b.maxPool(h, win(2, 2))); // a forward after the grad
    const g = b.graph();
    const p = compile(g);
    const r = rng(3);
    for (let run = 0; run < 3; run++) {
      const feeds = new Map([
        ["x", randArray(Float32Array, 2 * 3 * 36, r)],
        ["dy", randArray(Float32Array, 2 * 3 * 9, r)],
        ["dy2", randArray(Float32Array, 2 * 3 * 4, r)],
      ]);
      p.run(feeds);
      const ref = evaluate(g, feeds);
      for (const o of g.outputs) {
        expect(maxAbsDiff(p.output(o.name), ref.get(o.node)!.data), `${o.name} run ${run}`).toBeLessThan(1e-6);
      }
    }
  });
});
