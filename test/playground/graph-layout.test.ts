// The playground's graph drawing as data: every layer of the model gets a box, every arrow
// carries the shape the report gives its source, arrows point down the layers, and boxes
// of one row never overlap. Checked on the starting model and on larger examples (residual
// branches, a recurrent scan, attention).

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { layoutModelGraph, LAYOUT, sketchModelGraph, type GraphLayout } from "../../playground/src/graph-layout.js";
import { summarize, summarizeSource } from "../../src/index.js";

const defaultModel = readFileSync(new URL("../../playground/src/default.dlm", import.meta.url), "utf8");

function checkGeometry(l: GraphLayout): void {
  const byId = new Map(l.boxes.map((b) => [b.id, b]));
  for (const a of l.arrows) {
    const from = byId.get(a.from)!;
    const to = byId.get(a.to)!;
    expect(to.y).toBeGreaterThan(from.y);
    // the path leaves the source's bottom centre and ends at the target's top centre
    expect(a.points[0]).toEqual([from.x + from.width / 2, from.y + from.height]);
    expect(a.points.at(-1)).toEqual([to.x + to.width / 2, to.y]);
    for (let i = 1; i < a.points.length; i++) expect(a.points[i]![1]).toBeGreaterThan(a.points[i - 1]![1]);
  }
  const rows = new Map<number, typeof l.boxes>();
  for (const b of l.boxes) rows.set(b.y, [...(rows.get(b.y) ?? []), b]);
  for (const row of rows.values()) {
    const sorted = [...row].sort((a, b) => a.x - b.x);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.x).toBeGreaterThanOrEqual(sorted[i - 1]!.x + sorted[i - 1]!.width);
  }
  for (const b of l.boxes) {
    expect(b.x).toBeGreaterThanOrEqual(0);
    expect(b.x + b.width).toBeLessThanOrEqual(l.width);
    expect(b.y + b.height).toBeLessThanOrEqual(l.height);
    // the box is wide enough for its text
    expect(b.width).toBeGreaterThanOrEqual(Math.max(b.title.length, b.subtitle.length) * LAYOUT.charWidth);
  }
}

describe("layoutModelGraph", () => {
  it("draws the starting model: inputs, one box per layer, outputs, shapes from the report", () => {
    const s = summarizeSource(defaultModel, "playground.dlm");
    expect(s.diagnostics).toEqual([]);
    const l = layoutModelGraph(s.graph!);
    const ops = l.boxes.filter((b) => b.kind === "op");
    expect(ops.map((b) => b.subtitle || b.title)).toEqual(s.report!.layers.map((r) => r.name));
    expect(l.boxes.filter((b) => b.kind === "input").map((b) => b.subtitle)).toEqual(s.report!.inputs.map((i) => i.name));
    expect(l.boxes.filter((b) => b.kind === "output").map((b) => b.subtitle)).toEqual(s.report!.outputs.map((o) => o.name));
    // each op's outgoing arrows carry the report's output shape for that layer
    for (const [i, box] of ops.entries()) {
      const out = l.arrows.filter((a) => a.from === box.id);
      const shape = s.report!.layers[i]!.shape;
      for (const a of out) expect(a.label).toBe(shape);
    }
    // labels are integer class ids: the dtype is spelled out
    const labels = l.boxes.find((b) => b.kind === "input" && b.subtitle === "labels")!;
    expect(l.arrows.find((a) => a.from === labels.id)!.label).toBe("i32[B]");
    checkGeometry(l);
  });

  it("sketches equal graphs equally and changed graphs differently (the page redraws only on change)", () => {
    const sketch = (text: string) => JSON.stringify(sketchModelGraph(summarizeSource(text, "playground.dlm").graph!));
    const base = sketch(defaultModel);
    expect(sketch(defaultModel.replace("// The playground", "// Edited: the playground"))).toBe(base);
    expect(sketch(defaultModel.replace("linear(x, 32)", "linear(x, 48)"))).not.toBe(base);
  });

  it.each(["resnet18.dlm", "lstm_lm.dlm", "transformer_encoder.dlm", "unet.dlm"])("lays out examples/%s without overlaps", (file) => {
    const s = summarize(new URL(`../../examples/${file}`, import.meta.url).pathname);
    expect(s.graph).toBeDefined();
    const l = layoutModelGraph(s.graph!);
    const top = s.graph!.nodes.filter((n) => n.region === 0 && (n.kind === "op" || n.kind === "scan"));
    expect(l.boxes.filter((b) => b.kind === "op" || b.kind === "scan")).toHaveLength(top.length);
    checkGeometry(l);
  });
});
