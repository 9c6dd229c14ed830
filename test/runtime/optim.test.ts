import { describe, expect, it } from "vitest";
import {
  clipGradNorm,
  clipGradValue,
  constantLr,
  cosineLr,
  createOptimizer,
  createSchedule,
  GradAccumulator,
  gradNorm,
  paramNorm,
  stepLr,
  warmupLr,
  type ParamBuffer,
} from "../../runtime/optim.js";

function param(name: string, value: number[], opts: { lrScale?: number; decay?: boolean } = {}): ParamBuffer {
  return { name, value: Float32Array.from(value), grad: new Float32Array(value.length), decay: opts.decay ?? true, ...opts };
}

/** run `steps` steps with the gradient of each step given per step; return the trajectory of w[0] */
function trajectory(name: string, args: Record<string, number | boolean>, w0: number, grads: number[]): number[] {
  const p = param("w", [w0]);
  const opt = createOptimizer(name, [p], args);
  const out: number[] = [];
  for (const g of grads) {
    p.grad[0] = g;
    opt.step();
    out.push(p.value[0]!);
  }
  return out;
}

const F32 = 6; // float32 storage: compare to ~1e-6

describe("optimisers: hand-computed steps", () => {
  it("sgd with L2 weight decay", () => {
    // g' = g + wd·w: 0.5 + 0.01·1 = 0.51 → 1 − 0.1·0.51; 0.25 + 0.01·(−2) = 0.23 → −2 − 0.023
    const p = param("w", [1, -2]);
    p.grad.set([0.5, 0.25]);
    createOptimizer("sgd", [p], { lr: 0.1, weight_decay: 0.01 }).step();
    expect(p.value[0]).toBeCloseTo(0.949, F32);
    expect(p.value[1]).toBeCloseTo(-2.023, F32);
  });

  it("momentum (torch's v = μv + g, first v = g)", () => {
    // g = 0.5 each step, μ = 0.9, lr = 0.1: v = 0.5, 0.95, 1.355 → w = 0.95, 0.855, 0.7195
    const w = trajectory("momentum", { lr: 0.1, beta: 0.9 }, 1, [0.5, 0.5, 0.5]);
    expect(w[0]).toBeCloseTo(0.95, F32);
    expect(w[1]).toBeCloseTo(0.855, F32);
    expect(w[2]).toBeCloseTo(0.7195, F32);
    // the same through sgd(momentum)
    expect(trajectory("sgd", { lr: 0.1, momentum: 0.9 }, 1, [0.5, 0.5, 0.5])).toEqual(w);
  });

  it("sgd momentum with dampening: first step undamped, then μv + (1−d)g", () => {
    // d = 0.5: v1 = 0.5 → w 0.95; v2 = 0.45 + 0.25 = 0.7 → w 0.88
    const w = trajectory("sgd", { lr: 0.1, momentum: 0.9, dampening: 0.5 }, 1, [0.5, 0.5]);
    expect(w[0]).toBeCloseTo(0.95, F32);
    expect(w[1]).toBeCloseTo(0.88, F32);
  });

  it("nesterov: step along g + μv", () => {
    // v1 = 0.5, d = 0.5 + 0.45 = 0.95 → 0.905; v2 = 0.95, d = 0.5 + 0.855 = 1.355 → 0.7695
    const w = trajectory("nesterov", { lr: 0.1, beta: 0.9 }, 1, [0.5, 0.5]);
    expect(w[0]).toBeCloseTo(0.905, F32);
    expect(w[1]).toBeCloseTo(0.7695, F32);
    expect(trajectory("sgd", { lr: 0.1, momentum: 0.9, nesterov: true }, 1, [0.5, 0.5])).toEqual(w);
    expect(() => createOptimizer("sgd", [], { nesterov: true })).toThrow(/nesterov/);
  });

  it("adagrad: s += g², w −= lr·g/(√s + eps)", () => {
    // s = 0.25, 0.5, 0.75 → w = 0.9, 0.9 − 0.05/√0.5, then − 0.05/√0.75
    const w = trajectory("adagrad", { lr: 0.1 }, 1, [0.5, 0.5, 0.5]);
    expect(w[0]).toBeCloseTo(0.9, F32);
    expect(w[1]).toBeCloseTo(0.8292893, F32);
    expect(w[2]).toBeCloseTo(0.7715543, F32);
    // lr_decay: clr = lr/(1 + (t−1)·decay): second step 0.1/2 → 0.9 − 0.025/√0.5
    const d = trajectory("adagrad", { lr: 0.1, lr_decay: 1 }, 1, [0.5, 0.5]);
    expect(d[1]).toBeCloseTo(0.9 - 0.025 / Math.sqrt(0.5), F32);
    // initial_accumulator = 1: s = 1.25 → 1 − 0.05/√1.25
    expect(trajectory("adagrad", { lr: 0.1, initial_accumulator: 1 }, 1, [0.5])[0]).toBeCloseTo(1 - 0.05 / Math.sqrt(1.25), F32);
  });

  it("rmsprop: a = αa + (1−α)g², w −= lr·g/(√a + eps)", () => {
    // a1 = 0.0025 → √ = 0.05 → w = 1 − 0.01·0.5/0.05 = 0.9; a2 = 0.99·0.0025 + 0.0025 = 0.004975
    const w = trajectory("rmsprop", { lr: 0.01 }, 1, [0.5, 0.5]);
    expect(w[0]).toBeCloseTo(0.9, F32);
    expect(w[1]).toBeCloseTo(0.9 - 0.005 / Math.sqrt(0.004975), F32);
  });

  it("adam: bias-corrected moments, w −= lr·m̂/(√v̂ + eps)", () => {
    // constant g: m̂ = g and v̂ = g² at every step, so each step moves lr·g/(|g| + eps) ≈ lr
    const w = trajectory("adam", { lr: 0.1 }, 1, [0.5, 0.5, 0.5]);
    expect(w[0]).toBeCloseTo(0.9, F32);
    expect(w[1]).toBeCloseTo(0.8, F32);
    expect(w[2]).toBeCloseTo(0.7, F32);
    // g = 1 then 0: m = 0.1, then 0.09; v = 0.001, then 0.000999; t = 2: m̂ = 0.09/0.19, v̂ = 0.000999/0.001999
    const v = trajectory("adam", { lr: 0.1 }, 0, [1, 0]);
    expect(v[0]).toBeCloseTo(-0.1, F32);
    const mhat = 0.09 / 0.19;
    const vhat = 0.000999 / (1 - 0.999 ** 2);
    expect(v[1]).toBeCloseTo(-0.1 - (0.1 * mhat) / (Math.sqrt(vhat) + 1e-8), F32);
  });

  it("adamw decays decoupled from the gradient; adam's decay is L2", () => {
    // adamw: w·(1 − lr·wd) = 0.999, then the Adam step −0.1 → 0.899
    expect(trajectory("adamw", { lr: 0.1, weight_decay: 0.01 }, 1, [0.5])[0]).toBeCloseTo(0.899, F32);
    // adam + L2: g' = 0.51, first step still moves lr·g'/|g'| = 0.1 → 0.9 (L2 is normalised away)
    expect(trajectory("adam", { lr: 0.1, weight_decay: 0.01 }, 1, [0.5])[0]).toBeCloseTo(0.9, F32);
    // default weight decay of adamw is 1e-2 (torch): zero gradient still shrinks w
    expect(trajectory("adamw", { lr: 0.1 }, 2, [0])[0]).toBeCloseTo(2 * (1 - 0.1 * 0.01), F32);
  });

  it("per-parameter lr scale and no-decay flag", () => {
    const a = param("a", [1]);
    const b = param("b", [1], { lrScale: 0.5 });
    const c = param("c", [1], { decay: false });
    for (const p of [a, b, c]) p.grad[0] = 1;
    createOptimizer("sgd", [a, b, c], { lr: 0.1, weight_decay: 1 }).step();
    expect(a.value[0]).toBeCloseTo(1 - 0.1 * 2, F32);
    expect(b.value[0]).toBeCloseTo(1 - 0.05 * 2, F32);
    expect(c.value[0]).toBeCloseTo(1 - 0.1 * 1, F32);
  });

  it("step(lr) overrides the base lr", () => {
    const p = param("w", [1]);
    p.grad[0] = 1;
    const o = createOptimizer("sgd", [p], { lr: 0.1 });
    o.step(0.01);
    expect(p.value[0]).toBeCloseTo(0.99, F32);
  });
});

describe("optimisers: against torch's algorithm boxes over 3 steps of a 3-vector", () => {
  const w0 = [0.5, -1.5, 2];
  const grads = [
    [0.1, -0.2, 0.3],
    [-0.4, 0.5, 0.05],
    [0.2, 0.2, -0.6],
  ];

  /** The pseudo-code of torch.optim.Adam / AdamW's documentation, written out per element in float64. */
  function adamRef(o: { lr: number; b1: number; b2: number; eps: number; wd: number; amsgrad: boolean; decoupled: boolean }): number[] {
    const th = [...w0];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    const vmax = [0, 0, 0];
    for (let t = 1; t <= 3; t++)
      for (let i = 0; i < 3; i++) {
        let g = grads[t - 1]![i]!;
        if (o.decoupled) th[i] = th[i]! - o.lr * o.wd * th[i]!;
        else g = g + o.wd * th[i]!;
        m[i] = o.b1 * m[i]! + (1 - o.b1) * g;
        v[i] = o.b2 * v[i]! + (1 - o.b2) * g * g;
        const mhat = m[i]! / (1 - o.b1 ** t);
        // amsgrad (torch's box): v_max = max(v_max, v_t) on the raw moment, then v̂ = v_max/(1 − β2^t)
        if (o.amsgrad) vmax[i] = Math.max(vmax[i]!, v[i]!);
        const vhat = (o.amsgrad ? vmax[i]! : v[i]!) / (1 - o.b2 ** t);
        th[i] = th[i]! - (o.lr * mhat) / (Math.sqrt(vhat) + o.eps);
      }
    return th;
  }

  /** torch.optim.RMSprop's algorithm box. */
  function rmsRef(o: { lr: number; alpha: number; eps: number; wd: number; mu: number; centered: boolean }): number[] {
    const th = [...w0];
    const sq = [0, 0, 0];
    const b = [0, 0, 0];
    const ga = [0, 0, 0];
    for (let t = 1; t <= 3; t++)
      for (let i = 0; i < 3; i++) {
        const g = grads[t - 1]![i]! + o.wd * th[i]!;
        sq[i] = o.alpha * sq[i]! + (1 - o.alpha) * g * g;
        let vt = sq[i]!;
        if (o.centered) {
          ga[i] = o.alpha * ga[i]! + (1 - o.alpha) * g;
          vt = vt - ga[i]! * ga[i]!;
        }
        if (o.mu > 0) {
          b[i] = o.mu * b[i]! + g / (Math.sqrt(vt) + o.eps);
          th[i] = th[i]! - o.lr * b[i]!;
        } else th[i] = th[i]! - (o.lr * g) / (Math.sqrt(vt) + o.eps);
      }
    return th;
  }

  function run(name: string, args: Record<string, number | boolean>): number[] {
    const p = param("w", w0);
    const opt = createOptimizer(name, [p], args);
    for (const g of grads) {
      p.grad.set(g);
      opt.step();
    }
    return [...p.value];
  }

  const close = (got: number[], want: number[]) => got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 5));

  it("adam, adam + L2, amsgrad, adamw", () => {
    const base = { lr: 0.05, b1: 0.8, b2: 0.95, eps: 1e-6, wd: 0, amsgrad: false, decoupled: false };
    close(run("adam", { lr: 0.05, beta1: 0.8, beta2: 0.95, eps: 1e-6 }), adamRef(base));
    close(run("adam", { lr: 0.05, beta1: 0.8, beta2: 0.95, eps: 1e-6, weight_decay: 0.1 }), adamRef({ ...base, wd: 0.1 }));
    close(run("adam", { lr: 0.05, beta1: 0.8, beta2: 0.95, eps: 1e-6, amsgrad: true }), adamRef({ ...base, amsgrad: true }));
    close(
      run("adamw", { lr: 0.05, beta1: 0.8, beta2: 0.95, eps: 1e-6, weight_decay: 0.1 }),
      adamRef({ ...base, wd: 0.1, decoupled: true }),
    );
  });

  it("rmsprop plain, with momentum, centered", () => {
    const base = { lr: 0.01, alpha: 0.9, eps: 1e-8, wd: 0, mu: 0, centered: false };
    close(run("rmsprop", { lr: 0.01, alpha: 0.9 }), rmsRef(base));
    close(run("rmsprop", { lr: 0.01, alpha: 0.9, momentum: 0.5, weight_decay: 0.1 }), rmsRef({ ...base, mu: 0.5, wd: 0.1 }));
    close(run("rmsprop", { lr: 0.01, alpha: 0.9, momentum: 0.5, centered: true }), rmsRef({ ...base, mu: 0.5, centered: true }));
  });
});

describe("optimiser state", () => {
  it("export after 2 steps, import into a fresh optimiser, and step 3 matches exactly", () => {
    for (const [name, args] of [
      ["adam", { amsgrad: true }],
      ["adamw", {}],
      ["momentum", {}],
      ["rmsprop", { momentum: 0.9, centered: true }],
      ["adagrad", {}],
      ["sgd", {}],
    ] as const) {
      const mk = () => [param("a", [1, 2, 3]), param("b", [-1])];
      const ps = mk();
      const opt = createOptimizer(name, ps, args);
      const gs = [
        [0.3, -0.1, 0.2, 0.5],
        [0.1, 0.4, -0.3, -0.2],
        [-0.2, 0.2, 0.1, 0.3],
      ];
      const setGrads = (params: ParamBuffer[], g: number[]) => {
        params[0]!.grad.set(g.slice(0, 3));
        params[1]!.grad.set(g.slice(3));
      };
      for (const g of gs.slice(0, 2)) {
        setGrads(ps, g);
        opt.step();
      }
      const saved = new Map([...opt.stateTensors()].map(([k, v]) => [k, Float32Array.from(v)]));
      const values = ps.map((p) => Float32Array.from(p.value));
      setGrads(ps, gs[2]!);
      opt.step();

      const ps2 = mk();
      ps2.forEach((p, i) => p.value.set(values[i]!));
      const opt2 = createOptimizer(name, ps2, args);
      opt2.loadState(saved);
      expect(opt2.stepCount).toBe(2);
      setGrads(ps2, gs[2]!);
      opt2.step();
      expect(ps2.map((p) => [...p.value])).toEqual(ps.map((p) => [...p.value]));
    }
  });

  it("names follow torch's state keys", () => {
    const names = (n: string, args = {}) => [
      ...createOptimizer(n, [param("fc.weight", [1, 2])], args)
        .stateTensors()
        .keys(),
    ];
    expect(names("adam")).toEqual(["step", "fc.weight.exp_avg", "fc.weight.exp_avg_sq"]);
    expect(names("adam", { amsgrad: true })).toContain("fc.weight.max_exp_avg_sq");
    expect(names("momentum")).toEqual(["step", "fc.weight.momentum_buffer"]);
    expect(names("adagrad")).toEqual(["step", "fc.weight.sum"]);
    expect(names("sgd")).toEqual(["step"]);
  });

  it("loadState rejects missing, extra and mis-sized tensors", () => {
    const o = createOptimizer("adam", [param("w", [1, 2])]);
    const good = new Map([...o.stateTensors()].map(([k, v]) => [k, Float32Array.from(v)]));
    const missing = new Map(good);
    missing.delete("w.exp_avg");
    expect(() => o.loadState(missing)).toThrow(/missing tensor 'w.exp_avg'/);
    expect(() => o.loadState(new Map([...good, ["v.exp_avg", new Float32Array(2)]]))).toThrow(/unexpected tensor 'v.exp_avg'/);
    expect(() => o.loadState(new Map([...good, ["w.exp_avg_sq", new Float32Array(3)]]))).toThrow(/has 3 values, expected 2/);
  });

  it("rejects unknown optimisers and arguments", () => {
    expect(() => createOptimizer("lion", [])).toThrow(/unknown optimizer 'lion'; known: sgd, momentum/);
    expect(() => createOptimizer("adam", [], { beta: 0.9 })).toThrow(/adam: unknown argument 'beta'; it takes lr, beta1/);
    expect(() => createOptimizer("adam", [], { beta1: 1 })).toThrow(/beta1 must be < 1/);
    expect(() => createOptimizer("adam", [param("w", [1]), param("w", [2])])).toThrow(/listed twice/);
  });
});

describe("gradient utilities", () => {
  it("global norm clipping scales every gradient by maxNorm/(total + 1e-6)", () => {
    const a = param("a", [0, 0]);
    const b = param("b", [0]);
    a.grad.set([3, 4]);
    b.grad.set([12]);
    expect(gradNorm([a, b])).toBeCloseTo(13, 10);
    const total = clipGradNorm([a, b], 6.5);
    expect(total).toBeCloseTo(13, 10);
    const c = 6.5 / (13 + 1e-6);
    expect([...a.grad, ...b.grad].map((x) => x / c)).toEqual([3, 4, 12].map((x) => expect.closeTo(x, 5)));
    // below the limit: untouched
    expect(clipGradNorm([a, b], 100)).toBeCloseTo(6.5, 5);
    expect(a.grad[0]).toBeCloseTo(3 * c, 6);
  });

  it("value clipping clamps to [−clip, clip]", () => {
    const a = param("a", [0, 0, 0, 0]);
    a.grad.set([-3, 0.5, 2, -0.25]);
    clipGradValue([a], 1);
    expect([...a.grad]).toEqual([-1, 0.5, 1, -0.25]);
  });

  it("param norm", () => {
    expect(paramNorm([param("a", [1, 2]), param("b", [2])])).toBeCloseTo(3, 10);
  });

  it("accumulation averages k micro-batch gradients", () => {
    const a = param("a", [0]);
    const acc = new GradAccumulator([a], 4);
    const seen: boolean[] = [];
    for (const g of [1, 2, 3, 6]) {
      a.grad[0] = a.grad[0]! + g; // backward sums into the buffer
      seen.push(acc.micro());
    }
    expect(seen).toEqual([false, false, false, true]);
    expect(a.grad[0]).toBe(3);
  });
});

describe("schedules", () => {
  it("constant and step_lr", () => {
    expect(constantLr(0.1)(1000)).toBe(0.1);
    const s = stepLr(1, 2, 0.5);
    expect([0, 1, 2, 3, 4, 5].map(s)).toEqual([1, 1, 0.5, 0.5, 0.25, 0.25]);
  });

  it("cosine: (1 + cos(πt/T))/2 between lr and min_lr, then held", () => {
    const s = cosineLr(1, 10, 0.1);
    expect(s(0)).toBeCloseTo(1, 12);
    expect(s(5)).toBeCloseTo(0.55, 12);
    expect(s(10)).toBeCloseTo(0.1, 12);
    expect(s(20)).toBeCloseTo(0.1, 12);
    // t = T/3: cos(π/3) = 0.5 → 0.1 + 0.9·0.75
    expect(cosineLr(1, 30, 0.1)(10)).toBeCloseTo(0.775, 12);
  });

  it("warmup ramps linearly from lr/steps to lr, then hands over", () => {
    const s = warmupLr(1, 4, cosineLr(1, 10));
    expect([0, 1, 2, 3].map(s)).toEqual([0.25, 0.5, 0.75, 1]);
    expect(s(4)).toBeCloseTo(1, 12);
    expect(s(9)).toBeCloseTo(0.5, 12);
  });

  it("createSchedule from the train section's names", () => {
    const c = createSchedule("cosine", 1, { steps: 14, min_lr: 0.1, warmup: 4 });
    expect(c(0)).toBeCloseTo(0.25, 12);
    expect(c(9)).toBeCloseTo(0.55, 12);
    expect(c(14)).toBeCloseTo(0.1, 12);
    expect(createSchedule("step_lr", 1, { every: 3 })(3)).toBeCloseTo(0.1, 12);
    expect(createSchedule("warmup", 2, { steps: 2 })(0)).toBe(1);
    expect(createSchedule("constant_lr", 2)(7)).toBe(2);
    expect(() => createSchedule("cosine", 1, {})).toThrow(/needs 'steps'/);
    expect(() => createSchedule("linear", 1)).toThrow(/unknown schedule 'linear'/);
  });
});
