// The op registry: every operator of the library, by name. Families of ops live one
// family per file and share rule builders; each file exports `ops: OpDef[]`.

import type { OpDef } from "./types.js";
import { ops as activation } from "./activation.js";
import { ops as elementwise } from "./elementwise.js";
import { ops as linear } from "./linear.js";
import { ops as conv } from "./conv.js";
import { ops as pool } from "./pool.js";
import { ops as norm } from "./norm.js";
import { ops as shape } from "./shape.js";
import { ops as reduce } from "./reduce.js";
import { ops as creation } from "./creation.js";
import { ops as attention } from "./attention.js";
import { ops as embedding } from "./embedding.js";
import { ops as recurrent } from "./recurrent.js";
import { ops as graph } from "./graph.js";
import { ops as loss } from "./loss.js";
import { ops as random } from "./random.js";

const families: readonly (readonly OpDef[])[] = [
  activation,
  elementwise,
  linear,
  conv,
  pool,
  norm,
  shape,
  reduce,
  creation,
  attention,
  embedding,
  recurrent,
  graph,
  loss,
  random,
];

function buildRegistry(): ReadonlyMap<string, OpDef> {
  const registry = new Map<string, OpDef>();
  for (const family of families)
    for (const op of family) {
      if (registry.has(op.name)) throw new Error(`op '${op.name}' is defined twice`);
      registry.set(op.name, op);
    }
  return registry;
}

export const OPS: ReadonlyMap<string, OpDef> = buildRegistry();

export function getOp(name: string): OpDef | undefined {
  return OPS.get(name);
}

export * from "./types.js";
