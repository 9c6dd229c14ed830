// Lowerings of the attention ops against the oracle's worked examples and plain-loop
// implementations of PyTorch's scaled_dot_product_attention and nn.MultiheadAttention.

import { describe, expect, it } from "vitest";
import { ops } from "../../../compiler/ops/attention.js";
import type { DType } from "../../../compiler/ops/types.js";
import type { Attrs } from "../ops/rule-harness.js";
import { gradients } from "../../../compiler/autodiff.js";
import { evaluate } from "../../../runtime/cpu/reference.js";
import { lowerOp, run } from "./harness.js";

type M = number[][];

function near(got: ArrayLike<number>, want: readonly number[], tol = 1e-9): void {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => {
    if (!(Math.abs(got[i]! - w) <= tol * Math.max(1, Math.abs(w)))) expect.fail(`element ${i}: got ${got[i]}, want ${w}`);
  });
}

/** Evaluate `name` on inputs given as (dtype, shape, data), plus named parameters. */
function apply(
  name: string,
  inputs: ({ dtype?: DType; shape: number[]; data: number[] } | undefined)[],
  attrs: Attrs,
  params: Record<string, number[]> = {},
) {
  const l = lowerOp(
    ops,
    name,
    inputs.map((x) => (x ? { dtype: x.dtype ?? "f32", shape: x.shape } : undefined)),
    attrs,
  );
  const feeds: Record<string, number[]> = { ...params };
  inputs.forEach((x, i) => x && (feeds[`x${i}`] = x.data));
  const [y] = run(l, feeds);
  return { shape: y!.shape, data: Array.from(y!.data), params: l.params };
}

const matmulT = (a: M, b: M): M => a.map((r) => b.map((c) => r.reduce((s, v, i) => s + v * c[i]!, 0)));
const transpose = (a: M): M => a[0]!.map((_, j) => a.map((r) => r[j]!));
const softmaxRows = (s: M): M =>
  s.map((r) => {
    const m = Math.max(...r);
    const e = r.map((v) => Math.exp(v - m));
    const z = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / z);
  });
/** softmax(q kᵀ·scale, keys where allowed) v */
function attentionRef(q: M, k: M, v: M, scale: number, allowed: (i: number, j: number) => boolean = () => true): M {
  const s = matmulT(q, k).map((r, i) => r.map((x, j) => (allowed(i, j) ? x * scale : -Infinity)));
  return matmulT(softmaxRows(s), transpose(v));
}
const chunk = (xs: readonly number[], n: number): M => Array.from({ length: xs.length / n }, (_, i) => xs.slice(i * n, (i + 1) * n));
const seq = (n: number, f = 1) => Array.from({ length: n }, (_, i) => Math.sin(f * i + 0.3) * 1.3);

// ORACLES.md: keys The(0.1,0,2) dog(5,4,3) ate(-4,0,-3) the(-0.2,0,1) cake(5,-3,-4); scale 1
const keys = [0.1, 0, 2, 5, 4, 3, -4, 0, -3, -0.2, 0, 1, 5, -3, -4];
const eye5 = Array.from({ length: 25 }, (_, i) => (i % 6 === 0 ? 1 : 0));

describe("scaled_dot_product_attention", () => {
  it("matches the oracle's attention weights (values = identity, so the output is the weights)", () => {
    const q = [5, 0, 0, -5, 0, 0, 5, 4, 0, 0, 0, 0];
    const y = apply(
      "scaled_dot_product_attention",
      [
        { shape: [4, 3], data: q },
        { shape: [5, 3], data: keys },
        { shape: [5, 5], data: eye5 },
      ],
      { scale: 1 },
    );
    near(y.data, [0, 0.5, 0, 0, 0.5, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0.2, 0.2, 0.2, 0.2, 0.2], 1e-8);
    // with values = keys: the first query reads the mean of dog and cake
    near(
      apply(
        "scaled_dot_product_attention",
        [
          { shape: [1, 3], data: [5, 0, 0] },
          { shape: [5, 3], data: keys },
          { shape: [5, 3], data: keys },
        ],
        { scale: 1 },
      ).data,
      [5, 0.5, -0.5],
      1e-8,
    );
  });

  it("masked scores (3, 5, -1, 4, 3) with mask (1, 1, 1, 0, 0) → (0.1189, 0.8789, 0.0022, 0, 0), bool or additive", () => {
    const args = (mask: { dtype: DType; data: number[] }) => [
      { shape: [1, 1], data: [1] },
      { shape: [5, 1], data: [3, 5, -1, 4, 3] },
      { shape: [5, 5], data: eye5 },
      { shape: [1, 5], ...mask },
    ];
    const want = [0.1189, 0.8789, 0.0022, 0, 0];
    near(apply("scaled_dot_product_attention", args({ dtype: "bool", data: [1, 1, 1, 0, 0] }), {}).data, want, 1e-3);
    near(apply("scaled_dot_product_attention", args({ dtype: "f32", data: [0, 0, 0, -Infinity, -Infinity] }), {}).data, want, 1e-3);
  });

  it("default scale 1/sqrt(d), causal (top-left), broadcast batch axes", () => {
    const [b, tq, tk, d, dv] = [2, 3, 4, 2, 3];
    const q = seq(b * tq * d, 1);
    const k = seq(tk * d, 2);
    const v = seq(b * tk * dv, 3);
    for (const causal of [false, true]) {
      const y = apply(
        "scaled_dot_product_attention",
        [
          { shape: [b, tq, d], data: q },
          { shape: [1, tk, d], data: k },
          { shape: [b, tk, dv], data: v },
        ],
        { causal },
      );
      expect(y.shape).toEqual([b, tq, dv]);
      const want = [0, 1].flatMap((n) =>
        attentionRef(
          chunk(q.slice(n * tq * d, (n + 1) * tq * d), d),
          chunk(k, d),
          chunk(v.slice(n * tk * dv, (n + 1) * tk * dv), dv),
          1 / Math.sqrt(d),
          (i, j) => !causal || j <= i,
        ).flat(),
      );
      near(y.data, want);
    }
  });
});

/** rotate-half rotary embedding of rows x[t] (Hugging Face Llama / GPT-NeoX layout). */
function ropeRef(x: M, base = 10000): M {
  const d = x[0]!.length;
  const h = d / 2;
  return x.map((r, t) =>
    r.map((v, j) => {
      const theta = t * Math.pow(base, (-2 * (j % h)) / d);
      const rot = j < h ? -r[j + h]! : r[j - h]!;
      return v * Math.cos(theta) + rot * Math.sin(theta);
    }),
  );
}

describe("apply_rope", () => {
  it("rotates feature pairs (i, i + d/2) by t·base^(-2i/d)", () => {
    const x = seq(3 * 4 * 6);
    const y = apply("apply_rope", [{ shape: [3, 4, 6], data: x }], { base: 100 });
    near(
      y.data,
      [0, 1, 2].flatMap((n) => ropeRef(chunk(x.slice(n * 24, (n + 1) * 24), 6), 100).flat()),
    );
    // position 0 is unchanged
    near(y.data.slice(0, 6), x.slice(0, 6));
  });
});

describe("multihead_attention", () => {
  /** nn.MultiheadAttention's math with k/v heads shared by groups of query heads, optional rope. */
  function mhaRef(
    x: M,
    kv: M,
    w: Record<string, number[]>,
    heads: number,
    kvHeads: number,
    o: { causal?: boolean; rope?: boolean; bias: boolean },
  ): M {
    const d = x[0]!.length;
    const dh = d / heads;
    const lin = (t: M, name: string, out: number) => {
      const W = chunk(w[`${name}.weight`]!, t[0]!.length);
      const bias = o.bias ? w[`${name}.bias`]! : Array<number>(out).fill(0);
      return matmulT(t, W).map((r) => r.map((v, j) => v + bias[j]!));
    };
    const q = lin(x, "q_proj", d);
    const k = lin(kv, "k_proj", kvHeads * dh);
    const v = lin(kv, "v_proj", kvHeads * dh);
    const head = (t: M, h: number) => t.map((r) => r.slice(h * dh, (h + 1) * dh));
    const rot = (t: M) => (o.rope ? ropeRef(t) : t);
    const outs = Array.from({ length: heads }, (_, h) => {
      const g = Math.floor(h / (heads / kvHeads));
      return attentionRef(rot(head(q, h)), rot(head(k, g)), head(v, g), 1 / Math.sqrt(dh), (i, j) => !o.causal || j <= i);
    });
    const merged = x.map((_, t) => outs.flatMap((oh) => oh[t]!));
    return lin(merged, "out_proj", d);
  }

  const cases: { name: string; attrs: Attrs; kvHeads: number; cross?: boolean; unbatched?: boolean }[] = [
    { name: "self-attention", attrs: { heads: 2 }, kvHeads: 2 },
    { name: "causal, no bias", attrs: { heads: 2, causal: true, bias: false }, kvHeads: 2 },
    { name: "grouped-query kv_heads 2 of 4, rope", attrs: { heads: 4, kv_heads: 2, rope: true }, kvHeads: 2 },
    { name: "multi-query cross-attention", attrs: { heads: 4, kv_heads: 1 }, kvHeads: 1, cross: true },
    { name: "unbatched", attrs: { heads: 2 }, kvHeads: 2, unbatched: true },
  ];
  for (const c of cases)
    it(c.name, () => {
      const [b, t, s, d, dkv] = [2, 3, c.cross ? 4 : 3, 8, c.cross ? 5 : 8];
      const bs = c.unbatched ? 1 : b;
      const x = seq(bs * t * d, 0.7);
      const kv = c.cross ? seq(bs * s * dkv, 1.9) : undefined;
      const shapeOf = (len: number, f: number) => (c.unbatched ? [len, f] : [bs, len, f]);
      const l = lowerOp(
        ops,
        "multihead_attention",
        [{ dtype: "f32", shape: shapeOf(t, d) }, kv ? { dtype: "f32", shape: shapeOf(s, dkv) } : undefined],
        c.attrs,
      );
      const params: Record<string, number[]> = {};
      let f = 0.11;
      for (const [name, p] of l.params)
        params[name] = seq(
          p.shape.reduce((a, n) => a * n, 1),
          (f += 0.37),
        ).map((v) => v * 0.4);
      const y = apply(
        "multihead_attention",
        [{ shape: shapeOf(t, d), data: x }, kv ? { shape: shapeOf(s, dkv), data: kv } : undefined],
        c.attrs,
        params,
      );
      expect(y.shape).toEqual(shapeOf(t, d));
      const want = Array.from({ length: bs }, (_, n) =>
        mhaRef(
          chunk(x.slice(n * t * d, (n + 1) * t * d), d),
          kv ? chunk(kv.slice(n * s * dkv, (n + 1) * s * dkv), dkv) : chunk(x.slice(n * t * d, (n + 1) * t * d), d),
          params,
          c.attrs.heads as number,
          c.kvHeads,
          {
            causal: c.attrs.causal === true,
            rope: c.attrs.rope === true,
            bias: c.attrs.bias !== false,
          },
        ).flat(),
      ).flat();
      near(y.data, want);
    });

  it("a bool mask [B, heads, T, S] hides keys per head", () => {
    const x = seq(1 * 2 * 4);
    const attrs = { heads: 2 };
    const l = lowerOp(
      ops,
      "multihead_attention",
      [{ dtype: "f32", shape: [1, 2, 4] }, undefined, { dtype: "bool", shape: [1, 2, 2, 2] }],
      attrs,
    );
    const params: Record<string, number[]> = {};
    for (const [name, p] of l.params)
      params[name] = seq(
        p.shape.reduce((a, n) => a * n, 1),
        name.length * 0.1,
      );
    const mask = [1, 0, 1, 1, 1, 1, 0, 1];
    const y = apply(
      "multihead_attention",
      [{ shape: [1, 2, 4], data: x }, undefined, { dtype: "bool", shape: [1, 2, 2, 2], data: mask }],
      attrs,
      params,
    );
    // head 0 is causal, head 1 anti-causal: compare with the per-head reference
    const xs = chunk(x, 4);
    const lin = (t: M, name: string) =>
      matmulT(t, chunk(params[`${name}.weight`]!, 4)).map((r) => r.map((v, j) => v + params[`${name}.bias`]![j]!));
    const [q, k, v] = [lin(xs, "q_proj"), lin(xs, "k_proj"), lin(xs, "v_proj")];
    const head = (t: M, h: number) => t.map((r) => r.slice(h * 2, h * 2 + 2));
    const outs = [0, 1].map((h) =>
      attentionRef(head(q, h), head(k, h), head(v, h), 1 / Math.sqrt(2), (i, j) => mask[h * 4 + i * 2 + j] === 1),
    );
    near(
      y.data,
      lin(
        [0, 1].map((t) => outs.flatMap((o) => o[t]!)),
        "out_proj",
      ).flat(),
    );
  });
});

describe("relative_position_bias", () => {
  /** Hugging Face T5's _relative_position_bucket, in float64. */
  function bucket(rel: number, bidirectional: boolean, n: number, maxDistance: number): number {
    let out = 0;
    if (bidirectional) {
      n = Math.floor(n / 2);
      out += rel > 0 ? n : 0;
      rel = Math.abs(rel);
    } else rel = -Math.min(rel, 0);
    const exact = Math.floor(n / 2);
    if (rel < exact) return out + rel;
    return out + Math.min(exact + Math.floor((Math.log(rel / exact) / Math.log(maxDistance / exact)) * (n - exact)), n - 1);
  }

  it("worked buckets (32 buckets, max distance 128, bidirectional)", () => {
    // key - query: 0 → 0, +1 → 16 + 1, -1 → 1, -8 → 8 + 0, -100 → 8 + 7, -200 → 15 (clamped), +20 → 16 + 8 + 2
    const y = apply(
      "relative_position_bias",
      [],
      { q_len: 201, k_len: 221, heads: 1 },
      { weight: Array.from({ length: 32 }, (_, i) => i) },
    );
    const query = 200;
    expect([0, 1, -1, -8, -100, -200, 20].map((r) => y.data[query * 221 + query + r])).toEqual([0, 17, 1, 8, 15, 15, 26]);
  });

  for (const bidirectional of [true, false])
    it(`bias[h, i, j] = weight[bucket(j - i), h] (bidirectional ${bidirectional})`, () => {
      const [heads, q, k, n, maxD] = [3, 7, 40, 8, 20];
      const w = Array.from({ length: n * heads }, (_, i) => i * 0.25 - 1);
      const y = apply(
        "relative_position_bias",
        [],
        { q_len: q, k_len: k, heads, num_buckets: n, max_distance: maxD, bidirectional },
        { weight: w },
      );
      expect(y.shape).toEqual([heads, q, k]);
      const want: number[] = [];
      for (let h = 0; h < heads; h++)
        for (let i = 0; i < q; i++) for (let j = 0; j < k; j++) want.push(w[bucket(j - i, bidirectional, n, maxD) * heads + h]!);
      near(y.data, want);
    });
});

describe("gradients through attention", () => {
  it("match central finite differences (causal grouped-query attention with rope)", () => {
    const attrs = { heads: 4, kv_heads: 2, rope: true, causal: true };
    const l = lowerOp(ops, "multihead_attention", [{ dtype: "f32", shape: [1, 3, 8] }], attrs);
    const b = l.b;
    const out = l.outputs[0]!;
    const y = b.sum(b.times(out, b.tensor(seq(24, 0.45), [1, 3, 8])));
    const params: Record<string, number[]> = {};
    for (const [name, p] of l.params)
      params[name] = seq(
        p.shape.reduce((a, n) => a * n, 1),
        name.length * 0.13,
      ).map((v) => v * 0.5);
    const x = seq(24, 0.8);
    const [g] = gradients(b, y, [b.inputs[0]!.node, l.params.get("k_proj.weight")!.node]);
    const feeds = (xv: number[]) => new Map(Object.entries({ ...params, x0: xv }).map(([k, v]) => [k, Float64Array.from(v)]));
    const analytic = Array.from(evaluate(b.graph(), feeds(x)).get(g!)!.data);
    const h = 1e-6;
    const numeric = x.map((_, i) => {
      const at = (d: number) => evaluate(b.graph(), feeds(x.map((v, j) => (j === i ? v + d : v)))).get(y)!.data[0]!;
      return (at(h) - at(-h)) / (2 * h);
    });
    near(analytic, numeric, 1e-6);
  });
});

describe("attention dropout", () => {
  it("drops attention weights in training (survivors scaled by 1/(1-p)) and not in eval", () => {
    const args = [
      { shape: [2, 3], data: [5, 0, 0, 0, 0, 0] },
      { shape: [5, 3], data: keys },
      { shape: [5, 5], data: eye5 },
    ];
    const want = [0, 0.5, 0, 0, 0.5, 0.2, 0.2, 0.2, 0.2, 0.2];
    const l = lowerOp(
      ops,
      "scaled_dot_product_attention",
      args.map((a) => ({ dtype: "f32" as const, shape: a.shape })),
      { scale: 1, dropout: 0.5 },
      true,
    );
    const y = Array.from(run(l, Object.fromEntries(args.map((a, i) => [`x${i}`, a.data])))[0]!.data);
    y.forEach((v, i) => expect(Math.abs(v) < 1e-9 || Math.abs(v - 2 * want[i]!) < 1e-9).toBe(true));
    expect(y.some((v) => v === 0)).toBe(true);
    near(apply("scaled_dot_product_attention", args, { scale: 1, dropout: 0.5 }).data, want, 1e-8);
  });
});
