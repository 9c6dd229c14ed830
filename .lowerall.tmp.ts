import { readdirSync } from "node:fs";
import { resolve } from "node:path";
import { checkFile } from "/work/main/compiler/pipeline.js";
import { lowerModel } from "/work/main/compiler/lower.js";
import { createFileSystemHost } from "/work/main/src/host.js";
import { evaluate } from "/work/main/runtime/cpu/reference.js";
const dir = "/work/main/examples";
for (const f of readdirSync(dir).filter((f) => f.endsWith(".dlm"))) {
  const entry = resolve(dir, f);
  const r = checkFile(entry, createFileSystemHost(entry));
  for (const [name, m] of r.models) {
    if (!("graph" in m) || !m.graph) continue;
    for (const training of [false, true]) {
      try {
        const l = lowerModel(m.graph, { training, dims: new Map([["B", 2]]) });
        let msg = `${l.builder.nodes.length} nodes`;
        if (l.builder.nodes.length < 20000) {
          const feeds = new Map();
          for (const i of l.inputs) feeds.set(i.name, i.dtype === "f32" ? new Float64Array(i.shape.reduce((a, b) => a * b, 1)).map((_, k) => Math.sin(k)) : new Int32Array(i.shape.reduce((a, b) => a * b, 1)));
          for (const p of l.params) feeds.set(p.name, new Float64Array(p.shape.reduce((a, b) => a * b, 1)).map((_, k) => 0.1 * Math.cos(k) + (p.init === "ones" ? 1 : 0)));
          const t0 = Date.now();
          const vals = evaluate(l.builder.graph(), feeds);
          const bad = l.outputs.filter((o) => Array.from(vals.get(o.node)!.data).some((v) => !Number.isFinite(v)));
          msg += ` eval ${Date.now() - t0}ms${bad.length ? " NONFINITE " + bad.map((b) => b.name) : ""}`;
        } else msg += " (not evaluated)";
        console.log(f, name, training ? "train" : "eval", msg);
      } catch (e) {
        console.log(f, name, training ? "train" : "eval", "ERR", (e as Error).message.slice(0, 200));
      }
    }
  }
}
