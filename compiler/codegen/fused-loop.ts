// The loop of a fusion group (compiler/passes/fusion.ts) as JavaScript source, shared by the
// CPU executor (which compiles it at run time) and the TypeScript code generator (which writes
// it into the module). Every member is evaluated from the group's outside inputs, in
// registers, with the primitives' scalar functions and the float32 rounding a Float32Array
// store applies after every member, so fused and unfused code agree bit for bit. Only numbers
// and fixed names go into the source, never text from a model.
//
// An elementwise group is one pass over its elements. A row group walks each row once per
// level of reductions: a pass computes the row-shaped members of its level and accumulates
// the reductions over them in element order from 0, in a float64 number rounded to float32 at
// the end (as the reduce kernel's contiguous path does, so sums come out bit for bit the
// same); between passes the values held one per row (the reductions and the elementwise work
// on them) are computed. A row-shaped value a later pass reads is kept in a row temporary (or
// read back from its output), never recomputed.
//
// An epilogue group's loop is the body of a function (src, s, o, n) the matmul or conv kernel
// calls for each finished stretch of its output: src[s .. s+n) hold the product's float32
// values of the flat output elements o .. o+n), which the members follow element by element.

import type { FusionGroup, InputIndex, Operand } from "../passes/fusion.js";
import { numelOf, type PGraph } from "../prim/ir.js";

export interface FusedLoop {
  /** the primitives whose scalar functions the loop calls, as parameters f0, f1, … */
  readonly scalarOps: readonly string[];
  /** outside inputs, as parameters in0, in1, … (after the scalar functions), aligned with the group's inputs */
  readonly inputs: readonly number[];
  /** members written to memory, as parameters out0, out1, … (after the inputs) */
  readonly outputs: readonly number[];
  /** statements run once when the kernel is built (row temporaries); they may use the parameters */
  readonly setup: string;
  /**
   * statements of the kernel's body (it takes no arguments; an epilogue's takes (src, s, o, n),
   * see above); they use `fround` for Math.fround
   */
  readonly body: string;
}

/** The parameters of an epilogue loop's function. */
export const EPILOGUE_PARAMS = ["src", "s", "o", "n"] as const;

export interface FusedLoopOptions {
  /** TypeScript source: element reads carry a non-null assertion (noUncheckedIndexedAccess) */
  readonly typed?: boolean;
}

const REDUCE_INIT: Readonly<Record<string, string>> = { reduce_sum: "0", reduce_max: "-Infinity", reduce_min: "Infinity" };

export function fusedLoop(
  graph: PGraph,
  group: FusionGroup,
  isScalarOp: (op: string) => boolean,
  options: FusedLoopOptions = {},
): FusedLoop {
  const bang = options.typed ? "!" : "";
  const scalarOps: string[] = [];
  const memberAt = new Map(group.members.map((id, k) => [id, k]));
  const outputAt = new Map(group.outputs.map((id, k) => [id, k]));
  const operandName = (ref: Operand): string => {
    if ("input" in ref) return `x${ref.input}`;
    const k = memberAt.get(ref.member);
    if (k === undefined) throw new Error(`fusion: a member reads node ${ref.member}, which the group does not hold`);
    return `t${k}`;
  };
  /** member k's value from its operands' registers, rounded as its dtype's store would round it */
  const expression = (k: number): string => {
    const n = graph.nodes[group.members[k]!]!;
    // an epilogue's anchor: the product's value, computed by its own kernel
    if (group.kind === "epilogue" && k === 0) return `src[s + e]${bang}`;
    const operands = group.operands[k]!.map(operandName);
    let expr: string;
    if (n.op === "where") expr = `${operands[0]} !== 0 ? ${operands[1]} : ${operands[2]}`;
    else if (n.op === "cast") expr = n.dtype === "bool" ? `${operands[0]} !== 0 ? 1 : 0` : `${operands[0]}`;
    else {
      if (!isScalarOp(n.op)) throw new Error(`fusion: '${n.op}' is not elementwise`);
      scalarOps.push(n.op);
      expr = `f${scalarOps.length - 1}(${operands.join(", ")})`;
    }
    // float32 results round as a Float32Array store would; bool results are already 0 or 1
    return n.dtype === "f32" ? `fround(${expr})` : expr;
  };
  const loop = group.kind === "row" ? rowLoop(graph, group, expression, outputAt, bang) : flatLoop(group, expression, outputAt, bang);
  return { scalarOps, inputs: group.inputs.map((i) => i.node), outputs: group.outputs, ...loop };
}

type Emit = { setup: string; body: string };

/**
 * One pass over flat elements: all `group.size` of them, or, for an epilogue, the stretch
 * o .. o+n) (broadcast counters start where o falls, and `e` counts along the stretch).
 */
function flatLoop(group: FusionGroup, expression: (k: number) => string, outputAt: ReadonlyMap<number, number>, bang: string): Emit {
  const epilogue = group.kind === "epilogue";
  const reads: string[] = [];
  const steps: string[] = [];
  const counters: string[] = [];
  /** a counter's first value: 0 from the start, else where the stretch's first element falls */
  const from = (expr: string): string => (epilogue ? expr : "0");
  group.inputs.forEach((input, k) => {
    const index = input.index;
    // broadcast inputs follow the flat index with counters that wrap, not a division per element
    if (index.kind === "same") reads.push(`const x${k} = in${k}[i]${bang};`);
    else if (index.kind === "scalar") reads.push(`const x${k} = in${k}[0]${bang};`);
    else if (index.kind === "inner") {
      counters.push(`let j${k} = ${from(`o % ${index.size}`)};`);
      reads.push(`const x${k} = in${k}[j${k}]${bang};`);
      steps.push(`if (++j${k} === ${index.size}) j${k} = 0;`);
    } else if (index.kind === "middle") {
      counters.push(`let j${k} = ${from(`((o / ${index.span}) | 0) % ${index.size}`)};`, `let c${k} = ${from(`o % ${index.span}`)};`);
      reads.push(`const x${k} = in${k}[j${k}]${bang};`);
      steps.push(`if (++c${k} === ${index.span}) {`, `c${k} = 0;`, `if (++j${k} === ${index.size}) j${k} = 0;`, `}`);
    } else {
      counters.push(`let r${k} = ${from(`(o / ${index.span}) | 0`)};`, `let c${k} = ${from(`o % ${index.span}`)};`);
      reads.push(`const x${k} = in${k}[r${k}]${bang};`);
      steps.push(`if (++c${k} === ${index.span}) {`, `c${k} = 0;`, `r${k}++;`, `}`);
    }
  });
  const body: string[] = [...reads];
  group.members.forEach((_, k) => body.push(`const t${k} = ${expression(k)};`));
  group.members.forEach((id, k) => {
    const o = outputAt.get(id);
    if (o !== undefined) body.push(`out${o}[i] = t${k};`);
  });
  const loop = epilogue ? ["for (let e = 0; e < n; e++) {", "const i = o + e;"] : [`for (let i = 0; i < ${group.size}; i++) {`];
  return { setup: "", body: [...counters, ...loop, ...body, ...steps, "}"].join("\n") };
}

/** The element an index reads at flat position `flat` (a source expression). */
function indexAt(index: InputIndex, flat: string): string {
  switch (index.kind) {
    case "same":
      return flat;
    case "scalar":
      return "0";
    case "inner":
      return `${flat} % ${index.size}`;
    case "outer":
      return `(${flat} / ${index.span}) | 0`;
    case "middle":
      return `((${flat} / ${index.span}) | 0) % ${index.size}`;
  }
}

/** The element an input of a row-shaped member reads at element j of the row starting at flat index b (i = b + j). */
function rowIndexAt(index: InputIndex, length: number): string {
  if (index.kind === "inner" && length % index.size === 0) return index.size === length ? "j" : `j % ${index.size}`;
  return indexAt(index, "i");
}

/** Whether an input indexed from the flat element position reads one value for a whole row of `length` elements. */
function rowInvariant(index: InputIndex, length: number): boolean {
  return index.kind === "scalar" || ((index.kind === "outer" || index.kind === "middle") && index.span % length === 0);
}

function rowLoop(
  graph: PGraph,
  group: FusionGroup,
  expression: (k: number) => string,
  outputAt: ReadonlyMap<number, number>,
  bang: string,
): Emit {
  const { count, length } = group.rows!;
  const members = group.members.map((id) => graph.nodes[id]!);
  const memberAt = new Map(group.members.map((id, k) => [id, k]));
  const reduction = members.map((n) => n.op in REDUCE_INIT);
  const rowShaped = members.map((n, k) => !reduction[k] && numelOf(n.shape) === group.size);
  const memberOperands = group.operands.map((ops) => ops.flatMap((r) => ("member" in r ? [memberAt.get(r.member)!] : [])));
  // level: the pass a row-shaped member is computed in or a reduction accumulates in; for a
  // value held per row, the pass before which it is computed (all it reads is known by then)
  const level: number[] = [];
  members.forEach((_, k) => {
    let l = 0;
    for (const m of memberOperands[k]!) l = Math.max(l, reduction[m] ? level[m]! + 1 : level[m]!);
    level.push(l);
  });
  const last = Math.max(...level);
  // row-shaped members a later pass reads: from their output, else from a row temporary
  const kept = new Set<number>();
  members.forEach((_, k) => {
    for (const m of memberOperands[k]!) if (rowShaped[m] && level[m]! < level[k]!) kept.add(m);
  });
  const setup: string[] = [];
  const store = (m: number): string => {
    const o = outputAt.get(group.members[m]!);
    return o !== undefined ? `out${o}[i]` : `row${m}[j]`;
  };
  for (const m of kept) if (!outputAt.has(group.members[m]!)) setup.push(`const row${m} = new Float32Array(${length});`);

  const body: string[] = [`for (let r = 0, b = 0; r < ${count}; r++, b += ${length}) {`];
  // inputs read once a row: those of the per-row members, and broadcasts constant along a row
  group.inputs.forEach((input, k) => {
    if (input.perRow) body.push(`const x${k} = in${k}[${indexAt(input.index, "r")}]${bang};`);
    else if (rowInvariant(input.index, length)) body.push(`const x${k} = in${k}[${indexAt(input.index, "b")}]${bang};`);
  });
  const inLoopInputs = (ks: readonly number[]): Set<number> => {
    const used = new Set<number>();
    for (const k of ks) for (const r of group.operands[k]!) if ("input" in r) used.add(r.input);
    return used;
  };
  for (let l = 0; l <= last; l++) {
    for (const [k] of members.entries())
      if (!rowShaped[k] && !reduction[k] && level[k] === l) {
        body.push(`const t${k} = ${expression(k)};`);
        const o = outputAt.get(group.members[k]!);
        if (o !== undefined) body.push(`out${o}[r] = t${k};`);
      }
    const pass = [...members.keys()].filter((k) => (rowShaped[k] || reduction[k]) && level[k] === l);
    if (pass.length === 0) continue;
    const sums = pass.filter((k) => reduction[k]);
    for (const k of sums) body.push(`let a${k} = ${REDUCE_INIT[members[k]!.op]};`);
    const loopStart = body.push(`for (let j = 0; j < ${length}; j++) {`);
    for (const x of inLoopInputs(pass)) {
      const input = group.inputs[x]!;
      if (!input.perRow && !rowInvariant(input.index, length))
        body.push(`const x${x} = in${x}[${rowIndexAt(input.index, length)}]${bang};`);
    }
    const earlier = new Set<number>();
    for (const k of pass) for (const m of memberOperands[k]!) if (rowShaped[m] && level[m]! < l) earlier.add(m);
    for (const m of earlier) body.push(`const t${m} = ${store(m)}${bang};`);
    for (const k of pass) {
      if (reduction[k]) {
        const v = operandValue(group.operands[k]![0]!, memberAt);
        const op = members[k]!.op;
        body.push(op === "reduce_sum" ? `a${k} += ${v};` : `a${k} = Math.${op === "reduce_max" ? "max" : "min"}(a${k}, ${v});`);
        continue;
      }
      body.push(`const t${k} = ${expression(k)};`);
      const o = outputAt.get(group.members[k]!);
      if (o !== undefined) body.push(`out${o}[i] = t${k};`);
      else if (kept.has(k)) body.push(`row${k}[j] = t${k};`);
    }
    // the flat index, where the pass uses it
    if (body.slice(loopStart).some((line) => /\bi\b/.test(line))) body.splice(loopStart, 0, "const i = b + j;");
    body.push("}");
    for (const k of sums) {
      body.push(`const t${k} = fround(a${k});`);
      const o = outputAt.get(group.members[k]!);
      if (o !== undefined) body.push(`out${o}[r] = t${k};`);
    }
  }
  // per-row members that read the last pass's reductions
  for (const [k] of members.entries())
    if (!rowShaped[k] && !reduction[k] && level[k] === last + 1) {
      body.push(`const t${k} = ${expression(k)};`);
      const o = outputAt.get(group.members[k]!);
      if (o !== undefined) body.push(`out${o}[r] = t${k};`);
    }
  body.push("}");
  return { setup: setup.join("\n"), body: body.join("\n") };
}

function operandValue(ref: Operand, memberAt: ReadonlyMap<number, number>): string {
  return "input" in ref ? `x${ref.input}` : `t${memberAt.get(ref.member)!}`;
}
