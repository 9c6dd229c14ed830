// The summary panel: the model's interface, its totals (parameters, MACs, FLOPs, memory of
// a training step) and one row per layer, with the numbers `dlm summary` prints.

import type { ModelReport } from "../../src/browser.js";
import { formatBytes, formatCount, formatScaled } from "../../src/cli/format.js";

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

/** One total: a label, the figure shown, and the exact value for tools (`data-value`). */
function stat(id: string, label: string, shown: string, exact: number, detail = ""): HTMLElement {
  return h(
    "div",
    { class: "stat" },
    h("div", { class: "stat-label" }, label),
    h("div", { class: "stat-value", id, "data-value": String(exact) }, shown),
    h("div", { class: "stat-detail" }, detail),
  );
}

export function drawSummary(host: HTMLElement, r: ModelReport): void {
  const dims = Object.entries(r.dims).map(([k, v]) => `${k} = ${v}`);
  const io = h("ul", { class: "io" });
  for (const i of r.inputs) io.append(h("li", {}, h("span", { class: "io-kind" }, "input"), ` ${i.name}: ${i.dtype}${i.shape}`));
  for (const o of r.outputs) io.append(h("li", {}, h("span", { class: "io-kind" }, "output"), ` ${o.name}: ${o.dtype}${o.shape}`));

  const m = r.memory_breakdown;
  const totals = h(
    "div",
    { class: "stats" },
    stat("param-count", "parameters", formatCount(r.params.total), r.params.total, `${formatCount(r.params.trainable)} trainable`),
    stat("macs-forward", "MACs (forward)", formatScaled(r.macs.forward, "MAC"), r.macs.forward, `step ${formatScaled(r.macs.step, "MAC")}`),
    stat(
      "flops-step",
      "FLOPs (step)",
      formatScaled(r.flops.step, "FLOP"),
      r.flops.step,
      `forward ${formatScaled(r.flops.forward, "FLOP")}`,
    ),
    stat("memory-step", "memory (step)", formatBytes(r.memory), r.memory, `${r.optimizer}; activations ${formatBytes(m.activations)}`),
  );

  const rows = r.layers.map((l) =>
    h(
      "tr",
      {},
      h("td", {}, l.name),
      h("td", {}, l.op),
      h("td", { class: "shape" }, l.shape),
      h("td", { class: "num" }, l.params ? formatCount(l.params) : "–"),
      h("td", { class: "num" }, l.macs ? formatCount(l.macs) : "–"),
    ),
  );
  const head = h("tr", {}, ...["Layer", "Op", "Output shape", "Params", "MACs"].map((t, i) => h("th", i >= 3 ? { class: "num" } : {}, t)));
  const table = h("table", { class: "layers" }, h("thead", {}, head), h("tbody", {}, ...rows));

  host.replaceChildren(
    h(
      "div",
      { class: "model-name" },
      h("span", { class: "kw" }, "model "),
      r.model,
      dims.length ? h("span", { class: "dims" }, `  counted at ${dims.join(", ")}`) : "",
    ),
    io,
    totals,
    h("div", { class: "table-wrap" }, table),
  );
}
