import { describe, expect, it } from "vitest";
import { calculateGain, computeFans, initialize } from "../../runtime/init.js";
import { Rng } from "../../runtime/rng.js";

function moments(a: ArrayLike<number>): { mean: number; variance: number; maxAbs: number } {
  let s = 0;
  let maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    s += a[i]!;
    maxAbs = Math.max(maxAbs, Math.abs(a[i]!));
  }
  const mean = s / a.length;
  let v = 0;
  for (let i = 0; i < a.length; i++) v += (a[i]! - mean) ** 2;
  return { mean, variance: v / a.length, maxAbs };
}

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function init(name: string, shape: number[], args?: Record<string, number>, seed = 1): Float32Array {
  const out = new Float32Array(numel(shape));
  initialize(name, shape, out, new Rng(seed), args);
  return out;
}

/** relative error of an empirical variance from ~N draws: about sqrt(2/N) for normals */
function expectVariance(a: Float32Array, want: number, rel = 0.03): void {
  const { mean, variance } = moments(a);
  expect(Math.abs(mean)).toBeLessThan(4 * Math.sqrt(want / a.length) + 1e-12);
  expect(Math.abs(variance / want - 1)).toBeLessThan(rel);
}

describe("fans and gains (torch.nn.init conventions)", () => {
  it("fan_in = in·prod(k), fan_out = out·prod(k)", () => {
    expect(computeFans([10, 20])).toEqual({ fanIn: 20, fanOut: 10 });
    expect(computeFans([16, 8, 3, 3])).toEqual({ fanIn: 72, fanOut: 144 });
    expect(computeFans([4, 2, 5])).toEqual({ fanIn: 10, fanOut: 20 });
    expect(() => computeFans([7])).toThrow(/rank ≥ 2/);
  });
  it("calculate_gain matches torch's table", () => {
    expect(calculateGain("linear")).toBe(1);
    expect(calculateGain("conv2d")).toBe(1);
    expect(calculateGain("sigmoid")).toBe(1);
    expect(calculateGain("tanh")).toBeCloseTo(5 / 3, 12);
    expect(calculateGain("relu")).toBeCloseTo(Math.sqrt(2), 12);
    expect(calculateGain("leaky_relu")).toBeCloseTo(Math.sqrt(2 / (1 + 0.0001)), 12);
    expect(calculateGain("leaky_relu", 0.2)).toBeCloseTo(Math.sqrt(2 / 1.04), 12);
    expect(calculateGain("selu")).toBe(0.75);
  });
});

describe("initialize", () => {
  it("zeros, ones, constant", () => {
    expect([...init("zeros", [2, 3])]).toEqual([0, 0, 0, 0, 0, 0]);
    expect([...init("ones", [3])]).toEqual([1, 1, 1]);
    expect([...init("constant", [2], { value: 0.25 })]).toEqual([0.25, 0.25]);
    expect(() => init("constant", [2])).toThrow(/needs a value/);
  });

  it("normal {mean, std} and default N(0, 1)", () => {
    expectVariance(init("normal", [400, 250], { std: 0.02 }), 0.02 ** 2);
    const m = init("normal", [100_000], { mean: 3, std: 2 });
    const mo = moments(m);
    expect(Math.abs(mo.mean - 3)).toBeLessThan(0.03);
    expect(Math.abs(mo.variance / 4 - 1)).toBeLessThan(0.03);
    expectVariance(init("normal", [100_000]), 1);
  });

  it("uniform: bound, lo/hi, default U(0,1)", () => {
    const b = init("uniform", [100_000], { bound: 0.5 });
    // U(-b, b): variance b²/3
    expectVariance(b, 0.25 / 3, 0.02);
    expect(moments(b).maxAbs).toBeLessThanOrEqual(0.5);
    const lh = init("uniform", [100_000], { lo: 2, hi: 3 });
    expect(Math.min(...lh)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...lh)).toBeLessThanOrEqual(3);
    const d = init("uniform", [100_000]);
    expect(Math.abs(moments(d).mean - 0.5)).toBeLessThan(0.01);
    expect(() => init("uniform", [3], { bound: 1, lo: 0 })).toThrow(/either bound/);
  });

  it("PyTorch's default nn.Linear init: weight and bias in U(±1/sqrt(in_features))", () => {
    const [outF, inF] = [300, 256];
    const w = init("kaiming_uniform", [outF, inF], { a: Math.sqrt(5) });
    const bound = 1 / Math.sqrt(inF); // 0.0625
    const mw = moments(w);
    expect(mw.maxAbs).toBeLessThanOrEqual(bound);
    expect(mw.maxAbs).toBeGreaterThan(0.999 * bound);
    expectVariance(w, (bound * bound) / 3, 0.03);
    const bias = init("uniform", [outF], { bound });
    expect(moments(bias).maxAbs).toBeLessThanOrEqual(bound);
  });

  it("nn.Conv2d default: fan_in counts the kernel", () => {
    // Conv2d(8, 16, 3): fan_in = 8·9 = 72 → U(±1/sqrt(72))
    const w = init("kaiming_uniform", [16, 8, 3, 3], { a: Math.sqrt(5) });
    expect(moments(w).maxAbs).toBeLessThanOrEqual(1 / Math.sqrt(72));
    expect(moments(w).maxAbs).toBeGreaterThan(0.99 / Math.sqrt(72));
  });

  it("xavier (Glorot): var = gain²·2/(fan_in + fan_out)", () => {
    const shape = [200, 300];
    expectVariance(init("xavier_normal", shape), 2 / 500);
    expectVariance(init("xavier_uniform", shape), 2 / 500);
    expect(moments(init("xavier_uniform", shape)).maxAbs).toBeLessThanOrEqual(Math.sqrt(6 / 500));
    expectVariance(init("xavier_normal", [32, 16, 5, 5], { gain: 2 }), (4 * 2) / ((32 + 16) * 25));
  });

  it("kaiming (He): var = gain²/fan with leaky_relu gain sqrt(2/(1+a²))", () => {
    // default a = 0 → relu gain: var = 2/fan_in
    expectVariance(init("kaiming_normal", [256, 400]), 2 / 400);
    expectVariance(init("kaiming_uniform", [256, 400]), 2 / 400);
    // mode fan_out on a conv: fan_out = 64·9
    expectVariance(init("kaiming_normal", [64, 32, 3, 3], { fan_out: 1 }), 2 / (64 * 9));
    // a = 0.2: gain² = 2/1.04
    expectVariance(init("kaiming_normal", [256, 400], { a: 0.2 }), 2 / 1.04 / 400);
    // explicit gain replaces the nonlinearity's
    expectVariance(init("kaiming_normal", [256, 400], { gain: 1 }), 1 / 400);
  });

  it("lecun_normal: var = 1/fan_in", () => {
    expectVariance(init("lecun_normal", [128, 500]), 1 / 500);
  });

  it("is deterministic per seed", () => {
    expect(init("xavier_uniform", [5, 7], {}, 3)).toEqual(init("xavier_uniform", [5, 7], {}, 3));
    expect(init("xavier_uniform", [5, 7], {}, 3)).not.toEqual(init("xavier_uniform", [5, 7], {}, 4));
  });

  it("rejects unknown names, unknown args and wrong buffer sizes clearly", () => {
    expect(() => init("glorot", [2, 2])).toThrow(/unknown initialiser 'glorot'; known: zeros, ones/);
    expect(() => init("normal", [2, 2], { sd: 1 })).toThrow(/normal: unknown argument 'sd'; it takes mean, std/);
    expect(() => initialize("zeros", [2, 3], new Float32Array(5), new Rng(0))).toThrow(/holds 5 values but shape \[2, 3\] has 6/);
    expect(() => init("xavier_uniform", [10])).toThrow(/rank ≥ 2/);
    expect(() => init("orthogonal", [10])).toThrow(/rank ≥ 2/);
  });
});

describe("orthogonal", () => {
  /** Classical Gram–Schmidt QR of the m×n (m ≥ n) row-major matrix: Q with R's diagonal positive. */
  function gramSchmidtQ(a: Float64Array, m: number, n: number): Float64Array {
    const q = new Float64Array(m * n);
    for (let j = 0; j < n; j++) {
      const v = new Float64Array(m);
      for (let i = 0; i < m; i++) v[i] = a[i * n + j]!;
      for (let p = 0; p < j; p++) {
        // modified GS for stability: project the running v
        let dot = 0;
        for (let i = 0; i < m; i++) dot += q[i * n + p]! * v[i]!;
        for (let i = 0; i < m; i++) v[i]! -= dot * q[i * n + p]!;
      }
      let norm = 0;
      for (let i = 0; i < m; i++) norm += v[i]! ** 2;
      norm = Math.sqrt(norm);
      for (let i = 0; i < m; i++) q[i * n + j] = v[i]! / norm;
    }
    return q;
  }

  function gram(w: Float64Array, rows: number, cols: number, byRows: boolean): number {
    // max |G - I| where G = W Wᵀ (byRows) or Wᵀ W
    const k = byRows ? rows : cols;
    let err = 0;
    for (let p = 0; p < k; p++)
      for (let r = 0; r < k; r++) {
        let dot = 0;
        if (byRows) for (let j = 0; j < cols; j++) dot += w[p * cols + j]! * w[r * cols + j]!;
        else for (let i = 0; i < rows; i++) dot += w[i * cols + p]! * w[i * cols + r]!;
        err = Math.max(err, Math.abs(dot - (p === r ? 1 : 0)));
      }
    return err;
  }

  it("tall matrix: QᵀQ = I and equals the sign-corrected Gram–Schmidt Q of the same normal draws", () => {
    const [rows, cols] = [12, 5];
    const q = new Float64Array(rows * cols);
    initialize("orthogonal", [rows, cols], q, new Rng(21));
    expect(gram(q, rows, cols, false)).toBeLessThan(1e-12);
    const a = new Float64Array(rows * cols);
    new Rng(21).normal(a);
    const ref = gramSchmidtQ(a, rows, cols);
    for (let i = 0; i < q.length; i++) expect(q[i]!).toBeCloseTo(ref[i]!, 10);
  });

  it("wide matrix (rows < cols): rows orthonormal, from the QR of the transpose", () => {
    const [rows, cols] = [4, 9];
    const q = new Float64Array(rows * cols);
    initialize("orthogonal", [rows, cols], q, new Rng(8));
    expect(gram(q, rows, cols, true)).toBeLessThan(1e-12);
    const a = new Float64Array(rows * cols);
    new Rng(8).normal(a);
    const at = new Float64Array(rows * cols); // cols×rows
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) at[j * rows + i] = a[i * cols + j]!;
    const ref = gramSchmidtQ(at, cols, rows);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) expect(q[i * cols + j]!).toBeCloseTo(ref[j * rows + i]!, 10);
  });

  it("square float32 with gain, and conv shapes flatten trailing dims", () => {
    const q = init("orthogonal", [32, 32], { gain: 2 });
    const w = Float64Array.from(q, (v) => v / 2);
    expect(gram(w, 32, 32, false)).toBeLessThan(1e-5);
    const c = Float64Array.from(init("orthogonal", [6, 2, 3, 3])); // 6 × 18: rows orthonormal
    expect(gram(c, 6, 18, true)).toBeLessThan(1e-5);
  });
});
