// Draws a laid-out model graph (graph-layout.ts) as SVG: boxes coloured by kind, arrows as
// smooth curves through their waypoints, each labelled with its tensor's shape. Text goes in
// through textContent, never as markup.

import type { Arrow, Box, GraphLayout } from "./graph-layout.js";

const SVG = "http://www.w3.org/2000/svg";

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A path through the points with vertical tangents at each (curves that leave and enter boxes straight). */
function curve(points: Arrow["points"]): string {
  let d = `M${points[0]![0]},${points[0]![1]}`;
  for (let i = 1; i < points.length; i++) {
    const [x0, y0] = points[i - 1]!;
    const [x1, y1] = points[i]!;
    const my = (y0 + y1) / 2;
    d += ` C${x0},${my} ${x1},${my} ${x1},${y1}`;
  }
  return d;
}

function drawBox(b: Box): SVGGElement {
  const g = el("g", { class: `box box-${b.kind}`, "data-title": b.title, "data-subtitle": b.subtitle });
  g.append(el("rect", { x: b.x, y: b.y, width: b.width, height: b.height, rx: 6 }));
  const cx = b.x + b.width / 2;
  if (b.subtitle) {
    g.append(el("text", { x: cx, y: b.y + 16, class: "box-title" }, b.title));
    g.append(el("text", { x: cx, y: b.y + 31, class: "box-subtitle" }, b.subtitle));
  } else g.append(el("text", { x: cx, y: b.y + b.height / 2 + 4, class: "box-title" }, b.title));
  return g;
}

/** `labelled`: whether to write the shape (a tensor used several times is labelled once). */
function drawArrow(a: Arrow, labelled: boolean): SVGGElement {
  const g = el("g", { class: "arrow", "data-shape": a.label });
  g.append(el("path", { d: curve(a.points), "marker-end": "url(#arrowhead)" }));
  if (labelled) {
    // the label sits beside the first stretch of the arrow, just below its source
    const [x0, y0] = a.points[0]!;
    const [x1, y1] = a.points[1]!;
    g.append(el("text", { x: (x0 + x1) / 2 + 6, y: y0 + (y1 - y0) * 0.42, class: "arrow-label" }, a.label));
  }
  return g;
}

/** Replaces the contents of `host` with the drawing. */
export function drawGraph(host: HTMLElement, layout: GraphLayout): void {
  const svg = el("svg", { width: layout.width, height: layout.height, viewBox: `0 0 ${layout.width} ${layout.height}`, role: "img" });
  const defs = el("defs", {});
  const marker = el("marker", { id: "arrowhead", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" });
  marker.append(el("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }));
  defs.append(marker);
  svg.append(defs);
  const labelled = new Set<string>();
  for (const a of layout.arrows) {
    const tensor = `${a.from}:${a.label}`;
    svg.append(drawArrow(a, !labelled.has(tensor)));
    labelled.add(tensor);
  }
  for (const b of layout.boxes) svg.append(drawBox(b));
  host.replaceChildren(svg);
}
