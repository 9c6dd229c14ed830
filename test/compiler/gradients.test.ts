// Every op's vector-Jacobian product against central finite differences on the float64
// reference interpreter. Each op of the library (compiler/ops/index.ts) is lowered at small
// concrete shapes with the lowering harness, the autodiff pass differentiates
// loss = Σ_outputs Σ y·r (a fixed random r) with respect to every float input and every
// parameter, and each component is compared to (loss(x + h) − loss(x − h)) / 2h.
//
// An op must appear in CASES (one or more sample invocations) or in NOT_DIFFERENTIABLE with
// the reason, so adding an op without a gradient test fails the suite. Inputs are drawn away
// from the kinks of the op (relu at 0, clamp bounds, hinge margins, integer points of
// floor/round, ...), where central differences straddle two pieces.

import { describe, expect, it } from "vitest";
import { gradients } from "../../compiler/autodiff.js";
import { runtimeDType } from "../../compiler/lower.js";
import { OPS } from "../../compiler/ops/index.js";
import type { T } from "../../compiler/prim/builder.js";
import { numelOf, type PGraph } from "../../compiler/prim/ir.js";
import { evaluate, type HostArray } from "../../runtime/cpu/reference.js";
import { lowerOp } from "./lower/harness.js";
import { CASES, GRADIENT_BLOCKING, NOT_DIFFERENTIABLE, draw, f, hashOf, nameOf, stream, type Case } from "./op-cases.js";

interface Prepared {
  readonly forward: PGraph;
  readonly full: PGraph;
  readonly loss: T;
  readonly feeds: Map<string, HostArray>;
  /** the float leaves differentiated: feed name, node, gradient node */
  readonly leaves: readonly { name: string; node: T; grad: T | undefined }[];
}

function prepare(c: Case): Prepared {
  const name = nameOf(c);
  const rand = stream(hashOf(name));
  const l = lowerOp(
    [OPS.get(c.op)!],
    c.op,
    c.inputs.map((x) => (x ? { dtype: x.dtype ?? "f32", shape: x.shape } : undefined)),
    c.attrs ?? {},
    c.training ?? false,
  );
  const b = l.b;
  const feeds = new Map<string, HostArray>();
  const leaves: { name: string; node: T }[] = [];
  const inputNodes = new Map(b.graph().inputs.map((i) => [i.name, i.node]));
  c.inputs.forEach((x, i) => {
    if (!x) return;
    const rt = runtimeDType(x.dtype ?? "f32");
    const n = numelOf(x.shape);
    const key = `x${i}`;
    if (x.data) {
      expect(x.data.length, `${name}: data of x${i}`).toBe(n);
      feeds.set(key, rt === "f32" ? Float64Array.from(x.data) : rt === "i32" ? Int32Array.from(x.data) : Uint8Array.from(x.data));
    } else {
      expect(rt, `${name}: x${i} without data must be a float`).toBe("f32");
      feeds.set(key, draw(rand, n, x));
    }
    if (rt === "f32") leaves.push({ name: key, node: inputNodes.get(key)! });
  });
  for (const [pname, p] of l.params) {
    const n = numelOf(p.shape);
    if (b.dtype(p.node) !== "f32") {
      feeds.set(pname, b.dtype(p.node) === "i32" ? new Int32Array(n) : new Uint8Array(n));
      continue;
    }
    const range = c.params?.[pname] ?? (pname.includes("var") ? { lo: 0.5, hi: 1.5 } : {});
    feeds.set(pname, draw(rand, n, range));
    leaves.push({ name: pname, node: p.node });
  }
  // loss = Σ over the float outputs of Σ y·r
  const terms = l.outputs
    .filter((y) => b.dtype(y) === "f32")
    .map((y) => {
      const r = b.tensor(Array.from(draw(rand, numelOf(b.shape(y)), {})), b.shape(y));
      return b.sum(b.times(y, r));
    });
  expect(terms.length, `${name}: a float output`).toBeGreaterThan(0);
  const loss = terms.reduce((acc, t) => b.plus(acc, t));
  const forward: PGraph = { ...b.graph(), nodes: b.nodes.slice(0, loss + 1) };
  const grads = gradients(
    b,
    loss,
    leaves.map((x) => x.node),
  );
  return { forward, full: b.graph(), loss, feeds, leaves: leaves.map((x, i) => ({ ...x, grad: grads[i] })) };
}

function checkCase(c: Case): void {
  const name = nameOf(c);
  const { forward, full, loss, feeds, leaves } = prepare(c);
  expect(leaves.length, `${name}: something to differentiate`).toBeGreaterThan(0);
  const seed = c.seed ?? 1;
  const tol = c.tol ?? 1e-5;
  const values = evaluate(full, feeds, { seed });
  const lossAt = (): number => evaluate(forward, feeds, { seed }).get(loss)!.data[0]!;
  const base = lossAt();
  expect(values.get(loss)!.data[0], `${name}: the loss is deterministic`).toBe(base);
  expect(Number.isFinite(base), `${name}: finite loss`).toBe(true);
  let nonzero = false;
  for (const leaf of leaves) {
    const data = feeds.get(leaf.name) as Float64Array;
    const analytic = leaf.grad === undefined ? new Float64Array(data.length) : values.get(leaf.grad)!.data;
    expect(analytic.length, `${name}: gradient of ${leaf.name}`).toBe(data.length);
    for (let k = 0; k < data.length; k++) {
      const keep = data[k]!;
      const h = 1e-6 * Math.max(1, Math.abs(keep));
      data[k] = keep + h;
      const up = lossAt();
      data[k] = keep - h;
      const down = lossAt();
      data[k] = keep;
      const numeric = (up - down) / (2 * h);
      const a = analytic[k]!;
      if (a !== 0) nonzero = true;
      if (!(Math.abs(a - numeric) <= tol * Math.max(1, Math.abs(numeric))))
        expect.fail(`${name}: d loss / d ${leaf.name}[${k}]: analytic ${a}, central difference ${numeric}`);
    }
  }
  // a case whose gradient vanishes by accident checks nothing
  expect(nonzero, `${name}: ${c.zero ? "a zero" : "a non-zero"} gradient`).toBe(!c.zero);
}

describe("every op's gradient agrees with central differences (float64 reference)", () => {
  it("every op of the library has a gradient case or is listed as not differentiable", () => {
    const covered = new Set(CASES.map((c) => c.op));
    const missing = [...OPS.keys()].filter((op) => !covered.has(op) && !(op in NOT_DIFFERENTIABLE) && !(op in GRADIENT_BLOCKING));
    expect(missing, "ops with neither a gradient case nor a reason they have none").toEqual([]);
    for (const op of [...covered, ...Object.keys(NOT_DIFFERENTIABLE), ...Object.keys(GRADIENT_BLOCKING)])
      expect(OPS.has(op), `${op} is an op of the library`).toBe(true);
    for (const op of Object.keys(NOT_DIFFERENTIABLE))
      expect(covered.has(op), `${op} is listed as not differentiable and has a case`).toBe(false);
    const names = CASES.map(nameOf);
    expect(new Set(names).size, "case names are unique").toBe(names.length);
  });

  it.each(CASES.map((c) => [nameOf(c), c] as const))("%s", (_name, c) => checkCase(c));

  it("the check catches a wrong gradient (stop_gradient taken for the identity fails it)", () => {
    expect(() => checkCase({ op: "stop_gradient", inputs: [f([2, 3])] })).toThrow(/central difference/);
  });

  it.each(Object.keys(GRADIENT_BLOCKING))("%s passes values through and blocks the gradient", (op) => {
    const c: Case = { op, inputs: [f([2, 3])] };
    const { forward, full, loss, feeds, leaves } = prepare(c);
    const values = evaluate(full, feeds);
    for (const leaf of leaves) {
      if (leaf.grad !== undefined) expect(Array.from(values.get(leaf.grad)!.data)).toEqual(Array(6).fill(0));
    }
    // the forward value does depend on the input
    const data = feeds.get("x0") as Float64Array;
    const before = evaluate(forward, feeds).get(loss)!.data[0]!;
    data[0] = data[0]! + 0.5;
    expect(evaluate(forward, feeds).get(loss)!.data[0]).not.toBe(before);
  });
});
