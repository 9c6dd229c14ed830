// The model's graph as a picture: which boxes and arrows to draw (inputs, ops, scans and
// outputs of the top level, each arrow labelled with the shape of the tensor it carries) and
// where, by a small layered layout in the manner of Sugiyama: longest-path layers, long
// arrows split by invisible waypoints, a few barycentre sweeps to reduce crossings, then x
// positions pulled towards each box's neighbours. Pure data: graph-view.ts draws it.

import { typeOfRef, type ModelGraph, type Node, type TensorRef } from "../../compiler/ir/graph.js";
import type { TensorType } from "../../compiler/ops/types.js";

export type BoxKind = "input" | "op" | "scan" | "output";

export interface Box {
  readonly id: number;
  readonly kind: BoxKind;
  /** first line: the op (or `input` / `output`) */
  readonly title: string;
  /** second line: the layer instance or the tensor's name; empty when it would repeat the title */
  readonly subtitle: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface Arrow {
  readonly from: number;
  readonly to: number;
  /** the carried tensor's type, e.g. `[B, 32]` (the dtype is written when it is not f32) */
  readonly label: string;
  /** the path: the source's bottom centre, waypoints, the target's top centre */
  readonly points: readonly (readonly [number, number])[];
}

export interface GraphLayout {
  readonly boxes: readonly Box[];
  readonly arrows: readonly Arrow[];
  readonly width: number;
  readonly height: number;
}

/** Sizes in CSS pixels; text widths are estimated from character counts (monospace-ish labels). */
export const LAYOUT = { charWidth: 7.2, boxHeight: 40, padX: 14, minWidth: 64, gapX: 28, gapY: 56, margin: 20 } as const;

/** `f32[B, 32]` as `[B, 32]`, other dtypes spelled out: what an arrow carries. */
export function tensorLabel(t: TensorType): string {
  const dims = `[${t.shape.map((d) => d.toString()).join(", ")}]`;
  return t.dtype === "f32" ? dims : `${t.dtype}${dims}`;
}

interface Vertex {
  readonly id: number;
  readonly kind: BoxKind | "waypoint";
  readonly title: string;
  readonly subtitle: string;
  readonly width: number;
  layer: number;
  order: number;
  x: number;
}

/** What to draw, before it is placed: boxes in dependency order, arrows between them by index. */
export interface GraphSketch {
  readonly boxes: readonly { readonly kind: BoxKind; readonly title: string; readonly subtitle: string }[];
  readonly arrows: readonly { readonly from: number; readonly to: number; readonly label: string }[];
}

/** The boxes and arrows of a model graph (equal sketches draw the same picture). */
export function sketchModelGraph(g: ModelGraph): GraphSketch {
  const boxes: GraphSketch["boxes"][number][] = [];
  const arrows: GraphSketch["arrows"][number][] = [];
  const boxOf = new Map<number, number>();
  const seen = new Set<string>();
  const connect = (ref: TensorRef, to: number): void => {
    const from = boxOf.get(ref.node);
    // parameters and constants are part of their op's box, not boxes of their own
    if (from === undefined || seen.has(`${from}>${to}`)) return;
    seen.add(`${from}>${to}`);
    arrows.push({ from, to, label: tensorLabel(typeOfRef(g, ref)) });
  };
  for (const n of g.nodes) {
    if (n.region !== 0) continue; // a scan's body is drawn as the scan's box
    const box = boxFor(n);
    if (!box) continue;
    const id = boxes.push(box) - 1;
    boxOf.set(n.id, id);
    if (n.kind === "op") for (const r of n.inputs) if (r) connect(r, id);
    if (n.kind === "scan") for (const r of n.inputs) connect(r, id);
  }
  for (const o of g.outputs) connect(o.ref, boxes.push({ kind: "output", title: "output", subtitle: o.name }) - 1);
  return { boxes, arrows };
}

/** A model graph, sketched and laid out. */
export function layoutModelGraph(g: ModelGraph): GraphLayout {
  return layoutSketch(sketchModelGraph(g));
}

/** Places a sketch's boxes and routes its arrows. */
export function layoutSketch(sketch: GraphSketch): GraphLayout {
  const vertices: Vertex[] = [];
  const add = (kind: BoxKind | "waypoint", title: string, subtitle: string): Vertex => {
    const text = Math.max(title.length, subtitle.length);
    const width = kind === "waypoint" ? 0 : Math.max(LAYOUT.minWidth, Math.ceil(text * LAYOUT.charWidth) + 2 * LAYOUT.padX);
    const v: Vertex = { id: vertices.length, kind, title, subtitle, width, layer: 0, order: 0, x: 0 };
    vertices.push(v);
    return v;
  };
  // box i is vertex i; waypoints are added after the boxes
  for (const b of sketch.boxes) add(b.kind, b.title, b.subtitle);
  const edges = sketch.arrows.map((a) => ({ from: vertices[a.from]!, to: vertices[a.to]!, label: a.label }));

  assignLayers(vertices, edges);
  const chains = splitLongEdges(edges, add);
  const layers = orderLayers(vertices, chains);
  placeX(layers, chains);

  const yOf = (layer: number): number => LAYOUT.margin + layer * (LAYOUT.boxHeight + LAYOUT.gapY);
  const boxes: Box[] = vertices
    .filter((v) => v.kind !== "waypoint")
    .map((v) => ({
      id: v.id,
      kind: v.kind as BoxKind,
      title: v.title,
      subtitle: v.subtitle,
      x: v.x - v.width / 2,
      y: yOf(v.layer),
      width: v.width,
      height: LAYOUT.boxHeight,
    }));
  const arrows: Arrow[] = chains.map((c) => ({
    from: c.path[0]!.id,
    to: c.path.at(-1)!.id,
    label: c.label,
    points: c.path.map((v, i): [number, number] =>
      i === 0
        ? [v.x, yOf(v.layer) + LAYOUT.boxHeight]
        : i === c.path.length - 1
          ? [v.x, yOf(v.layer)]
          : [v.x, yOf(v.layer) + LAYOUT.boxHeight / 2],
    ),
  }));
  const right = Math.max(0, ...vertices.map((v) => v.x + v.width / 2));
  const depth = Math.max(0, ...vertices.map((v) => v.layer));
  return { boxes, arrows, width: right + LAYOUT.margin, height: yOf(depth) + LAYOUT.boxHeight + LAYOUT.margin };
}

function boxFor(n: Node): GraphSketch["boxes"][number] | undefined {
  switch (n.kind) {
    case "input":
      return { kind: "input", title: "input", subtitle: n.name };
    case "op":
      return { kind: "op", title: n.op.name, subtitle: n.instance === n.op.name ? "" : n.instance };
    case "scan":
      return { kind: "scan", title: "scan", subtitle: n.instance };
    case "param":
    case "const":
      return undefined;
  }
}

/** Longest path from the sources: every arrow points at least one layer down. */
function assignLayers(vertices: readonly Vertex[], edges: readonly { from: Vertex; to: Vertex }[]): void {
  // vertices were created in dependency order (node ids are topological, outputs last)
  const preds = new Map<Vertex, Vertex[]>();
  for (const e of edges) preds.set(e.to, [...(preds.get(e.to) ?? []), e.from]);
  for (const v of vertices) v.layer = Math.max(-1, ...(preds.get(v) ?? []).map((p) => p.layer)) + 1;
  // pull each source down to just above its first consumer (an input used late sits next to it)
  const succs = new Map<Vertex, Vertex[]>();
  for (const e of edges) succs.set(e.from, [...(succs.get(e.from) ?? []), e.to]);
  for (const v of [...vertices].reverse()) {
    const s = succs.get(v);
    if (!preds.get(v) && s) v.layer = Math.min(...s.map((t) => t.layer)) - 1;
  }
}

interface Chain {
  /** the source, the waypoints (one per layer crossed), the target */
  readonly path: Vertex[];
  readonly label: string;
}

function splitLongEdges(
  edges: readonly { from: Vertex; to: Vertex; label: string }[],
  add: (kind: "waypoint", title: string, subtitle: string) => Vertex,
): Chain[] {
  return edges.map((e) => {
    const path = [e.from];
    for (let l = e.from.layer + 1; l < e.to.layer; l++) {
      const w = add("waypoint", "", "");
      w.layer = l;
      path.push(w);
    }
    path.push(e.to);
    return { path, label: e.label };
  });
}

/** Order within each layer by the barycentre of the neighbours, sweeping down and up. */
function orderLayers(vertices: readonly Vertex[], chains: readonly Chain[]): Vertex[][] {
  const depth = Math.max(0, ...vertices.map((v) => v.layer));
  const layers: Vertex[][] = Array.from({ length: depth + 1 }, () => []);
  for (const v of vertices) layers[v.layer]!.push(v);
  const up = new Map<Vertex, Vertex[]>();
  const down = new Map<Vertex, Vertex[]>();
  for (const c of chains)
    for (let i = 1; i < c.path.length; i++) {
      up.set(c.path[i]!, [...(up.get(c.path[i]!) ?? []), c.path[i - 1]!]);
      down.set(c.path[i - 1]!, [...(down.get(c.path[i - 1]!) ?? []), c.path[i]!]);
    }
  const renumber = (layer: Vertex[]): void => layer.forEach((v, i) => (v.order = i));
  layers.forEach(renumber);
  const sweep = (layer: Vertex[], neighbours: Map<Vertex, Vertex[]>): void => {
    const key = (v: Vertex): number => {
      const ns = neighbours.get(v);
      return ns?.length ? ns.reduce((a, n) => a + n.order, 0) / ns.length : v.order;
    };
    const keys = new Map(layer.map((v) => [v, key(v)]));
    layer.sort((a, b) => keys.get(a)! - keys.get(b)! || a.order - b.order);
    renumber(layer);
  };
  for (let pass = 0; pass < 4; pass++) {
    for (let l = 1; l < layers.length; l++) sweep(layers[l]!, up);
    for (let l = layers.length - 2; l >= 0; l--) sweep(layers[l]!, down);
  }
  return layers;
}

/** x of each vertex's centre: packed layers, then pulled towards their neighbours without overlapping. */
function placeX(layers: readonly Vertex[][], chains: readonly Chain[]): void {
  const neighbours = new Map<Vertex, Vertex[]>();
  for (const c of chains)
    for (let i = 1; i < c.path.length; i++) {
      const [a, b] = [c.path[i - 1]!, c.path[i]!];
      neighbours.set(a, [...(neighbours.get(a) ?? []), b]);
      neighbours.set(b, [...(neighbours.get(b) ?? []), a]);
    }
  const spacing = (a: Vertex, b: Vertex): number =>
    (a.width + b.width) / 2 + (a.kind === "waypoint" || b.kind === "waypoint" ? LAYOUT.gapX / 2 : LAYOUT.gapX);
  for (const layer of layers) {
    let x = LAYOUT.margin;
    layer.forEach((v, i) => {
      x += i === 0 ? v.width / 2 : spacing(layer[i - 1]!, v);
      v.x = x;
    });
  }
  // Alternate sweeps: each vertex wants the mean x of its neighbours in the layer swept from;
  // a left-to-right pass then keeps the spacing, shifting the layer to keep its mean wish.
  const settle = (layer: Vertex[], wish: (v: Vertex) => number | undefined): void => {
    const wants = layer.map((v) => wish(v) ?? v.x);
    let prev: Vertex | undefined;
    layer.forEach((v, i) => {
      v.x = prev ? Math.max(wants[i]!, prev.x + spacing(prev, v)) : wants[i]!;
      prev = v;
    });
    const drift = layer.reduce((a, v, i) => a + (wants[i]! - v.x), 0) / Math.max(1, layer.length);
    for (const v of layer) v.x += drift;
  };
  const from = (layerIndex: number) => (v: Vertex) => {
    const ns = (neighbours.get(v) ?? []).filter((n) => n.layer === layerIndex);
    return ns.length ? ns.reduce((a, n) => a + n.x, 0) / ns.length : undefined;
  };
  for (let pass = 0; pass < 3; pass++) {
    for (let l = 1; l < layers.length; l++) settle(layers[l]!, from(l - 1));
    for (let l = layers.length - 2; l >= 0; l--) settle(layers[l]!, from(l + 1));
  }
  // everything right of the margin
  const left = Math.min(...layers.flat().map((v) => v.x - v.width / 2));
  for (const v of layers.flat()) v.x += LAYOUT.margin - left;
}
