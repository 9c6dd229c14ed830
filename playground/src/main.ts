// The playground page: a .dlm editor with live diagnostics, the model's summary and graph,
// and training on synthetic data with a live loss curve. Everything runs in the page; the
// library is the same one the CLI and the language server use.

import { indentWithTab } from "@codemirror/commands";
import { linter, lintGutter, type Diagnostic as EditorDiagnostic } from "@codemirror/lint";
import { EditorState } from "@codemirror/state";
import { EditorView, keymap } from "@codemirror/view";
import { basicSetup } from "codemirror";
import { formatDlm, type Diagnostic } from "../../src/browser.js";
import { lossCurveSvg } from "../../src/cli/loss-curve.js";
import { analyse, describeDiagnostic, ENTRY_FILE, type Analysis } from "./analysis.js";
import defaultModel from "./default.dlm?raw";
import { layoutSketch, sketchModelGraph } from "./graph-layout.js";
import { drawGraph } from "./graph-view.js";
import { completeDlm } from "./completion.js";
import { dlmHighlighting } from "./highlight.js";
import { drawSummary } from "./summary-view.js";
import { availableBackends, type TrainingBackend, type TrainingRun } from "./train-backends.js";
import type { TrainEvent } from "./train-protocol.js";
import "./style.css";

function byId<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page has no #${id}`);
  return e as T;
}

const ui = {
  editor: byId<HTMLDivElement>("editor"),
  status: byId<HTMLSpanElement>("check-status"),
  problems: byId<HTMLUListElement>("problems"),
  modelSelect: byId<HTMLSelectElement>("model"),
  format: byId<HTMLButtonElement>("format"),
  summary: byId<HTMLDivElement>("summary"),
  summaryNote: byId<HTMLDivElement>("summary-note"),
  graph: byId<HTMLDivElement>("graph"),
  zoom: byId<HTMLSelectElement>("zoom"),
  backend: byId<HTMLSelectElement>("backend"),
  backendNote: byId<HTMLSpanElement>("backend-note"),
  steps: byId<HTMLInputElement>("steps"),
  train: byId<HTMLButtonElement>("train"),
  trainStatus: byId<HTMLDivElement>("train-status"),
  curve: byId<HTMLDivElement>("loss-curve"),
};

// ---------------------------------------------------------------------------
// Checking: the linter runs the analysis after each pause in typing and the panels follow.

let latest: Analysis | undefined;
/** the model whose summary is shown: the user's choice, else the last in the text */
let chosenModel: string | undefined;

function toEditorDiagnostic(d: Diagnostic, length: number): EditorDiagnostic {
  // a problem in an imported file is shown at the top of the buffer, naming the file
  const here = d.file === ENTRY_FILE;
  const from = here ? Math.min(d.range.start.offset, length) : 0;
  const to = here ? Math.min(Math.max(d.range.end.offset, from), length) : 0;
  const extra = [...(d.notes ?? []).map((n) => `note: ${n.message}`), ...(d.hint ? [`hint: ${d.hint}`] : [])];
  return {
    from,
    to,
    severity: d.severity,
    source: d.code,
    message: [here ? d.message : describeDiagnostic(d), ...extra].join("\n"),
  };
}

function showProblems(diags: readonly Diagnostic[]): void {
  const errors = diags.filter((d) => d.severity === "error").length;
  const others = diags.length - errors;
  ui.status.textContent =
    diags.length === 0
      ? "no problems"
      : [errors ? `${errors} error${errors > 1 ? "s" : ""}` : "", others ? `${others} warning${others > 1 ? "s" : ""}` : ""]
          .filter(Boolean)
          .join(", ");
  ui.status.className = errors ? "status-error" : others ? "status-warning" : "status-ok";
  ui.problems.replaceChildren(
    ...diags.map((d) => {
      const li = document.createElement("li");
      li.className = `problem problem-${d.severity}`;
      li.dataset["line"] = String(d.range.start.line);
      li.dataset["code"] = d.code;
      li.textContent = describeDiagnostic(d);
      if (d.file === ENTRY_FILE)
        li.onclick = () => {
          view.dispatch({ selection: { anchor: Math.min(d.range.start.offset, view.state.doc.length) }, scrollIntoView: true });
          view.focus();
        };
      return li;
    }),
  );
}

function showModels(models: readonly string[]): void {
  const current = [...ui.modelSelect.options].map((o) => o.value);
  if (current.join("\n") !== models.join("\n"))
    ui.modelSelect.replaceChildren(...models.map((m) => Object.assign(document.createElement("option"), { value: m, textContent: m })));
  ui.modelSelect.value = chosenModel && models.includes(chosenModel) ? chosenModel : (models.at(-1) ?? "");
  ui.modelSelect.disabled = models.length < 2;
}

/** the model whose graph is drawn, to keep the scroll position while it is edited */
let drawnModel: string | undefined;
/** the drawn graph's sketch as JSON */
let drawnSketch = "";

/** The drawing's scale: a fixed zoom, or "fit" (the panel's width, never enlarged). */
function zoom(): number {
  const svg = ui.graph.querySelector("svg");
  if (ui.zoom.value !== "fit" || !svg) return Number(ui.zoom.value) || 1;
  return Math.min(1, ui.graph.clientWidth / Number(svg.getAttribute("width")));
}

function applyZoom(): void {
  const svg = ui.graph.querySelector("svg");
  if (!svg) return;
  const z = zoom();
  svg.style.width = `${Number(svg.getAttribute("width")) * z}px`;
  svg.style.height = `${Number(svg.getAttribute("height")) * z}px`;
}
ui.zoom.onchange = applyZoom;

function showAnalysis(a: Analysis): void {
  latest = a;
  showProblems(a.diagnostics);
  showModels(a.models);
  if (a.summary) {
    drawSummary(ui.summary, a.summary.report);
    // lay out and draw only what changed (an edit to a comment or a train setting does not)
    const sketch = sketchModelGraph(a.summary.graph);
    const key = JSON.stringify(sketch);
    if (key !== drawnSketch) {
      drawnSketch = key;
      const layout = layoutSketch(sketch);
      drawGraph(ui.graph, layout);
      applyZoom();
      // a new model: show where its graph starts (wide graphs scroll sideways)
      if (a.summary.report.model !== drawnModel) {
        drawnModel = a.summary.report.model;
        const start = layout.boxes[0];
        const panel = ui.graph.parentElement!;
        panel.scrollTop = 0;
        panel.scrollLeft = start ? start.x * zoom() + (start.width * zoom()) / 2 - panel.clientWidth / 2 : 0;
      }
    }
    ui.summary.classList.remove("stale");
    ui.graph.classList.remove("stale");
    ui.summaryNote.textContent = "";
  } else {
    // keep the last good picture, greyed out, while the text has errors
    ui.summary.classList.add("stale");
    ui.graph.classList.add("stale");
    ui.summaryNote.textContent = a.models.length
      ? "The model has errors: the figures below are from its last version without errors."
      : "No model in the text.";
  }
  updateTrainButton();
}

const checker = linter(
  (v) => {
    const a = analyse(v.state.doc.toString(), chosenModel);
    showAnalysis(a);
    return a.diagnostics.map((d) => toEditorDiagnostic(d, v.state.doc.length));
  },
  { delay: 250 },
);

const view = new EditorView({
  parent: ui.editor,
  state: EditorState.create({
    doc: defaultModel,
    extensions: [
      basicSetup,
      keymap.of([indentWithTab]),
      dlmHighlighting(),
      EditorState.languageData.of(() => [{ autocomplete: completeDlm }]),
      lintGutter(),
      checker,
      EditorView.lineWrapping,
    ],
  }),
});

ui.modelSelect.onchange = () => {
  chosenModel = ui.modelSelect.value;
  showAnalysis(analyse(view.state.doc.toString(), chosenModel));
};

ui.format.onclick = () => {
  const r = formatDlm(view.state.doc.toString(), { file: ENTRY_FILE });
  if (!r.ok) {
    ui.status.textContent = `cannot format: ${describeDiagnostic(r.diagnostic)}`;
    ui.status.className = "status-error";
    return;
  }
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: r.text } });
};

// ---------------------------------------------------------------------------
// Training

let backends: TrainingBackend[] = [];
let run: TrainingRun | undefined;
let losses: number[] = [];
let epochs: { step: number; loss: number; trainAccuracy?: number }[] = [];
let trainedModel = "";
let redrawPending = false;

function updateTrainButton(): void {
  if (run) return;
  const train = latest?.summary?.train;
  ui.train.disabled = !train || backends.length === 0;
  ui.train.title = !latest?.summary ? "fix the errors first" : !train ? "the model has no train section" : "";
}

function drawCurve(): void {
  redrawPending = false;
  ui.curve.innerHTML = lossCurveSvg({ title: `${trainedModel} on synthetic data`, stepLoss: losses, epochs });
  ui.curve.dataset["losses"] = JSON.stringify(losses);
}

function scheduleCurve(): void {
  if (redrawPending) return;
  redrawPending = true;
  requestAnimationFrame(drawCurve);
}

function finish(message: string, error = false): void {
  run = undefined;
  ui.train.textContent = "Train";
  ui.trainStatus.textContent = message;
  ui.trainStatus.className = error ? "status-error" : "";
  ui.curve.dataset["state"] = error ? "error" : "done";
  drawCurve();
  updateTrainButton();
}

function onTrainEvent(e: TrainEvent, total: number): void {
  switch (e.type) {
    case "ready":
      ui.trainStatus.textContent = `batch ${e.batch}, ${e.stepsPerEpoch} steps per epoch of ${e.examples} synthetic examples`;
      break;
    case "step":
      losses.push(e.loss);
      ui.trainStatus.textContent = `step ${e.step}/${total} · loss ${e.loss.toFixed(4)}`;
      scheduleCurve();
      break;
    case "epoch":
      epochs.push({ step: e.step, loss: e.loss, ...(e.trainAccuracy !== undefined ? { trainAccuracy: e.trainAccuracy } : {}) });
      break;
    case "done": {
      const acc = epochs.at(-1)?.trainAccuracy;
      finish(
        `${e.steps} steps in ${e.seconds < 1 ? `${Math.round(e.seconds * 1000)} ms` : `${e.seconds.toFixed(1)} s`} · loss ${losses[0]?.toFixed(4)} → ${losses.at(-1)?.toFixed(4)}` +
          (acc !== undefined ? ` · train accuracy ${(100 * acc).toFixed(1)}% (last epoch)` : ""),
      );
      break;
    }
    case "error":
      finish(e.message, true);
      break;
  }
}

ui.train.onclick = () => {
  if (run) {
    run.stop();
    finish(`stopped after ${losses.length} steps`);
    return;
  }
  const backend = backends.find((b) => b.id === ui.backend.value);
  const model = latest?.summary?.report.model;
  if (!backend || !model) return;
  const total = Math.max(1, Math.min(100_000, Math.floor(Number(ui.steps.value) || 1)));
  ui.steps.value = String(total);
  losses = [];
  epochs = [];
  trainedModel = model;
  ui.curve.dataset["state"] = "running";
  ui.train.textContent = "Stop";
  ui.trainStatus.className = "";
  ui.trainStatus.textContent = `compiling ${model}…`;
  drawCurve();
  run = backend.start({ source: view.state.doc.toString(), model, steps: total, seed: 0 }, (e) => onTrainEvent(e, total));
};

void availableBackends().then((list) => {
  backends = list;
  ui.backend.replaceChildren(...list.map((b) => Object.assign(document.createElement("option"), { value: b.id, textContent: b.label })));
  ui.backend.disabled = list.length < 2;
  if (!list.some((b) => b.id === "webgpu"))
    ui.backendNote.textContent = "WebGPU: no adapter in this browser (navigator.gpu.requestAdapter() gave none); training runs on the CPU";
  updateTrainButton();
});
