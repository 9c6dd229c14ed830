// Parameter initialisers, with torch.nn.init's formulas and conventions.
//
// Fan convention (torch.nn.init._calculate_fan_in_and_fan_out): a parameter of shape
// [out, in, *k] has fan_in = in·prod(k) and fan_out = out·prod(k); rank < 2 has no fan and
// the fan-based initialisers throw, as PyTorch does. Linear weights are [out, in], conv
// weights [out, in/groups, kh, kw], recurrent weights [gates·hidden, in].
//
// Draw order: every initialiser fills `out` in row-major order from one rng.uniform/normal
// call (orthogonal: a row-major rows×cols normal matrix), so a given seed gives the same
// numbers as any other implementation drawing the same stream the same way.

import type { Rng } from "./rng.js";

export type FloatBuffer = Float32Array | Float64Array;

export type Nonlinearity =
  | "linear"
  | "identity"
  | "conv1d"
  | "conv2d"
  | "conv3d"
  | "conv_transpose1d"
  | "conv_transpose2d"
  | "conv_transpose3d"
  | "sigmoid"
  | "tanh"
  | "relu"
  | "leaky_relu"
  | "selu";

/** torch.nn.init.calculate_gain. `param` is leaky_relu's negative slope (default 0.01, as torch). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case "linear":
    case "identity":
    case "conv1d":
    case "conv2d":
    case "conv3d":
    case "conv_transpose1d":
    case "conv_transpose2d":
    case "conv_transpose3d":
    case "sigmoid":
      return 1;
    case "tanh":
      return 5 / 3;
    case "relu":
      return Math.SQRT2;
    case "leaky_relu": {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case "selu":
      return 3 / 4;
  }
}

/** fan_in and fan_out of a parameter shape, PyTorch's convention (see the file comment). */
export function computeFans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2)
    throw new Error(`fan in and fan out need a parameter of rank ≥ 2 ([out, in, *kernel]); got shape [${shape.join(", ")}]`);
  let receptive = 1;
  for (let i = 2; i < shape.length; i++) receptive *= shape[i]!;
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

export interface KaimingOptions {
  /** negative slope of the leaky ReLU after this layer (torch: a = 0; nn.Linear uses sqrt(5)) */
  a?: number;
  mode?: "fan_in" | "fan_out";
  nonlinearity?: Nonlinearity;
}

function kaimingStd(shape: readonly number[], opts: KaimingOptions): number {
  const { fanIn, fanOut } = computeFans(shape);
  const fan = (opts.mode ?? "fan_in") === "fan_in" ? fanIn : fanOut;
  const gain = calculateGain(opts.nonlinearity ?? "leaky_relu", opts.a ?? 0);
  return gain / Math.sqrt(fan);
}

/** He et al. 2015: U(±gain·sqrt(3/fan)). With a = sqrt(5) this is nn.Linear's U(±1/sqrt(fan_in)). */
export function kaimingUniform(out: FloatBuffer, shape: readonly number[], rng: Rng, opts: KaimingOptions = {}): void {
  const bound = Math.sqrt(3) * kaimingStd(shape, opts);
  rng.uniform(out, -bound, bound);
}

/** He et al. 2015: N(0, gain²/fan). */
export function kaimingNormal(out: FloatBuffer, shape: readonly number[], rng: Rng, opts: KaimingOptions = {}): void {
  rng.normal(out, 0, kaimingStd(shape, opts));
}

/** Glorot & Bengio 2010: var = gain²·2/(fan_in + fan_out), uniform on ±sqrt(3·var). */
export function xavierUniform(out: FloatBuffer, shape: readonly number[], rng: Rng, gain = 1): void {
  const { fanIn, fanOut } = computeFans(shape);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  rng.uniform(out, -bound, bound);
}

/** Glorot & Bengio 2010: N(0, gain²·2/(fan_in + fan_out)). */
export function xavierNormal(out: FloatBuffer, shape: readonly number[], rng: Rng, gain = 1): void {
  const { fanIn, fanOut } = computeFans(shape);
  rng.normal(out, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}

/** LeCun: N(0, gain²/fan_in), a plain normal (JAX draws a truncated normal of the same variance). */
export function lecunNormal(out: FloatBuffer, shape: readonly number[], rng: Rng, gain = 1): void {
  const { fanIn } = computeFans(shape);
  rng.normal(out, 0, gain / Math.sqrt(fanIn));
}

/**
 * torch.nn.init.orthogonal_ (Saxe et al. 2013). Views the parameter as rows = shape[0] by
 * cols = numel/rows, draws that matrix row-major from N(0, 1), takes the QR decomposition of it
 * (of its transpose when rows < cols) by Householder reflections in float64, multiplies each
 * column of Q by the sign of R's diagonal entry (which makes Q unique, independent of the QR
 * algorithm, exactly as PyTorch does), transposes back and scales by gain.
 */
export function orthogonal(out: FloatBuffer, shape: readonly number[], rng: Rng, gain = 1): void {
  if (shape.length < 2) throw new Error(`orthogonal init needs a parameter of rank ≥ 2; got shape [${shape.join(", ")}]`);
  if (out.length === 0) return;
  const rows = shape[0]!;
  const cols = out.length / rows;
  const a = new Float64Array(rows * cols);
  rng.normal(a);
  // Work on m×n with m ≥ n: A itself, or Aᵀ when rows < cols; stored column-major so that
  // every Householder sweep runs over contiguous memory.
  const transposed = rows < cols;
  const m = transposed ? cols : rows;
  const n = transposed ? rows : cols;
  const w = new Float64Array(m * n); // w[j·m + i] = element (i, j)
  if (transposed)
    w.set(a); // row-major A (rows×cols) is column-major Aᵀ (cols×rows)
  else for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) w[j * m + i] = a[i * cols + j]!;
  const q = householderQ(w, m, n); // column-major m×n
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = gain * (transposed ? q[i * m + j]! : q[j * m + i]!);
}

/**
 * Reduced Q of the QR decomposition of the m×n column-major matrix `a` (overwritten), as a
 * column-major m×n matrix whose columns are sign-corrected so that R has a non-negative diagonal.
 */
function householderQ(a: Float64Array, m: number, n: number): Float64Array {
  const vs = new Float64Array(m * n); // column k: Householder vector k (entries k..m-1), unit norm
  const rdiag = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const ck = k * m;
    let norm2 = 0;
    for (let i = k; i < m; i++) norm2 += a[ck + i]! ** 2;
    const norm = Math.sqrt(norm2);
    if (norm === 0) continue;
    const x0 = a[ck + k]!;
    // alpha = -sign(x0)·‖x‖ avoids cancellation in v0 = x0 - alpha
    const alpha = x0 >= 0 ? -norm : norm;
    rdiag[k] = alpha;
    let vnorm2 = 0;
    for (let i = k; i < m; i++) {
      const v = i === k ? x0 - alpha : a[ck + i]!;
      vs[ck + i] = v;
      vnorm2 += v * v;
    }
    const inv = 1 / Math.sqrt(vnorm2);
    for (let i = k; i < m; i++) vs[ck + i]! *= inv;
    // A[k:, k:] -= 2 v (vᵀ A[k:, k:])
    for (let j = k; j < n; j++) {
      const cj = j * m;
      let dot = 0;
      for (let i = k; i < m; i++) dot += vs[ck + i]! * a[cj + i]!;
      dot *= 2;
      for (let i = k; i < m; i++) a[cj + i]! -= dot * vs[ck + i]!;
    }
  }
  // Q = H0 H1 … H(n-1) · I[:, :n], applied right to left.
  const q = new Float64Array(m * n);
  for (let j = 0; j < n; j++) q[j * m + j] = 1;
  for (let k = n - 1; k >= 0; k--) {
    const ck = k * m;
    // columns j < k are still e_j, which H_k leaves alone
    for (let j = k; j < n; j++) {
      const cj = j * m;
      let dot = 0;
      for (let i = k; i < m; i++) dot += vs[ck + i]! * q[cj + i]!;
      dot *= 2;
      for (let i = k; i < m; i++) q[cj + i]! -= dot * vs[ck + i]!;
    }
  }
  // sign correction: Q·diag(sign(r_kk)) pairs with diag(sign(r_kk))·R, whose diagonal is |r_kk|
  for (let k = 0; k < n; k++) if (rdiag[k]! < 0) for (let i = 0; i < m; i++) q[k * m + i] = -q[k * m + i]!;
  return q;
}

export const INIT_NAMES = [
  "zeros",
  "ones",
  "constant",
  "normal",
  "uniform",
  "xavier_uniform",
  "xavier_normal",
  "kaiming_uniform",
  "kaiming_normal",
  "lecun_normal",
  "orthogonal",
] as const;
export type InitName = (typeof INIT_NAMES)[number];

/** The initArgs keys each initialiser understands; anything else is a typo and throws. */
const ALLOWED_ARGS: Record<InitName, readonly string[]> = {
  zeros: [],
  ones: [],
  constant: ["value"],
  normal: ["mean", "std"],
  uniform: ["bound", "lo", "hi", "low", "high", "a", "b"],
  xavier_uniform: ["gain"],
  xavier_normal: ["gain"],
  kaiming_uniform: ["a", "fan_out", "gain"],
  kaiming_normal: ["a", "fan_out", "gain"],
  lecun_normal: ["gain"],
  orthogonal: ["gain"],
};

function isInitName(name: string): name is InitName {
  return (INIT_NAMES as readonly string[]).includes(name);
}

/**
 * Fill `out` (row-major, numel = prod(shape)) with the initialiser `name` (the compiler's
 * ParamSpec.init) and its numeric args (ParamSpec.initArgs):
 *   zeros, ones; constant {value};
 *   normal {mean = 0, std = 1} (torch.nn.init.normal_);
 *   uniform {bound} → U(-bound, bound), or {lo, hi} / {low, high} / {a, b}; default U(0, 1) as uniform_;
 *   xavier_uniform / xavier_normal / lecun_normal / orthogonal {gain = 1};
 *   kaiming_uniform / kaiming_normal {a = 0, fan_out = 0 (nonzero: mode fan_out),
 *     gain = leaky_relu's sqrt(2/(1+a²)) unless given}.
 */
export function initialize(
  name: string,
  shape: readonly number[],
  out: FloatBuffer,
  rng: Rng,
  args: Readonly<Record<string, number>> = {},
): void {
  if (!isInitName(name)) throw new Error(`unknown initialiser '${name}'; known: ${INIT_NAMES.join(", ")}`);
  for (const d of shape)
    if (!Number.isInteger(d) || d < 0) throw new Error(`${name}: shape [${shape.join(", ")}] must have non-negative integer dimensions`);
  const numel = shape.reduce((a, b) => a * b, 1);
  if (out.length !== numel) throw new Error(`${name}: buffer holds ${out.length} values but shape [${shape.join(", ")}] has ${numel}`);
  const allowed = ALLOWED_ARGS[name];
  for (const [k, v] of Object.entries(args)) {
    if (!allowed.includes(k))
      throw new Error(`${name}: unknown argument '${k}'${allowed.length ? `; it takes ${allowed.join(", ")}` : "; it takes none"}`);
    if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`${name}: argument '${k}' must be a finite number, got ${v}`);
  }
  switch (name) {
    case "zeros":
      out.fill(0);
      return;
    case "ones":
      out.fill(1);
      return;
    case "constant":
      if (args.value === undefined) throw new Error("constant: needs a value (constant(value: 0.25))");
      out.fill(args.value);
      return;
    case "normal": {
      const std = args.std ?? 1;
      if (std < 0) throw new Error(`normal: std must be ≥ 0, got ${std}`);
      rng.normal(out, args.mean ?? 0, std);
      return;
    }
    case "uniform": {
      const [lo, hi] = uniformRange(args);
      rng.uniform(out, lo, hi);
      return;
    }
    case "xavier_uniform":
      xavierUniform(out, shape, rng, args.gain ?? 1);
      return;
    case "xavier_normal":
      xavierNormal(out, shape, rng, args.gain ?? 1);
      return;
    case "kaiming_uniform":
    case "kaiming_normal": {
      const a = args.a ?? 0;
      const opts: KaimingOptions = { a, mode: args.fan_out ? "fan_out" : "fan_in" };
      if (args.gain !== undefined) {
        // an explicit gain replaces the nonlinearity's: std = gain / sqrt(fan)
        const { fanIn, fanOut } = computeFans(shape);
        const std = args.gain / Math.sqrt(args.fan_out ? fanOut : fanIn);
        if (name === "kaiming_uniform") rng.uniform(out, -Math.sqrt(3) * std, Math.sqrt(3) * std);
        else rng.normal(out, 0, std);
      } else if (name === "kaiming_uniform") kaimingUniform(out, shape, rng, opts);
      else kaimingNormal(out, shape, rng, opts);
      return;
    }
    case "lecun_normal":
      lecunNormal(out, shape, rng, args.gain ?? 1);
      return;
    case "orthogonal":
      orthogonal(out, shape, rng, args.gain ?? 1);
      return;
  }
}

function uniformRange(args: Readonly<Record<string, number>>): [number, number] {
  const pairs: [string, string][] = [
    ["lo", "hi"],
    ["low", "high"],
    ["a", "b"],
  ];
  const given = pairs.filter(([l, h]) => args[l] !== undefined || args[h] !== undefined);
  if (args.bound !== undefined) {
    if (given.length) throw new Error("uniform: give either bound or a lo/hi pair, not both");
    if (args.bound < 0) throw new Error(`uniform: bound must be ≥ 0, got ${args.bound}`);
    return [-args.bound, args.bound];
  }
  if (given.length > 1) throw new Error(`uniform: give one lo/hi pair, got ${given.map((p) => p.join("/")).join(" and ")}`);
  if (given.length === 0) return [0, 1];
  const [l, h] = given[0]!;
  const lo = args[l] ?? 0;
  const hi = args[h] ?? 1;
  if (!(lo <= hi)) throw new Error(`uniform: ${l} (${lo}) must be ≤ ${h} (${hi})`);
  return [lo, hi];
}
