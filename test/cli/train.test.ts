// `dlm train` through main(): the report contract, the loss curve, and the errors a user can
// make (missing or malformed data, a model that does not fit the data, bad flags, a model
// without a train section, a run that diverges after a checkpoint).

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { runCli } from "./capture.js";

const root = join(import.meta.dirname, "..", "..");
const dir = join(root, "tmp", `cli-train-${process.pid}`);
const at = (f: string): string => join(dir, f);

const MODEL = `
/// a small classifier of 8 features into 3 classes
model Small(features: int = 8, classes: int = 3) {
  input x: f32[B, features]
  output logits = x |> linear(16) |> relu |> linear(classes)
}

train Small {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = adam(lr: 0.01)
  batch = 8
  epochs = 3
  seed = 1
}
`;

const UNTRAINED = `
model NoTrain {
  input x: f32[B, 8]
  output y = linear(x, 2)
}
`;

const run = runCli;

beforeAll(() => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(at("small.dlm"), MODEL);
  writeFileSync(at("notrain.dlm"), UNTRAINED);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const quick = ["--epochs", "2", "--steps-per-epoch", "3", "--quiet"];

describe("dlm train", () => {
  it("synthetic data: exit 0, a report with one entry per epoch and the final figures, and an SVG curve", async () => {
    const report = at("R.json");
    const curve = at("C.svg");
    const r = await run("train", at("small.dlm"), "--data", "synthetic", ...quick, "--report", report, "--curve", curve);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(readFileSync(report, "utf8"));
    expect(j).toMatchObject({ model: "Small", data: "synthetic", batch: 8, seed: 1 });
    expect(j.epochs).toHaveLength(2);
    j.epochs.forEach((e: Record<string, number>, i: number) => {
      expect(e.epoch).toBe(i + 1);
      expect(e.steps).toBe(3 * (i + 1));
      expect(Number.isFinite(e.loss)).toBe(true);
      for (const k of ["train_accuracy", "test_accuracy"]) {
        expect(e[k]).toBeGreaterThanOrEqual(0);
        expect(e[k]).toBeLessThanOrEqual(1);
      }
    });
    const f = j.final;
    expect(f.loss).toBe(j.epochs[1].loss);
    for (const k of ["train_accuracy", "test_accuracy"]) {
      expect(typeof f[k]).toBe("number");
      expect(f[k]).toBeGreaterThanOrEqual(0);
      expect(f[k]).toBeLessThanOrEqual(1);
    }
    expect(f.steps).toBe(6);
    expect(f.stopped).toBeUndefined();
    const svg = readFileSync(curve, "utf8");
    expect(svg.trimStart()).toMatch(/^(<\?xml[^>]*>\s*)?<svg[\s>]/);
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    // balanced tags (a cheap well-formedness check): every opened element is closed
    const opened = [...svg.matchAll(/<([a-zA-Z][\w:-]*)\b[^>]*?(\/?)>/g)].filter((m) => m[2] !== "/").map((m) => m[1]);
    const closed = [...svg.matchAll(/<\/([a-zA-Z][\w:-]*)>/g)].map((m) => m[1]);
    expect(closed.sort()).toEqual(opened.sort());
    expect(svg).not.toMatch(/NaN|Infinity/);
  });

  it("-O0, --no-fold, --no-simplify, --no-bn-fold, --no-cse, --no-fuse, --no-flash-attention, --no-plan and --no-in-place switch the compiler passes off and give the same run bit for bit", async () => {
    const reports: number[][] = [];
    const switchSets = [
      [],
      ["-O0"],
      ["--no-fold"],
      ["--no-simplify"],
      ["--no-bn-fold"],
      ["--no-cse"],
      ["--no-fuse"],
      ["--no-flash-attention"],
      ["--no-plan"],
      ["--no-in-place"],
    ];
    for (const [i, switches] of switchSets.entries()) {
      const report = at(`O${i}.json`);
      const r = await run("train", at("small.dlm"), ...switches, "--data", "synthetic", ...quick, "--report", report);
      expect(r.code, r.stderr).toBe(0);
      reports.push(JSON.parse(readFileSync(report, "utf8")).epochs.map((e: { loss: number }) => e.loss));
    }
    for (const losses of reports.slice(1)) expect(losses).toEqual(reports[0]);
  });

  it("prints per-epoch progress on stderr without --quiet", async () => {
    const r = await run("train", at("small.dlm"), "--epochs", "1", "--steps-per-epoch", "2", "--curve", at("p.svg"));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/epoch 1\/1 .*loss \d/);
    expect(r.stdout).toBe("");
  });

  it("a CSV file with the model's columns trains", async () => {
    const header = [...Array(8).keys()].map((i) => `f${i}`).join(",") + ",labels";
    const rows = Array.from({ length: 24 }, (_, r) => [...Array(8).keys()].map((i) => ((r * 7 + i * 3) % 11) / 10).join(",") + `,${r % 3}`);
    writeFileSync(at("good.csv"), [header, ...rows].join("\n") + "\n");
    const r = await run("train", at("small.dlm"), "--data", at("good.csv"), ...quick, "--report", at("csv.json"), "--curve", at("csv.svg"));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(at("csv.json"), "utf8")).epochs).toHaveLength(2);
  });

  it("a missing CSV file: exit 1 naming it", async () => {
    const r = await run("train", at("small.dlm"), "--data", at("nope.csv"), ...quick, "--curve", at("x.svg"));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("nope.csv");
    expect(r.stderr).toMatch(/does not exist/);
    expect(r.stderr).not.toMatch(/internal error/);
  });

  it("a CSV file with the wrong columns: exit 1 saying what the model needs", async () => {
    writeFileSync(at("few.csv"), "a,b,labels\n1,2,0\n3,4,1\n");
    const few = await run("train", at("small.dlm"), "--data", at("few.csv"), ...quick, "--curve", at("x.svg"));
    expect(few.code).toBe(1);
    expect(few.stderr).toMatch(/few\.csv.*\[8\].*2 feature columns/);
    writeFileSync(at("nolabel.csv"), [...Array(9).keys()].map((i) => `f${i}`).join(",") + "\n" + Array(9).fill(0).join(",") + "\n");
    const nolabel = await run("train", at("small.dlm"), "--data", at("nolabel.csv"), ...quick, "--curve", at("x.svg"));
    expect(nolabel.code).toBe(1);
    expect(nolabel.stderr).toMatch(/no label column 'labels'/);
  });

  it("a CSV label outside the model's classes: exit 1 naming the line", async () => {
    const header = [...Array(8).keys()].map((i) => `f${i}`).join(",") + ",labels";
    const rows = Array.from(
      { length: 16 },
      (_, r) =>
        Array(8)
          .fill(r / 16)
          .join(",") + `,${r === 5 ? 7 : r % 3}`,
    );
    writeFileSync(at("range.csv"), [header, ...rows].join("\n") + "\n");
    const r = await run("train", at("small.dlm"), "--data", at("range.csv"), ...quick, "--curve", at("x.svg"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/range\.csv:7:9.*class 7 is outside \[0, 3\)/);
  });

  it("--data mnist on a model without 784-value image input: a usage error (exit 2) that says what the model takes", async () => {
    const r = await run("train", at("small.dlm"), "--data", "mnist", ...quick);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--data mnist needs .*784.*x: f32\[B, 8\]/);
  });

  it.each([
    [["--epochs", "0"], /--epochs expects a positive integer/],
    [["--batch", "two"], /--batch expects a positive integer/],
    [["--lr", "-1"], /--lr expects a positive number/],
    [["--seed", "x"], /--seed expects a non-negative integer/],
    [["--frobnicate"], /unknown option --frobnicate/],
    [["--dim", "T"], /--dim expects NAME=POSITIVE_INTEGER/],
    [["--data", "images.txt"], /--data expects mnist, synthetic or a \.csv file/],
    [["--epochs"], /--epochs needs a value/],
  ])("bad flags %j: exit 2", async (flags, message) => {
    const r = await run("train", at("small.dlm"), ...flags);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it("no FILE or two FILEs: exit 2", async () => {
    expect((await run("train")).code).toBe(2);
    expect((await run("train", at("small.dlm"), at("small.dlm"))).code).toBe(2);
  });

  it("a model without a train section: exit 1", async () => {
    const r = await run("train", at("notrain.dlm"), ...quick);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/model 'NoTrain' has no train section/);
  });

  it("a file with errors: exit 1 with the diagnostic", async () => {
    writeFileSync(at("broken.dlm"), "model Broken {\n  input x: f32[B, 8]\n  output y = linear(x, 2) + zz\n}\n");
    const r = await run("train", at("broken.dlm"), ...quick, "--no-color");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/broken\.dlm:3:\d+: error DLM2/);
  });

  it("--save then --resume with a huge lr: exit 1 naming the step and tensor; the checkpoint is kept as it was", async () => {
    const ckpt = at("run.safetensors");
    const first = await run(
      "train",
      at("small.dlm"),
      "--epochs",
      "1",
      "--steps-per-epoch",
      "3",
      "--save",
      ckpt,
      "--quiet",
      "--curve",
      at("a.svg"),
    );
    expect(first.code).toBe(0);
    expect(existsSync(ckpt)).toBe(true);
    const bytes = readFileSync(ckpt);
    const report = at("diverged.json");
    const r = await run(
      "train",
      at("small.dlm"),
      "--resume",
      ckpt,
      "--save",
      ckpt,
      "--lr",
      "1e30",
      "--epochs",
      "3",
      "--steps-per-epoch",
      "3",
      "--report",
      report,
      "--curve",
      at("b.svg"),
      "--quiet",
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/non-finite at step \d+; the first bad tensor is /);
    expect(r.stderr).toContain(`the last good checkpoint is ${ckpt}`);
    expect(Buffer.compare(readFileSync(ckpt), bytes)).toBe(0);
    const j = JSON.parse(readFileSync(report, "utf8"));
    expect(j.final.stopped).toBe("non-finite loss");
  });

  it("--resume of a corrupt checkpoint: exit 1 naming the file", async () => {
    writeFileSync(at("bad.safetensors"), "garbage");
    const r = await run("train", at("small.dlm"), "--resume", at("bad.safetensors"), ...quick, "--curve", at("x.svg"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.safetensors/);
    expect(r.stderr).not.toMatch(/internal error/);
  });
});
