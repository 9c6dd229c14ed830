// Scalar math shared by the float64 reference (reference.ts) and the float32 executor
// (executor.ts), so that both give a primitive exactly the same meaning.

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const INV_SQRT_PI = 1 / Math.sqrt(Math.PI);

/**
 * The error function to about 1e-15 relative: for |x| < 3 the series
 * erf(x) = 2/√π · e^{-x²} · Σ 2ⁿ x^{2n+1} / (1·3·…·(2n+1)) (all terms positive, no
 * cancellation); beyond, 1 − erfc(x) with erfc from its continued fraction (modified Lentz).
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax >= 6) return x > 0 ? 1 : -1;
  if (ax < 3) {
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 0; n < 200; n++) {
      term *= (2 * x2) / (2 * n + 3);
      sum += term;
      if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
    }
    return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
  }
  // erfc(x) = e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …)))))
  const tiny = 1e-300;
  let f = ax;
  let c = ax;
  let d = 0;
  for (let n = 1; n < 300; n++) {
    const a = n / 2;
    d = ax + a * d;
    d = d === 0 ? tiny : 1 / d;
    c = ax + a / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = (INV_SQRT_PI * Math.exp(-ax * ax)) / f;
  return x > 0 ? 1 - erfc : erfc - 1;
}

/** Round half to even (NumPy, PyTorch and ONNX `Round`): 0.5 → 0, 1.5 → 2, -2.5 → -2. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // rounds half up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/**
 * max(x, 0): +0 for every x ≤ 0 (−0 included), NaN for NaN. The mask form has no branch: a
 * compiled `x < 0 ? 0 : x` branches, and on activations of random sign that branch is
 * mispredicted about half the time (4x slower). `+ 0` turns the −0 of x·0 into +0; x·0 is NaN
 * only for x = −∞ (and NaN), which takes the rarely run second form.
 */
export function relu(x: number): number {
  const y = x * bit(x > 0) + 0;
  return y === y ? y : x < 0 ? 0 : x;
}

/**
 * 1 or 0 without a branch. The comparisons below are written `bit(a > b)` rather than
 * `a > b ? 1 : 0` for the same reason as relu: the engine compiles the ternary to a branch,
 * `| 0` on a boolean to none (`+b` and `Number(b)` measured slower still).
 */
function bit(b: boolean): number {
  return (b as unknown as number) | 0;
}

/** The elementwise primitives on plain numbers (integer multiplication wraps separately, with Math.imul). */
export const UNARY_F: Readonly<Record<string, (x: number) => number>> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  abs: Math.abs,
  sign: Math.sign,
  tanh: Math.tanh,
  sigmoid,
  relu,
  sin: Math.sin,
  cos: Math.cos,
  erf,
  floor: Math.floor,
  ceil: Math.ceil,
  round: roundHalfEven,
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
  log1p: Math.log1p,
  not: (x) => bit(x === 0),
};

export const BINARY_F: Readonly<Record<string, (a: number, b: number) => number>> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: Math.max,
  minimum: Math.min,
  eq: (a, b) => bit(a === b),
  ne: (a, b) => bit(a !== b),
  lt: (a, b) => bit(a < b),
  le: (a, b) => bit(a <= b),
  gt: (a, b) => bit(a > b),
  ge: (a, b) => bit(a >= b),
  and: (a, b) => bit(a !== 0) & bit(b !== 0),
  or: (a, b) => bit(a !== 0) | bit(b !== 0),
};

/** Every elementwise primitive's scalar function, by name (fused loops call them; compiler/codegen/fused-loop.ts). */
export const SCALAR_F: Readonly<Record<string, (...x: number[]) => number>> = { ...UNARY_F, ...BINARY_F };
