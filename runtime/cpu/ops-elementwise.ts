// Elementwise loops for the float32 executor. The hot arithmetic ops get their own loops (a
// contiguous one and a strided one for broadcasting rows); everything else goes through a
// scalar function with the meaning the reference gives it (reference.ts, ops-math.ts).

import { BINARY_F, relu, UNARY_F } from "./ops-math.js";

export { BINARY_F, UNARY_F };

export type Buf = Float32Array | Int32Array | Uint8Array;

/** A unary kernel over n elements; the common float ops have dedicated loops. */
export function unaryLoop(op: string, i32: boolean, o: Buf, x: Buf, n: number): () => void {
  if (!i32)
    switch (op) {
      case "neg":
        return () => {
          for (let i = 0; i < n; i++) o[i] = -x[i]!;
        };
      case "exp":
        return () => {
          for (let i = 0; i < n; i++) o[i] = Math.exp(x[i]!);
        };
      case "log":
        return () => {
          for (let i = 0; i < n; i++) o[i] = Math.log(x[i]!);
        };
      case "sqrt":
        return () => {
          for (let i = 0; i < n; i++) o[i] = Math.sqrt(x[i]!);
        };
      case "rsqrt":
        return () => {
          for (let i = 0; i < n; i++) o[i] = 1 / Math.sqrt(x[i]!);
        };
      case "tanh":
        return () => {
          for (let i = 0; i < n; i++) o[i] = Math.tanh(x[i]!);
        };
      case "sigmoid":
        return () => {
          for (let i = 0; i < n; i++) o[i] = 1 / (1 + Math.exp(-x[i]!));
        };
      case "relu":
        return () => {
          for (let i = 0; i < n; i++) o[i] = relu(x[i]!);
        };
      case "square":
        return () => {
          for (let i = 0; i < n; i++) {
            const v = x[i]!;
            o[i] = v * v;
          }
        };
      case "reciprocal":
        return () => {
          for (let i = 0; i < n; i++) o[i] = 1 / x[i]!;
        };
    }
  const f = i32 && op === "square" ? (v: number) => Math.imul(v, v) : UNARY_F[op]!;
  return () => {
    for (let i = 0; i < n; i++) o[i] = f(x[i]!);
  };
}

// Each op below has its own loop (its own type feedback: a comparison's loads see its input type and
// its stores the bool output only), where the generic loop calls BINARY_F through one megamorphic site.
export const FAST_BINARY: Readonly<Record<string, number>> = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  maximum: 4,
  minimum: 5,
  eq: 6,
  ne: 7,
  lt: 8,
  le: 9,
  gt: 10,
  ge: 11,
};

/** o[i] = a[i] op b[i] for i < n (same shapes). */
export function binarySame(code: number, o: Buf, a: Buf, b: Buf, n: number): void {
  switch (code) {
    case 0:
      for (let i = 0; i < n; i++) o[i] = a[i]! + b[i]!;
      return;
    case 1:
      for (let i = 0; i < n; i++) o[i] = a[i]! - b[i]!;
      return;
    case 2:
      for (let i = 0; i < n; i++) o[i] = a[i]! * b[i]!;
      return;
    case 3:
      for (let i = 0; i < n; i++) o[i] = a[i]! / b[i]!;
      return;
    case 4:
      for (let i = 0; i < n; i++) o[i] = Math.max(a[i]!, b[i]!);
      return;
    case 5:
      for (let i = 0; i < n; i++) o[i] = Math.min(a[i]!, b[i]!);
      return;
    case 6:
      for (let i = 0; i < n; i++) o[i] = a[i]! === b[i]! ? 1 : 0;
      return;
    case 7:
      for (let i = 0; i < n; i++) o[i] = a[i]! !== b[i]! ? 1 : 0;
      return;
    case 8:
      for (let i = 0; i < n; i++) o[i] = a[i]! < b[i]! ? 1 : 0;
      return;
    case 9:
      for (let i = 0; i < n; i++) o[i] = a[i]! <= b[i]! ? 1 : 0;
      return;
    case 10:
      for (let i = 0; i < n; i++) o[i] = a[i]! > b[i]! ? 1 : 0;
      return;
    case 11:
      for (let i = 0; i < n; i++) o[i] = a[i]! >= b[i]! ? 1 : 0;
      return;
  }
}

/** o[oo + j] = a[ao + j·sa] op b[bo + j·sb] for j < n (one row of a broadcast). */
export function binaryRow(
  code: number,
  o: Buf,
  oo: number,
  a: Buf,
  ao: number,
  sa: number,
  b: Buf,
  bo: number,
  sb: number,
  n: number,
): void {
  switch (code) {
    case 0:
      for (let j = 0; j < n; j++) o[oo + j] = a[ao + j * sa]! + b[bo + j * sb]!;
      return;
    case 1:
      for (let j = 0; j < n; j++) o[oo + j] = a[ao + j * sa]! - b[bo + j * sb]!;
      return;
    case 2:
      for (let j = 0; j < n; j++) o[oo + j] = a[ao + j * sa]! * b[bo + j * sb]!;
      return;
    case 3:
      for (let j = 0; j < n; j++) o[oo + j] = a[ao + j * sa]! / b[bo + j * sb]!;
      return;
    case 4:
      for (let j = 0; j < n; j++) o[oo + j] = Math.max(a[ao + j * sa]!, b[bo + j * sb]!);
      return;
    case 5:
      for (let j = 0; j < n; j++) o[oo + j] = Math.min(a[ao + j * sa]!, b[bo + j * sb]!);
      return;
    case 6:
      for (let j = 0; j < n; j++) o[oo + j] = a[ao + j * sa]! === b[bo + j * sb]! ? 1 : 0;
      return;
    case 7:
      for (let j = 0; j < n; j++) o[oo + j] = a[ao + j * sa]! !== b[bo + j * sb]! ? 1 : 0;
      return;
    case 8:
      for (let j = 0; j < n; j++) o[oo + j] = a[ao + j * sa]! < b[bo + j * sb]! ? 1 : 0;
      return;
    case 9:
      for (let j = 0; j < n; j++) o[oo + j] = a[ao + j * sa]! <= b[bo + j * sb]! ? 1 : 0;
      return;
    case 10:
      for (let j = 0; j < n; j++) o[oo + j] = a[ao + j * sa]! > b[bo + j * sb]! ? 1 : 0;
      return;
    case 11:
      for (let j = 0; j < n; j++) o[oo + j] = a[ao + j * sa]! >= b[bo + j * sb]! ? 1 : 0;
      return;
  }
}

/**
 * For rows of a float32 operand, each against one value of b (a bias, a constant), the kernel
 * o[oo[r] + j] = a[ao[r] + j] op b[bo[r]] (r < rows, j < n) of a FAST_BINARY op; null where the
 * operand types do not fit. Its loops see float32 operands only: about 4x the strided loop.
 */
export function rowsWithScalarKernel(
  code: number,
  o: Buf,
  oo: Int32Array,
  a: Buf,
  ao: Int32Array,
  b: Buf,
  bo: Int32Array,
  rows: number,
  n: number,
): (() => void) | null {
  if (!(a instanceof Float32Array)) return null;
  if (code < 6 && o instanceof Float32Array)
    return () => {
      for (let r = 0; r < rows; r++) arithmeticRowScalar(code, o, oo[r]!, a, ao[r]!, b[bo[r]!]!, n);
    };
  if (code >= 6 && o instanceof Uint8Array)
    return () => {
      for (let r = 0; r < rows; r++) compareRowScalar(code, o, oo[r]!, a, ao[r]!, b[bo[r]!]!, n);
    };
  return null;
}

function arithmeticRowScalar(code: number, o: Float32Array, oo: number, a: Float32Array, ao: number, v: number, n: number): void {
  switch (code) {
    case 0:
      for (let j = 0; j < n; j++) o[oo + j] = a[ao + j]! + v;
      return;
    case 1:
      for (let j = 0; j < n; j++) o[oo + j] = a[ao + j]! - v;
      return;
    case 2:
      for (let j = 0; j < n; j++) o[oo + j] = a[ao + j]! * v;
      return;
    case 3:
      for (let j = 0; j < n; j++) o[oo + j] = a[ao + j]! / v;
      return;
    case 4:
      for (let j = 0; j < n; j++) o[oo + j] = Math.max(a[ao + j]!, v);
      return;
    case 5:
      for (let j = 0; j < n; j++) o[oo + j] = Math.min(a[ao + j]!, v);
      return;
  }
}

function compareRowScalar(code: number, o: Uint8Array, oo: number, a: Float32Array, ao: number, v: number, n: number): void {
  switch (code) {
    case 6:
      for (let j = 0; j < n; j++) o[oo + j] = a[ao + j]! === v ? 1 : 0;
      return;
    case 7:
      for (let j = 0; j < n; j++) o[oo + j] = a[ao + j]! !== v ? 1 : 0;
      return;
    case 8:
      for (let j = 0; j < n; j++) o[oo + j] = a[ao + j]! < v ? 1 : 0;
      return;
    case 9:
      for (let j = 0; j < n; j++) o[oo + j] = a[ao + j]! <= v ? 1 : 0;
      return;
    case 10:
      for (let j = 0; j < n; j++) o[oo + j] = a[ao + j]! > v ? 1 : 0;
      return;
    case 11:
      for (let j = 0; j < n; j++) o[oo + j] = a[ao + j]! >= v ? 1 : 0;
      return;
  }
}
