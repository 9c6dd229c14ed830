// The playground editor's completions come from the checker's own tables.

import { describe, expect, it } from "vitest";
import { completionOptions } from "../../playground/src/completion.js";
import { OPS } from "../../compiler/ops/index.js";
import { TRAIN_BUILTINS } from "../../compiler/train.js";

describe("completionOptions", () => {
  const options = completionOptions();
  const byLabel = new Map(options.map((o) => [o.label, o]));

  it("offers every operator with its signature and doc", () => {
    for (const op of OPS.values()) expect(byLabel.get(op.name)?.type).toBe("function");
    const linear = byLabel.get("linear")!;
    expect(linear.detail).toMatch(/^\(x, .*out/);
    expect(linear.info).toBe(OPS.get("linear")!.doc);
  });

  it("offers the train section's optimisers and schedules, keywords and dtypes", () => {
    for (const name of TRAIN_BUILTINS.keys()) expect(byLabel.has(name)).toBe(true);
    for (const k of ["model", "block", "train", "input", "output", "import"]) expect(byLabel.get(k)?.type).toBe("keyword");
    expect(byLabel.get("f32")?.type).toBe("type");
  });

  it("lists each label once, sorted", () => {
    expect(new Set(options.map((o) => o.label)).size).toBe(options.length);
    expect(options.map((o) => o.label)).toEqual([...options.map((o) => o.label)].sort((a, b) => a.localeCompare(b)));
  });
});
