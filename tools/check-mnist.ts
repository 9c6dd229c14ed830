// The accuracy targets on real digits, through the command line a user runs:
// the MLP example must reach 95% and the LeNet example 98% held-out accuracy within 5
// epochs, with a fixed seed. `npm run train:mnist` (CI runs the MLP's after the tests).

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const runs = [
  { file: "examples/mlp_mnist.dlm", model: "NeuralNetwork", target: 0.95 },
  { file: "examples/lenet5.dlm", model: "LeNet5MNIST", target: 0.98 },
];

// `npm run train:mnist -- NeuralNetwork` runs only the models named
const only = process.argv.slice(2);
const selected = only.length ? runs.filter((r) => only.includes(r.model)) : runs;

const dir = mkdtempSync(join(tmpdir(), "dlm-mnist-"));
let failed = 0;
try {
  for (const r of selected) {
    const report = join(dir, `${r.model}.json`);
    const t0 = performance.now();
    const p = spawnSync(
      process.execPath,
      [
        join(root, "bin/dlm.js"),
        "train",
        join(root, r.file),
        "--model",
        r.model,
        "--data",
        "mnist",
        "--epochs",
        "5",
        "--seed",
        "0",
        "--report",
        report,
        "--curve",
        join(dir, `${r.model}.svg`),
      ],
      { stdio: ["ignore", "inherit", "inherit"] },
    );
    const seconds = (performance.now() - t0) / 1000;
    if (p.status !== 0) {
      console.log(`${r.model}: dlm train exited with ${p.status}`);
      failed++;
      continue;
    }
    const acc = JSON.parse(readFileSync(report, "utf8")).final.test_accuracy as number;
    const ok = acc >= r.target;
    if (!ok) failed++;
    console.log(
      `${ok ? "ok  " : "FAIL"} ${r.model}: held-out accuracy ${(100 * acc).toFixed(2)}% (target ${100 * r.target}%) in ${seconds.toFixed(0)} s`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
