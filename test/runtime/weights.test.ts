// Weights from safetensors files for a model (runtime/weights.ts), as dlm run --weights,
// dlm train --weights and Trainer.load read them: files PyTorch writes (F16 / BF16 tensors,
// num_batches_tracked counters) load when names and shapes match; anything else gets one
// message listing every missing, unexpected, mis-shaped and mis-typed tensor.

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { check } from "../../src/index.js";
import { decodeSafetensors, encodeSafetensors, writeSafetensors, type SafeTensor } from "../../runtime/safetensors.js";
import { Trainer } from "../../runtime/trainer.js";
import { matchWeights, WeightsMismatchError } from "../../runtime/weights.js";
import { runCli } from "../cli/capture.js";

const root = join(import.meta.dirname, "..", "..");
const dir = join(root, "tmp", `weights-${process.pid}`);
const at = (f: string): string => join(dir, f);

const f32 = (shape: number[], fill = 0.5): SafeTensor => ({
  dtype: "F32",
  shape,
  data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill),
});
/** A file as read back (F16 and BF16 become Float32Array data, as the reader converts them). */
const file = (tensors: Record<string, SafeTensor>, metadata: Record<string, string> = {}) =>
  decodeSafetensors(encodeSafetensors(new Map(Object.entries(tensors)), metadata));

const SLOTS = [
  { name: "fc.weight", shape: [3, 4] },
  { name: "fc.bias", shape: [3] },
  { name: "bn.running_mean", shape: [3] },
];

describe("matchWeights", () => {
  it("takes F32 tensors as they are and ignores optimiser state and torch's batch counters", () => {
    const w = matchWeights(
      file({
        "fc.weight": f32([3, 4], 0.25),
        "fc.bias": f32([3], -1),
        "bn.running_mean": f32([3], 2),
        "bn.num_batches_tracked": { dtype: "I64", shape: [], data: BigInt64Array.from([7n]) },
        "optimizer.main.step": f32([1]),
      }),
      SLOTS,
      { path: "w.safetensors", model: "M" },
    );
    expect([...w.keys()]).toEqual(["fc.weight", "fc.bias", "bn.running_mean"]);
    expect(w.get("fc.weight")![11]).toBe(0.25);
    expect(w.get("bn.running_mean")![0]).toBe(2);
  });

  it("widens F16 and BF16 tensors exactly", () => {
    // 0x3c00 = 1.0, 0xc000 = -2.0 in binary16; 0x3f80 = 1.0, 0x4049 = 3.140625 in bfloat16
    // dlm's writer does not write F16 / BF16, so the file's bytes are laid out here
    const header = JSON.stringify({
      "fc.bias": { dtype: "F16", shape: [3], data_offsets: [0, 6] },
      "fc.weight": { dtype: "BF16", shape: [3, 4], data_offsets: [6, 30] },
      "bn.running_mean": { dtype: "F32", shape: [3], data_offsets: [30, 42] },
    });
    const padded = header + " ".repeat((8 - (header.length % 8)) % 8);
    const bytes = new Uint8Array(8 + padded.length + 42);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(padded.length), true);
    bytes.set(new TextEncoder().encode(padded), 8);
    bytes.set(new Uint8Array(Uint16Array.from([0x3c00, 0xc000, 0x0000]).buffer), 8 + padded.length);
    bytes.set(new Uint8Array(Uint16Array.from(Array(12).fill(0x4049)).buffer), 8 + padded.length + 6);
    bytes.set(new Uint8Array(Float32Array.from([1, 2, 3]).buffer), 8 + padded.length + 30);
    const w = matchWeights(decodeSafetensors(bytes), SLOTS, { path: "h.safetensors", model: "M" });
    expect([...w.get("fc.bias")!]).toEqual([1, -2, 0]);
    expect(w.get("fc.weight")![5]).toBe(3.140625);
  });

  it("lists every problem at once: missing, unexpected, shapes, dtypes, and where the file came from", () => {
    const f = file(
      {
        "fc.weight": f32([3, 5]),
        "bn.running_mean": { dtype: "F64", shape: [3], data: new Float64Array(3) },
        "head.weight": f32([2, 2]),
        "head.bias": { dtype: "I64", shape: [2], data: new BigInt64Array(2) },
      },
      { model: "Other" },
    );
    let error: unknown;
    try {
      matchWeights(f, SLOTS, { path: "w.safetensors", model: "M" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WeightsMismatchError);
    const e = error as WeightsMismatchError;
    expect(e.problems).toEqual([
      "'fc.weight' is [3, 5], the model needs [3, 4]",
      "missing 'fc.bias' [3]",
      "'bn.running_mean' is F64; weights must be F32 (or F16 / BF16, widened exactly)",
      "unexpected 'head.bias' [2]",
      "unexpected 'head.weight' [2, 2]",
    ]);
    expect(e.message).toBe(`w.safetensors does not fit M: ${e.problems.join("; ")}; it was saved from model Other`);
  });

  it("accepts names the caller knows besides the ones it asks for", () => {
    const f = file({ "fc.weight": f32([3, 4]), "fc.bias": f32([3]), "bn.running_mean": f32([3]), "extra.w": f32([1]) });
    expect(() => matchWeights(f, SLOTS, { path: "p", model: "M" })).toThrow(/unexpected 'extra\.w' \[1\]/);
    expect(matchWeights(f, SLOTS, { path: "p", model: "M" }, new Set(["extra.w"])).size).toBe(3);
  });
});

// ---------------------------------------------------------------------------
// Through the trainer and the command line

const MODEL = `
model Net {
  input x: f32[B, 4]
  output y = batchnorm(linear(x, 3) as fc) as bn
}
train Net {
  input labels: i64[B]
  loss = cross_entropy(y, labels)
  optimizer = sgd(lr: 0.1)
  batch = 2
}
`;

const run = runCli;

/** The tensors PyTorch's save_file(model.state_dict()) writes for Net: with a num_batches_tracked counter. */
function torchStyle(weight: number): Map<string, SafeTensor> {
  return new Map<string, SafeTensor>([
    ["fc.weight", f32([3, 4], weight)],
    ["fc.bias", f32([3], 0)],
    ["bn.weight", f32([3], 1)],
    ["bn.bias", f32([3], 0)],
    ["bn.running_mean", f32([3], 0.5)],
    ["bn.running_var", f32([3], 4)],
    ["bn.num_batches_tracked", { dtype: "I64", shape: [], data: BigInt64Array.from([3n]) }],
  ]);
}

describe("PyTorch weights in dlm", () => {
  const model = at("net.dlm");
  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(model, MODEL);
    await writeSafetensors(at("torch.safetensors"), torchStyle(0.25), { format: "pt" });
    const bad = torchStyle(0.25);
    bad.delete("bn.running_var");
    bad.set("fc.weight", f32([4, 3]));
    bad.set("classifier.weight", f32([2, 3]));
    await writeSafetensors(at("bad.safetensors"), bad);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => vi.restoreAllMocks());

  it("Trainer.load with weightsOnly takes them, buffers included", async () => {
    const m = check(model).models.get("Net")!;
    const t = new Trainer(m.graph!, m.train!);
    await t.load(at("torch.safetensors"), { weightsOnly: true });
    expect(t.values.get("fc.weight")![0]).toBe(0.25);
    expect(t.values.get("bn.running_var")![2]).toBe(4);
  });

  it("dlm run --weights runs a PyTorch-written file in evaluation mode", async () => {
    const r = await run("run", model, "--weights", at("torch.safetensors"), "--input", "x=[[1,2,3,4]]", "--json");
    expect(r.code, r.stderr).toBe(0);
    // y = (x·w + b - running_mean) / sqrt(running_var + eps): (2.5 - 0.5) / sqrt(4 + 1e-5)
    const y = (JSON.parse(r.stdout) as { outputs: { y: { data: number[][] } } }).outputs.y.data[0]!;
    for (const v of y) expect(v).toBeCloseTo(2 / Math.sqrt(4 + 1e-5), 5);
  });

  it("dlm train --weights starts from them; a file that does not fit fails with every mismatch", async () => {
    const ok = await run(
      "train",
      model,
      "--weights",
      at("torch.safetensors"),
      "--epochs",
      "1",
      "--steps-per-epoch",
      "2",
      "--quiet",
      "--save",
      at("after.safetensors"),
    );
    expect(ok.code, ok.stderr).toBe(0);
    const bad = await run("train", model, "--weights", at("bad.safetensors"), "--epochs", "1", "--quiet");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      "bad.safetensors does not fit Net: 'fc.weight' is [4, 3], the model needs [3, 4]; missing 'bn.running_var' [3]; unexpected 'classifier.weight' [2, 3]",
    );
    const both = await run("train", model, "--weights", at("torch.safetensors"), "--resume", at("after.safetensors"));
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--weights .* --resume/);
  });
});
