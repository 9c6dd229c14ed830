// The picture at the end of `dlm train`: loss per step (and per epoch, train and held-out)
// with accuracy on a second axis, as a self-contained SVG that any browser or editor shows.

export interface CurveData {
  readonly title: string;
  /** loss after each optimiser step */
  readonly stepLoss: readonly number[];
  /** per epoch: the step count at its end, mean train loss, held-out loss and accuracies (fractions) */
  readonly epochs: readonly {
    readonly step: number;
    readonly loss: number;
    readonly testLoss?: number;
    readonly trainAccuracy?: number;
    readonly testAccuracy?: number;
  }[];
}

import { escapeXml, fmt, ticks } from "./svg.js";

const W = 760;
const H = 420;
const PAD = { left: 64, right: 64, top: 40, bottom: 48 };

export function lossCurveSvg(d: CurveData): string {
  const finite = (xs: readonly (number | undefined)[]): number[] => xs.filter((x): x is number => x !== undefined && Number.isFinite(x));
  const losses = finite([...d.stepLoss, ...d.epochs.map((e) => e.loss), ...d.epochs.map((e) => e.testLoss)]);
  const steps = Math.max(1, d.stepLoss.length);
  const lo = Math.min(0, ...losses);
  const hi = Math.max(1e-9, ...losses);
  const x = (step: number): number => PAD.left + ((W - PAD.left - PAD.right) * step) / steps;
  const y = (loss: number): number => H - PAD.bottom - ((H - PAD.top - PAD.bottom) * (loss - lo)) / (hi - lo);
  const yAcc = (a: number): number => H - PAD.bottom - (H - PAD.top - PAD.bottom) * a;
  const path = (pts: readonly [number, number][]): string =>
    pts.map(([px, py], i) => `${i ? "L" : "M"}${px.toFixed(1)},${py.toFixed(1)}`).join("");
  const series = (pick: (e: CurveData["epochs"][number]) => number | undefined, scale: (v: number) => number): [number, number][] =>
    d.epochs.flatMap((e) => {
      const v = pick(e);
      return v === undefined || !Number.isFinite(v) ? [] : [[x(e.step), scale(v)] as [number, number]];
    });
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(d.title)}</text>`);
  for (const t of ticks(lo, hi)) {
    parts.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${PAD.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const t of ticks(0, steps))
    parts.push(`<text x="${x(t).toFixed(1)}" y="${H - PAD.bottom + 18}" text-anchor="middle">${fmt(t)}</text>`);
  for (const a of [0, 0.25, 0.5, 0.75, 1])
    parts.push(`<text x="${W - PAD.right + 6}" y="${(yAcc(a) + 4).toFixed(1)}" fill="#2a7">${a * 100}%</text>`);
  parts.push(`<line x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${H - PAD.bottom}" stroke="#333"/>`);
  parts.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${H - PAD.bottom}" y2="${H - PAD.bottom}" stroke="#333"/>`);
  parts.push(`<text x="${W / 2}" y="${H - 10}" text-anchor="middle">optimiser step</text>`);
  parts.push(`<text transform="translate(16 ${H / 2}) rotate(-90)" text-anchor="middle">loss</text>`);
  const stepPts = d.stepLoss.flatMap((l, i) => (Number.isFinite(l) ? [[x(i + 1), y(l)] as [number, number]] : []));
  if (stepPts.length) parts.push(`<path d="${path(stepPts)}" fill="none" stroke="#9bd" stroke-width="1"/>`);
  const lines: [string, [number, number][], string][] = [
    ["train loss (epoch mean)", series((e) => e.loss, y), "#15a"],
    ["held-out loss", series((e) => e.testLoss, y), "#c51"],
    ["train accuracy", series((e) => e.trainAccuracy, yAcc), "#2a7"],
    ["held-out accuracy", series((e) => e.testAccuracy, yAcc), "#7b2"],
  ];
  let legendY = PAD.top + 4;
  for (const [label, pts, color] of lines) {
    if (pts.length === 0) continue;
    parts.push(`<path d="${path(pts)}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const [px, py] of pts) parts.push(`<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="3" fill="${color}"/>`);
    parts.push(`<rect x="${W - PAD.right - 170}" y="${legendY - 9}" width="12" height="3" fill="${color}"/>`);
    parts.push(`<text x="${W - PAD.right - 152}" y="${legendY}">${label}</text>`);
    legendY += 16;
  }
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
