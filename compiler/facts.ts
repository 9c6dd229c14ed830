// What elaboration learned about the source, as plain data for editors: the value every
// name took where it was defined (the tensor type of a binding, the integer a dim was bound
// to, a hyperparameter's value), and where each block was applied and under which instance
// path. A block applied several times records one value per application. Recorded only
// when asked for (`ElaborateOptions.recordFacts`), so the command line pays nothing.

import type { SourceRange } from "../grammar/ast.js";
import { Dim } from "./dim.js";
import { typeToString, type TensorType } from "./ops/types.js";
import { CallableValue, describeValue, TensorValue, TupleValue, type Value } from "./values.js";

/** The values one definition site took (a name inside a block: one per application). */
export interface ValueFact {
  readonly file: string;
  /** the defining name's range */
  readonly range: SourceRange;
  /** distinct values, as short text (`f32[B, 6, 28, 28]`, `64`, `layer conv2d`), first seen first */
  readonly values: readonly string[];
  /** set when every value was a tensor (or a tuple of tensors): their types, per application */
  readonly tensors?: readonly (readonly TensorType[])[];
  /** applications beyond those kept */
  readonly more: number;
}

/** One application of a block: `Residual(64)` at this range made instance `layer1.0`. */
export interface BlockApplication {
  readonly file: string;
  readonly range: SourceRange;
  readonly block: string;
  readonly instance: string;
}

export interface ElaborationFacts {
  readonly values: readonly ValueFact[];
  readonly applications: readonly BlockApplication[];
}

/** Distinct values kept per definition site; a block applied 100 times shows a few. */
const MAX_VALUES_PER_SITE = 8;

interface MutableFact {
  file: string;
  range: SourceRange;
  values: string[];
  tensors: TensorType[][] | undefined;
  more: number;
}

/**
 * Records as elaboration goes, at the cost of an array push per name: the values are
 * turned into text and merged per site only when an editor first reads them, so a check
 * whose facts nobody reads (diagnostics as the user types) pays almost nothing.
 */
export class FactRecorder {
  private readonly raw: { file: string; range: SourceRange; value: Value }[] = [];
  private readonly applications: BlockApplication[] = [];

  value(file: string, range: SourceRange, value: Value): void {
    this.raw.push({ file, range, value });
  }

  application(file: string, range: SourceRange, block: string, instance: string): void {
    this.applications.push({ file, range, block, instance });
  }

  finish(): ElaborationFacts {
    const raw = this.raw;
    let values: ValueFact[] | undefined;
    return {
      applications: this.applications,
      get values(): readonly ValueFact[] {
        return (values ??= mergeBySite(raw));
      },
    };
  }
}

function mergeBySite(raw: readonly { file: string; range: SourceRange; value: Value }[]): ValueFact[] {
  const byFile = new Map<string, Map<number, MutableFact>>();
  for (const { file, range, value } of raw) {
    let sites = byFile.get(file);
    if (!sites) byFile.set(file, (sites = new Map()));
    let fact = sites.get(range.start.offset);
    if (!fact) sites.set(range.start.offset, (fact = { file, range, values: [], tensors: [], more: 0 }));
    const text = showValue(value);
    if (fact.values.includes(text)) continue;
    if (fact.values.length >= MAX_VALUES_PER_SITE) {
      fact.more++;
      continue;
    }
    fact.values.push(text);
    const tensors = tensorTypes(value);
    if (tensors && fact.tensors) fact.tensors.push(tensors);
    else fact.tensors = undefined;
  }
  const out: ValueFact[] = [];
  for (const sites of byFile.values())
    for (const f of sites.values())
      out.push({ file: f.file, range: f.range, values: f.values, more: f.more, ...(f.tensors ? { tensors: f.tensors } : {}) });
  return out;
}

function tensorTypes(v: Value): TensorType[] | undefined {
  if (v instanceof TensorValue) return [v.type];
  if (v instanceof TupleValue && v.items.length > 0 && v.items.every((x) => x instanceof TensorValue))
    return v.items.map((x) => (x as TensorValue).type);
  return undefined;
}

/** A value in the words of the source: types as written, integers as numbers. */
export function showValue(v: Value): string {
  if (v instanceof TensorValue) return typeToString(v.type);
  if (v instanceof TupleValue) return `(${v.items.map(showValue).join(", ")})`;
  if (v instanceof Dim) return v.toString();
  if (typeof v === "number") return Number.isInteger(v) ? v.toFixed(1) : String(v);
  if (typeof v === "boolean") return String(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (v === null) return "none";
  if (Array.isArray(v)) return v.length <= 8 ? `[${v.map(showValue).join(", ")}]` : `a list of ${v.length}`;
  if (v instanceof CallableValue) return v.args.length > 0 || v.sharedInstance ? `layer ${v.displayName}` : v.displayName;
  return describeValue(v);
}
