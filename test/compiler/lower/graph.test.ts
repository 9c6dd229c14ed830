// Lowerings of the graph ops: segment reductions, scatter_add, GCN normalisation, degree.

import { describe, expect, it } from "vitest";
import { ops } from "../../../compiler/ops/graph.js";
import type { DType } from "../../../compiler/ops/types.js";
import type { Attrs } from "../ops/rule-harness.js";
import { lowerOp, run } from "./harness.js";

type In = { dtype: DType; shape: number[]; data: number[] };
const f32 = (shape: number[], data: number[]): In => ({ dtype: "f32", shape, data });
const ids = (data: number[], shape = [data.length]): In => ({ dtype: "i64", shape, data });

function apply(name: string, inputs: In[], attrs: Attrs) {
  const l = lowerOp(ops, name, inputs, attrs);
  const [y] = run(l, Object.fromEntries(inputs.map((x, i) => [`x${i}`, x.dtype === "f32" ? x.data : Int32Array.from(x.data)])));
  return { shape: y!.shape, data: Array.from(y!.data) };
}

function near(got: readonly number[], want: readonly number[], tol = 1e-12): void {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => {
    if (!(Math.abs(got[i]! - w) <= tol * Math.max(1, Math.abs(w))))
      expect.fail(`element ${i}: got ${got[i]}, want ${w} (all: ${got.join(", ")})`);
  });
}

describe("segment reductions", () => {
  // 5 edges' messages [5, 2] into 4 nodes; node 2 receives nothing
  const x = f32([5, 2], [1, 10, 2, 20, 3, -30, 4, 40, -5, 50]);
  const seg = ids([0, 3, 0, 1, 3]);
  const segment = (kind: string) => apply(`segment_${kind}`, [x, seg], { num_segments: 4 });

  it("sum", () => near(segment("sum").data, [4, -20, 4, 40, 0, 0, -3, 70]));
  it("mean (empty segments give 0)", () => near(segment("mean").data, [2, -10, 4, 40, 0, 0, -1.5, 35]));
  it("max (empty segments give 0)", () => near(segment("max").data, [3, 10, 4, 40, 0, 0, 2, 50]));
  it("min (empty segments give 0)", () => near(segment("min").data, [1, -30, 4, 40, 0, 0, -5, 20]));

  it("max over integer values", () => {
    near(apply("segment_max", [{ dtype: "i32", shape: [3], data: [-7, -3, -9] }, ids([1, 1, 0])], { num_segments: 3 }).data, [-9, -3, 0]);
  });
});

describe("scatter_add", () => {
  it("adds whole slices along an axis for a 1-D index (index_add)", () => {
    const y = apply("scatter_add", [f32([2, 3], [1, 2, 3, 4, 5, 6]), ids([2, 0, 2])], { size: 4, axis: 1 });
    expect(y.shape).toEqual([2, 4]);
    near(y.data, [2, 0, 4, 0, 5, 0, 10, 0]);
  });

  it("adds element by element for an index shaped like x (torch.Tensor.scatter_add)", () => {
    // out[index[i][j]][j] += x[i][j] along axis 0; along axis 1, out[i][index[i][j]] += x[i][j]
    const x = f32([2, 3], [1, 2, 3, 4, 5, 6]);
    const idx = ids([0, 2, 1, 2, 2, 0], [2, 3]);
    near(apply("scatter_add", [x, idx], { size: 3, axis: 0 }).data, [1, 0, 6, 0, 0, 3, 4, 7, 0]);
    near(apply("scatter_add", [x, idx], { size: 3, axis: 1 }).data, [1, 3, 2, 6, 0, 9]);
  });
});

describe("gcn_norm and degree", () => {
  it("D^-1/2 (A + I) D^-1/2 on the path graph v1 - v2 - v3", () => {
    const a = [0, 1, 0, 1, 0, 1, 0, 1, 0];
    // A + I has degrees 2, 3, 2
    const d = [2, 3, 2];
    const want = [1, 1, 0, 1, 1, 1, 0, 1, 1].map((v, k) => v / Math.sqrt(d[Math.floor(k / 3)]! * d[k % 3]!));
    near(apply("gcn_norm", [f32([3, 3], a)], {}).data, want);
  });

  it("without self loops, isolated nodes get 0, and batches of adjacencies work", () => {
    const a = [0, 2, 0, 2, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0];
    const y = apply("gcn_norm", [f32([2, 3, 3], a)], { add_self_loops: false });
    const s = 1 / Math.sqrt(2 * 2);
    near(y.data, [0, 2 / Math.sqrt(4), 0, 2 / Math.sqrt(4), 0, 0, 0, 0, 0, 0, s, s, s, 0, s, s, s, 0]);
  });

  it("degree counts occurrences", () => {
    near(apply("degree", [ids([0, 2, 2, 3, 2])], { num_nodes: 5 }).data, [1, 0, 3, 1, 0]);
  });
});
