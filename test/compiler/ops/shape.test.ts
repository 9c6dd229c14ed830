import { describe, expect, it } from "vitest";
import { Dim } from "../../../compiler/dim.js";
import { ops } from "../../../compiler/ops/shape.js";
import type { TensorType } from "../../../compiler/ops/types.js";
import { type Attrs, apply, evaluate, expectOpError, t } from "./rule-harness.js";

const run = (name: string, inputs: readonly (TensorType | undefined)[], attrs: Attrs = {}) => apply(ops, name, inputs, attrs);

const B = Dim.sym("B");
const T = Dim.sym("T");
const H = Dim.sym("H");

/** [op, inputs, attrs, expected output types] */
type Case = [string, TensorType[], Attrs, string[]];

const CASES: Case[] = [
  // reshape: constant, symbolic, -1 solved by exact division
  ["reshape", [t("f32", "B", "T", 768)], { shape: ["B", "T", 12, 64] }, ["f32[B, T, 12, 64]"]],
  ["reshape", [t("f32", "B", "T", 768)], { shape: ["B", "T", 12, -1] }, ["f32[B, T, 12, 64]"]],
  ["reshape", [t("f32", "B", "T", 768)], { shape: [-1, 768] }, ["f32[B*T, 768]"]],
  ["reshape", [t("f32", B.mul(T), 768)], { shape: ["B", "T", -1] }, ["f32[B, T, 768]"]],
  ["reshape", [t("f32", "B", 12, "T", 64)], { shape: ["B", "T", 768] }, ["f32[B, T, 768]"]],
  ["reshape", [t("f32", "B", 12, "T", 64)], { shape: ["B", -1, 768] }, ["f32[B, T, 768]"]],
  ["reshape", [t("i64", 2, 3, 4)], { shape: [-1] }, ["i64[24]"]],
  ["reshape", [t("f32", 2, 3, 4)], { shape: [4, -1, 2] }, ["f32[4, 3, 2]"]],
  // flatten / unflatten
  ["flatten", [t("f32", "B", 16, 5, 5)], {}, ["f32[B, 400]"]],
  ["flatten", [t("f32", "B", 3, 4, 5)], { start: 1, end: 2 }, ["f32[B, 12, 5]"]],
  ["flatten", [t("f32", 2, 3, 4)], { start: 0 }, ["f32[24]"]],
  ["flatten", [t("f32")], {}, ["f32[1]"]],
  ["unflatten", [t("f32", "B", "T", 768)], { axis: 2, sizes: [12, -1] }, ["f32[B, T, 12, 64]"]],
  ["unflatten", [t("f32", "B", 12)], { axis: -1, sizes: [3, 2, 2] }, ["f32[B, 3, 2, 2]"]],
  // transpose / permute
  ["transpose", [t("f32", "B", "H", "T", 64)], {}, ["f32[B, H, 64, T]"]],
  ["transpose", [t("f32", "B", "T", "H", 64)], { dim0: 1, dim1: 2 }, ["f32[B, H, T, 64]"]],
  ["transpose", [t("f32", 3, 4)], {}, ["f32[4, 3]"]],
  ["transpose", [t("f32", 5)], {}, ["f32[5]"]],
  ["permute", [t("f32", "B", 3, 8, 9)], { dims: [0, 2, 3, 1] }, ["f32[B, 8, 9, 3]"]],
  ["permute", [t("f32", "B", 8, 9, 3)], { dims: [0, -1, 1, 2] }, ["f32[B, 3, 8, 9]"]],
  // squeeze / unsqueeze
  ["squeeze", [t("f32", "B", 1, 5, 1)], {}, ["f32[B, 5]"]],
  ["squeeze", [t("f32", "B", 1, 5, 1)], { axis: -1 }, ["f32[B, 1, 5]"]],
  ["squeeze", [t("f32", "B", 1, 5, 1)], { axis: [1, 3] }, ["f32[B, 5]"]],
  ["unsqueeze", [t("f32", "B", "T")], { axis: 1 }, ["f32[B, 1, T]"]],
  ["unsqueeze", [t("f32", "B", "T")], { axis: -1 }, ["f32[B, T, 1]"]],
  ["unsqueeze", [t("f32", "B", "T")], { axis: 0 }, ["f32[1, B, T]"]],
  // concat / stack
  [
    "concat",
    [t("f32", "B", 64, 28, 28), t("f32", "B", 128, 28, 28), t("f32", "B", 32, 28, 28), t("f32", "B", 32, 28, 28)],
    { axis: 1 },
    ["f32[B, 256, 28, 28]"],
  ],
  ["concat", [t("bool", "B", 10), t("bool", "B", "S")], { axis: 1 }, ["bool[B, S + 10]"]],
  ["concat", [t("f32", "B", 20), t("f32", "B", 10)], {}, ["f32[B, 30]"]],
  ["stack", [t("f32", "B", 4), t("f32", "B", 4), t("f32", "B", 4)], {}, ["f32[3, B, 4]"]],
  ["stack", [t("f32", "B", 4), t("f32", "B", 4)], { axis: -1 }, ["f32[B, 4, 2]"]],
  // split / chunk
  ["split", [t("f32", "B", 80)], { sections: 4 }, ["f32[B, 20]", "f32[B, 20]", "f32[B, 20]", "f32[B, 20]"]],
  ["split", [t("f32", "B", 80)], { sections: [30, 50] }, ["f32[B, 30]", "f32[B, 50]"]],
  ["split", [t("f32", "B", "T", Dim.sym("d").mul(3))], { sections: 3 }, ["f32[B, T, d]", "f32[B, T, d]", "f32[B, T, d]"]],
  ["split", [t("f32", 6, "B")], { sections: 2, axis: 0 }, ["f32[3, B]", "f32[3, B]"]],
  ["chunk", [t("f32", 10)], { chunks: 3 }, ["f32[4]", "f32[4]", "f32[2]"]],
  ["chunk", [t("f32", 10)], { chunks: 4 }, ["f32[3]", "f32[3]", "f32[3]", "f32[1]"]],
  // torch.chunk(arange(6), 4) gives 3 chunks of 2
  ["chunk", [t("f32", 6)], { chunks: 4 }, ["f32[2]", "f32[2]", "f32[2]"]],
  ["chunk", [t("f32", "B", 6)], { chunks: 3 }, ["f32[B, 2]", "f32[B, 2]", "f32[B, 2]"]],
  // slice: Python semantics (lengths checked against len(range(10)[a:b:c]))
  ["slice", [t("f32", "B", 10)], { axis: 1, start: 2, end: 5 }, ["f32[B, 3]"]],
  ["slice", [t("f32", "B", 10)], { axis: 1, start: -3 }, ["f32[B, 3]"]],
  ["slice", [t("f32", "B", 10)], { axis: 1, end: -1 }, ["f32[B, 9]"]],
  ["slice", [t("f32", "B", 10)], { axis: 1, start: 2, end: 100 }, ["f32[B, 8]"]],
  ["slice", [t("f32", "B", 10)], { axis: 1, start: 8, end: 2 }, ["f32[B, 0]"]],
  ["slice", [t("f32", "B", 10)], { axis: 1, start: -100 }, ["f32[B, 10]"]],
  ["slice", [t("f32", "B", 10)], { axis: 1, step: 2 }, ["f32[B, 5]"]],
  ["slice", [t("f32", "B", 10)], { axis: 1, start: 1, step: 3 }, ["f32[B, 3]"]],
  ["slice", [t("f32", "B", 10)], { axis: 1, start: -4, end: -1, step: 2 }, ["f32[B, 2]"]],
  // symbolic: x[:, :T-1], x[:, 1:], x[:, -3:], unet's crop x[:, :, top:top + 2*H]
  ["slice", [t("f32", "B", "T", 8)], { axis: 1, end: T.sub(1) }, ["f32[B, T - 1, 8]"]],
  ["slice", [t("f32", "B", "T", 8)], { axis: 1, start: 1 }, ["f32[B, T - 1, 8]"]],
  ["slice", [t("f32", "B", "T", 8)], { axis: 1, start: -3 }, ["f32[B, 3, 8]"]],
  ["slice", [t("f32", "B", "T", 8)], { axis: 1, end: T.add(5) }, ["f32[B, T, 8]"]],
  ["slice", [t("f32", "B", 64, "S", "S")], { axis: 2, start: "top", end: Dim.sym("top").add(H.scale(2)) }, ["f32[B, 64, 2*H, S]"]],
  // index / take / gather
  ["index", [t("f32", "B", "T", 20)], { axis: 1, index: -1 }, ["f32[B, 20]"]],
  ["index", [t("f32", "B", 4)], { axis: 1, index: 3 }, ["f32[B]"]],
  ["index", [t("f32", "B", "T")], { axis: 1, index: 0 }, ["f32[B]"]],
  ["take", [t("f32", "V", 64), t("i64", "E")], { axis: 0 }, ["f32[E, 64]"]],
  ["take", [t("f32", "V", 64), t("i32", "B", "T")], {}, ["f32[B, T, 64]"]],
  ["take", [t("f32", "B", 3)], { indices: [0, 2], axis: 1 }, ["f32[B, 2]"]],
  ["take", [t("f32", "B", 3)], { indices: [-1], axis: 1 }, ["f32[B, 1]"]],
  ["gather", [t("f32", "B", 10), t("i64", "B", 1)], { axis: 1 }, ["f32[B, 1]"]],
  ["gather", [t("f32", 4, 10), t("i64", 7, 3)], { axis: 0 }, ["f32[7, 3]"]],
  // pad (torch order: last dim first)
  ["pad", [t("f32", 1, 3, 8, 8)], { pads: [1, 3, 2, 2] }, ["f32[1, 3, 12, 12]"]],
  ["pad", [t("f32", 1, 3, 8, 8)], { pads: [1, 1] }, ["f32[1, 3, 8, 10]"]],
  ["pad", [t("f32", 1, 3, 8, 8)], { pads: [-1, -1] }, ["f32[1, 3, 8, 6]"]],
  ["pad", [t("f32", "B", "L")], { pads: [2, 0], mode: "replicate" }, ["f32[B, L + 2]"]],
  ["pad", [t("f32", 1, 3, 8, 8)], { pads: [7, 7, 1, 1], mode: "reflect" }, ["f32[1, 3, 10, 22]"]],
  // tile / expand / broadcast_to
  ["tile", [t("f32", 2, 3)], { reps: [2, 2] }, ["f32[4, 6]"]],
  ["tile", [t("f32", 2, 3)], { reps: [2] }, ["f32[2, 6]"]],
  ["tile", [t("f32", 2, 3)], { reps: [2, 1, 1] }, ["f32[2, 2, 3]"]],
  ["expand", [t("f32", 1, 1, 768)], { shape: ["B", 1, 768] }, ["f32[B, 1, 768]"]],
  ["expand", [t("f32", "B", 1, 256)], { shape: [-1, "T", -1] }, ["f32[B, T, 256]"]],
  ["expand", [t("f32", 20, 64)], { shape: ["B", 20, 64] }, ["f32[B, 20, 64]"]],
  ["expand", [t("f32")], { shape: ["B", 32] }, ["f32[B, 32]"]],
  ["broadcast_to", [t("f32", 3, 1)], { shape: [2, 3, 4] }, ["f32[2, 3, 4]"]],
  // patchify / pixel_shuffle / one_hot / repeat_interleave
  ["patchify", [t("f32", "B", 3, 224, 224)], { patch: 16 }, ["f32[B, 196, 768]"]],
  ["patchify", [t("f32", "B", 3, 32, 32)], { patch: [8, 4] }, ["f32[B, 32, 96]"]],
  ["pixel_shuffle", [t("f32", "B", 12, 8, 8)], { factor: 2 }, ["f32[B, 3, 16, 16]"]],
  ["pixel_shuffle", [t("f32", 18, 4, 5)], { factor: 3 }, ["f32[2, 12, 15]"]],
  ["one_hot", [t("i64", "B", "T")], { classes: 10 }, ["f32[B, T, 10]"]],
  ["repeat_interleave", [t("f32", "B", 2, "T", 64)], { repeats: 4, axis: 1 }, ["f32[B, 8, T, 64]"]],
  ["repeat_interleave", [t("i32", 3)], { repeats: "r", axis: 0 }, ["i32[3*r]"]],
];

describe("shape family", () => {
  it("defines the catalogue's ops, each with a doc, category shape and zero cost", () => {
    expect(ops.map((o) => o.name).sort()).toEqual(
      [
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
      ].sort(),
    );
    for (const o of ops) {
      expect(o.category).toBe("shape");
      expect(o.doc.length).toBeGreaterThan(10);
    }
    const covered = new Set(CASES.map((c) => c[0]));
    expect(ops.filter((o) => !covered.has(o.name)).map((o) => o.name)).toEqual([]);
  });

  it.each(CASES)("%s(%j, %j) → %j", (name, inputs, attrs, expected) => {
    const r = run(name, inputs, attrs);
    expect(r.shapes()).toEqual(expected);
    expect(r.params).toEqual([]);
    const c = r.cost();
    expect(
      evaluate(c.flops, {
        B: 2,
        T: 3,
        S: 4,
        E: 5,
        V: 6,
        L: 7,
        H: 8,
        d: 9,
        r: 2,
      }),
    ).toBe(0);
    expect(evaluate(c.macs, {})).toBe(0);
  });

  it("keeps symbolic results evaluable (concat of S + T, patchify of a symbolic image)", () => {
    const r = run("concat", [t("f32", "B", "S", 8), t("f32", "B", "T", 8)], {
      axis: 1,
    });
    expect(evaluate(r.outputs[0]!.shape[1]!, { S: 4, T: 7 })).toBe(11);
    const p = run("patchify", [t("f32", "B", 3, "H", "W")], { patch: 16 });
    expect(evaluate(p.outputs[0]!.shape[1]!, { H: 224, W: 160 })).toBe(14 * 10);
    expect(p.outputs[0]!.shape[2]!.constant).toBe(768);
  });
});

describe("shape errors", () => {
  it("reshape: numel mismatch shows both shapes and both element counts", () => {
    const e = expectOpError(
      () => run("reshape", [t("f32", 2, 3)], { shape: [4, 2] }),
      "shape",
      /f32\[2, 3\]/,
      /6 elements/,
      /\[4, 2\]/,
      /8 elements/,
    );
    expect(e.options.hint).toMatch(/-1/);
    expectOpError(() => run("reshape", [t("f32", "B", 4)], { shape: ["C", 4] }), "shape", /4\*B elements/, /4\*C elements/);
  });

  it("reshape: -1 must divide exactly and appear at most once", () => {
    expectOpError(() => run("reshape", [t("f32", 2, 3)], { shape: [4, -1] }), "shape", /6 is not divisible by 4/);
    expectOpError(() => run("reshape", [t("f32", "B", 6)], { shape: ["C", -1] }), "shape", /not known to be divisible by C/);
    expectOpError(() => run("reshape", [t("f32", 2, 3)], { shape: [-1, -1] }), "shape", /only one/);
    expectOpError(() => run("reshape", [t("f32", 2, 3)], { shape: [-2, -3] }), "shape", /negative/);
  });

  it("flatten / unflatten / transpose / permute", () => {
    expectOpError(() => run("flatten", [t("f32", 4)]), "start", /start 1 is out of range for x f32\[4\]/);
    expectOpError(() => run("flatten", [t("f32", 2, 3, 4)], { start: 2, end: 1 }), "start", /after/);
    expectOpError(() => run("unflatten", [t("f32", "B", 12)], { axis: 1, sizes: [5, 3] }), "sizes", /12 elements/, /15 elements/);
    expectOpError(() => run("transpose", [t("f32", 3, 4)], { dim0: 0, dim1: 2 }), "dim1", /dim1 2 is out of range/);
    expectOpError(() => run("permute", [t("f32", "B", 3, 8, 8)], { dims: [0, 1] }), "dims", /needs 4 dims/);
    const e = expectOpError(() => run("permute", [t("f32", "B", 3, 8, 8)], { dims: [0, 0, 1, 2] }), "dims", /not a permutation/);
    expect(e.options.hint).toContain("axis 0 appears twice");
    expectOpError(() => run("permute", [t("f32", 3, 8)], { dims: [0, 2] }), "dims", /not a permutation/);
  });

  it("squeeze only size-1 axes; unsqueeze within rank + 1", () => {
    expectOpError(() => run("squeeze", [t("f32", "B", 1, 5)], { axis: 2 }), "axis", /size is 5, not 1/);
    expectOpError(() => run("squeeze", [t("f32", "B", 1, 5)], { axis: 0 }), "axis", /size is B/);
    expectOpError(() => run("unsqueeze", [t("f32", "B", "T")], { axis: 3 }), "axis", /out of range/);
  });

  it("concat/stack: name the mismatching input and dim", () => {
    const e = expectOpError(
      () => run("concat", [t("f32", "B", 3, 8), t("f32", "B", 5, 8), t("f32", "B", 4, 7)], { axis: 1 }),
      2,
      /input #3 f32\[B, 4, 7\]/,
      /input #1 f32\[B, 3, 8\]/,
      /dim 2 \(7 vs 8\)/,
    );
    expect(e.options.hint).toMatch(/axis 1/);
    expect(expectOpError(() => run("concat", [t("f32", "B", 3), t("f16", "B", 3)]), 1, /f16/).options.code).toBe("DLM3102");
    expectOpError(() => run("concat", [t("f32", "B", 3), t("f32", "B", 3, 1)]), 1, /rank 3/);
    expectOpError(() => run("concat", [t("f32"), t("f32")], { axis: 0 }), 0, /scalars/);
    expectOpError(() => run("concat", []), 0, /at least one/);
    expectOpError(() => run("stack", [t("f32", "B", 3), t("f32", "B", 4)]), 1, /dim 1 \(4 vs 3\)/);
  });

  it("split/chunk: sizes must fit", () => {
    expectOpError(() => run("split", [t("f32", "B", 10)], { sections: 3 }), "sections", /size 10/, /3 equal parts/);
    expectOpError(() => run("split", [t("f32", "B", 10)], { sections: [3, 4] }), "sections", /add up to 7/, /size 10/);
    expectOpError(() => run("split", [t("f32", "B", 10)], { sections: 0 }), "sections");
    expectOpError(() => run("chunk", [t("f32", "B", "T")], { chunks: 2 }), "chunks", /depend on the value of T/);
  });

  it("slice / index / take / gather", () => {
    expectOpError(() => run("slice", [t("f32", "B", 10)], { axis: 1, step: 0 }), "step");
    expectOpError(() => run("slice", [t("f32", "B", 10)], { axis: 2 }), "axis", /axis 2 is out of range/);
    const e = expectOpError(() => run("index", [t("f32", "B", 4)], { axis: 1, index: 4 }), "index", /index 4 is out of range/, /size 4/);
    expect(e.options.hint).toContain("-4..3");
    expectOpError(() => run("index", [t("f32", "B", 4)], { axis: 1, index: -5 }), "index", /out of range/);
    expectOpError(() => run("index", [t("f32", "B", "T")], { axis: 1, index: "T" }), "index", /out of range/);
    expectOpError(() => run("take", [t("f32", "B", 3)], { axis: 1 }), "indices", /needs indices/);
    expectOpError(() => run("take", [t("f32", "B", 3), t("i64", 2)], { indices: [0], axis: 1 }), "indices", /not both/);
    expectOpError(() => run("take", [t("f32", "B", 3)], { indices: [0, 3], axis: 1 }), "indices", /index 3/);
    expect(expectOpError(() => run("take", [t("f32", "V", 3), t("f32", 2)]), 1, /f32\[2\]/).options.code).toBe("DLM3102");
    expectOpError(() => run("gather", [t("f32", "B", 10), t("i64", "B")], { axis: 1 }), 1, /rank/);
    expectOpError(() => run("gather", [t("f32", 4, 10), t("i64", 5, 3)], { axis: 1 }), 1, /dim 0/);
    expectOpError(() => run("gather", [t("f32", 4, 10), t("f32", 4, 3)], { axis: 1 }), 1);
  });

  it("pad / tile / expand", () => {
    expectOpError(() => run("pad", [t("f32", 1, 8)], { pads: [1, 1, 1] }), "pads", /pairs/);
    expectOpError(() => run("pad", [t("f32", 8)], { pads: [1, 1, 1, 1] }), "pads", /at most 2/);
    expectOpError(() => run("pad", [t("f32", 1, 8)], { pads: [8, 0], mode: "reflect" }), "pads", /smaller than the size 8/);
    expectOpError(() => run("pad", [t("f32", 1, 8)], { pads: [-5, -5] }), "pads", /leaves -2 elements/);
    expectOpError(() => run("pad", [t("f32", 1, 8)], { pads: [1, 1], mode: "mirror" }), "mode", /"reflect"/);
    expectOpError(() => run("tile", [t("f32", 2)], { reps: [-1] }), "reps", /negative/);
    const e = expectOpError(() => run("expand", [t("f32", "B", 4)], { shape: ["B", 8] }), "shape", /dim 1 has size 4/, /only size-1 dims/);
    expect(e.options.hint).toMatch(/tile|repeat_interleave/);
    expectOpError(() => run("expand", [t("f32", 1, 4)], { shape: [4] }), "shape", /fewer dims/);
    expectOpError(() => run("expand", [t("f32", 4)], { shape: [-1, 4] }), "shape", /dim 0 is new/);
    expectOpError(() => run("broadcast_to", [t("f32", 3)], { shape: [2, 4] }), "shape", /dim 0 has size 3/);
  });

  it("patchify / pixel_shuffle / one_hot / repeat_interleave", () => {
    const e = expectOpError(() => run("patchify", [t("f32", "B", 3, 225, 224)], { patch: 16 }), "patch", /height 225/, /patch size 16/);
    expect(e.options.hint).toContain("multiple of 16");
    expect(expectOpError(() => run("patchify", [t("f32", 3, 224, 224)], { patch: 16 }), 0).options.code).toBe("DLM3103");
    expectOpError(() => run("patchify", [t("f32", "B", 3, 32, 32)], { patch: 0 }), "patch");
    expectOpError(() => run("pixel_shuffle", [t("f32", "B", 10, 8, 8)], { factor: 2 }), "factor", /10 channels/, /4/);
    expect(expectOpError(() => run("one_hot", [t("f32", "B")], { classes: 10 }), 0).options.code).toBe("DLM3102");
    expectOpError(() => run("one_hot", [t("i64", "B")], { classes: 0 }), "classes");
    expectOpError(() => run("repeat_interleave", [t("f32", 3)], { repeats: -1, axis: 0 }), "repeats", /negative/);
  });
});
