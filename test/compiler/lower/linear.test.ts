// Lowerings of linear, matmul, bilinear and einsum against plain loops written here.

import { describe, it } from "vitest";
import { ops } from "../../../compiler/ops/linear.js";
import { f32, i64, near, noise, one, strides } from "./family.js";

/** Element of a row-major tensor. */
const at = (data: readonly number[], shape: readonly number[], idx: readonly number[]): number => {
  const s = strides(shape);
  return data[idx.reduce((acc, v, k) => acc + v * s[k]!, 0)]!;
};

/** [M, K] @ [K, N] */
function matmulRef(a: readonly number[], b: readonly number[], m: number, k: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += a[i * k + p]! * b[p * n + j]!;
      out.push(acc);
    }
  return out;
}

describe("linear", () => {
  const [inF, out] = [4, 3];
  const w = noise(out * inF, 1);
  const bias = noise(out, 2);
  const ref = (x: readonly number[], rows: number, withBias: boolean): number[] => {
    const y: number[] = [];
    for (let r = 0; r < rows; r++)
      for (let o = 0; o < out; o++) {
        let acc = withBias ? bias[o]! : 0;
        for (let i = 0; i < inF; i++) acc += x[r * inF + i]! * w[o * inF + i]!;
        y.push(acc);
      }
    return y;
  };

  it("x Wᵀ + b on [B, T, in]", () => {
    const x = noise(2 * 3 * inF, 3);
    near(one(ops, "linear", [f32([2, 3, inF], x)], { out }, { params: { weight: w, bias } }), ref(x, 6, true));
  });

  it("without bias, and on a single vector", () => {
    const x = noise(inF, 4);
    near(one(ops, "linear", [f32([inF], x)], { out, bias: false }, { params: { weight: w } }), ref(x, 1, false));
  });
});

describe("matmul", () => {
  it("[2, 3] @ [3, 2]", () => {
    near(one(ops, "matmul", [f32([2, 3], [1, 2, 3, 4, 5, 6]), f32([3, 2], [7, 8, 9, 10, 11, 12])]), [58, 64, 139, 154]);
  });

  it("batched with broadcast batch dims: [2, 1, 2, 3] @ [3, 3, 2]", () => {
    const a = noise(12, 5);
    const b = noise(18, 6);
    const want: number[] = [];
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++) want.push(...matmulRef(a.slice(i * 6, i * 6 + 6), b.slice(j * 6, j * 6 + 6), 2, 3, 2));
    near(one(ops, "matmul", [f32([2, 1, 2, 3], a), f32([3, 3, 2], b)]), want);
  });

  it("1-D operands: vector @ matrix, matrix @ vector, dot product", () => {
    const m = [1, 2, 3, 4, 5, 6];
    near(one(ops, "matmul", [f32([2], [1, -1]), f32([2, 3], m)]), [-3, -3, -3]);
    near(one(ops, "matmul", [f32([2, 3], m), f32([3], [1, 0, -1])]), [-2, -2]);
    near(one(ops, "matmul", [f32([3], [1, 2, 3]), f32([3], [4, 5, 6])]), [32]);
  });

  it("integers stay integers", () => {
    near(one(ops, "matmul", [i64([1, 2], [2, 3]), i64([2, 1], [4, 5])]), [23]);
  });
});

describe("bilinear", () => {
  it("y_k = x1ᵀ W_k x2 + b_k against loops", () => {
    const [n, in1, in2, out] = [3, 2, 4, 3];
    const x1 = noise(n * in1, 7);
    const x2 = noise(n * in2, 8);
    const w = noise(out * in1 * in2, 9);
    const bias = noise(out, 10);
    const want: number[] = [];
    for (let r = 0; r < n; r++)
      for (let k = 0; k < out; k++) {
        let acc = bias[k]!;
        for (let i = 0; i < in1; i++)
          for (let j = 0; j < in2; j++) acc += x1[r * in1 + i]! * w[(k * in1 + i) * in2 + j]! * x2[r * in2 + j]!;
        want.push(acc);
      }
    near(one(ops, "bilinear", [f32([n, in1], x1), f32([n, in2], x2)], { out }, { params: { weight: w, bias } }), want);
  });
});

describe("einsum", () => {
  const a = noise(2 * 3 * 4, 11);
  const b = noise(2 * 4 * 5, 12);

  it("batched matmul bij,bjk->bik", () => {
    const want = [0, 1].flatMap((i) => matmulRef(a.slice(i * 12, i * 12 + 12), b.slice(i * 20, i * 20 + 20), 3, 4, 5));
    near(one(ops, "einsum", [f32([2, 3, 4], a), f32([2, 4, 5], b)], { equation: "bij,bjk->bik" }), want);
  });

  it("transpose, trace, sum, outer product, implicit output, ellipsis", () => {
    const m = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    near(one(ops, "einsum", [f32([3, 3], m)], { equation: "ij->ji" }), [1, 4, 7, 2, 5, 8, 3, 6, 9]);
    near(one(ops, "einsum", [f32([3, 3], m)], { equation: "ii->" }), [15]);
    near(one(ops, "einsum", [f32([3, 3], m)], { equation: "ii->i" }), [1, 5, 9]);
    near(one(ops, "einsum", [f32([3, 3], m)], { equation: "ij->" }), [45]);
    near(one(ops, "einsum", [f32([2], [1, 2]), f32([3], [1, 10, 100])], { equation: "i,j->ij" }), [1, 10, 100, 2, 20, 200]);
    // implicit: indices used once, alphabetically: "ij,jk" → "ik"
    near(one(ops, "einsum", [f32([1, 2], [1, 2]), f32([2, 2], [1, 2, 3, 4])], { equation: "ij,jk" }), [7, 10]);
    near(
      one(ops, "einsum", [f32([2, 3, 4], a), f32([2, 4, 5], b)], { equation: "...ij,...jk->...ik" }),
      one(ops, "einsum", [f32([2, 3, 4], a), f32([2, 4, 5], b)], { equation: "bij,bjk->bik" }),
    );
  });

  it("three operands: ij,jk,kl->il", () => {
    const x = noise(6, 13);
    const y = noise(6, 14);
    const z = noise(6, 15);
    const want = matmulRef(matmulRef(x, y, 2, 3, 2), z, 2, 2, 3);
    near(one(ops, "einsum", [f32([2, 3], x), f32([3, 2], y), f32([2, 3], z)], { equation: "ij,jk,kl->il" }), want);
  });

  it("bilinear form with a label summed inside one operand: bi,bij,bj->b", () => {
    const [B, I, J] = [2, 3, 2];
    const u = noise(B * I, 16);
    const w = noise(B * I * J, 17);
    const v = noise(B * J, 18);
    const want = [0, 1].map((q) => {
      let acc = 0;
      for (let i = 0; i < I; i++) for (let j = 0; j < J; j++) acc += u[q * I + i]! * at(w, [B, I, J], [q, i, j]) * v[q * J + j]!;
      return acc;
    });
    near(one(ops, "einsum", [f32([B, I], u), f32([B, I, J], w), f32([B, J], v)], { equation: "bi,bij,bj->b" }), want);
  });
});
