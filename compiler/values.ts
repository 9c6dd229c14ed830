// Compile-time values of the elaborator. Integers are `Dim`s (exact, possibly symbolic);
// tensors are references into the IR under construction; callables are ops, blocks and
// their partial applications.

import type { BlockDecl, SourceRange } from "../grammar/ast.js";
import { Dim } from "./dim.js";
import type { TensorRef } from "./ir/graph.js";
import type { OpDef, TensorType } from "./ops/types.js";
import { typeToString } from "./ops/types.js";

export class TensorValue {
  constructor(
    readonly ref: TensorRef,
    readonly type: TensorType,
  ) {}
}

export class TupleValue {
  constructor(readonly items: readonly Value[]) {}
}

/** An argument as written, evaluated, with where it was written. */
export interface EvalArg {
  readonly name?: string;
  readonly value: Value;
  readonly range: SourceRange;
  readonly file: string;
}

export type CallTarget =
  | { readonly kind: "op"; readonly op: OpDef }
  | { readonly kind: "block"; readonly decl: BlockDecl; readonly file: string }
  | { readonly kind: "builtin"; readonly name: string };

export class CallableValue {
  constructor(
    readonly target: CallTarget,
    /** arguments bound so far (a partial application) */
    readonly args: readonly EvalArg[] = [],
    /** set by `layer NAME = ...`: every application shares this instance's parameters */
    readonly sharedInstance?: string,
  ) {}

  get displayName(): string {
    return this.target.kind === "op" ? this.target.op.name : this.target.kind === "block" ? this.target.decl.name.name : this.target.name;
  }
}

/** `import "x" as m`: a namespace */
export class ModuleValue {
  constructor(readonly file: string) {}
}

/** an initialiser named in `param`/`state` declarations */
export class InitValue {
  constructor(
    readonly name: string,
    readonly args: Readonly<Record<string, number>>,
  ) {}
}

/** a training setting such as an optimizer or schedule call */
export class ConfigValue {
  constructor(
    readonly kind: "optimizer" | "schedule" | "augment",
    readonly name: string,
    readonly args: Readonly<Record<string, Value>>,
    readonly range: SourceRange,
  ) {}
}

/** the value of something that already failed: absorbs further errors */
export class PoisonValue {
  static readonly instance = new PoisonValue();
  readonly poisoned = true;
}

export type Value =
  | Dim
  | number
  | boolean
  | string
  | null
  | readonly Value[]
  | TensorValue
  | TupleValue
  | CallableValue
  | ModuleValue
  | InitValue
  | ConfigValue
  | PoisonValue;

export function describeValue(v: Value): string {
  if (v === null) return "none";
  if (v instanceof Dim) return v.isConstant ? `the integer ${v}` : `the dimension ${v}`;
  if (typeof v === "number") return `the number ${v}`;
  if (typeof v === "boolean") return `the boolean ${v}`;
  if (typeof v === "string") return `the string "${v.length > 40 ? v.slice(0, 40) + "…" : v}"`;
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (v instanceof TensorValue) return `a tensor ${typeToString(v.type)}`;
  if (v instanceof TupleValue) return `a tuple of ${v.items.length}`;
  if (v instanceof CallableValue)
    return v.args.length > 0 || v.sharedInstance
      ? `a layer '${v.displayName}' waiting for its input`
      : `the ${v.target.kind === "block" ? "block" : "operator"} '${v.displayName}'`;
  if (v instanceof ModuleValue) return `the module "${v.file}"`;
  if (v instanceof InitValue) return `the initialiser ${v.name}`;
  if (v instanceof ConfigValue) return `the ${v.kind} ${v.name}`;
  return "an invalid value";
}

export function isTensor(v: Value): v is TensorValue {
  return v instanceof TensorValue;
}
