// Hostile and degenerate inputs: the checker answers each with a diagnostic (or a clean
// result) quickly, and never throws, hangs or reads outside the project.

import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { check, checkSource, summarizeSource } from "../../src/index.js";
import type { Diagnostic } from "../../compiler/diagnostics/index.js";

const codes = (ds: readonly Diagnostic[]) => ds.filter((d) => d.severity === "error").map((d) => d.code);

function timed<T>(f: () => T, limitMs: number): T {
  const t0 = performance.now();
  const r = f();
  expect(performance.now() - t0).toBeLessThan(limitMs);
  return r;
}

const MLP = `model M {
  input x: f32[B, 4]
  h: f32[B, 8] = linear(x, 8)
  output y = relu(h)
}
`;

describe("hostile source text", () => {
  it("10,000 nested parentheses: one DLM1007, no stack overflow", () => {
    const src = `model M {\n  input x: f32[B, 4]\n  output y = ${"(".repeat(10_000)}x${")".repeat(10_000)}\n}\n`;
    expect(codes(timed(() => checkSource(src).diagnostics, 5000))).toContain("DLM1007");
  });

  it("a 200,000-term sum on one line is bounded (DLM1007), not a crash", () => {
    const src = `model M {\n  input x: f32[B, 4]\n  output y = ${Array(200_000).fill("x").join(" + ")}\n}\n`;
    expect(codes(timed(() => checkSource(src).diagnostics, 10_000))).toContain("DLM1007");
  });

  it("binary content is refused as DLM1009", () => {
    const bytes = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0, 1, 2, 3, 0, 0]).toString("latin1");
    expect(codes(checkSource(bytes).diagnostics)).toEqual(["DLM1009"]);
  });

  it("a byte-order mark and CRLF line endings check clean, and positions stay right", () => {
    expect(codes(checkSource("\uFEFF" + MLP.replace(/\n/g, "\r\n")).diagnostics)).toEqual([]);
    const broken = "\uFEFF" + MLP.replace("linear(x, 8)", "linear(x, 9)").replace(/\n/g, "\r\n");
    const [d] = checkSource(broken).diagnostics.filter((x) => x.severity === "error");
    expect(d!.code).toBe("DLM3101");
    expect(d!.range.start.line).toBe(3);
    expect(d!.range.start.column).toBe(13); // the declared 8 in `h: f32[B, 8]`, the BOM not counted
  });

  it("astronomically large shapes are DLM3107, not an allocation", () => {
    const src = `model M {\n  input x: f32[100000000000, 100000000000]\n  output y = relu(x)\n}\n`;
    expect(codes(checkSource(src).diagnostics)).toContain("DLM3107");
  });

  it("a loop of a hundred million iterations stops at the elaboration limit (DLM2031)", () => {
    const src = `model M {\n  input x: f32[B, 4]\n  h = x\n  for i in 0..100000000 { h = relu(h) }\n  output y = h\n}\n`;
    expect(codes(timed(() => checkSource(src).diagnostics, 10_000))).toContain("DLM2031");
  });

  it("a trillion stacked recurrent layers are an argument error at the argument, not a heap exhaustion", () => {
    // found by the checker fuzz: a digit mutation of `layers: 2`
    const src = `model M {\n  input x: f32[B, 5, 4]\n  states, h_n = rnn(x, 8, layers: 999999999992) as rnn\n  output y = states\n}\n`;
    for (const run of [checkSource, summarizeSource]) {
      const errors = timed(() => run(src).diagnostics, 10_000).filter((d) => d.severity === "error");
      expect(errors.length).toBeGreaterThan(0);
      expect(errors[0]!.message).toContain("'layers' must be at most");
      expect(src.slice(errors[0]!.range.start.offset, errors[0]!.range.end.offset)).toContain("999999999992");
    }
  });

  it("mutually recursive blocks stop at the depth limit (DLM2008)", () => {
    const src = `block A(n: int) {\n  input x: f32[B, X]\n  output B2(x, n)\n}\nblock B2(n: int) {\n  input x: f32[B, X]\n  output A(x, n)\n}\nmodel M {\n  input x: f32[B, 4]\n  output y = A(x, 1)\n}\n`;
    expect(codes(checkSource(src).diagnostics)).toContain("DLM2008");
  });

  it("unicode names and strings are rejected or carried without harm", () => {
    const src = `model M {\n  input x: f32[B, 4]\n  output y = relu(x) as "\u202e\u0000"\n}\n`;
    expect(() => checkSource(src)).not.toThrow();
  });
});

describe("hostile files", () => {
  const root = mkdtempSync(join(tmpdir(), "dlm-hostile-"));
  writeFileSync(join(root, "dlm.json"), "{}");
  mkdirSync(join(root, "sub"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const write = (name: string, text: string) => {
    const p = join(root, name);
    writeFileSync(p, text);
    return p;
  };
  const withImport = (spec: string) => `import "${spec}"\n${MLP}`;

  it.each([
    ["a path that climbs out of the project", "../../../../../../../../../etc/passwd", "DLM2010"],
    ["an absolute path", "/etc/passwd", "DLM2010"],
    ["a device", "/dev/zero", "DLM2010"],
    ["a Windows device name", "./con", "DLM2010"],
    ["a missing file", "./nothing_here", "DLM2009"],
  ])("an import of %s is refused", (_what, spec, code) => {
    const p = write("sub/main.dlm", withImport(spec));
    expect(codes(check(p).diagnostics)).toEqual([code]);
  });

  it("a file over 4 MiB is refused without being parsed", () => {
    const p = write("big.dlm", MLP + "// " + "x".repeat(5 * 1024 * 1024) + "\n");
    const errs = codes(timed(() => check(p).diagnostics, 5000));
    expect(errs.length).toBe(1);
    expect(["DLM1008", "DLM9002"]).toContain(errs[0]);
  });

  it("a directory given as the file is a clear error", () => {
    expect(codes(check(join(root, "sub")).diagnostics)).toEqual(["DLM9002"]);
  });

  it("an import of itself is a cycle, reported once", () => {
    const p = write("self.dlm", withImport("./self.dlm"));
    expect(codes(check(p).diagnostics)).toEqual(["DLM2011"]);
  });
});
