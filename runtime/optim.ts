// Optimisers, gradient clipping and learning-rate schedules, following torch.optim exactly.
//
// Every optimiser updates a fixed list of parameter buffers in place. All state (moments,
// accumulators, the step count) is allocated at construction, so step() allocates no arrays.
// SGD (with or without momentum) and Adam/AdamW without amsgrad update arrays of 256 floats or
// more with the wasm SIMD kernels (runtime/cpu/kernels/update.ts) in float32 arithmetic, where
// the host has SIMD128: 10x faster than a JS loop. Everything else runs in float64 JS numbers
// per element, stored back to float32; the two agree to float32 rounding.
//
// Hyperparameter names are those of the `train` section (compiler/train.ts TRAIN_BUILTINS),
// with torch's defaults. Per-parameter options: lrScale multiplies the lr (the `@lr(x)`
// annotation) and decay = false turns weight decay off (biases, norm scales, `@no_decay`).
// Weight decay is L2 (added to the gradient) for every optimiser but adamw, whose decay is
// decoupled (w ← w·(1 − lr·wd) before the Adam step, Loshchilov & Hutter 2019).

import { kernelHeap } from "./cpu/kernels/matmul.js";
import { adamUpdate, sgdMomentumUpdate, sgdUpdate } from "./cpu/kernels/update.js";
import { heapFloat32 } from "./cpu/kernels/wasm-heap.js";

export interface ParamBuffer {
  readonly name: string;
  readonly value: Float32Array;
  readonly grad: Float32Array;
  /** multiplies the learning rate for this parameter (default 1) */
  readonly lrScale?: number;
  /** whether weight decay applies to this parameter */
  readonly decay: boolean;
}

export interface Optimizer {
  readonly name: string;
  readonly params: readonly ParamBuffer[];
  /** the base learning rate, used when step() is given none */
  lr: number;
  /** optimiser steps taken so far (torch's state["step"]) */
  readonly stepCount: number;
  /** One update of every parameter from its grad; `lr` overrides the base lr (a schedule's value). */
  step(lr?: number): void;
  /**
   * The live state buffers by name, torch's state keys prefixed with the parameter name
   * (`fc.weight.exp_avg`), plus `step` (a 1-element float32 tensor, as torch stores it).
   */
  stateTensors(): Map<string, Float32Array>;
  /** Copy state from `map` (as stateTensors gives it); every name must be present with its size, and no other. */
  loadState(map: ReadonlyMap<string, Float32Array>): void;
}

export type OptimizerArgs = Readonly<Record<string, number | boolean>>;

interface Spec {
  /** argument names and their defaults (torch's) */
  readonly defaults: Readonly<Record<string, number | boolean>>;
}

const SPECS: Readonly<Record<string, Spec>> = {
  // torch.optim.SGD
  sgd: { defaults: { lr: 1e-3, momentum: 0, dampening: 0, nesterov: false, weight_decay: 0 } },
  // SGD with momentum μ = beta: v ← μv + g, w ← w − lr·v
  momentum: { defaults: { lr: 1e-3, beta: 0.9, dampening: 0, weight_decay: 0 } },
  // SGD with Nesterov momentum: v ← μv + g, w ← w − lr·(g + μv)
  nesterov: { defaults: { lr: 1e-3, beta: 0.9, weight_decay: 0 } },
  // torch.optim.Adagrad
  adagrad: { defaults: { lr: 1e-2, lr_decay: 0, eps: 1e-10, weight_decay: 0, initial_accumulator: 0 } },
  // torch.optim.RMSprop
  rmsprop: { defaults: { lr: 1e-2, alpha: 0.99, eps: 1e-8, momentum: 0, centered: false, weight_decay: 0 } },
  // torch.optim.Adam
  adam: { defaults: { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0, amsgrad: false } },
  // torch.optim.AdamW
  adamw: { defaults: { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 1e-2, amsgrad: false } },
};

export const OPTIMIZER_NAMES = Object.keys(SPECS);

/** Optimiser `name`'s arguments with torch's defaults for those `args` does not give (other backends' optimisers). */
export function resolveOptimizerArgs(name: string, args: OptimizerArgs): Record<string, number | boolean> {
  const spec = SPECS[name];
  if (!spec) throw new Error(`unknown optimizer '${name}'; known: ${OPTIMIZER_NAMES.join(", ")}`);
  return { ...spec.defaults, ...args };
}

/**
 * Build optimiser `name` (sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw) over
 * `params` with `args` (snake_case as in the train section; missing ones take torch's defaults).
 */
export function createOptimizer(name: string, params: readonly ParamBuffer[], args: OptimizerArgs = {}): Optimizer {
  const spec = SPECS[name];
  if (!spec) throw new Error(`unknown optimizer '${name}'; known: ${OPTIMIZER_NAMES.join(", ")}`);
  const a: Record<string, number | boolean> = { ...spec.defaults };
  for (const [k, v] of Object.entries(args)) {
    if (!(k in spec.defaults)) throw new Error(`${name}: unknown argument '${k}'; it takes ${Object.keys(spec.defaults).join(", ")}`);
    if (typeof v !== typeof spec.defaults[k]!) throw new Error(`${name}: argument '${k}' must be a ${typeof spec.defaults[k]}, got ${v}`);
    if (typeof v === "number" && !(Number.isFinite(v) && v >= 0))
      throw new Error(`${name}: argument '${k}' must be a finite number ≥ 0, got ${v}`);
    a[k] = v;
  }
  const names = new Set<string>();
  for (const p of params) {
    if (names.has(p.name)) throw new Error(`${name}: parameter '${p.name}' is listed twice`);
    names.add(p.name);
    if (p.value.length !== p.grad.length)
      throw new Error(`${name}: parameter '${p.name}' has ${p.value.length} values but ${p.grad.length} gradients`);
  }
  const num = (k: string) => a[k] as number;
  const bool = (k: string) => a[k] as boolean;
  for (const k of ["beta", "beta1", "beta2", "alpha", "dampening"])
    if (k in a && num(k) >= 1 && !(k === "dampening" && num(k) === 1)) throw new Error(`${name}: ${k} must be < 1, got ${num(k)}`);
  switch (name) {
    case "sgd":
      if (bool("nesterov") && (num("momentum") <= 0 || num("dampening") !== 0))
        throw new Error("sgd: nesterov momentum requires a momentum > 0 and zero dampening (as torch)");
      return new Sgd(name, params, num("lr"), num("weight_decay"), num("momentum"), num("dampening"), bool("nesterov"));
    case "momentum":
      return new Sgd(name, params, num("lr"), num("weight_decay"), num("beta"), num("dampening"), false);
    case "nesterov":
      return new Sgd(name, params, num("lr"), num("weight_decay"), num("beta"), 0, true);
    case "adagrad":
      return new Adagrad(name, params, num("lr"), num("weight_decay"), num("lr_decay"), num("eps"), num("initial_accumulator"));
    case "rmsprop":
      return new RmsProp(name, params, num("lr"), num("weight_decay"), num("alpha"), num("eps"), num("momentum"), bool("centered"));
    case "adam":
    case "adamw":
      return new Adam(
        name,
        params,
        num("lr"),
        num("weight_decay"),
        num("beta1"),
        num("beta2"),
        num("eps"),
        bool("amsgrad"),
        name === "adamw",
      );
  }
  throw new Error(`unknown optimizer '${name}'`);
}

/** State for a parameter: in the kernel heap beside it when it lies there (the wasm updates then run in place). */
function stateArray(value: Float32Array): Float32Array {
  const kh = kernelHeap();
  return (kh?.holds(value) && heapFloat32(kh, value.length)) || new Float32Array(value.length);
}

abstract class BaseOptimizer implements Optimizer {
  stepCount = 0;
  /** per-slot, per-parameter state buffers */
  protected readonly slots: Float32Array[][] = [];
  private readonly stepTensor = new Float32Array(1);

  constructor(
    readonly name: string,
    readonly params: readonly ParamBuffer[],
    public lr: number,
    protected readonly weightDecay: number,
    /** torch's state key of each slot */
    private readonly slotNames: readonly string[],
    init = 0,
  ) {
    for (let s = 0; s < slotNames.length; s++) this.slots.push(params.map((p) => stateArray(p.value).fill(init)));
  }

  step(lr: number = this.lr): void {
    this.stepCount++;
    const ps = this.params;
    for (let i = 0; i < ps.length; i++) {
      const p = ps[i]!;
      this.update(i, p, lr * (p.lrScale ?? 1), p.decay ? this.weightDecay : 0);
    }
  }

  protected abstract update(i: number, p: ParamBuffer, lr: number, wd: number): void;

  stateTensors(): Map<string, Float32Array> {
    const m = new Map<string, Float32Array>();
    this.stepTensor[0] = this.stepCount;
    m.set("step", this.stepTensor);
    for (let s = 0; s < this.slotNames.length; s++)
      for (let i = 0; i < this.params.length; i++) m.set(`${this.params[i]!.name}.${this.slotNames[s]}`, this.slots[s]![i]!);
    return m;
  }

  loadState(map: ReadonlyMap<string, Float32Array>): void {
    const want = this.stateTensors();
    for (const [k, buf] of want) {
      const got = map.get(k);
      if (!got) throw new Error(`${this.name} state: missing tensor '${k}'`);
      if (got.length !== buf.length) throw new Error(`${this.name} state: '${k}' has ${got.length} values, expected ${buf.length}`);
    }
    for (const k of map.keys())
      if (!want.has(k)) throw new Error(`${this.name} state: unexpected tensor '${k}' (no such parameter or slot)`);
    const step = map.get("step")![0]!;
    if (!Number.isInteger(step) || step < 0) throw new Error(`${this.name} state: step must be a non-negative integer, got ${step}`);
    for (const [k, buf] of want) if (k !== "step") buf.set(map.get(k)!);
    this.stepCount = step;
  }
}

/** torch.optim.SGD: g ← g + wd·w; v ← g at step 1, else μv + (1−dampening)g; d = nesterov ? g + μv : v; w ← w − lr·d. */
class Sgd extends BaseOptimizer {
  constructor(
    name: string,
    params: readonly ParamBuffer[],
    lr: number,
    wd: number,
    private readonly mu: number,
    private readonly dampening: number,
    private readonly nesterov: boolean,
  ) {
    super(name, params, lr, wd, mu !== 0 ? ["momentum_buffer"] : []);
  }

  protected update(i: number, p: ParamBuffer, lr: number, wd: number): void {
    const w = p.value;
    const gr = p.grad;
    const n = w.length;
    const mu = this.mu;
    if (mu === 0) {
      if (sgdUpdate(w, gr, lr, wd)) return;
      for (let j = 0; j < n; j++) w[j] = w[j]! - lr * (gr[j]! + wd * w[j]!);
      return;
    }
    const buf = this.slots[0]![i]!;
    const first = this.stepCount === 1;
    const damp = 1 - this.dampening;
    if (sgdMomentumUpdate(w, gr, buf, lr, wd, mu, damp, first, this.nesterov)) return;
    for (let j = 0; j < n; j++) {
      const g = gr[j]! + wd * w[j]!;
      // torch clones the first gradient into the buffer (no dampening on step 1)
      const v = first ? g : mu * buf[j]! + damp * g;
      buf[j] = v;
      w[j] = w[j]! - lr * (this.nesterov ? g + mu * v : v);
    }
  }
}

/** torch.optim.Adagrad: g ← g + wd·w; s ← s + g²; w ← w − lr/(1 + (t−1)·lr_decay) · g/(√s + eps). */
class Adagrad extends BaseOptimizer {
  constructor(
    name: string,
    params: readonly ParamBuffer[],
    lr: number,
    wd: number,
    private readonly lrDecay: number,
    private readonly eps: number,
    initialAccumulator: number,
  ) {
    super(name, params, lr, wd, ["sum"], initialAccumulator);
  }

  protected update(i: number, p: ParamBuffer, lr: number, wd: number): void {
    const w = p.value;
    const gr = p.grad;
    const s = this.slots[0]![i]!;
    const clr = lr / (1 + (this.stepCount - 1) * this.lrDecay);
    const eps = this.eps;
    for (let j = 0, n = w.length; j < n; j++) {
      const g = gr[j]! + wd * w[j]!;
      const acc = s[j]! + g * g;
      s[j] = acc;
      w[j] = w[j]! - (clr * g) / (Math.sqrt(s[j]!) + eps);
    }
  }
}

/**
 * torch.optim.RMSprop: g ← g + wd·w; a ← αa + (1−α)g²; centered: ḡ ← αḡ + (1−α)g, den = √(a − ḡ²) + eps,
 * else den = √a + eps; with momentum μ > 0: b ← μb + g/den, w ← w − lr·b; else w ← w − lr·g/den.
 */
class RmsProp extends BaseOptimizer {
  constructor(
    name: string,
    params: readonly ParamBuffer[],
    lr: number,
    wd: number,
    private readonly alpha: number,
    private readonly eps: number,
    private readonly mu: number,
    private readonly centered: boolean,
  ) {
    super(name, params, lr, wd, ["square_avg", ...(mu > 0 ? ["momentum_buffer"] : []), ...(centered ? ["grad_avg"] : [])]);
  }

  protected update(i: number, p: ParamBuffer, lr: number, wd: number): void {
    const w = p.value;
    const gr = p.grad;
    const sq = this.slots[0]![i]!;
    const buf = this.mu > 0 ? this.slots[1]![i]! : undefined;
    const gavg = this.centered ? this.slots[this.mu > 0 ? 2 : 1]![i]! : undefined;
    const { alpha, eps, mu } = this;
    for (let j = 0, n = w.length; j < n; j++) {
      const g = gr[j]! + wd * w[j]!;
      sq[j] = alpha * sq[j]! + (1 - alpha) * g * g;
      let avg: number;
      if (gavg) {
        gavg[j] = alpha * gavg[j]! + (1 - alpha) * g;
        avg = Math.sqrt(sq[j]! - gavg[j]! * gavg[j]!) + eps;
      } else avg = Math.sqrt(sq[j]!) + eps;
      if (buf) {
        buf[j] = mu * buf[j]! + g / avg;
        w[j] = w[j]! - lr * buf[j]!;
      } else w[j] = w[j]! - (lr * g) / avg;
    }
  }
}

/**
 * torch.optim.Adam / AdamW: m ← β1·m + (1−β1)g; v ← β2·v + (1−β2)g²; m̂ = m/(1−β1^t), v̂ = v/(1−β2^t)
 * (amsgrad: v_max ← max(v_max, v) replaces v); w ← w − lr·m̂/(√v̂ + eps).
 * Adam adds wd·w to g; AdamW first shrinks w ← w·(1 − lr·wd).
 */
class Adam extends BaseOptimizer {
  constructor(
    name: string,
    params: readonly ParamBuffer[],
    lr: number,
    wd: number,
    private readonly beta1: number,
    private readonly beta2: number,
    private readonly eps: number,
    private readonly amsgrad: boolean,
    private readonly decoupled: boolean,
  ) {
    super(name, params, lr, wd, ["exp_avg", "exp_avg_sq", ...(amsgrad ? ["max_exp_avg_sq"] : [])]);
  }

  protected update(i: number, p: ParamBuffer, lr: number, wd: number): void {
    const w = p.value;
    const gr = p.grad;
    const m = this.slots[0]![i]!;
    const v = this.slots[1]![i]!;
    const vmax = this.amsgrad ? this.slots[2]![i]! : undefined;
    const { beta1, beta2, eps } = this;
    const t = this.stepCount;
    // torch's arrangement: step_size = lr/bc1, denom = √v/√bc2 + eps
    const stepSize = lr / (1 - beta1 ** t);
    const sqrtBc2 = Math.sqrt(1 - beta2 ** t);
    const shrink = this.decoupled ? 1 - lr * wd : 1;
    const l2 = this.decoupled ? 0 : wd;
    if (!vmax && adamUpdate(w, gr, m, v, { shrink, l2, beta1, beta2, stepSize, sqrtBc2, eps })) return;
    for (let j = 0, n = w.length; j < n; j++) {
      const wj = w[j]! * shrink;
      const g = gr[j]! + l2 * wj;
      m[j] = beta1 * m[j]! + (1 - beta1) * g;
      v[j] = beta2 * v[j]! + (1 - beta2) * g * g;
      let vv = v[j]!;
      if (vmax) {
        if (vv > vmax[j]!) vmax[j] = vv;
        vv = vmax[j]!;
      }
      w[j] = wj - (stepSize * m[j]!) / (Math.sqrt(vv) / sqrtBc2 + eps);
    }
  }
}

// ---------------------------------------------------------------------------
// Gradient utilities

/** sqrt(Σ g²) over all parameters' gradients, accumulated in float64. */
export function gradNorm(params: readonly ParamBuffer[]): number {
  let s = 0;
  for (const p of params) {
    const g = p.grad;
    for (let j = 0, n = g.length; j < n; j++) s += g[j]! * g[j]!;
  }
  return Math.sqrt(s);
}

/** sqrt(Σ w²) over all parameters' values. */
export function paramNorm(params: readonly ParamBuffer[]): number {
  let s = 0;
  for (const p of params) {
    const w = p.value;
    for (let j = 0, n = w.length; j < n; j++) s += w[j]! * w[j]!;
  }
  return Math.sqrt(s);
}

/**
 * torch.nn.utils.clip_grad_norm_: with total = the global L2 norm of all gradients, scale every
 * gradient by min(1, maxNorm/(total + 1e-6)). Returns the total norm before clipping (a
 * non-finite total is returned as is and the gradients are left alone, for the caller to skip the step).
 */
export function clipGradNorm(params: readonly ParamBuffer[], maxNorm: number): number {
  const total = gradNorm(params);
  if (!Number.isFinite(total)) return total;
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1) scaleGrads(params, coef);
  return total;
}

/** torch.nn.utils.clip_grad_value_: clamp every gradient entry into [−clip, clip]. */
export function clipGradValue(params: readonly ParamBuffer[], clip: number): void {
  for (const p of params) {
    const g = p.grad;
    for (let j = 0, n = g.length; j < n; j++) {
      const x = g[j]!;
      if (x > clip) g[j] = clip;
      else if (x < -clip) g[j] = -clip;
    }
  }
}

/** Multiply every gradient by `factor` (1/k averages k accumulated micro-batches). */
export function scaleGrads(params: readonly ParamBuffer[], factor: number): void {
  for (const p of params) {
    const g = p.grad;
    for (let j = 0, n = g.length; j < n; j++) g[j] = g[j]! * factor;
  }
}

export function zeroGrads(params: readonly ParamBuffer[]): void {
  for (const p of params) p.grad.fill(0);
}

/**
 * Gradient accumulation over `every` micro-batches whose gradients the backward pass sums
 * into the same buffers: call micro() after each backward; when it returns true the
 * gradients have been scaled by 1/every (the mean of the micro-batch means, as one big
 * batch would give) and it is time to clip, step and zero them.
 */
export class GradAccumulator {
  private count = 0;
  constructor(
    private readonly params: readonly ParamBuffer[],
    readonly every: number,
  ) {
    if (!Number.isInteger(every) || every < 1) throw new Error(`gradient accumulation needs an integer ≥ 1, got ${every}`);
  }

  micro(): boolean {
    this.count++;
    if (this.count < this.every) return false;
    this.count = 0;
    if (this.every > 1) scaleGrads(this.params, 1 / this.every);
    return true;
  }
}

// ---------------------------------------------------------------------------
// Learning-rate schedules: step t (0-based: the number of optimiser steps already taken) → lr.

export type Schedule = (step: number) => number;

export function constantLr(lr: number): Schedule {
  return () => lr;
}

/** torch StepLR: lr·gamma^floor(t/every). */
export function stepLr(lr: number, every: number, gamma: number): Schedule {
  if (!(every >= 1)) throw new Error(`step_lr: every must be ≥ 1, got ${every}`);
  return (t) => lr * gamma ** Math.floor(t / every);
}

/**
 * Cosine annealing (torch CosineAnnealingLR's closed form, T_max = total):
 * min + (lr − min)·(1 + cos(π·t/total))/2, held at min after `total` steps.
 */
export function cosineLr(lr: number, total: number, minLr = 0): Schedule {
  if (!(total >= 1)) throw new Error(`cosine: steps must be ≥ 1, got ${total}`);
  return (t) => (t >= total ? minLr : minLr + ((lr - minLr) * (1 + Math.cos((Math.PI * t) / total))) / 2);
}

/**
 * Linear warmup over `steps` steps: lr·(t+1)/steps for t < steps (the first step already
 * moves; torch's LinearLR ramps the same way), then `then(t − steps)` (default: constant lr).
 */
export function warmupLr(lr: number, steps: number, then: Schedule = constantLr(lr)): Schedule {
  if (!(steps >= 0)) throw new Error(`warmup: steps must be ≥ 0, got ${steps}`);
  return (t) => (t < steps ? (lr * (t + 1)) / steps : then(t - steps));
}

/**
 * A schedule from the train section's `schedule = name(args)` and the optimiser's base lr:
 * constant_lr(warmup), step_lr(every, gamma = 0.1, warmup), cosine(steps, min_lr = 0, warmup),
 * warmup(steps). With warmup w, step_lr and cosine start counting after it, and cosine
 * decays over steps − w so that it ends at `steps` in all.
 */
export function createSchedule(name: string, lr: number, args: Readonly<Record<string, number>> = {}): Schedule {
  const allowed: Record<string, string[]> = {
    constant_lr: ["warmup"],
    step_lr: ["every", "gamma", "warmup"],
    cosine: ["steps", "min_lr", "warmup"],
    warmup: ["steps"],
  };
  const keys = allowed[name];
  if (!keys) throw new Error(`unknown schedule '${name}'; known: ${Object.keys(allowed).join(", ")}`);
  for (const k of Object.keys(args))
    if (!keys.includes(k)) throw new Error(`${name}: unknown argument '${k}'; it takes ${keys.join(", ")}`);
  const need = (k: string): number => {
    const v = args[k];
    if (v === undefined) throw new Error(`${name}: needs '${k}'`);
    return v;
  };
  const w = args.warmup ?? 0;
  const withWarmup = (s: Schedule) => (w > 0 ? warmupLr(lr, w, s) : s);
  switch (name) {
    case "constant_lr":
      return withWarmup(constantLr(lr));
    case "step_lr":
      return withWarmup(stepLr(lr, need("every"), args.gamma ?? 0.1));
    case "cosine": {
      const total = need("steps");
      if (w >= total) throw new Error(`cosine: warmup (${w}) must be shorter than steps (${total})`);
      return withWarmup(cosineLr(lr, total - w, args.min_lr ?? 0));
    }
    default:
      return warmupLr(lr, need("steps"));
  }
}
