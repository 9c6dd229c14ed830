// Lowerings of the creation ops: fills, ranges, identity and causal masks, the sinusoidal
// position table ('Attention Is All You Need', sin/cos interleaved) and literal constants.

import { describe, expect, it } from "vitest";
import { ops } from "../../../compiler/ops/creation.js";
import { f32, go, near, one, seq } from "./family.js";

describe("fills", () => {
  it("zeros / ones / full of a shape and dtype", () => {
    near(one(ops, "zeros", [], { shape: [2, 2] }), [0, 0, 0, 0]);
    near(one(ops, "ones", [], { shape: [3], dtype: "i64" }), [1, 1, 1]);
    near(one(ops, "full", [], { shape: [2], value: 2.5 }), [2.5, 2.5]);
    near(one(ops, "full", [], { shape: [2], value: true, dtype: "bool" }), [1, 1]);
  });

  it("*_like take x's shape and dtype", () => {
    const x = f32([2, 3], seq(6));
    near(one(ops, "zeros_like", [x]), Array(6).fill(0));
    near(one(ops, "ones_like", [x]), Array(6).fill(1));
    near(one(ops, "full_like", [x], { value: -3 }), Array(6).fill(-3));
  });
});

describe("ranges, identity, masks, positions, constants", () => {
  it("arange in i64 and f32", () => {
    near(one(ops, "arange", [], { n: 5 }), [0, 1, 2, 3, 4]);
    near(one(ops, "arange", [], { n: 5, start: 2, dtype: "f32" }), [2, 3, 4]);
  });

  it("eye and causal_mask (true where key j <= query i)", () => {
    near(one(ops, "eye", [], { n: 3 }), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
    near(one(ops, "causal_mask", [], { T: 3 }), [1, 0, 0, 1, 1, 0, 1, 1, 1]);
  });

  it("sinusoidal_positions: pe[pos, 2i] = sin(pos / 10000^(2i/d)), pe[pos, 2i+1] = cos(...)", () => {
    const [T, d] = [3, 4];
    const want = seq(T).flatMap((pos) => seq(d, (k) => (k % 2 === 0 ? Math.sin : Math.cos)(pos / 10000 ** ((k - (k % 2)) / d))));
    near(one(ops, "sinusoidal_positions", [], { T, d }), want);
  });

  it("constant from a nested list", () => {
    const [y] = go(ops, "constant", [], {
      value: [
        [1, 2],
        [3, 4],
      ],
    });
    expect(y!.shape).toEqual([2, 2]);
    near(y!.data, [1, 2, 3, 4]);
    near(one(ops, "constant", [], { value: [true, false], dtype: "bool" }), [1, 0]);
    near(one(ops, "constant", [], { value: 7, dtype: "i64" }), [7]);
  });
});
