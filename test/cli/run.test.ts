// `dlm run` through main(): inference in evaluation mode from weights saved by Trainer.save,
// inputs as inline JSON or JSON files, the batch (and other symbolic dims) read off the
// inputs' shapes, human and --json output, and clear errors for bad weights and inputs.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { check } from "../../src/index.js";
import { Trainer } from "../../runtime/trainer.js";
import { writeSafetensors } from "../../runtime/safetensors.js";
import { runCli } from "./capture.js";

const root = join(import.meta.dirname, "..", "..");
const dir = join(root, "tmp", `cli-run-${process.pid}`);
const at = (f: string): string => join(dir, f);

// y = relu(W x + b) with dropout, which evaluation mode turns off
const MODEL = `
model Affine {
  input x: f32[B, 4]
  output y = x |> linear(3) as fc |> relu |> dropout(0.5)
  output best = argmax(y)
}

train Affine {
  input labels: i64[B]
  loss = cross_entropy(y, labels)
  optimizer = sgd(lr: 0.1)
  batch = 2
}
`;

const OTHER = `
model Other {
  input x: f32[B, 4]
  output y = linear(x, 5) as proj
}

train Other {
  input labels: i64[B]
  loss = cross_entropy(y, labels)
  optimizer = sgd(lr: 0.1)
  batch = 2
}
`;

const W = [
  [1, 0, -1, 2],
  [0.5, 0.5, 0.5, 0.5],
  [-1, -1, 0, 0],
];
const b = [0.1, -3, 0.5];
/** The model's function written out here: relu(W x + b) per row. */
const affine = (x: number[]): number[] =>
  W.map((row, i) =>
    Math.max(
      0,
      row.reduce((s, w, k) => s + w * x[k]!, b[i]!),
    ),
  );

const run = runCli;

async function saveWith(file: string, model: string, ckpt: string, set: (t: Trainer) => void = () => {}): Promise<void> {
  const r = check(file);
  const m = r.models.get(model)!;
  const t = new Trainer(m.graph!, m.train!);
  set(t);
  await t.save(ckpt);
}

const model = at("affine.dlm");
const weights = at("affine.safetensors");

beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(model, MODEL);
  writeFileSync(at("other.dlm"), OTHER);
  await saveWith(model, "Affine", weights, (t) => {
    t.values.get("fc.weight")!.set(W.flat());
    t.values.get("fc.bias")!.set(b);
  });
  await saveWith(at("other.dlm"), "Other", at("other.safetensors"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const near = (got: number[], want: number[]) => want.forEach((w, i) => expect(got[i]).toBeCloseTo(w, 5));

describe("dlm run", () => {
  const xs = [
    [1, 2, 3, 4],
    [0.5, -1, 2, 0],
    [-2, 1, 0, 1],
  ];

  it("--json: {outputs: {name: {shape, data}}} in eval mode (no dropout), batch from the input", async () => {
    const r = await run("run", model, "--weights", weights, "--input", `x=${JSON.stringify(xs)}`, "--json");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.outputs.y.shape).toEqual([3, 3]);
    expect(j.outputs.y.data).toHaveLength(3);
    xs.forEach((x, i) => near(j.outputs.y.data[i], affine(x)));
    expect(j.outputs.best.shape).toEqual([3]);
    expect(j.outputs.best.data).toEqual(xs.map((x) => affine(x).indexOf(Math.max(...affine(x)))));
  });

  it("any batch size: one example, from a JSON file", async () => {
    writeFileSync(at("one.json"), JSON.stringify([xs[0]]));
    const r = await run("run", model, "--weights", weights, "--input", `x=${at("one.json")}`, "--json");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.outputs.y.shape).toEqual([1, 3]);
    near(j.outputs.y.data[0], affine(xs[0]!));
  });

  it("human output: each output's name, type, shape and values", async () => {
    const r = await run("run", model, "--weights", weights, "--input", `x=${JSON.stringify(xs.slice(0, 2))}`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("y: f32[2, 3]");
    expect(r.stdout).toContain("best: i64[2]");
    // the first row, as printed
    const first = affine(xs[0]!);
    expect(r.stdout).toContain(`[[${first.map((v) => String(Number(v.toPrecision(6)))).join(", ")}]`);
  });

  it("symbolic dims other than B are read off the inputs (examples/rnn.dlm LinearRNN: T = 3 gives 14, T = 4 gives 30)", async () => {
    const w = at("linear-rnn.safetensors");
    await writeSafetensors(w, new Map([["hs.W", { dtype: "F32" as const, shape: [1, 1], data: Float32Array.from([2]) }]]));
    const file = join(root, "examples", "rnn.dlm");
    const three = await run("run", file, "--model", "LinearRNN", "--weights", w, "--input", "u=[[[1],[1],[1]]]", "--json");
    expect(three.code).toBe(0);
    expect(JSON.parse(three.stdout).outputs.y).toMatchObject({ shape: [1, 1], data: [[14]] });
    const four = await run("run", file, "--model", "LinearRNN", "--weights", w, "--input", "u=[[[1],[1],[1],[1]]]", "--json");
    expect(JSON.parse(four.stdout).outputs.y.data).toEqual([[30]]);
  });

  it("a missing weight file: exit 1 naming it", async () => {
    const r = await run("run", model, "--weights", at("nope.safetensors"), "--input", "x=[[1,2,3,4]]");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nope\.safetensors.*cannot read/);
  });

  it("a corrupt weight file: exit 1 naming it", async () => {
    writeFileSync(at("corrupt.safetensors"), "not safetensors");
    const r = await run("run", model, "--weights", at("corrupt.safetensors"), "--input", "x=[[1,2,3,4]]");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/corrupt\.safetensors.*header/);
    expect(r.stderr).not.toMatch(/internal error/);
  });

  it("weights of another model: exit 1 saying which names are missing and what the file holds", async () => {
    const r = await run("run", model, "--weights", at("other.safetensors"), "--input", "x=[[1,2,3,4]]");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/does not fit Affine: missing 'fc\.weight' \[3, 4\]; missing 'fc\.bias' \[3\]/);
    expect(r.stderr).toMatch(/'proj\.weight'/);
    expect(r.stderr).toMatch(/saved from model Other/);
  });

  it("weights of the right names at the wrong shapes: exit 1 with both shapes", async () => {
    const w = at("wrong-shape.safetensors");
    await writeSafetensors(
      w,
      new Map([
        ["fc.weight", { dtype: "F32" as const, shape: [3, 5], data: new Float32Array(15) }],
        ["fc.bias", { dtype: "F32" as const, shape: [3], data: new Float32Array(3) }],
      ]),
    );
    const r = await run("run", model, "--weights", w, "--input", "x=[[1,2,3,4]]");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/'fc\.weight' is \[3, 5\], the model needs \[3, 4\]/);
  });

  it("an input of the wrong shape: exit 1 saying the expected shape", async () => {
    const r = await run("run", model, "--weights", weights, "--input", "x=[[1,2,3],[4,5,6]]");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/input 'x' has shape \[2, 3\], but the model expects f32\[B, 4\] \(here \[2, 4\]\)/);
    const rank = await run("run", model, "--weights", weights, "--input", "x=[1,2,3,4]");
    expect(rank.code).toBe(1);
    expect(rank.stderr).toMatch(/input 'x' has shape \[4\] \(rank 1\), but the model expects f32\[B, 4\]/);
  });

  it("malformed input data: exit 1", async () => {
    const ragged = await run("run", model, "--weights", weights, "--input", "x=[[1,2,3,4],[1]]");
    expect(ragged.code).toBe(1);
    expect(ragged.stderr).toMatch(/not a rectangular array/);
    writeFileSync(at("bad.json"), "[[1, 2, 3, 4],");
    const bad = await run("run", model, "--weights", weights, "--input", `x=${at("bad.json")}`);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/bad\.json: not valid JSON/);
    const missing = await run("run", model, "--weights", weights, "--input", `x=${at("none.json")}`);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/none\.json.*does not exist/);
    const strings = await run("run", model, "--weights", weights, "--input", 'x=[["a","b","c","d"]]');
    expect(strings.code).toBe(1);
    expect(strings.stderr).toMatch(/expected numbers/);
  });

  it.each([
    [["--input", "x=[[1,2,3,4]]"], /dlm run needs --weights/],
    [["--weights", "W"], /needs --input x=/],
    [["--weights", "W", "--input", "z=[[1]]"], /has no input 'z'; it takes x: f32\[B, 4\]/],
    [["--weights", "W", "--input", "x"], /--input expects NAME=FILE\.json or NAME=JSON/],
    [["--weights", "W", "--input", "x=[[1,2,3,4]]", "--input", "x=[[1,2,3,4]]"], /--input x is given twice/],
    [["--weights", "W", "--epochs", "3"], /unknown option --epochs/],
  ])("bad command lines %j: exit 2", async (flags, message) => {
    const r = await run("run", model, ...flags);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it("is in the usage text", async () => {
    const r = await run("help");
    expect(r.stdout).toMatch(/dlm run FILE --weights W\.safetensors --input NAME=/);
  });

  it("the weights of a training checkpoint made by dlm train --save run as they are", async () => {
    const ckpt = at("trained.safetensors");
    const t = await run("train", model, "--epochs", "1", "--steps-per-epoch", "2", "--save", ckpt, "--quiet", "--curve", at("t.svg"));
    expect(t.code).toBe(0);
    const r = await run("run", model, "--weights", ckpt, "--input", "x=[[1,2,3,4]]", "--json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).outputs.y.shape).toEqual([1, 3]);
    expect(readFileSync(ckpt).length).toBeGreaterThan(0);
  });
});
