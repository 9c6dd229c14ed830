// Lowerings of the embedding ops: table lookups and position encodings.

import { describe, expect, it } from "vitest";
import { ops } from "../../../compiler/ops/embedding.js";
import { gradients } from "../../../compiler/autodiff.js";
import { evaluate, type HostArray } from "../../../runtime/cpu/reference.js";
import { lowerOp, run } from "./harness.js";

function near(got: ArrayLike<number>, want: readonly number[], tol = 1e-12): void {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => {
    if (Math.abs(got[i]! - w) > tol * Math.max(1, Math.abs(w))) expect.fail(`element ${i}: got ${got[i]}, want ${w}`);
  });
}

const table = Array.from({ length: 5 * 3 }, (_, i) => i * 0.5 - 2);
const row = (r: number) => table.slice(r * 3, r * 3 + 3);

describe("embedding", () => {
  it("picks rows of the table by id, for ids of any rank", () => {
    const l = lowerOp(ops, "embedding", [{ dtype: "i64", shape: [2, 2] }], { num: 5, dim: 3 });
    const [y] = run(l, { x0: Int32Array.from([4, 0, 2, 4]), weight: table });
    expect(y!.shape).toEqual([2, 2, 3]);
    near(y!.data, [...row(4), ...row(0), ...row(2), ...row(4)]);
  });

  it("padding_idx: that id's output is zero (negative indices count from the end)", () => {
    for (const padding_idx of [1, -4]) {
      const l = lowerOp(ops, "embedding", [{ dtype: "i64", shape: [3] }], { num: 5, dim: 3, padding_idx });
      const [y] = run(l, { x0: Int32Array.from([1, 3, 1]), weight: table });
      near(y!.data, [0, 0, 0, ...row(3), 0, 0, 0]);
    }
  });
});

describe("position encodings", () => {
  const x = Array.from({ length: 2 * 3 * 4 }, (_, i) => Math.cos(i));

  it("positional_embedding adds the first T rows of the learned table to every batch", () => {
    const pos = Array.from({ length: 5 * 4 }, (_, i) => i / 10);
    const l = lowerOp(ops, "positional_embedding", [{ dtype: "f32", shape: [2, 3, 4] }], { max_len: 5 });
    const [y] = run(l, { x0: x, weight: pos });
    near(
      y!.data,
      x.map((v, i) => v + pos[i % 12]!),
    );
  });

  it("sinusoidal_encoding adds sin/cos at 10000^(2i/d) on alternate features", () => {
    const l = lowerOp(ops, "sinusoidal_encoding", [{ dtype: "f32", shape: [2, 3, 4] }]);
    const [y] = run(l, { x0: x });
    const pe = (t: number, j: number) => {
      const angle = t / Math.pow(10000, (2 * Math.floor(j / 2)) / 4);
      return j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    };
    near(
      y!.data,
      x.map((v, i) => v + pe(Math.floor(i / 4) % 3, i % 4)),
    );
    // position 1, features 0..3: sin 1, cos 1, sin 0.01, cos 0.01
    const [z] = run(lowerOp(ops, "sinusoidal_encoding", [{ dtype: "f32", shape: [2, 4] }]), { x0: Array(8).fill(0) });
    near(Array.from(z!.data).slice(4), [Math.sin(1), Math.cos(1), Math.sin(0.01), Math.cos(0.01)]);
  });
});

describe("embedding gradient", () => {
  it("the padding row gets no gradient; repeated ids accumulate", () => {
    const l = lowerOp(ops, "embedding", [{ dtype: "i64", shape: [4] }], { num: 5, dim: 3, padding_idx: 1 });
    const w = l.params.get("weight")!.node;
    const [g] = gradients(l.b, l.b.sum(l.outputs[0]!), [w]);
    const values = evaluate(
      l.b.graph(),
      new Map<string, HostArray>([
        ["x0", Int32Array.from([1, 3, 1, 3])],
        ["weight", Float64Array.from(table)],
      ]),
    );
    near(values.get(g!)!.data, [0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 0, 0, 0]);
  });
});
