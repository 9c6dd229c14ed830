// One WGSL kernel per row group of the fusion plan (compiler/passes/fusion.ts, kind "row"):
// softmax, log-softmax with cross-entropy, layer and RMS norm and their backward passes.
//
// One workgroup per row. The row is walked once per level of reductions, as the CPU's fused
// loop does (compiler/codegen/fused-loop.ts): in pass l the threads stride over the row,
// computing its row-shaped members and accumulating each reduction of the level in a register,
// and the workgroup combines the partial results: where the device has subgroups, a butterfly
// of shuffles within each subgroup and then the subgroups' results through workgroup memory;
// elsewhere a tree in workgroup memory. Values held one per row (a max, a sum, its log)
// are computed by every thread from the combined results, so they stay in registers. Unlike the
// CPU, a row-shaped value a later pass needs is recomputed from the inputs rather than kept in
// a row temporary: arithmetic is cheaper than a round trip through memory on a GPU, and the
// same expression gives the same float32 value.

import type { FusionGroup } from "../../passes/fusion.js";
import { numelOf, type PGraph } from "../../prim/ir.js";
import { flatInputOffset } from "./elementwise.js";
import { spreadWorkgroups, type KernelTarget, type WgslKernel } from "./kernel.js";
import { combiner } from "./reduce.js";
import { helperText, scalarExpr, type Operand, type ScalarHelper } from "./scalar.js";
import { declareBindings, WgslWriter, type Binding } from "./writer.js";

const REDUCTIONS = new Set(["reduce_sum", "reduce_max", "reduce_min"]);

/** Threads per row: enough for the row, a power of two (the tree halves it). */
function threadsFor(length: number, target: KernelTarget): number {
  const cap = Math.min(256, target.maxInvocationsPerWorkgroup);
  let t = 32;
  while (t < length && t * 2 <= cap) t *= 2;
  return Math.min(t, cap);
}

export function rowGroupKernel(graph: PGraph, group: FusionGroup, target: KernelTarget): WgslKernel {
  if (group.kind !== "row" || !group.rows) throw new Error("rowGroupKernel: not a row group");
  const { count, length } = group.rows;
  const threads = threadsFor(length, target);
  const subgroups = target.subgroups;
  const workgroups = spreadWorkgroups(count, 1, target);
  const members = group.members.map((id) => graph.nodes[id]!);
  const memberAt = new Map(group.members.map((id, k) => [id, k]));
  const outputAt = new Map(group.outputs.map((id, k) => [id, k]));
  const reduction = members.map((n) => REDUCTIONS.has(n.op));
  const rowShaped = members.map((n, k) => !reduction[k] && numelOf(n.shape) === group.size);
  const operandsOf = group.operands.map((ops) => ops.map((r) => ("member" in r ? { member: memberAt.get(r.member)! } : r)));
  const memberOperands = operandsOf.map((ops) => ops.flatMap((r) => ("member" in r ? [r.member] : [])));
  // the pass a member is computed in (as fused-loop.ts): one past the deepest reduction it reads
  const level: number[] = [];
  members.forEach((_, k) => {
    let l = 0;
    for (const m of memberOperands[k]!) l = Math.max(l, reduction[m] ? level[m]! + 1 : level[m]!);
    level.push(l);
  });
  const last = Math.max(...level);

  const helpers: ScalarHelper[] = [];
  const bindings: Binding[] = [];
  group.inputs.forEach((input, k) => bindings.push({ name: `in${k}`, dtype: graph.nodes[input.node]!.dtype, write: false }));
  group.outputs.forEach((id, k) => bindings.push({ name: `out${k}`, dtype: graph.nodes[id]!.dtype, write: true }));
  const operand = (ref: { member: number } | { input: number }): Operand =>
    "member" in ref
      ? { expr: `t${ref.member}`, dtype: members[ref.member]!.dtype }
      : { expr: `x${ref.input}`, dtype: graph.nodes[group.inputs[ref.input]!.node]!.dtype };
  const expression = (k: number): string => {
    const n = members[k]!;
    const e = scalarExpr(n.op, n.dtype, operandsOf[k]!.map(operand), n.attrs);
    helpers.push(...e.helpers);
    return e.expr;
  };
  const combiners = members.map((n, k) => (reduction[k] ? combiner(n.op, n.dtype) : undefined));
  for (const c of combiners) if (c) helpers.push(...c.helpers);

  const body = new WgslWriter();
  body.line(`let r = wid.x + wid.y * ${workgroups[0]}u;`);
  // r is the same for the whole workgroup, so returning early keeps the barriers uniform
  body.line(`if (r >= ${count}u) { return; }`, `let b = r * ${length}u;`, `let lane = lid.x;`);
  group.inputs.forEach((input, k) => {
    if (input.perRow) body.line(`let x${k} = in${k}[${flatInputOffset(input.index, "r")}];`);
  });
  const perRowAt = (l: number) => {
    for (const [k] of members.entries())
      if (!rowShaped[k] && !reduction[k] && level[k] === l) {
        body.line(`let t${k} = ${expression(k)};`);
        const o = outputAt.get(group.members[k]!);
        if (o !== undefined) body.line(`if (lane == 0u) { out${o}[r] = t${k}; }`);
      }
  };
  for (let l = 0; l <= last; l++) {
    perRowAt(l);
    const pass = [...members.keys()].filter((k) => (rowShaped[k] || reduction[k]) && level[k] === l);
    if (pass.length === 0) continue;
    // the row-shaped members this pass computes: its own and, recomputed, earlier ones it reads
    const computed = new Set<number>();
    const need = (k: number) => {
      for (const m of memberOperands[k]!)
        if (rowShaped[m] && !computed.has(m)) {
          computed.add(m);
          need(m);
        }
    };
    for (const k of pass) {
      if (rowShaped[k]) computed.add(k);
      need(k);
    }
    const sums = pass.filter((k) => reduction[k]);
    for (const k of sums) body.line(`var a${k} = ${combiners[k]!.init};`);
    body.block(`for (var j = lane; j < ${length}u; j += ${threads}u)`, (w) => {
      w.line("let i = b + j;");
      const inputs = new Set<number>();
      for (const k of [...computed, ...sums]) for (const r of operandsOf[k]!) if ("input" in r) inputs.add(r.input);
      for (const x of [...inputs].sort((p, q) => p - q)) w.line(`let x${x} = in${x}[${flatInputOffset(group.inputs[x]!.index, "i")}];`);
      for (const k of members.keys()) {
        if (computed.has(k)) {
          w.line(`let t${k} = ${expression(k)};`);
          const o = outputAt.get(group.members[k]!);
          if (o !== undefined && level[k] === l) w.line(`out${o}[i] = t${k};`);
        } else if (sums.includes(k)) {
          const v = operand(operandsOf[k]![0]!).expr;
          w.line(`a${k} = ${combiners[k]!.combine(`a${k}`, v)};`);
        }
      }
    });
    for (const k of sums) {
      const c = combiners[k]!;
      if (subgroups) {
        // a butterfly within each subgroup (combining as the reference does, NaN included),
        // then every thread combines the subgroups' results
        body.line(`var v${k} = a${k};`);
        body.block(`for (var s = min(sgSize, ${threads}u) / 2u; s > 0u; s = s >> 1u)`, (w) =>
          w.line(`v${k} = ${c.combine(`v${k}`, `subgroupShuffleXor(v${k}, s)`)};`),
        );
        body.line(`if (sgLane == 0u) { part[lane / sgSize] = v${k}; }`, "workgroupBarrier();");
        body.line(`var t${k} = part[0];`);
        body.block(`for (var q = 1u; q < ${threads}u / sgSize; q++)`, (w) => w.line(`t${k} = ${c.combine(`t${k}`, "part[q]")};`));
        body.line("workgroupBarrier();");
      } else {
        body.line(`part[lane] = a${k};`, "workgroupBarrier();");
        body.block(`for (var s = ${threads / 2}u; s > 0u; s = s >> 1u)`, (w) => {
          w.line(`if (lane < s) { part[lane] = ${c.combine("part[lane]", "part[lane + s]")}; }`);
          w.line("workgroupBarrier();");
        });
        // every thread takes the row's value; the barrier keeps `part` until all have read it
        body.line(`let t${k} = part[0];`, "workgroupBarrier();");
      }
      const o = outputAt.get(group.members[k]!);
      if (o !== undefined) body.line(`if (lane == 0u) { out${o}[r] = t${k}; }`);
    }
  }
  perRowAt(last + 1);

  const w = new WgslWriter();
  if (subgroups) w.line("enable subgroups;", "");
  declareBindings(w, bindings);
  for (const h of helperText(helpers)) w.line("", ...h.split("\n"));
  // row groups reduce float32 values only (fusion.ts, reductionRows)
  w.line("", `var<workgroup> part: array<f32, ${threads}>;`, "");
  w.line(`@compute @workgroup_size(${threads})`);
  const builtins = ["@builtin(workgroup_id) wid: vec3<u32>", "@builtin(local_invocation_id) lid: vec3<u32>"];
  if (subgroups) builtins.push("@builtin(subgroup_invocation_id) sgLane: u32", "@builtin(subgroup_size) sgSize: u32");
  w.block(`fn main(${builtins.join(", ")})`, (m) => m.line(...body.text().trimEnd().split("\n")));
  const ops = members.map((n) => n.op);
  return { label: `row group ${ops.join("+")} [${count}x${length}]`, code: w.text(), workgroups };
}
