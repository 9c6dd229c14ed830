// The elementwise primitives as WGSL expressions, with the meaning runtime/cpu/reference.ts
// gives them (read its header): NaN propagates through relu, maximum and minimum; round is
// half to even; sign(0) = 0; i32 arithmetic wraps and i32 division truncates, dividing by zero
// giving 0; integer results of float math truncate toward zero modulo 2^32 (NaN and ±∞ give
// 0); bools are u32 0/1 and any non-zero value counts as true. Where a WGSL builtin is loose
// (tanh overflows on some drivers, pow of a negative base is undefined, erf does not exist,
// log(1 + x) loses small x) a helper function gives the reference's meaning in float32.

import type { PDType } from "../../prim/ir.js";

/** An operand: a WGSL expression and the dtype of the value it holds. */
export interface Operand {
  readonly expr: string;
  readonly dtype: PDType;
}

/** Helper functions by name; a kernel emits those its expressions call. */
export const SCALAR_HELPERS = {
  dlm_isnan: `fn dlm_isnan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}`,
  dlm_to_i32: `// float → i32 as an Int32Array store: truncate toward zero, modulo 2^32; NaN and ±inf give 0
fn dlm_to_i32(x: f32) -> i32 {
  if ((bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u) { return 0; }
  let t = trunc(x);
  if (abs(t) < 2147483648.0) { return i32(t); }
  // |t| >= 2^31 is a multiple of 256, so the remainder below is exact in float32
  let r = t - 4294967296.0 * floor(t / 4294967296.0);
  return bitcast<i32>(u32(r));
}`,
  dlm_tanh: `fn dlm_tanh(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  return sign(x) * (1.0 - e) / (1.0 + e);
}`,
  dlm_sigmoid: `fn dlm_sigmoid(x: f32) -> f32 {
  return 1.0 / (1.0 + exp(-x));
}`,
  dlm_log1p: `fn dlm_log1p(x: f32) -> f32 {
  let u = 1.0 + x;
  if (u == 1.0) { return x; }
  if (abs(x) > 0.5) { return log(u); }
  return log(u) * x / (u - 1.0);
}`,
  dlm_erf: `// erf to about 1e-7: its Taylor series near 0, Numerical Recipes' erfc fit beyond
fn dlm_erf(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.5) {
    // 2/sqrt(pi) (x - x^3/3 + x^5/10 - x^7/42 + x^9/216 - x^11/1320): relative error < 2e-8 here
    let x2 = x * x;
    return x * (1.1283791671 + x2 * (-0.3761263890 + x2 * (0.1128379167 + x2 * (-0.0268661706 + x2 * (0.0052239776 + x2 * -0.0008548327)))));
  }
  let t = 1.0 / (1.0 + 0.5 * a);
  // Chebyshev fit of erfc, fractional error < 1.2e-7
  let p = -a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  let erfc = t * exp(p);
  return sign(x) * (1.0 - erfc);
}`,
  dlm_sin_octant: `// sin(|x| + shift·π/4) to float32 accuracy (WGSL's sin and cos promise only 2^-11 absolute):
// Cody-Waite reduction by π/4 in three parts, then Cephes' sinf/cosf polynomials
fn dlm_sin_octant(x: f32, shift: u32) -> f32 {
  let a = abs(x);
  var j = u32(floor(a * 1.27323954473516));
  j = j + (j & 1u);
  let y = f32(j);
  let r = ((a - y * 0.78515625) - y * 2.4187564849853515625e-4) - y * 3.77489497744594108e-8;
  let z = r * r;
  let s = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r;
  let c = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
  let o = (j + shift) & 7u;
  var v = s;
  if (o == 2u || o == 6u) { v = c; }
  if (o >= 4u) { v = -v; }
  return v;
}`,
  dlm_sin: `fn dlm_sin(x: f32) -> f32 {
  if ((bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u) { return x - x; }
  return select(1.0, -1.0, x < 0.0) * dlm_sin_octant(x, 0u);
}`,
  dlm_cos: `fn dlm_cos(x: f32) -> f32 {
  if ((bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u) { return x - x; }
  return dlm_sin_octant(x, 2u);
}`,
  dlm_pow: `// Math.pow's meaning: a negative base with an integer exponent keeps its sign's parity
fn dlm_pow(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (a >= 0.0) { return pow(a, b); }
  if (trunc(b) != b) { return sqrt(a); } // NaN, as Math.pow gives
  let m = pow(-a, b);
  if (trunc(b * 0.5) * 2.0 != b) { return -m; }
  return m;
}`,
  dlm_max: `fn dlm_max(a: f32, b: f32) -> f32 {
  if (dlm_isnan(a) || dlm_isnan(b)) { return a + b; }
  return max(a, b);
}`,
  dlm_min: `fn dlm_min(a: f32, b: f32) -> f32 {
  if (dlm_isnan(a) || dlm_isnan(b)) { return a + b; }
  return min(a, b);
}`,
  dlm_div_i32: `fn dlm_div_i32(a: i32, b: i32) -> i32 {
  if (b == 0) { return 0; }
  if (b == -1) { return 0 - a; }
  return a / b;
}`,
} as const;

export type ScalarHelper = keyof typeof SCALAR_HELPERS;

/** Helpers a helper calls in turn. */
const HELPER_NEEDS: Partial<Record<ScalarHelper, readonly ScalarHelper[]>> = {
  dlm_max: ["dlm_isnan"],
  dlm_sin: ["dlm_sin_octant"],
  dlm_cos: ["dlm_sin_octant"],
  dlm_min: ["dlm_isnan"],
};

/** A scalar expression and the helpers it calls. */
export interface ScalarExpr {
  readonly expr: string;
  readonly helpers: readonly ScalarHelper[];
}

/** The text of `names` and the helpers they call, each once, callees first. */
export function helperText(names: Iterable<ScalarHelper>): string[] {
  const out: ScalarHelper[] = [];
  const add = (n: ScalarHelper): void => {
    if (out.includes(n)) return;
    for (const m of HELPER_NEEDS[n] ?? []) add(m);
    out.push(n);
  };
  for (const n of names) add(n);
  return out.map((n) => SCALAR_HELPERS[n]);
}

/** `x` converted to the value domain of `to` (bool → 1u/0u by truth, float → i32 as the reference stores). */
export function convert(x: Operand, to: PDType): ScalarExpr {
  if (x.dtype === to) return { expr: x.expr, helpers: [] };
  if (to === "bool") return { expr: `select(0u, 1u, ${x.expr} != ${zero(x.dtype)})`, helpers: [] };
  if (to === "f32") return { expr: `f32(${x.expr})`, helpers: [] };
  // to i32
  if (x.dtype === "bool") return { expr: `i32(${x.expr})`, helpers: [] };
  return { expr: `dlm_to_i32(${x.expr})`, helpers: ["dlm_to_i32"] };
}

function zero(dtype: PDType): string {
  return dtype === "f32" ? "0.0" : dtype === "i32" ? "0" : "0u";
}

const FLOAT_UNARY: Readonly<Record<string, (x: string) => ScalarExpr>> = {
  neg: (x) => ({ expr: `-(${x})`, helpers: [] }),
  exp: (x) => ({ expr: `exp(${x})`, helpers: [] }),
  log: (x) => ({ expr: `log(${x})`, helpers: [] }),
  sqrt: (x) => ({ expr: `sqrt(${x})`, helpers: [] }),
  rsqrt: (x) => ({ expr: `(1.0 / sqrt(${x}))`, helpers: [] }),
  abs: (x) => ({ expr: `abs(${x})`, helpers: [] }),
  sign: (x) => ({ expr: `sign(${x})`, helpers: [] }),
  tanh: (x) => ({ expr: `dlm_tanh(${x})`, helpers: ["dlm_tanh"] }),
  sigmoid: (x) => ({ expr: `dlm_sigmoid(${x})`, helpers: ["dlm_sigmoid"] }),
  relu: (x) => ({ expr: `select(${x}, 0.0, ${x} < 0.0)`, helpers: [] }),
  sin: (x) => ({ expr: `dlm_sin(${x})`, helpers: ["dlm_sin"] }),
  cos: (x) => ({ expr: `dlm_cos(${x})`, helpers: ["dlm_cos"] }),
  erf: (x) => ({ expr: `dlm_erf(${x})`, helpers: ["dlm_erf"] }),
  floor: (x) => ({ expr: `floor(${x})`, helpers: [] }),
  ceil: (x) => ({ expr: `ceil(${x})`, helpers: [] }),
  round: (x) => ({ expr: `round(${x})`, helpers: [] }), // WGSL rounds half to even
  square: (x) => ({ expr: `(${x} * ${x})`, helpers: [] }),
  reciprocal: (x) => ({ expr: `(1.0 / ${x})`, helpers: [] }),
  log1p: (x) => ({ expr: `dlm_log1p(${x})`, helpers: ["dlm_log1p"] }),
};

/** Integer unary ops that have an exact integer form (the rest go through float math). */
const INT_UNARY: Readonly<Record<string, (x: string) => string>> = {
  neg: (x) => `(0 - ${x})`,
  abs: (x) => `select(${x}, 0 - ${x}, ${x} < 0)`,
  sign: (x) => `sign(${x})`,
  relu: (x) => `max(${x}, 0)`,
  square: (x) => `(${x} * ${x})`,
  floor: (x) => x,
  ceil: (x) => x,
  round: (x) => x,
};

const FLOAT_BINARY: Readonly<Record<string, (a: string, b: string) => ScalarExpr>> = {
  add: (a, b) => ({ expr: `(${a} + ${b})`, helpers: [] }),
  sub: (a, b) => ({ expr: `(${a} - ${b})`, helpers: [] }),
  mul: (a, b) => ({ expr: `(${a} * ${b})`, helpers: [] }),
  div: (a, b) => ({ expr: `(${a} / ${b})`, helpers: [] }),
  pow: (a, b) => ({ expr: `dlm_pow(${a}, ${b})`, helpers: ["dlm_pow"] }),
  maximum: (a, b) => ({ expr: `dlm_max(${a}, ${b})`, helpers: ["dlm_max"] }),
  minimum: (a, b) => ({ expr: `dlm_min(${a}, ${b})`, helpers: ["dlm_min"] }),
};

const INT_BINARY: Readonly<Record<string, (a: string, b: string) => ScalarExpr>> = {
  add: (a, b) => ({ expr: `(${a} + ${b})`, helpers: [] }),
  sub: (a, b) => ({ expr: `(${a} - ${b})`, helpers: [] }),
  mul: (a, b) => ({ expr: `(${a} * ${b})`, helpers: [] }),
  div: (a, b) => ({ expr: `dlm_div_i32(${a}, ${b})`, helpers: ["dlm_div_i32"] }),
  maximum: (a, b) => ({ expr: `max(${a}, ${b})`, helpers: [] }),
  minimum: (a, b) => ({ expr: `min(${a}, ${b})`, helpers: [] }),
};

const COMPARISON: Readonly<Record<string, string>> = { eq: "==", ne: "!=", lt: "<", le: "<=", gt: ">", ge: ">=" };

/**
 * The value of elementwise primitive `op` (unary, binary, where or cast) on `operands`, as an
 * expression of the WGSL type of `out`.
 */
export function scalarExpr(
  op: string,
  out: PDType,
  operands: readonly Operand[],
  attrs: Readonly<Record<string, unknown>> = {},
): ScalarExpr {
  const [a, b, c] = operands;
  const truth = (x: Operand): string => (x.dtype === "bool" ? `(${x.expr} != 0u)` : `(${x.expr} != ${zero(x.dtype)})`);
  if (op === "where") {
    const pick = { expr: `select(${c!.expr}, ${b!.expr}, ${truth(a!)})`, dtype: b!.dtype };
    return convert(pick, out);
  }
  if (op === "cast") return convert(a!, (attrs["dtype"] as PDType | undefined) ?? out);
  if (op === "not") return { expr: `select(1u, 0u, ${truth(a!)})`, helpers: [] };
  if (op === "and") return { expr: `select(0u, 1u, ${truth(a!)} && ${truth(b!)})`, helpers: [] };
  if (op === "or") return { expr: `select(0u, 1u, ${truth(a!)} || ${truth(b!)})`, helpers: [] };
  if (op in COMPARISON) return { expr: `select(0u, 1u, ${a!.expr} ${COMPARISON[op]} ${b!.expr})`, helpers: [] };
  if (out === "i32" && operands.every((x) => x.dtype === "i32")) {
    if (b === undefined && op in INT_UNARY) return { expr: INT_UNARY[op]!(a!.expr), helpers: [] };
    if (b !== undefined && op in INT_BINARY) return INT_BINARY[op]!(a!.expr, b.expr);
  }
  // float math, then the result stored as the output dtype stores it
  const floats = operands.map((x) => convert(x, "f32"));
  const f = b === undefined ? FLOAT_UNARY[op]?.(floats[0]!.expr) : FLOAT_BINARY[op]?.(floats[0]!.expr, floats[1]!.expr);
  if (!f) throw new Error(`wgsl: '${op}' is not an elementwise primitive`);
  const stored = convert({ expr: f.expr, dtype: "f32" }, out);
  return { expr: stored.expr, helpers: [...floats.flatMap((x) => x.helpers), ...f.helpers, ...stored.helpers] };
}
