import { describe, expect, it } from "vitest";
import { checkSource, summarizeSource } from "../../src/index.js";
import type { Diagnostic } from "../../compiler/diagnostics/index.js";

const LENET = (h: number) => `
model LeNet(classes: int = 10) {
  input x: f32[B, 3, ${h}, ${h}]
  features = x
    |> conv2d(6, kernel: 5) |> relu |> maxpool2d(2)
    |> conv2d(16, kernel: 5) |> relu |> maxpool2d(2)
  h: f32[B, 400] = flatten(features)
  output logits = h |> linear(120) |> relu |> linear(84) |> relu |> linear(classes)
}`;

function errors(diags: readonly Diagnostic[]): Diagnostic[] {
  return diags.filter((d) => d.severity === "error");
}

function summary(src: string, dims: Record<string, number> = {}) {
  const r = summarizeSource(src, "m.dlm", new Map(), { dims: new Map(Object.entries(dims)) });
  expect(errors(r.diagnostics).map((d) => `${d.code} ${d.message}`)).toEqual([]);
  return r.report!;
}

describe("elaboration and analysis", () => {
  it("counts the seed-002 LeNet exactly (params and MACs)", () => {
    const r = summary(LENET(32));
    expect(r.params.total).toBe(62006);
    expect(r.macs.forward).toBe(651720);
    expect(r.outputs[0]).toMatchObject({ name: "logits", shape: "[B, 10]" });
  });

  it("names parameters after bindings and pipe stages", () => {
    const r = summary(LENET(32));
    const names = r.layers.filter((l) => l.params > 0).map((l) => l.name);
    expect(names).toEqual(["features.0", "features.3", "logits.0", "logits.2", "logits.4"]);
  });

  it("scales with a bound batch and keeps it symbolic otherwise", () => {
    const one = summary(LENET(32));
    const many = summary(LENET(32), { B: 32 });
    expect(many.macs.forward).toBe(32 * one.macs.forward);
    expect(many.outputs[0]!.shape).toBe("[32, 10]");
    expect(many.params.total).toBe(one.params.total);
  });

  it("reports the LeNet fed 28x28 images at the ascription, with both shapes", () => {
    const r = checkSource(LENET(28), "m.dlm");
    const errs = errors(r.diagnostics);
    expect(errs).toHaveLength(1);
    const d = errs[0]!;
    expect(d.code).toBe("DLM3101");
    expect(d.message).toContain("f32[B, 400]");
    expect(d.message).toContain("f32[B, 256]");
    expect(d.range.start.line).toBe(7);
    expect(d.notes?.some((n) => n.message.includes("flatten"))).toBe(true);
    expect(d.hint).toContain("input 'x'");
  });

  it("instantiates generic blocks with compile-time conditionals", () => {
    const src = `
block Residual(out: int, stride: int = 1) {
  input x: f32[B, C, H, W]
  y = x |> conv2d(out, 3, stride: stride, padding: 1, bias: false) |> batchnorm |> relu
        |> conv2d(out, 3, padding: 1, bias: false) |> batchnorm
  skip = if stride != 1 or C != out {
    x |> conv2d(out, 1, stride: stride, bias: false) |> batchnorm
  } else { x }
  output relu(y + skip)
}
model M {
  input x: f32[B, 64, 56, 56]
  a = Residual(x, 64)
  output b = Residual(a, 128, stride: 2)
}`;
    const r = summary(src);
    // block a: two 3x3 convs 64->64 + 2 BNs; block b: 64->128, 128->128, 1x1 projection + 3 BNs
    const expected = 2 * (64 * 64 * 9) + 2 * 128 + (64 * 128 * 9 + 128 * 128 * 9 + 64 * 128) + 3 * 256;
    expect(r.params.total).toBe(expected);
    expect(r.outputs[0]!.shape).toBe("[B, 128, 28, 28]");
    expect(r.layers.some((l) => l.name.startsWith("b.skip"))).toBe(true);
    expect(r.layers.some((l) => l.name.startsWith("a.skip"))).toBe(false);
  });

  it("runs a recurrent cell with scan and counts its parameters once and its MACs per step", () => {
    const src = `
block LSTMCell(hidden: int) {
  input x: f32[B, X]
  state h: f32[B, hidden] = zeros, c: f32[B, hidden] = zeros
  i, f, g, o = split(linear(concat(h, x), 4 * hidden), 4, axis: -1)
  next c = sigmoid(f) * c + sigmoid(i) * tanh(g)
  next h = sigmoid(o) * tanh(c)
  output h
}
model M(T: dim = 7) {
  input x: f32[B, T, 10]
  output hs = scan(x, LSTMCell(20), axis: 1)
}`;
    const r = summary(src);
    expect(r.params.total).toBe(4 * 20 * 30 + 4 * 20);
    expect(r.macs.forward).toBe(7 * 4 * 20 * 30);
    expect(r.outputs[0]!.shape).toBe("[B, T, 20]");
    expect(r.dims.T).toBe(7);
  });

  it("shares a layer's parameters across applications", () => {
    const src = `
model Siamese {
  input a: f32[B, 32], b: f32[B, 32]
  layer tower = linear(16)
  za = tower(a)
  zb = tower(b)
  output d = za - zb
}`;
    const r = summary(src);
    expect(r.params.total).toBe(32 * 16 + 16);
    expect(r.macs.forward).toBe(2 * 32 * 16);
  });

  it("freezes parameters under @frozen", () => {
    const src = `
model LoRA(d: int = 4096, r: int = 8) {
  input x: f32[B, d]
  @frozen base = linear(x, d, bias: false)
  param A: f32[r, d] = normal(std: 0.01)
  param Bm: f32[d, r] = zeros
  output y = base + (x @ transpose(A)) @ transpose(Bm)
}`;
    const r = summary(src);
    expect(r.params.frozen).toBe(16_777_216);
    expect(r.params.trainable).toBe(65_536);
  });

  it("reports unknown names with a suggestion", () => {
    const r = checkSource(`model M { input x: f32[B, 4]\n output y = x |> rleu }`, "m.dlm");
    const [d] = errors(r.diagnostics);
    expect(d!.code).toBe("DLM2002"); // in call position: an unknown op or block
    expect(d!.hint).toContain("relu");
  });

  it("reports conflicting dims at a block input", () => {
    const src = `
block Pair { input a: f32[B, D], b: f32[B, D]
  output a + b }
model M { input x: f32[B, 3], y: f32[B, 4]
  output z = Pair(x, y) }`;
    const [d] = errors(checkSource(src, "m.dlm").diagnostics);
    expect(d!.code).toBe("DLM3104");
    expect(d!.message).toContain("'D'");
    expect(d!.notes?.some((n) => n.message.includes("input 'a'"))).toBe(true);
  });

  it("stops recursion without a base case", () => {
    const src = `
block F(n: int) { input x: f32[B, 4]
  output F(x, n - 1) }
model M { input x: f32[B, 4]
  output y = F(x, 3) }`;
    const errs = errors(checkSource(src, "m.dlm").diagnostics);
    expect(errs.map((d) => d.code)).toContain("DLM2008");
  });

  it("allows recursion with a base case", () => {
    const src = `
block F(n: int) { input x: f32[B, 4]
  output if n == 0 { x } else { F(relu(x), n - 1) } }
model M { input x: f32[B, 4]
  output y = F(x, 3) }`;
    expect(errors(checkSource(src, "m.dlm").diagnostics)).toEqual([]);
  });

  it("rejects tensors too large to allocate, with the memory they need", () => {
    const src = `model M { input x: f32[B, 100000, 100000, 1000]\n output y = relu(x) }`;
    const [d] = errors(checkSource(src, "m.dlm").diagnostics);
    expect(d!.code).toBe("DLM3107");
    expect(d!.message).toMatch(/TiB|PiB/);
  });

  it("checks the train section: scalar loss, known optimizer and settings", () => {
    const src = `${LENET(32)}
train LeNet {
  input labels: i64[B]
  loss = cross_entropy(logits, labels)
  optimizer = adamw(lr: 1e-3, weight_decay: 0.01)
  batch = 64
  epochz = 5
}`;
    const errs = errors(checkSource(src, "m.dlm").diagnostics);
    expect(errs.map((d) => d.code)).toEqual(["DLM4003"]);
    expect(errs[0]!.hint).toContain("epochs");
  });
});
