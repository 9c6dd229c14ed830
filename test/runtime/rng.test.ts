import { describe, expect, it } from "vitest";
import { Rng, philox4x32_10 } from "../../runtime/rng.js";

function block(ctr: number[], key: number[]): number[] {
  const out = new Uint32Array(4);
  philox4x32_10(ctr, key, out);
  return [...out];
}

describe("philox4x32_10", () => {
  // Random123's published known-answer vectors (tests/kat_vectors): counter words, key words → output.
  it("matches the Random123 known-answer vectors", () => {
    expect(block([0, 0, 0, 0], [0, 0])).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    expect(block([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff])).toEqual([
      0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd,
    ]);
    expect(block([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])).toEqual([
      0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1,
    ]);
  });

  it("Rng(0) draws block(counter 0, key 0) then block(counter 1, key 0)", () => {
    const r = new Rng(0);
    const got = Array.from({ length: 8 }, () => r.nextU32());
    expect(got).toEqual([...block([0, 0, 0, 0], [0, 0]), ...block([1, 0, 0, 0], [0, 0])]);
  });

  it("seeds above 2^32 use the high word of the key", () => {
    const r = new Rng(2 ** 52 + 7); // key = (7, 2^20)
    expect(r.nextU32()).toBe(block([0, 0, 0, 0], [7, 2 ** 20])[0]);
  });
});

describe("Rng", () => {
  it("is deterministic for a seed and differs across seeds", () => {
    const a = new Float32Array(100);
    const b = new Float32Array(100);
    const c = new Float32Array(100);
    new Rng(42).uniform(a);
    new Rng(42).uniform(b);
    new Rng(43).uniform(c);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it("restoring from state continues the exact sequence, at any position in a block", () => {
    for (const skip of [0, 1, 2, 3, 4, 5, 7, 13]) {
      const r = new Rng(1234);
      for (let i = 0; i < skip; i++) r.nextU32();
      const s = r.state();
      const want = new Float64Array(37);
      r.normal(want);
      const r2 = Rng.fromState(Array.from(s));
      const got = new Float64Array(37);
      r2.normal(got);
      expect(got).toEqual(want);
      expect(r2.state()).toEqual(r.state());
    }
  });

  it("fromState rejects malformed states", () => {
    expect(() => Rng.fromState([1, 2, 3])).toThrow(/7 words/);
    expect(() => Rng.fromState([0, 0, 0, 0, 0, 0, 5])).toThrow(/position/);
    expect(() => Rng.fromState([0, 0, -1, 0, 0, 0, 0])).toThrow(/word 2/);
  });

  it("counter carries across 32-bit words", () => {
    const r = Rng.fromState([9, 9, 0xffffffff, 0, 0, 0, 4]);
    expect(r.nextU32()).toBe(block([0xffffffff, 0, 0, 0], [9, 9])[0]);
    for (let i = 0; i < 3; i++) r.nextU32();
    expect(r.nextU32()).toBe(block([0, 1, 0, 0], [9, 9])[0]);
  });

  it("uniform has mean (lo+hi)/2 and variance (hi-lo)²/12", () => {
    const n = 200_000;
    for (const out of [new Float32Array(n), new Float64Array(n)]) {
      new Rng(7).uniform(out, -2, 4);
      let s = 0,
        s2 = 0,
        mn = Infinity,
        mx = -Infinity;
      for (const v of out) {
        s += v;
        s2 += v * v;
        mn = Math.min(mn, v);
        mx = Math.max(mx, v);
      }
      const mean = s / n;
      const varr = s2 / n - mean * mean;
      // standard error of the mean: sqrt(3/n) ≈ 0.0039
      expect(Math.abs(mean - 1)).toBeLessThan(0.02);
      expect(Math.abs(varr - 3)).toBeLessThan(0.05);
      expect(mn).toBeGreaterThanOrEqual(-2);
      expect(mx).toBeLessThan(4);
    }
  });

  it("normal has the requested moments (mean, variance, skew 0, kurtosis 3)", () => {
    const n = 200_001; // odd length exercises the tail
    const out = new Float64Array(n);
    new Rng(99).normal(out, 3, 2);
    let s = 0;
    for (const v of out) s += v;
    const mean = s / n;
    let m2 = 0,
      m3 = 0,
      m4 = 0;
    for (const v of out) {
      const d = v - mean;
      m2 += d * d;
      m3 += d * d * d;
      m4 += d * d * d * d;
    }
    m2 /= n;
    m3 /= n;
    m4 /= n;
    expect(Math.abs(mean - 3)).toBeLessThan(0.02);
    expect(Math.abs(m2 - 4)).toBeLessThan(0.06);
    expect(Math.abs(m3 / m2 ** 1.5)).toBeLessThan(0.03);
    expect(Math.abs(m4 / (m2 * m2) - 3)).toBeLessThan(0.06);
    // about 68.27% within one sigma
    let within = 0;
    for (const v of out) if (Math.abs(v - 3) < 2) within++;
    expect(Math.abs(within / n - 0.6827)).toBeLessThan(0.005);
  });

  it("int is uniform over [0, n) and rejects bad n", () => {
    const r = new Rng(5);
    const counts = new Array(7).fill(0);
    const n = 70_000;
    for (let i = 0; i < n; i++) counts[r.int(7)]++;
    // chi-square with 6 dof: 99.9th percentile ≈ 22.5
    const e = n / 7;
    const chi2 = counts.reduce((a, c) => a + (c - e) ** 2 / e, 0);
    expect(chi2).toBeLessThan(22.5);
    expect(() => r.int(0)).toThrow();
    expect(() => r.int(1.5)).toThrow();
    expect(r.int(1)).toBe(0);
  });

  it("forks are deterministic, independent of draws so far, and uncorrelated", () => {
    const base = new Rng(11);
    const f1 = base.fork(1);
    base.nextU32();
    const f1again = base.fork(1);
    expect(f1.state()).toEqual(f1again.state());
    const f2 = base.fork(2);
    const n = 100_000;
    const a = new Float64Array(n);
    const b = new Float64Array(n);
    const p = new Float64Array(n);
    f1.normal(a);
    f2.normal(b);
    new Rng(11).normal(p);
    const corr = (x: Float64Array, y: Float64Array) => {
      let sxy = 0;
      for (let i = 0; i < n; i++) sxy += x[i]! * y[i]!;
      return sxy / n;
    };
    // |corr| of independent standard normals ~ 1/sqrt(n) ≈ 0.003
    expect(Math.abs(corr(a, b))).toBeLessThan(0.015);
    expect(Math.abs(corr(a, p))).toBeLessThan(0.015);
    expect(a).not.toEqual(b);
    // a fork of a fork is a new stream too
    expect(f1.fork(1).state()).not.toEqual(f1.state());
  });

  it("shuffle is a permutation", () => {
    const a = Int32Array.from({ length: 50 }, (_, i) => i);
    new Rng(3).shuffle(a);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect([...a]).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});
