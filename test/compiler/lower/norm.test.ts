// Lowerings of the normalisation layers against PyTorch's definitions written as plain loops
// here: biased variance inside the root with eps added to it, running statistics updated with
// the unbiased variance, layer/RMS norm over trailing dims, groups of channels.

import { describe, expect, it } from "vitest";
import { ops } from "../../../compiler/ops/norm.js";
import { evaluateLowered, f32, go, lowerChecked, near, noise, one, seq } from "./family.js";

const mean = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
const varOf = (v: readonly number[], unbiased = false): number => {
  const m = mean(v);
  return v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - (unbiased ? 1 : 0));
};

/** Normalises the elements of x whose index maps to the same key(i), then applies f(i, ẑ). */
function normaliseBy(
  x: readonly number[],
  key: (i: number) => number,
  eps: number,
  f: (i: number, z: number) => number = (_, z) => z,
): number[] {
  const groups = new Map<number, number[]>();
  x.forEach((v, i) => groups.set(key(i), [...(groups.get(key(i)) ?? []), v]));
  return x.map((v, i) => {
    const g = groups.get(key(i))!;
    return f(i, (v - mean(g)) / Math.sqrt(varOf(g) + eps));
  });
}

// x [B=2, C=3, L=4]
const xs = [2, 3, 4];
const x = noise(24, 81).map((v) => 3 * v + 1);
const X = f32(xs, x);
const chan = (i: number): number => Math.floor(i / 4) % 3;
const w = [0.5, 2, -1];
const b = [0.1, 0, -0.3];

describe("batchnorm", () => {
  const params = { weight: w, bias: b, running_mean: [0.5, -1, 2], running_var: [1, 4, 0.25] };

  it("training: batch statistics per channel, affine, running stats updated with the unbiased variance", () => {
    const l = lowerChecked(ops, "batchnorm", [X], { momentum: 0.2 }, true);
    const [y] = evaluateLowered(l, [X], { params });
    near(
      y!.data,
      normaliseBy(x, chan, 1e-5, (i, z) => z * w[chan(i)]! + b[chan(i)]!),
    );
    const rm = l.bufferUpdates.get("running_mean")!;
    const rv = l.bufferUpdates.get("running_var")!;
    expect(rm).toBeDefined();
    const perC = seq(3, (c) => x.filter((_, i) => chan(i) === c));
    const updated = evaluateLowered({ ...l, outputs: [rm, rv] }, [X], { params });
    near(
      updated[0]!.data,
      perC.map((v, c) => 0.8 * params.running_mean[c]! + 0.2 * mean(v)),
    );
    near(
      updated[1]!.data,
      perC.map((v, c) => 0.8 * params.running_var[c]! + 0.2 * varOf(v, true)),
    );
  });

  it("eval: the running statistics", () => {
    near(
      one(ops, "batchnorm", [X], {}, { params }),
      x.map((v, i) => ((v - params.running_mean[chan(i)]!) / Math.sqrt(params.running_var[chan(i)]! + 1e-5)) * w[chan(i)]! + b[chan(i)]!),
    );
  });

  it("[B, C] input without affine or running stats uses batch statistics in eval too", () => {
    const v = noise(12, 82);
    near(
      one(ops, "batchnorm", [f32([4, 3], v)], { affine: false, track_running_stats: false }),
      normaliseBy(v, (i) => i % 3, 1e-5),
    );
  });
});

describe("layernorm / rmsnorm", () => {
  it("layernorm over the last dim, with weight and bias", () => {
    near(
      one(ops, "layernorm", [X], {}, { params: { weight: [1, 2, 3, 4], bias: [0, 1, 0, -1] } }),
      normaliseBy(
        x,
        (i) => Math.floor(i / 4),
        1e-5,
        (i, z) => z * [1, 2, 3, 4][i % 4]! + [0, 1, 0, -1][i % 4]!,
      ),
    );
  });

  it("layernorm over the last two dims, no affine", () => {
    near(
      one(ops, "layernorm", [X], { dims: 2, affine: false }),
      normaliseBy(x, (i) => Math.floor(i / 12), 1e-5),
    );
  });

  it("rmsnorm: x / sqrt(mean(x²) + eps) · weight", () => {
    const g = [1, -1, 0.5, 2];
    near(
      one(ops, "rmsnorm", [X], {}, { params: { weight: g } }),
      x.map((v, i) => {
        const row = x.slice(i - (i % 4), i - (i % 4) + 4);
        return (v / Math.sqrt(mean(row.map((r) => r * r)) + 1e-6)) * g[i % 4]!;
      }),
    );
  });
});

describe("instancenorm / groupnorm", () => {
  it("instancenorm: each (sample, channel) over its positions; affine per channel", () => {
    near(
      one(ops, "instancenorm", [X]),
      normaliseBy(x, (i) => Math.floor(i / 4), 1e-5),
    );
    near(
      one(ops, "instancenorm", [X], { affine: true }, { params: { weight: w, bias: b } }),
      normaliseBy(
        x,
        (i) => Math.floor(i / 4),
        1e-5,
        (i, z) => z * w[chan(i)]! + b[chan(i)]!,
      ),
    );
  });

  it("instancenorm with running stats: eval uses them, training averages the unbiased per-instance variance", () => {
    const params = { running_mean: [0, 1, 2], running_var: [1, 2, 3] };
    near(
      one(ops, "instancenorm", [X], { track_running_stats: true }, { params }),
      x.map((v, i) => (v - params.running_mean[chan(i)]!) / Math.sqrt(params.running_var[chan(i)]! + 1e-5)),
    );
    const l = lowerChecked(ops, "instancenorm", [X], { track_running_stats: true }, true);
    const rv = l.bufferUpdates.get("running_var")!;
    const [got] = evaluateLowered({ ...l, outputs: [rv] }, [X], { params });
    const inst = (bb: number, c: number): number[] => x.slice(bb * 12 + c * 4, bb * 12 + c * 4 + 4);
    near(
      got!.data,
      seq(3, (c) => 0.9 * params.running_var[c]! + 0.1 * mean([varOf(inst(0, c), true), varOf(inst(1, c), true)])),
    );
  });

  it("groupnorm: [B, C=4, L=3] in 2 groups of 2 channels, affine per channel", () => {
    const v = noise(2 * 4 * 3, 83);
    const gw = [1, 2, 3, 4];
    const gb = [0, 0.5, -0.5, 1];
    const c4 = (i: number): number => Math.floor(i / 3) % 4;
    near(
      one(ops, "groupnorm", [f32([2, 4, 3], v)], { groups: 2 }, { params: { weight: gw, bias: gb } }),
      normaliseBy(
        v,
        (i) => Math.floor(i / 6),
        1e-5,
        (i, z) => z * gw[c4(i)]! + gb[c4(i)]!,
      ),
    );
  });
});

describe("local_response_norm / l2_normalize", () => {
  it("local_response_norm: x / (k + alpha/size · Σ x² over neighbouring channels)^beta", () => {
    const [B, C, L] = [1, 5, 2];
    const v = noise(B * C * L, 84).map((q) => 2 * q);
    const size = 3;
    const want = v.map((q, i) => {
      const c = Math.floor(i / L) % C;
      const l = i % L;
      let s = 0;
      for (let d = c - Math.floor(size / 2); d <= c + Math.floor((size - 1) / 2); d++) if (d >= 0 && d < C) s += v[d * L + l]! ** 2;
      return q / (2 + (0.1 / size) * s) ** 0.75;
    });
    near(one(ops, "local_response_norm", [f32([B, C, L], v)], { size, alpha: 0.1, k: 2 }), want);
    // an even size: one more channel before than after
    const want4 = v.map((q, i) => {
      const c = Math.floor(i / L);
      let s = 0;
      for (let d = c - 2; d <= c + 1; d++) if (d >= 0 && d < C) s += v[d * L + (i % L)]! ** 2;
      return q / (1 + (1e-4 / 4) * s) ** 0.75;
    });
    near(one(ops, "local_response_norm", [f32([B, C, L], v)], { size: 4 }), want4);
  });

  it("l2_normalize: x / max(‖x‖, eps) along an axis", () => {
    const v = [3, 4, 0, 0, 1, 0];
    near(one(ops, "l2_normalize", [f32([3, 2], v)]), [0.6, 0.8, 0, 0, 1, 0]);
    const [y] = go(ops, "l2_normalize", [f32([3, 2], v)], { axis: 0 });
    const n0 = Math.sqrt(9 + 1);
    near(y!.data, [3 / n0, 1, 0, 0, 1 / n0, 0]);
  });
});
