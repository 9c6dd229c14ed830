// The primitive IR verifier: well-formedness (ids are positions, operands come earlier, known
// primitives, whole non-negative dims), dtypes, and the shape rules a rewrite can break
// (elementwise broadcasting, reshapes keeping the element count, reductions, transposes,
// constants holding one value per element). Tests run it after every pass.

import { broadcastShape } from "./builder.js";
import { BINARY, numelOf, PRIMITIVES, UNARY, type PGraph, type PNode } from "./ir.js";

const KNOWN: ReadonlySet<string> = new Set(PRIMITIVES);
const ELEMENTWISE: ReadonlySet<string> = new Set<string>([...UNARY, ...BINARY, "where"]);
const COMPARE_OR_LOGIC: ReadonlySet<string> = new Set(["eq", "ne", "lt", "le", "gt", "ge", "and", "or", "not"]);
const REDUCTIONS: ReadonlySet<string> = new Set(["reduce_sum", "reduce_max", "reduce_min"]);

/** The problems found, one line each (empty: the graph is well formed). */
export function verifyGraph(graph: PGraph): string[] {
  const problems: string[] = [];
  const nodes = graph.nodes;
  const show = (s: readonly number[]): string => `[${s.join(", ")}]`;
  for (const [pos, n] of nodes.entries()) {
    const bad = (msg: string): void => void problems.push(`node ${n.id} (${n.op}): ${msg}`);
    if (n.id !== pos) bad(`id ${n.id} at position ${pos}`);
    if (!KNOWN.has(n.op)) bad("unknown primitive");
    if (!["f32", "i32", "bool"].includes(n.dtype)) bad(`unknown dtype ${n.dtype}`);
    if (!n.shape.every((d) => Number.isInteger(d) && d >= 0)) bad(`bad shape ${show(n.shape)}`);
    if (!n.inputs.every((i) => Number.isInteger(i) && i >= 0 && i < pos)) {
      bad(`reads ${n.inputs.join(", ")}, not all earlier nodes`);
      continue;
    }
    const ins = n.inputs.map((i) => nodes[i]!);
    try {
      checkShape(n, ins, bad, show);
    } catch (e) {
      bad((e as Error).message);
    }
  }
  const ref = (what: string, list: readonly { name: string; node: number }[], op?: string): void => {
    for (const e of list) {
      const n = nodes[e.node];
      if (!n) problems.push(`${what} '${e.name}' names node ${e.node}, which does not exist`);
      else if (op && n.op !== op) problems.push(`${what} '${e.name}' is node ${e.node}, ${n.op} rather than ${op}`);
    }
  };
  ref("input", graph.inputs, "input");
  ref("parameter", graph.params, "param");
  ref("output", graph.outputs);
  return problems;
}

function checkShape(n: PNode, ins: readonly PNode[], bad: (msg: string) => void, show: (s: readonly number[]) => string): void {
  const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
  if (ELEMENTWISE.has(n.op)) {
    const want = ins.map((i) => i.shape).reduce((acc, s) => broadcastShape(n.op, acc, s));
    if (!same(want, n.shape)) bad(`shape ${show(n.shape)}, operands broadcast to ${show(want)}`);
    if (COMPARE_OR_LOGIC.has(n.op) && n.dtype !== "bool") bad(`a comparison or logical result is ${n.dtype}, not bool`);
    if (n.op === "where" && ins[0]!.dtype !== "bool") bad("condition is not bool");
  } else if (n.op === "reshape") {
    if (numelOf(ins[0]!.shape) !== numelOf(n.shape)) bad(`reshape of ${show(ins[0]!.shape)} into ${show(n.shape)}`);
  } else if (n.op === "transpose") {
    const perm = n.attrs["perm"] as readonly number[];
    if (
      !same(
        perm.map((p) => ins[0]!.shape[p]!),
        n.shape,
      )
    )
      bad(`transpose ${show(perm)} of ${show(ins[0]!.shape)} is not ${show(n.shape)}`);
  } else if (REDUCTIONS.has(n.op)) {
    const axes = n.attrs["axes"] as readonly number[];
    const keep = n.attrs["keepdims"] === true;
    const want = ins[0]!.shape.flatMap((d, i) => (axes.includes(i) ? (keep ? [1] : []) : [d]));
    if (!same(want, n.shape)) bad(`reducing ${show(axes)} of ${show(ins[0]!.shape)} gives ${show(want)}, not ${show(n.shape)}`);
  } else if (n.op === "attention" || n.op === "attention_grad") {
    const [q, k, v] = ins.map((i) => i.shape) as [number[], number[], number[]];
    const lead = q.slice(0, -2);
    if (!same(k.slice(0, -2), lead) || !same(v.slice(0, -2), lead) || q.at(-1) !== k.at(-1) || k.at(-2) !== v.at(-2))
      bad(`q ${show(q)}, k ${show(k)}, v ${show(v)} do not chain`);
    const want = n.op === "attention" ? [...q.slice(0, -1), v.at(-1)! + 1] : [numelOf(q) + numelOf(k) + numelOf(v)];
    if (!same(want, n.shape)) bad(`shape ${show(n.shape)}, not ${show(want)}`);
  } else if (n.op === "const") {
    const values = n.attrs["values"] as readonly number[] | undefined;
    if (values && values.length !== numelOf(n.shape)) bad(`${values.length} values for ${show(n.shape)}`);
    if (!values && typeof n.attrs["value"] !== "number") bad("neither value nor values");
  }
  // arithmetic and data movement keep their operands' dtype
  const keeps =
    (ELEMENTWISE.has(n.op) && !COMPARE_OR_LOGIC.has(n.op) && n.op !== "where") ||
    ["reshape", "transpose", "broadcast_to", "stop_gradient"].includes(n.op);
  if (keeps && ins.some((i) => i.dtype !== n.dtype)) bad(`dtype ${n.dtype} from operands of ${ins.map((i) => i.dtype).join(", ")}`);
}
