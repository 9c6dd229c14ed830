// Lowerings of rnn / lstm / gru and their cells against a plain-loop implementation of
// PyTorch's equations (torch.nn.RNN / LSTM / GRU docs) with fixed weights.

import { describe, expect, it } from "vitest";
import { ops } from "../../../compiler/ops/recurrent.js";
import type { Attrs } from "../ops/rule-harness.js";
import { gradients } from "../../../compiler/autodiff.js";
import { evaluate } from "../../../runtime/cpu/reference.js";
import { lowerOp, run } from "./harness.js";

type Vec = number[];
type Kind = "rnn" | "lstm" | "gru";

function near(got: ArrayLike<number>, want: readonly number[], tol = 1e-10): void {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => {
    if (!(Math.abs(got[i]! - w) <= tol * Math.max(1, Math.abs(w)))) expect.fail(`element ${i}: got ${got[i]}, want ${w}`);
  });
}

const sig = (x: number) => 1 / (1 + Math.exp(-x));
const add = (a: Vec, b: Vec) => a.map((v, i) => v + b[i]!);
/** W [rows, cols] (row-major) times v, plus bias */
const affine = (w: Vec, v: Vec, bias?: Vec) =>
  Array.from({ length: w.length / v.length }, (_, r) => v.reduce((s, x, c) => s + w[r * v.length + c]! * x, bias?.[r] ?? 0));
const part = (v: Vec, i: number, n: number) => v.slice((i * v.length) / n, ((i + 1) * v.length) / n);

/** Deterministic "random" weights for every parameter the op declares. */
function weights(l: ReturnType<typeof lowerOp>): Record<string, Vec> {
  const out: Record<string, Vec> = {};
  let k = 1;
  for (const [name, p] of l.params) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const f = (k += 1.618);
    out[name] = Array.from({ length: n }, (_, i) => 0.5 * Math.sin(f * (i + 1)));
  }
  return out;
}

/** One PyTorch cell step; returns [h', c']. */
function step(kind: Kind, w: Record<string, Vec>, sfx: string, x: Vec, h: Vec, c: Vec, o: { relu?: boolean; bias: boolean }): [Vec, Vec] {
  const gx = affine(w[`weight_ih${sfx}`]!, x, o.bias ? w[`bias_ih${sfx}`] : undefined);
  const gh = affine(w[`weight_hh${sfx}`]!, h, o.bias ? w[`bias_hh${sfx}`] : undefined);
  if (kind === "rnn") return [add(gx, gh).map(o.relu ? (v) => Math.max(v, 0) : Math.tanh), c];
  if (kind === "lstm") {
    const g = add(gx, gh);
    const [i, f, gg, oo] = [0, 1, 2, 3].map((k) => part(g, k, 4)) as [Vec, Vec, Vec, Vec];
    const c2 = c.map((cv, u) => sig(f[u]!) * cv + sig(i[u]!) * Math.tanh(gg[u]!));
    let h2 = c2.map((cv, u) => sig(oo[u]!) * Math.tanh(cv));
    if (w[`weight_hr${sfx}`]) h2 = affine(w[`weight_hr${sfx}`]!, h2);
    return [h2, c2];
  }
  const r = add(part(gx, 0, 3), part(gh, 0, 3)).map(sig);
  const z = add(part(gx, 1, 3), part(gh, 1, 3)).map(sig);
  const n = part(gx, 2, 3).map((v, u) => Math.tanh(v + r[u]! * part(gh, 2, 3)[u]!));
  return [n.map((nv, u) => (1 - z[u]!) * nv + z[u]! * h[u]!), c];
}

/** A full (multi-layer, bidirectional) layer over one sequence xs [T][in]: out [T][dirs*H], h_n, c_n per (layer, dir). */
function layerRef(
  kind: Kind,
  w: Record<string, Vec>,
  xs: Vec[],
  o: { layers: number; dirs: number; hidden: number; proj: number; relu?: boolean; bias: boolean; h0?: Vec[]; c0?: Vec[] },
) {
  let seq = xs;
  const hn: Vec[] = [];
  const cn: Vec[] = [];
  const hs = o.proj || o.hidden;
  for (let l = 0; l < o.layers; l++) {
    const outs: Vec[][] = [];
    for (let d = 0; d < o.dirs; d++) {
      const k = l * o.dirs + d;
      const sfx = `_l${l}${d === 1 ? "_reverse" : ""}`;
      let h = o.h0?.[k] ?? Array<number>(hs).fill(0);
      let c = o.c0?.[k] ?? Array<number>(o.hidden).fill(0);
      const out: Vec[] = Array.from({ length: seq.length });
      for (let i = 0; i < seq.length; i++) {
        const t = d === 1 ? seq.length - 1 - i : i;
        [h, c] = step(kind, w, sfx, seq[t]!, h, c, o);
        out[t] = h;
      }
      outs.push(out);
      hn.push(h);
      cn.push(c);
    }
    seq = seq.map((_, t) => outs.flatMap((out) => out[t]!));
  }
  return { out: seq, hn, cn };
}

const wave = (n: number, f: number) => Array.from({ length: n }, (_, i) => Math.cos(f * i + 0.2));

describe("rnn / lstm / gru layers", () => {
  const cases: { kind: Kind; attrs: Attrs; states?: boolean; unbatched?: boolean }[] = [
    { kind: "rnn", attrs: { hidden: 4 } },
    { kind: "rnn", attrs: { hidden: 3, layers: 2, nonlinearity: "relu" } },
    { kind: "lstm", attrs: { hidden: 4 } },
    { kind: "lstm", attrs: { hidden: 3, layers: 2, bidirectional: true }, states: true },
    { kind: "lstm", attrs: { hidden: 4, proj: 2, bidirectional: true }, states: true },
    { kind: "gru", attrs: { hidden: 4, bias: false } },
    { kind: "gru", attrs: { hidden: 3, layers: 2, bidirectional: true }, states: true },
    { kind: "gru", attrs: { hidden: 3, bidirectional: true }, unbatched: true, states: true },
    { kind: "lstm", attrs: { hidden: 3 }, unbatched: true },
  ];
  for (const c of cases)
    it(`${c.kind} ${JSON.stringify(c.attrs)}${c.states ? " with initial states" : ""}${c.unbatched ? " unbatched" : ""}`, () => {
      const [B, T, I] = [c.unbatched ? 1 : 2, 4, 3];
      const hidden = c.attrs.hidden as number;
      const layers = (c.attrs.layers as number | undefined) ?? 1;
      const dirs = c.attrs.bidirectional ? 2 : 1;
      const proj = (c.attrs.proj as number | undefined) ?? 0;
      const hs = proj || hidden;
      const ld = layers * dirs;
      const lead = (n: number) => (c.unbatched ? [n] : [n, B]);
      const shapes = [c.unbatched ? [T, I] : [B, T, I]];
      if (c.states) {
        shapes.push([...lead(ld), hs]);
        if (c.kind === "lstm") shapes.push([...lead(ld), hidden]);
      }
      const l = lowerOp(
        ops,
        c.kind,
        shapes.map((shape) => ({ dtype: "f32", shape })),
        c.attrs,
      );
      const w = weights(l);
      const x = wave(B * T * I, 0.9);
      const h0 = wave(ld * B * hs, 1.3).map((v) => v * 0.5);
      const c0 = wave(ld * B * hidden, 2.1);
      const feeds: Record<string, Vec> = { ...w, x0: x };
      if (c.states) {
        feeds.x1 = h0;
        if (c.kind === "lstm") feeds.x2 = c0;
      }
      const ys = run(l, feeds);
      // per batch element through the reference, then laid out as PyTorch does
      const refs = Array.from({ length: B }, (_, b) =>
        layerRef(
          c.kind,
          w,
          Array.from({ length: T }, (_, t) => x.slice((b * T + t) * I, (b * T + t + 1) * I)),
          {
            layers,
            dirs,
            hidden,
            proj,
            relu: c.attrs.nonlinearity === "relu",
            bias: c.attrs.bias !== false,
            ...(c.states ? { h0: Array.from({ length: ld }, (_, k) => h0.slice((k * B + b) * hs, (k * B + b + 1) * hs)) } : {}),
            ...(c.states ? { c0: Array.from({ length: ld }, (_, k) => c0.slice((k * B + b) * hidden, (k * B + b + 1) * hidden)) } : {}),
          },
        ),
      );
      expect(ys[0]!.shape).toEqual(c.unbatched ? [T, dirs * hs] : [B, T, dirs * hs]);
      near(
        ys[0]!.data,
        refs.flatMap((r) => r.out.flat()),
      );
      const byLayer = (get: (r: (typeof refs)[number]) => Vec[]) =>
        Array.from({ length: ld }, (_, k) => refs.flatMap((r) => get(r)[k]!)).flat();
      near(
        ys[1]!.data,
        byLayer((r) => r.hn),
      );
      if (c.kind === "lstm")
        near(
          ys[2]!.data,
          byLayer((r) => r.cn),
        );
    });

  it("the oracle's linear recurrence: h_t = W(u_t + h_{t-1}) with W = 2, u = 1 gives y = 14", () => {
    // rnn with relu, weight_ih = weight_hh = 2, zero biases: h = 2, 6, 14
    const l = lowerOp(ops, "rnn", [{ dtype: "f32", shape: [1, 3, 1] }], { hidden: 1, nonlinearity: "relu" });
    const [out] = run(l, { x0: [1, 1, 1], weight_ih_l0: [2], weight_hh_l0: [2], bias_ih_l0: [0], bias_hh_l0: [0] });
    near(out!.data, [2, 6, 14]);
  });
});

describe("cells", () => {
  for (const kind of ["rnn", "lstm", "gru"] as const)
    for (const withState of [true, false])
      it(`${kind}_cell ${withState ? "with a given state" : "from zeros"}`, () => {
        const [B, I, H] = [2, 3, 4];
        const shapes = [[B, I]];
        if (withState) shapes.push([B, H], ...(kind === "lstm" ? [[B, H]] : []));
        const l = lowerOp(
          ops,
          `${kind}_cell`,
          shapes.map((shape) => ({ dtype: "f32", shape })),
          { hidden: H },
        );
        const w = weights(l);
        const x = wave(B * I, 0.7);
        const h = withState ? wave(B * H, 1.1) : Array<number>(B * H).fill(0);
        const c = withState ? wave(B * H, 1.7) : Array<number>(B * H).fill(0);
        const ys = run(l, { ...w, x0: x, ...(withState ? { x1: h, ...(kind === "lstm" ? { x2: c } : {}) } : {}) });
        const refs = [0, 1].map((b) =>
          step(kind, w, "", x.slice(b * I, (b + 1) * I), h.slice(b * H, (b + 1) * H), c.slice(b * H, (b + 1) * H), { bias: true }),
        );
        near(
          ys[0]!.data,
          refs.flatMap((r) => r[0]),
        );
        if (kind === "lstm")
          near(
            ys[1]!.data,
            refs.flatMap((r) => r[1]),
          );
      });

  it("unbatched cells take x [in] and h [hidden]", () => {
    const l = lowerOp(
      ops,
      "gru_cell",
      [
        { dtype: "f32", shape: [3] },
        { dtype: "f32", shape: [2] },
      ],
      { hidden: 2 },
    );
    const w = weights(l);
    const [y] = run(l, { ...w, x0: [0.1, -0.2, 0.3], x1: [0.5, -0.5] });
    expect(y!.shape).toEqual([2]);
    near(y!.data, step("gru", w, "", [0.1, -0.2, 0.3], [0.5, -0.5], [], { bias: true })[0]);
  });
});

describe("gradients through the unrolled recurrence", () => {
  it("match central finite differences (bidirectional projected LSTM, 2-layer GRU)", () => {
    for (const [kind, attrs] of [
      ["lstm", { hidden: 3, proj: 2, bidirectional: true }],
      ["gru", { hidden: 2, layers: 2 }],
    ] as const) {
      const l = lowerOp(ops, kind, [{ dtype: "f32", shape: [2, 3, 2] }], attrs);
      const b = l.b;
      const out = l.outputs[0]!;
      const y = b.sum(
        b.times(
          out,
          b.tensor(
            wave(
              b.shape(out).reduce((p, q) => p * q, 1),
              0.4,
            ),
            b.shape(out),
          ),
        ),
      );
      const w = weights(l);
      const name = `weight_hh_l0${kind === "lstm" ? "_reverse" : ""}`;
      const [g] = gradients(b, y, [l.params.get(name)!.node, b.inputs[0]!.node]);
      const feeds = (override: Vec) =>
        new Map(Object.entries({ ...w, [name]: override, x0: wave(12, 0.8) }).map(([k, v]) => [k, Float64Array.from(v)]));
      const analytic = Array.from(evaluate(b.graph(), feeds(w[name]!)).get(g!)!.data);
      const h = 1e-6;
      const numeric = w[name]!.map((_, i) => {
        const at = (d: number) => evaluate(b.graph(), feeds(w[name]!.map((v, j) => (j === i ? v + d : v)))).get(y)!.data[0]!;
        return (at(h) - at(-h)) / (2 * h);
      });
      near(analytic, numeric, 1e-6);
    }
  });
});
