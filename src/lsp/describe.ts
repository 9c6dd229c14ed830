// How operators, blocks and names read in hovers, completions and signature help: one
// signature per callee (its tensor inputs, then its settings), shared by all three.

import type { BlockDecl, SourceRange } from "../../grammar/ast.js";
import { Dim } from "../../compiler/dim.js";
import { BUILTINS } from "../../compiler/elaborate.js";
import type { AttrValue, OpDef } from "../../compiler/ops/types.js";
import type { Program } from "../../compiler/program.js";
import { TRAIN_BUILTINS } from "../../compiler/train.js";

export interface SignatureParameter {
  readonly name: string;
  readonly label: string;
  readonly doc?: string;
  /** a tensor input (filled by position, or by the pipe) rather than a setting */
  readonly isInput: boolean;
}

export interface Signature {
  readonly name: string;
  readonly label: string;
  readonly parameters: readonly SignatureParameter[];
  readonly doc?: string;
}

export function showAttrValue(v: AttrValue): string {
  if (v === null) return "none";
  if (v instanceof Dim) return v.toString();
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(showAttrValue).join(", ")}]`;
  return String(v);
}

function build(name: string, parameters: SignatureParameter[], doc?: string): Signature {
  return { name, label: `${name}(${parameters.map((p) => p.label).join(", ")})`, parameters, ...(doc ? { doc } : {}) };
}

export function opSignature(op: OpDef): Signature {
  const inputs = op.inputs.map((i) => ({
    name: i.name,
    label: i.variadic ? `...${i.name}` : i.optional ? `${i.name}?` : i.name,
    isInput: true,
  }));
  const attrs = op.attrs.map((a) => ({
    name: a.name,
    label: `${a.name}: ${a.type}${a.default !== undefined ? ` = ${showAttrValue(a.default)}` : ""}`,
    isInput: false,
    ...(a.doc ? { doc: a.doc } : {}),
  }));
  return build(op.name, [...inputs, ...attrs], op.doc);
}

/** The text of a range of a file of the program (a default value, a type as written). */
export function sourceText(program: Program, file: string, range: SourceRange): string {
  const text = program.files.get(file)?.text ?? "";
  return text.slice(range.start.offset, range.end.offset).replace(/\s+/g, " ");
}

export function blockSignature(decl: BlockDecl, program: Program, file: string): Signature {
  const inputs: SignatureParameter[] = [];
  for (const s of decl.body)
    if (s.kind === "Input")
      for (const item of s.items)
        inputs.push({ name: item.name.name, label: `${item.name.name}: ${sourceText(program, file, item.type.range)}`, isInput: true });
  const params = decl.params.map((p) => ({
    name: p.name.name,
    label: `${p.name.name}${p.type ? `: ${sourceText(program, file, p.type.range)}` : ""}${p.default ? ` = ${sourceText(program, file, p.default.range)}` : ""}`,
    isInput: false,
    ...(p.doc ? { doc: p.doc } : {}),
  }));
  return build(decl.name.name, [...inputs, ...params], decl.doc);
}

/** Compile-time builtins (`len`, `scan`) and training builtins (`adam`, `cosine`). */
export function builtinSignature(name: string): Signature | undefined {
  const train = TRAIN_BUILTINS.get(name);
  if (train)
    return build(
      name,
      train.args.map((a) => ({ name: a, label: a, isInput: false })),
      `${train.kind} (train section)`,
    );
  if (name === "scan")
    return build(
      name,
      ["xs", "cell", "axis", "reverse", "return_state", "bptt"].map((a, i) => ({ name: a, label: a, isInput: i === 0 })),
      "runs a block with `state` over a sequence: scan(xs, Cell(hidden), axis: 1)",
    );
  const usage = BUILTINS.get(name);
  return usage ? build(name, [{ name: "value", label: "value", isInput: false }], usage) : undefined;
}

/** A fenced code block for hovers. */
export function code(text: string): string {
  return "```dlm\n" + text + "\n```";
}
