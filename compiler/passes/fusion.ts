// Operator fusion over the primitive IR: chains and trees of elementwise primitives that
// produce the same shape become one kernel, which reads each outside input once, keeps the
// values in between in registers, and writes only what something outside the group reads.
// Dropout (draw → compare → cast → scale), the activation after a bias add, a norm layer's
// normalise-scale-shift and their backward passes each turn from several passes over memory
// into one.
//
// A group runs where its last member is scheduled. A node joins the group of one of its
// inputs when: it is an elementwise primitive on float32 or bool values (integer arithmetic
// wraps differently and stays unfused), its shape is the group's, each outside input is the
// same shape or broadcasts in a way a flat index can follow (a scalar, or one block of axes:
// trailing like a bias, leading like per-row statistics, in the middle like a per-channel
// scale), and no member has a reader outside the group
// that runs before the group would (that reader would see the value unwritten).
//
// Row groups: a float32 reduction over trailing axes joins the group of the value it reduces
// (or starts one), and so do the elementwise nodes over its rows after it, whether row-shaped
// or holding one value per row (a max, a sum, its log). Softmax, log-softmax with its
// cross-entropy, layer and RMS norm and their backward passes each become one kernel that
// walks each row once per level of reductions (a reduction of a value that depends on an
// earlier reduction of the row is a level deeper). Every member is computed once per element:
// a value a later pass over the row reads is kept in a row temporary, never recomputed.
//
// Epilogue groups: a float32 matrix product or convolution starts a group that the elementwise
// work on its output joins as above (a bias add, an activation, a residual add, a scale, and
// chains of them, each over the product's elements, also through a reshape such as a linear
// layer's over [B, T, d]). The kernel is the product's own: as each finished stretch of the
// output leaves the GEMM (or convolution) it goes through the members in registers, so the
// raw product is written only if something outside the group reads it.
// The product's sums are computed as without fusion and rounded to float32 before the first
// member reads them. Reductions never join an epilogue group.
//
// Operands are followed through reshape and stop_gradient, which compute nothing: a member
// reads the value under them directly.

import { BINARY, UNARY, numelOf, type PGraph, type PNode } from "../prim/ir.js";

const ELEMENTWISE: ReadonlySet<string> = new Set<string>([...UNARY, ...BINARY, "where", "cast"]);
const REDUCTIONS: ReadonlySet<string> = new Set(["reduce_sum", "reduce_max", "reduce_min"]);
/** Primitives whose value is their input's under another shape or name: fusion looks through them. */
const VIEWS: ReadonlySet<string> = new Set(["reshape", "stop_gradient"]);
/** Primitives whose output an epilogue group can follow (float32 only). */
const EPILOGUE_ANCHORS: ReadonlySet<string> = new Set(["matmul", "conv"]);

/** How a fused kernel indexes an outside input at flat output position i. */
export type InputIndex =
  | { readonly kind: "same" }
  | { readonly kind: "scalar" }
  /** a trailing block repeated: x[i % size] (a bias [C] under [N, C]) */
  | { readonly kind: "inner"; readonly size: number }
  /** a leading block, each value held for `span` outputs: x[(i / span) | 0] (per-row statistics [N, 1] under [N, C]) */
  | { readonly kind: "outer"; readonly span: number }
  /** a middle block, each value held for `span` outputs and the block repeated: x[((i / span) | 0) % size] (a conv bias [C, 1, 1] under [N, C, H, W]) */
  | { readonly kind: "middle"; readonly size: number; readonly span: number };

/** Where a member's operand comes from: another member's value (its node id), or an outside input (an index into `inputs`). */
export type Operand = { readonly member: number } | { readonly input: number };

/** Rows of a row group: `count` rows of `length` contiguous elements each (the reduced trailing axes). */
export interface Rows {
  readonly count: number;
  readonly length: number;
}

export interface FusionGroup {
  /**
   * "elementwise": one pass over `size` elements. "row": per row, one pass for each level
   * of reductions; members of `size` elements are row-shaped (element j of row o at flat
   * index o·length + j), members of `rows.count` elements hold one value per row.
   * "epilogue": the first member is a matmul or conv (the anchor), computed by its own kernel;
   * the others are elementwise over its output, applied to each stretch of it as it is finished.
   */
  readonly kind: "elementwise" | "row" | "epilogue";
  /** member nodes in schedule order; the kernel runs at the last one's position */
  readonly members: readonly number[];
  /** each member's operands, aligned with members (none for an epilogue's anchor, whose kernel reads the node's inputs itself) */
  readonly operands: readonly (readonly Operand[])[];
  /**
   * nodes outside the group that members read, with how each is indexed: from the flat
   * element index (row-shaped members and elementwise groups), or, with `perRow`, from the
   * row index (members holding one value per row); a node read both ways is listed twice
   */
  readonly inputs: readonly { readonly node: number; readonly index: InputIndex; readonly perRow: boolean }[];
  /** members whose values something outside the group reads (or that are graph outputs): written to memory */
  readonly outputs: readonly number[];
  /** elements per (row-shaped) member */
  readonly size: number;
  /** row groups only */
  readonly rows?: Rows;
}

export interface FusionPlan {
  readonly groups: readonly FusionGroup[];
  /** the group of each node, or −1 */
  readonly groupOf: Int32Array;
  /** members no one outside their group reads: they live only in registers (or row temporaries) and need no storage */
  readonly virtual: Uint8Array;
}

function fusible(n: PNode, graph: PGraph): boolean {
  if (!ELEMENTWISE.has(n.op) || n.dtype === "i32") return false;
  return n.inputs.every((i) => graph.nodes[i]!.dtype !== "i32");
}

/**
 * The rows a float32 reduction walks when the axes it reduces are the trailing ones (unit
 * axes aside): `count` rows of `length` contiguous elements, summed (or maxed) in order, as
 * the reduce kernel's contiguous path does. Undefined for other reductions and nodes.
 */
export function reductionRows(n: PNode, inputShape: readonly number[]): Rows | undefined {
  if (!REDUCTIONS.has(n.op) || n.dtype !== "f32" || numelOf(inputShape) === 0) return undefined;
  const axes = n.attrs["axes"] as readonly number[];
  const reduced = inputShape.map((d, a) => d !== 1 && axes.includes(a));
  const first = reduced.indexOf(true);
  if (first < 0) return undefined;
  for (let a = first; a < inputShape.length; a++) if (!reduced[a] && inputShape[a] !== 1) return undefined;
  const length = numelOf(inputShape.slice(first));
  return { count: numelOf(inputShape) / length, length };
}

/** How an input of `shape` broadcasts to `out` under a flat index, or undefined when no simple rule does. */
export function inputIndex(shape: readonly number[], out: readonly number[]): InputIndex | undefined {
  const n = numelOf(shape);
  const total = numelOf(out);
  if (n === total) return shape.length === out.length && shape.every((d, i) => d === out[i]) ? { kind: "same" } : undefined;
  if (n === 1) return { kind: "scalar" };
  // align shape's axes with out's trailing axes (NumPy broadcasting), then look for one block
  const padded = [...Array<number>(out.length - shape.length).fill(1), ...shape];
  let first = 0;
  while (first < out.length && padded[first] === 1) first++;
  let last = out.length - 1;
  while (last >= 0 && padded[last] === 1) last--;
  for (let a = first; a <= last; a++) if (padded[a] !== out[a]) return undefined;
  if (last === out.length - 1) return { kind: "inner", size: n };
  if (first === 0) return { kind: "outer", span: total / n };
  return { kind: "middle", size: n, span: numelOf(out.slice(last + 1)) };
}

export interface FusionOptions {
  /** form row groups around trailing-axis reductions (default true; a backend without a row kernel sets false) */
  readonly rows?: boolean;
  /** fuse elementwise work into matmul and conv epilogues (default true; a backend whose products take no epilogue sets false) */
  readonly epilogues?: boolean;
  /** of the products that could anchor an epilogue, those whose kernel on this backend takes one (default: all) */
  readonly anchors?: (n: PNode) => boolean;
}

/** Whether n's output can carry an epilogue: a float32 matmul, or a float32 conv over 1 to 3 spatial axes. */
function anchorsEpilogue(n: PNode): boolean {
  if (!EPILOGUE_ANCHORS.has(n.op) || n.dtype !== "f32") return false;
  return n.op !== "conv" || (n.shape.length >= 3 && n.shape.length <= 5);
}

export function planFusion(graph: PGraph, live: Uint8Array, representative?: Int32Array, options: FusionOptions = {}): FusionPlan {
  const nodes = graph.nodes;
  const count = nodes.length;
  const rep = (i: number): number => (representative ? representative[i]! : i);
  /** the node whose value an operand holds, through reshapes and stop_gradient (which compute nothing) */
  const source = (raw: number): number => {
    let i = rep(raw);
    while (VIEWS.has(nodes[i]!.op)) i = rep(nodes[i]!.inputs[0]!);
    return i;
  };
  const groupOf = new Int32Array(count).fill(-1);
  const readers: number[][] = Array.from({ length: count }, () => []);
  const isOutput = new Uint8Array(count);
  for (const o of graph.outputs) isOutput[source(o.node)] = 1;
  const skipped = (n: PNode): boolean => !live[n.id] || rep(n.id) !== n.id;
  for (const n of nodes) if (!skipped(n) && !VIEWS.has(n.op)) for (const i of n.inputs) readers[source(i)]!.push(n.id);

  interface Building {
    readonly members: number[];
    /** the shape of the row-shaped members */
    readonly shape: readonly number[];
    rows?: Rows;
    /** started by a matmul or conv whose output the other members follow */
    readonly epilogue?: boolean;
  }
  const building: Building[] = [];
  const viewShape = (raw: number): readonly number[] => nodes[rep(raw)]!.shape;
  const holdsRows = (b: Building, id: number): boolean => numelOf(nodes[id]!.shape) === numelOf(b.shape);

  for (const n of nodes) {
    if (skipped(n) || n.nofuse) continue; // `@nofuse`: a kernel of its own
    if (options.epilogues !== false && anchorsEpilogue(n) && (options.anchors?.(n) ?? true)) {
      groupOf[n.id] = building.length;
      building.push({ members: [n.id], shape: n.shape, epilogue: true });
      continue;
    }
    const rows = options.rows === false ? undefined : reductionRows(n, viewShape(n.inputs[0] ?? n.id));
    if (!rows) {
      if (!fusible(n, graph)) continue;
      // every operand must be one a flat index can follow, whether it ends up inside or outside a group
      if (!n.inputs.every((i) => inputIndex(viewShape(i), n.shape))) continue;
    }
    let joined = -1;
    for (const raw of n.inputs) {
      const g = groupOf[source(raw)]!;
      if (g >= 0 && canJoin(n, rows, g)) {
        joined = g;
        break;
      }
    }
    if (joined < 0) {
      joined = building.length;
      building.push(rows ? { members: [], shape: viewShape(n.inputs[0]!), rows } : { members: [], shape: n.shape });
    } else if (rows) building[joined]!.rows = rows;
    building[joined]!.members.push(n.id);
    groupOf[n.id] = joined;
  }

  function canJoin(n: PNode, rows: Rows | undefined, g: number): boolean {
    const b = building[g]!;
    if (rows) {
      if (b.epilogue) return false;
      // a reduction joins the group of the row-shaped member it reduces, over rows of the group's length
      const src = source(n.inputs[0]!);
      if (groupOf[src] !== g || !holdsRows(b, src) || rows.count * rows.length !== numelOf(b.shape)) return false;
      if (b.rows && b.rows.length !== rows.length) return false;
    } else {
      // an epilogue follows the product through reshapes (a linear layer over [B, T, d] multiplies [B·T, d]): same elements, same flat order
      const perRow = b.epilogue ? numelOf(n.shape) !== numelOf(b.shape) : !sameShape(n.shape, b.shape);
      if (perRow && !(b.rows && numelOf(n.shape) === b.rows.count)) return false;
      if (!n.inputs.every((raw) => operandFits(n, perRow, raw, g))) return false;
    }
    // every reader outside the group of a member must run after n (where the group will run)
    for (const m of b.members) for (const r of readers[m]!) if (groupOf[r] !== g && r !== n.id && r < n.id) return false;
    return true;
  }

  /** Whether n, joining group g, can read operand `raw`: a member's value for the same element (or row), or any outside input. */
  function operandFits(n: PNode, perRow: boolean, raw: number, g: number): boolean {
    const index = inputIndex(viewShape(raw), n.shape);
    if (!index) return false;
    const src = source(raw);
    if (groupOf[src] !== g) return true;
    const b = building[g]!;
    if (holdsRows(b, src)) return !perRow && index.kind === "same";
    if (perRow) return index.kind === "same";
    // a row-shaped member reads its row's value of a per-row member
    return (index.kind === "outer" && index.span === b.rows!.length) || (index.kind === "scalar" && b.rows!.count === 1);
  }

  const virtual = new Uint8Array(count);
  const groups: FusionGroup[] = [];
  for (const b of building) {
    const ids = b.members;
    if (ids.length < 2) {
      groupOf[ids[0]!] = -1; // a group of one is the node's own kernel
      continue;
    }
    const index = groups.length;
    const memberSet = new Set(ids);
    for (const id of ids) groupOf[id] = index;
    const inputs: { node: number; index: InputIndex; perRow: boolean }[] = [];
    const inputAt = new Map<string, number>();
    const operands = ids.map((id, k) => {
      const n = nodes[id]!;
      // the anchor's kernel reads its own operands
      if (b.epilogue && k === 0) return [];
      const reduction = REDUCTIONS.has(n.op);
      const perRow = !reduction && !holdsRows(b, id);
      return n.inputs.map((raw): Operand => {
        const src = source(raw);
        if (memberSet.has(src)) return { member: src };
        const view = rep(raw);
        // a reduction reads its input element by element, row after row
        const idx: InputIndex = reduction ? { kind: "same" } : inputIndex(nodes[view]!.shape, n.shape)!;
        const key = `${view}|${perRow}|${JSON.stringify(idx)}`;
        let at = inputAt.get(key);
        if (at === undefined) {
          at = inputs.length;
          inputAt.set(key, at);
          inputs.push({ node: view, index: idx, perRow });
        }
        return { input: at };
      });
    });
    const outputs: number[] = [];
    for (const id of ids) {
      if (isOutput[id] || readers[id]!.some((r) => !memberSet.has(r))) outputs.push(id);
      else virtual[id] = 1;
    }
    groups.push({
      kind: b.epilogue ? "epilogue" : b.rows ? "row" : "elementwise",
      members: ids,
      operands,
      inputs,
      outputs,
      size: numelOf(b.shape),
      ...(b.rows ? { rows: b.rows } : {}),
    });
  }
  return { groups, groupOf, virtual };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
