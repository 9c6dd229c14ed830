// The PyTorch exporter's text, without torch: deterministic output, printable ASCII only,
// user names only as mangled identifiers or escaped strings, layers at dlm's paths, sizes
// read from the inputs, a clear error for an op without a mapping; and the Python text
// helpers (Python itself checks the string escapes when it is installed).

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Dim } from "../../compiler/dim.js";
import { torchModuleSource, TorchExportError } from "../../compiler/export/torch.js";
import { mangle, Namer, pyComment, pyNumber, pyString } from "../../compiler/export/python.js";
import { checkSource } from "../../src/index.js";
import { example } from "../pipeline/harness.js";

function exported(file: string, model?: string): string {
  const r = checkSource(readFileSync(example(file), "utf8"), example(file), new Map(), model ? { model } : {});
  const m = model ? r.models.get(model)! : [...r.models.values()].at(-1)!;
  return torchModuleSource(m.graph!, m.train);
}

describe("torchModuleSource", () => {
  it("is deterministic and printable ASCII", () => {
    const a = exported("resnet18.dlm");
    expect(exported("resnet18.dlm")).toBe(a);
    expect(/^[\x20-\x7e\n]*$/.test(a)).toBe(true);
  });

  it("builds torchvision's layers at dlm's names, batch norm without its counter", () => {
    const src = exported("resnet18.dlm");
    expect(src).toContain(
      'self.conv1 = nn.Conv2d(3, 64, (7, 7), stride=2, padding=3, dilation=1, groups=1, bias=False, padding_mode="zeros")',
    );
    expect(src).toContain(
      "self.bn1 = without_batch_counter(nn.BatchNorm2d(64, eps=0.00001, momentum=0.1, affine=True, track_running_stats=True))",
    );
    expect(src).toMatch(/"downsample": Scope\(/);
    expect(src).toContain("self.fc = nn.Linear(512, 1000, bias=True)");
  });

  it("reads symbolic sizes off the inputs and loops over scans", () => {
    const src = exported("lstm_lm.dlm");
    expect(src).toContain("B = tokens.shape[0]");
    expect(src).toMatch(/for t in range\(\w+\.shape\[1\]\):/);
    expect(src).toContain("def forward(self, tokens, *, targets=None, return_loss=False):");
  });

  it("turns the train section into the DDP template's settings", () => {
    const src = exported("mlp_mnist.dlm");
    expect(src).toContain("return torch.optim.SGD(param_groups, lr=lr, momentum=0.9)");
    expect(src).toContain('"weight_decay": 0.0005 if decays else 0.0');
    expect(src).toContain("return 0.0 + (lr - 0.0) * (1 + math.cos(math.pi * step / 625)) / 2");
    expect(src).toMatch(/NO_DECAY = \{"linear_relu_stack\.0\.bias", /);
    expect(src).toContain('dist.init_process_group("nccl" if device.type == "cuda" else "gloo")');
  });

  it("names the op, its layer and its place when an op has no PyTorch mapping", () => {
    let error: unknown;
    try {
      exported("relative_position_bias.dlm");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TorchExportError);
    const e = error as TorchExportError;
    expect(e.message).toMatch(
      /the op 'relative_position_bias' \(layer 'rel_bias', .*relative_position_bias\.dlm:14:28\) has no PyTorch mapping/,
    );
    expect(e.site?.range.start.line).toBe(14);
  });

  it("asks for a value when a parameter's shape depends on an unbound dim", () => {
    const r = checkSource(
      "model M(n: dim) {\n  input x: f32[B, 3]\n  param w: f32[n, 3] = normal()\n  output y = matmul(w, x.T)\n}\n",
      "m.dlm",
    );
    const g = r.models.get("M")!.graph!;
    expect(() => torchModuleSource(g, undefined)).toThrow(/parameter 'w' depends on n; give a value/);
    expect(torchModuleSource(g, undefined, { dims: new Map([["n", 4]]) })).toContain("torch.empty((4, 3)");
  });
});

describe("Python text", () => {
  const hostile = ['a"b', "back\\slash", "line\nbreak", "tab\t", "\u2028", "ünï", "😀", "'''", '"""', "\x00\x7f", "{x}"];

  it("escapes strings to printable ASCII, and comments to text that cannot end them", () => {
    for (const s of hostile) expect(/^"[\x20-\x7e]*"$/.test(pyString(s)), s).toBe(true);
    for (const s of hostile) expect(/^[\x20-\x7e]*$/.test(pyComment(s)) && !/["\\]/.test(pyComment(s)), s).toBe(true);
  });

  const python = ["/usr/bin/python3", "python3"].find((p) => spawnSync(p, ["-c", "pass"]).status === 0);
  it.skipIf(!python)(`Python reads every escaped string back unchanged (${python ?? "no python3"})`, () => {
    const script = `import json\nprint(json.dumps([${hostile.map(pyString).join(", ")}, ${[0.1, -0, 1e21, 5e-324, 1, Infinity].map((n) => pyNumber(n)).join(", ")}]))`;
    const r = spawnSync(python!, ["-c", script], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const back = JSON.parse(r.stdout.replace("Infinity", '"inf"')) as unknown[];
    expect(back.slice(0, hostile.length)).toEqual(hostile);
    expect(back.slice(hostile.length, -1)).toEqual([0.1, -0, 1e21, 5e-324, 1]);
  });

  it("mangles names into identifiers clear of keywords, builtins and each other", () => {
    expect(mangle("layer1.0.conv1")).toBe("layer1_0_conv1");
    expect(mangle("0")).toBe("v_0");
    expect(mangle("__class__")).toBe("v__class__");
    const n = new Namer(["torch"]);
    expect(["x", "x", "lambda", "print", "torch", "x_2"].map((s) => n.fresh(s))).toEqual([
      "x",
      "x_2",
      "lambda_2",
      "print_2",
      "torch_2",
      "x_2_2",
    ]);
  });

  it("writes symbolic dims as Python expressions", () => {
    const d = Dim.sym("T").scale(2).add(1).floordiv(3);
    expect(d.render({ symbol: (s) => s, op: (k, a, b) => `${k}(${a}, ${b})` })).toBe("(floordiv((2 * T + 1), 3))");
    expect(Dim.sym("B").render({ symbol: (s) => `v_${s}`, op: () => "" })).toBe("v_B");
  });
});
