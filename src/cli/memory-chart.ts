// The picture of `dlm summary --memory-svg`: bytes of intermediate values live at each step
// of the scheduled program, with the planned arena, and the naive total for scale.

import type { ActivationMemory } from "../../compiler/passes/memory-report.js";
import { formatBytes } from "./format.js";
import { escapeXml, ticks } from "./svg.js";

const W = 760;
const H = 380;
const PAD = { left: 84, right: 24, top: 40, bottom: 48 };

export function memoryChartSvg(model: string, m: ActivationMemory): string {
  const n = Math.max(1, m.live.length);
  const hi = Math.max(1, m.planned, m.lower_bound);
  const x = (i: number): number => PAD.left + ((W - PAD.left - PAD.right) * i) / n;
  const y = (b: number): number => H - PAD.bottom - ((H - PAD.top - PAD.bottom) * b) / hi;
  // a step line: live bytes hold from one node to the next
  let d = `M${x(0).toFixed(1)},${y(0).toFixed(1)}`;
  m.live.forEach((b, i) => (d += `L${x(i).toFixed(1)},${y(b).toFixed(1)}L${x(i + 1).toFixed(1)},${y(b).toFixed(1)}`));
  d += `L${x(n).toFixed(1)},${y(0).toFixed(1)}Z`;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(`${model}: activation memory over one ${m.step === "training" ? "training step" : "forward pass"}`)}</text>`,
  ];
  for (const t of ticks(0, hi)) {
    parts.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${PAD.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${escapeXml(formatBytes(t))}</text>`);
  }
  parts.push(`<path d="${d}" fill="#9bd" stroke="#15a" stroke-width="1"/>`);
  parts.push(
    `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(m.planned).toFixed(1)}" y2="${y(m.planned).toFixed(1)}" stroke="#c51" stroke-dasharray="6 3"/>`,
  );
  parts.push(`<line x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${H - PAD.bottom}" stroke="#333"/>`);
  parts.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${H - PAD.bottom}" y2="${H - PAD.bottom}" stroke="#333"/>`);
  parts.push(`<text x="${W / 2}" y="${H - 12}" text-anchor="middle">scheduled node (${m.live.length} in all)</text>`);
  const legend = [
    [`live intermediates (peak = lower bound ${formatBytes(m.lower_bound)})`, "#15a"],
    [`planned arena ${formatBytes(m.planned)} (${m.placement})`, "#c51"],
    [`one buffer per value: ${formatBytes(m.naive)}`, "#888"],
  ];
  legend.forEach(([label, color], i) => {
    parts.push(`<rect x="${W - PAD.right - 330}" y="${PAD.top + 8 + 16 * i - 9}" width="12" height="3" fill="${color}"/>`);
    parts.push(`<text x="${W - PAD.right - 312}" y="${PAD.top + 8 + 16 * i}">${escapeXml(label!)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
