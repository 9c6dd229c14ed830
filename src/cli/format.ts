// Text rendering of a model report: a layer table in the manner of torchinfo, then totals
// and the counting conventions.

import type { ModelReport } from "../../compiler/analyze.js";
import type { CheckpointReport } from "../../compiler/passes/checkpoint.js";
import type { ActivationMemory } from "../../compiler/passes/memory-report.js";

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

export function formatScaled(n: number, unit: string): string {
  const scales: [number, string][] = [
    [1e12, "T"],
    [1e9, "G"],
    [1e6, "M"],
    [1e3, "K"],
  ];
  for (const [s, p] of scales) if (Math.abs(n) >= s) return `${(n / s).toFixed(2)} ${p}${unit}`;
  return `${Math.round(n)} ${unit}`;
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(2)} ${units[i]}`;
}

function table(headers: readonly string[], rows: readonly (readonly string[])[], rightAlign: ReadonlySet<number>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (rightAlign.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const rule = "─".repeat(widths.reduce((a, w) => a + w, 0) + 2 * (widths.length - 1));
  return [line(headers), rule, ...rows.map(line), rule].join("\n");
}

export function formatSummary(r: ModelReport, activations?: ActivationMemory): string {
  const dims = Object.entries(r.dims)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
  const rows = r.layers.map((l) => [l.name, l.op, l.shape, l.params ? formatCount(l.params) : "–", l.macs ? formatCount(l.macs) : "–"]);
  const out: string[] = [];
  out.push(`model ${r.model}${dims ? `   (counted at ${dims})` : ""}`);
  for (const i of r.inputs) out.push(`  input  ${i.name}: ${i.dtype}${i.shape}`);
  for (const o of r.outputs) out.push(`  output ${o.name}: ${o.dtype}${o.shape}`);
  out.push("");
  out.push(table(["Layer", "Op", "Output shape", "Params", "MACs"], rows, new Set([3, 4])));
  const m = r.memory_breakdown;
  out.push(
    `Parameters:     ${formatCount(r.params.total)} (trainable ${formatCount(r.params.trainable)}, frozen ${formatCount(r.params.frozen)}; buffers ${formatCount(r.params.buffers)})`,
    `MACs:           forward ${formatScaled(r.macs.forward, "MAC")}, backward ${formatScaled(r.macs.backward, "MAC")}, step ${formatScaled(r.macs.step, "MAC")}`,
    `FLOPs:          forward ${formatScaled(r.flops.forward, "FLOP")}, backward ${formatScaled(r.flops.backward, "FLOP")}, step ${formatScaled(r.flops.step, "FLOP")}`,
    `  of which elementwise/norm/softmax: forward ${formatScaled(r.elementwise_flops.forward, "FLOP")}`,
    `Memory (step):  ${formatBytes(r.memory)} = params ${formatBytes(m.parameters)} + buffers ${formatBytes(m.buffers)} + grads ${formatBytes(m.gradients)} + ${r.optimizer} state ${formatBytes(m.optimizer_state)} + inputs ${formatBytes(m.inputs)} + activations ${formatBytes(m.activations)}`,
    `  inference peak activations (lower bound): ${formatBytes(m.activations_peak_inference)}`,
    ...(activations
      ? [
          `Planned arena:  ${formatBytes(activations.planned)} for the intermediates of a ${activations.step === "training" ? "training step" : "forward pass"} (one buffer each: ${formatBytes(activations.naive)}; lower bound ${formatBytes(activations.lower_bound)})`,
          ...(activations.checkpointing ? [`Checkpointing:  ${describeCheckpointing(activations.checkpointing)}`] : []),
          `Kernels:        ${formatCount(activations.kernels.fused)} per ${activations.step === "training" ? "training step" : "forward pass"} with operator fusion (${formatCount(activations.kernels.unfused)} without)`,
        ]
      : []),
    `Conventions: MACs count matmul-like work (1 multiply-add = 1, as torchvision/fvcore); FLOPs = 2 x MACs + elementwise work.`,
  );
  return out.join("\n");
}

/** One line on what checkpointing chose: the policy, the FLOPs it adds and the memory it saves. */
export function describeCheckpointing(r: CheckpointReport): string {
  const share = r.step_flops > 0 ? ` (${((100 * r.recompute_flops) / r.step_flops).toFixed(1)}% of a step)` : "";
  return `${r.policy}, recomputes ${formatScaled(r.recompute_flops, "FLOP")}${share}; activation arena ${formatBytes(r.activation_memory.before)} → ${formatBytes(r.activation_memory.after)}${r.budget !== undefined ? ` (budget ${formatBytes(r.budget)}${r.met ? "" : ", not met"})` : ""}`;
}
