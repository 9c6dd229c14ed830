// A small structured builder for WGSL compute modules (STYLE.md rule 7): lines and indented
// blocks, the binding declarations of the executor's convention (kernel.ts), and the
// one-thread-per-item entry point most kernels share. Only numbers and fixed identifiers go
// into the text: names from a model never do (labels travel beside the code, not in it).

import type { PDType } from "../../prim/ir.js";
import { spreadWorkgroups, type KernelTarget, type WgslKernel } from "./kernel.js";

/** WGSL element type of each primitive dtype (bool is a u32 holding 0 or 1). */
export const WGSL_TYPE: Readonly<Record<PDType, string>> = { f32: "f32", i32: "i32", bool: "u32" };

/** Threads per workgroup of the one-thread-per-item kernels. */
export const WORKGROUP_SIZE = 64;

export class WgslWriter {
  private readonly lines: string[] = [];
  private depth = 0;

  line(...texts: string[]): this {
    for (const t of texts) this.lines.push("  ".repeat(this.depth) + t);
    return this;
  }

  /** `head {` body `}` with the body indented one level. */
  block(head: string, body: (w: this) => void): this {
    this.line(`${head} {`);
    this.depth++;
    body(this);
    this.depth--;
    return this.line("}");
  }

  text(): string {
    return this.lines.join("\n") + "\n";
  }
}

/** A storage binding of the executor's convention: what it holds and whether the kernel writes it. */
export interface Binding {
  readonly name: string;
  readonly dtype: PDType;
  readonly write: boolean;
}

/**
 * The bindings, and the helper non-finite float literals go through: WGSL evaluates
 * `bitcast<f32>(0x7f800000u)` at shader-creation time and rejects a non-finite result, but
 * never evaluates a call of a user function there.
 */
export function declareBindings(w: WgslWriter, bindings: readonly Binding[], first = 0): void {
  w.line("fn dlm_f32_bits(bits: u32) -> f32 { return bitcast<f32>(bits); }", "");
  bindings.forEach((b, i) =>
    w.line(`@group(0) @binding(${first + i}) var<storage, ${b.write ? "read_write" : "read"}> ${b.name}: array<${WGSL_TYPE[b.dtype]}>;`),
  );
}

/** The usual binding list: inputs in0.. (read), then `out` (read_write). */
export function standardBindings(inputDtypes: readonly PDType[], outDtype: PDType): Binding[] {
  return [...inputDtypes.map((dtype, k) => ({ name: `in${k}`, dtype, write: false })), { name: "out", dtype: outDtype, write: true }];
}

export interface ElementwiseKernelSpec {
  readonly label: string;
  readonly bindings: readonly Binding[];
  /** items, one thread each */
  readonly count: number;
  /** helper functions the body calls (emitted once each, before main) */
  readonly helpers?: readonly string[];
  /** the body for item `i` (a u32 below count) */
  readonly body: (w: WgslWriter) => void;
}

/** A kernel with one thread per item, item `i` = the global invocation index. */
export function itemKernel(spec: ElementwiseKernelSpec, target: KernelTarget): WgslKernel {
  const workgroups = spreadWorkgroups(spec.count, WORKGROUP_SIZE, target);
  const w = new WgslWriter();
  declareBindings(w, spec.bindings);
  for (const h of new Set(spec.helpers ?? [])) w.line("", ...h.split("\n"));
  w.line("");
  w.line(`@compute @workgroup_size(${WORKGROUP_SIZE})`);
  w.block("fn main(@builtin(global_invocation_id) gid: vec3<u32>)", (b) => {
    b.line(`let i = gid.x + gid.y * ${workgroups[0] * WORKGROUP_SIZE}u;`);
    b.line(`if (i >= ${spec.count}u) { return; }`);
    spec.body(b);
  });
  return { label: spec.label, code: w.text(), workgroups };
}

/**
 * Statements that split the flat row-major index `flat` of `shape` into per-axis variables
 * `${prefix}0`, `${prefix}1`, … (u32). Axes of size 1 are 0 without arithmetic.
 */
export function splitIndex(w: WgslWriter, flat: string, shape: readonly number[], prefix: string): void {
  let inner = 1;
  const strides = shape.map(() => 0);
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = inner;
    inner *= shape[d]!;
  }
  shape.forEach((size, d) => {
    if (size === 1) w.line(`let ${prefix}${d} = 0u;`);
    else if (d === 0) w.line(`let ${prefix}${d} = ${flat} / ${strides[d]}u;`);
    else w.line(`let ${prefix}${d} = (${flat} / ${strides[d]}u) % ${size}u;`);
  });
}

/** Row-major offset expression of per-axis index expressions in `shape` (u32). */
export function offsetExpr(shape: readonly number[], index: readonly string[]): string {
  let stride = 1;
  const terms: string[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1) terms.push(stride === 1 ? index[d]! : `${index[d]} * ${stride}u`);
    stride *= shape[d]!;
  }
  return terms.length ? terms.reverse().join(" + ") : "0u";
}

/** Offset in `shape` of the element NumPy-broadcast to the output index `${prefix}d` of a rank-`outRank` output. */
export function broadcastOffsetExpr(shape: readonly number[], outRank: number, prefix: string): string {
  const lead = outRank - shape.length;
  return offsetExpr(
    shape,
    shape.map((_, d) => `${prefix}${lead + d}`),
  );
}

/** A WGSL literal of `value` in a dtype (bool: 1u for any non-zero value; non-finite floats by their bits). */
export function literal(value: number, dtype: PDType): string {
  if (dtype === "bool") return value !== 0 ? "1u" : "0u";
  if (dtype === "i32") return `i32(${value | 0})`;
  const f = Math.fround(value);
  if (Number.isNaN(f)) return "dlm_f32_bits(0x7fc00000u)";
  if (!Number.isFinite(f)) return f > 0 ? "dlm_f32_bits(0x7f800000u)" : "dlm_f32_bits(0xff800000u)";
  // the shortest text that reads back as the same float32, in a form WGSL accepts
  const s = String(f);
  return /[.eE]/.test(s) ? `f32(${s})` : `f32(${s}.0)`;
}
