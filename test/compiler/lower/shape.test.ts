// Lowerings of the shape ops against index arithmetic written here (PyTorch's layouts:
// torch.gather, F.pad order and modes, ViT patches, pixel_shuffle, tile, repeat_interleave).

import { describe, expect, it } from "vitest";
import { ops } from "../../../compiler/ops/shape.js";
import { f32, go, i64, near, one, seq } from "./family.js";

// x [2, 3, 4] = 0..23
const X = f32([2, 3, 4], seq(24));
const at = (i: number, j: number, k: number): number => i * 12 + j * 4 + k;

describe("reshaping and axes", () => {
  it("reshape / flatten / unflatten / squeeze / unsqueeze keep the order", () => {
    for (const [name, attrs] of [
      ["reshape", { shape: [4, -1] }],
      ["flatten", {}],
      ["flatten", { start: 0, end: 1 }],
      ["unflatten", { axis: 2, sizes: [2, 2] }],
      ["unsqueeze", { axis: -1 }],
    ] as const)
      near(one(ops, name, [X], attrs), seq(24));
    near(one(ops, "squeeze", [f32([1, 3, 1], [1, 2, 3])]), [1, 2, 3]);
    near(one(ops, "squeeze", [f32([1, 3, 1], [1, 2, 3])], { axis: 0 }), [1, 2, 3]);
  });

  it("transpose (default: the last two) and permute", () => {
    near(
      one(ops, "transpose", [X]),
      [0, 1].flatMap((i) => seq(4).flatMap((k) => seq(3, (j) => at(i, j, k)))),
    );
    near(
      one(ops, "transpose", [X], { dim0: 0, dim1: 2 }),
      seq(4).flatMap((k) => seq(3).flatMap((j) => seq(2, (i) => at(i, j, k)))),
    );
    near(one(ops, "transpose", [f32([3], [1, 2, 3])]), [1, 2, 3]);
    near(
      one(ops, "permute", [X], { dims: [1, -1, 0] }),
      seq(3).flatMap((j) => seq(4).flatMap((k) => seq(2, (i) => at(i, j, k)))),
    );
  });
});

describe("joining and splitting", () => {
  const a = f32([2, 2], [1, 2, 3, 4]);
  const b = f32([2, 1], [5, 6]);
  it("concat along an axis; stack along a new one", () => {
    near(one(ops, "concat", [a, b]), [1, 2, 5, 3, 4, 6]);
    near(one(ops, "concat", [a, a], { axis: 0 }), [1, 2, 3, 4, 1, 2, 3, 4]);
    near(one(ops, "stack", [a, a]), [1, 2, 3, 4, 1, 2, 3, 4]);
    near(one(ops, "stack", [a, f32([2, 2], [5, 6, 7, 8])], { axis: 2 }), [1, 5, 2, 6, 3, 7, 4, 8]);
  });

  it("split into equal parts or given sizes; chunk with a smaller last part", () => {
    const parts = go(ops, "split", [X], { sections: [1, 3] });
    near(
      parts[0]!.data,
      seq(6, (r) => r * 4),
    );
    near(
      parts[1]!.data,
      seq(6).flatMap((r) => [1, 2, 3].map((k) => r * 4 + k)),
    );
    const halves = go(ops, "split", [X], { sections: 2, axis: 2 });
    expect(halves.map((h) => h.shape)).toEqual([
      [2, 3, 2],
      [2, 3, 2],
    ]);
    const chunks = go(ops, "chunk", [f32([5], [1, 2, 3, 4, 5])], { chunks: 2 });
    expect(chunks.map((c) => c.data)).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });
});

describe("slicing and indexing", () => {
  it("slice with negative bounds, clamping and steps", () => {
    const v = f32([6], seq(6));
    near(one(ops, "slice", [v], { axis: 0, start: 1, end: -1 }), [1, 2, 3, 4]);
    near(one(ops, "slice", [v], { axis: 0, start: -4, end: 100, step: 2 }), [2, 4]);
    near(one(ops, "slice", [v], { axis: 0, start: 4, end: 2 }), []);
    near(
      one(ops, "slice", [X], { axis: 1, start: 1, step: 2 }),
      [0, 1].flatMap((i) => seq(4, (k) => at(i, 1, k))),
    );
  });

  it("index picks one position and drops the axis", () => {
    near(
      one(ops, "index", [X], { axis: 1, index: -1 }),
      [0, 1].flatMap((i) => seq(4, (k) => at(i, 2, k))),
    );
  });

  it("take: indices as a list (negatives from the end) or as an integer tensor of any rank", () => {
    near(
      one(ops, "take", [X], { indices: [2, -4], axis: 2 }),
      [0, 1].flatMap((i) => seq(3).flatMap((j) => [at(i, j, 2), at(i, j, 0)])),
    );
    near(
      one(ops, "take", [X, i64([2, 2], [1, 0, 1, 1])], { axis: 0 }),
      [1, 0, 1, 1].flatMap((i) => seq(12, (r) => i * 12 + r)),
    );
  });

  it("gather: out[i][j] = x[index[i][j]][j] (axis 0), and along axis 1 with a smaller index", () => {
    const x = f32([3, 2], [1, 2, 3, 4, 5, 6]);
    near(one(ops, "gather", [x, i64([2, 2], [2, 0, 1, 1])], { axis: 0 }), [5, 2, 3, 4]);
    near(one(ops, "gather", [x, i64([2, 1], [1, 0])], { axis: 1 }), [2, 3]);
  });
});

describe("padding, tiling, broadcasting", () => {
  const v = f32([2, 3], [1, 2, 3, 4, 5, 6]);
  it("constant padding in torch order (last axis first), negative pads crop", () => {
    near(one(ops, "pad", [v], { pads: [1, 0, 0, 1], value: 9 }), [9, 1, 2, 3, 9, 4, 5, 6, 9, 9, 9, 9]);
    near(one(ops, "pad", [v], { pads: [-1, 1] }), [2, 3, 0, 5, 6, 0]);
  });

  it("reflect / replicate / circular", () => {
    const r = f32([4], [1, 2, 3, 4]);
    near(one(ops, "pad", [r], { pads: [2, 3], mode: "reflect" }), [3, 2, 1, 2, 3, 4, 3, 2, 1]);
    near(one(ops, "pad", [r], { pads: [2, 3], mode: "replicate" }), [1, 1, 1, 2, 3, 4, 4, 4, 4]);
    near(one(ops, "pad", [r], { pads: [2, 3], mode: "circular" }), [3, 4, 1, 2, 3, 4, 1, 2, 3]);
  });

  it("tile (short reps padded with 1s in front), expand / broadcast_to, repeat_interleave", () => {
    near(one(ops, "tile", [f32([2], [1, 2])], { reps: [2, 2] }), [1, 2, 1, 2, 1, 2, 1, 2]);
    near(one(ops, "tile", [v], { reps: [2] }), [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]);
    near(
      one(ops, "expand", [f32([2, 1], [1, 2])], { shape: [2, 2, -1, 3] }),
      seq(4).flatMap(() => [1, 1, 1, 2, 2, 2]),
    );
    near(one(ops, "broadcast_to", [f32([3], [1, 2, 3])], { shape: [2, 3] }), [1, 2, 3, 1, 2, 3]);
    near(one(ops, "repeat_interleave", [v], { repeats: 2, axis: 0 }), [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]);
    near(one(ops, "repeat_interleave", [v], { repeats: 2, axis: 1 }), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]);
  });
});

describe("vision and encoding", () => {
  it("patchify: patches row-major, features ordered (c, i, j) like a conv patch embedding", () => {
    // x [1, 2, 4, 4]: x[c, h, w] = 100c + 10h + w
    const data = seq(32, (n) => 100 * Math.floor(n / 16) + 10 * Math.floor((n % 16) / 4) + (n % 4));
    const want: number[] = [];
    for (const [ph, pw] of [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ] as const)
      for (let c = 0; c < 2; c++)
        for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) want.push(100 * c + 10 * (2 * ph + i) + 2 * pw + j);
    near(one(ops, "patchify", [f32([1, 2, 4, 4], data)], { patch: 2 }), want);
  });

  it("pixel_shuffle: out[c, h·r + i, w·r + j] = x[c·r² + i·r + j, h, w]", () => {
    const r = 2;
    const [C, H, W] = [2, 2, 3];
    const data = seq(C * r * r * H * W, (n) => n * 1.5);
    const want: number[] = [];
    for (let c = 0; c < C; c++)
      for (let y = 0; y < H * r; y++)
        for (let x = 0; x < W * r; x++) {
          const ch = c * r * r + (y % r) * r + (x % r);
          want.push(data[(ch * H + Math.floor(y / r)) * W + Math.floor(x / r)]!);
        }
    near(one(ops, "pixel_shuffle", [f32([1, C * r * r, H, W], data)], { factor: r }), want);
  });

  it("one_hot", () => {
    near(one(ops, "one_hot", [i64([3], [2, 0, 1])], { classes: 3 }), [0, 0, 1, 1, 0, 0, 0, 1, 0]);
  });

  it("covers every op of the family", () => {
    const tested = [
      "reshape",
      "flatten",
      "unflatten",
      "transpose",
      "permute",
      "squeeze",
      "unsqueeze",
      "concat",
      "stack",
      "split",
      "chunk",
      "slice",
      "index",
      "take",
      "gather",
      "pad",
      "tile",
      "expand",
      "broadcast_to",
      "patchify",
      "pixel_shuffle",
      "one_hot",
      "repeat_interleave",
    ];
    expect(ops.map((o) => o.name).sort()).toEqual(tested.sort());
  });
});
