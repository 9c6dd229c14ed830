import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { csvDataset, loadCsv, parseCsv } from "../../../runtime/data/csv.js";
import { allocBatch } from "../../../runtime/data/dataset.js";

const dir = mkdtempSync(join(tmpdir(), "dlm-csv-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("parseCsv (RFC 4180)", () => {
  it("handles quotes, escaped quotes, embedded commas and newlines, CRLF, BOM and blank lines", () => {
    const t = parseCsv('\ufeffa,"b ""q""",c\r\n1,"2,5",3\r\n\r\n"4\nx",5,6\n', "t.csv");
    expect(t.columns).toEqual(["a", 'b "q"', "c"]);
    expect(t.records).toEqual([
      ["1", "2,5", "3"],
      ["4\nx", "5", "6"],
    ]);
    expect(t.lines).toEqual([2, 4]);
    expect(parseCsv("a,b\n1,2").records).toEqual([["1", "2"]]);
    expect(parseCsv("a,b\n1,").records).toEqual([["1", ""]]);
  });

  it("reports malformed files with their line", () => {
    expect(() => parseCsv("a,b\n1,2,3\n", "t.csv")).toThrow("t.csv:2: 3 fields, but the header has 2 (a, b)");
    expect(() => parseCsv('a,b\n"1,2\n', "t.csv")).toThrow(/t.csv:2: unterminated quoted field/);
    expect(() => parseCsv("", "t.csv")).toThrow(/empty file/);
    expect(() => parseCsv("a,a\n1,2", "t.csv")).toThrow(/column 'a' appears twice/);
  });
});

describe("csvDataset", () => {
  const text = "sepal,petal,width,species\n5.1, 3.5,1.4,0\n4.9,3.0,1.4e0,2\n-6.3,.5,2.5,1\n";

  it("maps feature columns to one f32 input and the label column to class ids", () => {
    const ds = csvDataset(parseCsv(text), { label: "species" });
    expect(ds.length).toBe(3);
    expect(ds.shapes.get("x")).toEqual({ shape: [3], dtype: "f32" });
    expect(ds.shapes.get("labels")).toEqual({ shape: [], dtype: "i64" });
    const out = allocBatch(ds, 3);
    ds.fillBatch(Int32Array.of(2, 0, 1), out);
    expect([...out.get("x")!]).toEqual([-6.3, 0.5, 2.5, 5.1, 3.5, 1.4, 4.9, 3, 1.4].map(Math.fround));
    expect([...out.get("labels")!]).toEqual([1, 0, 2]);
  });

  it("selects and orders features by name and names the inputs", () => {
    const ds = csvDataset(parseCsv(text), {
      label: "species",
      features: ["width", "sepal"],
      inputName: "feat",
      labelName: "y",
      inputShape: [1, 2],
    });
    const out = allocBatch(ds, 1);
    ds.fillBatch(Int32Array.of(0), out);
    expect([...out.get("feat")!]).toEqual([1.4, 5.1].map(Math.fround));
    expect(ds.shapes.get("feat")!.shape).toEqual([1, 2]);
  });

  it("gives clear errors", () => {
    const t = parseCsv(text, "iris.csv");
    expect(() => csvDataset(t, { label: "class" }, "iris.csv")).toThrow(
      "iris.csv: no label column 'class'; the columns are: sepal, petal, width, species",
    );
    expect(() => csvDataset(t, { label: "species", features: ["sepal", "len"] }, "iris.csv")).toThrow(
      /no feature column 'len'; the columns are/,
    );
    expect(() => csvDataset(t, { label: "species", inputShape: [4] }, "iris.csv")).toThrow(
      "iris.csv: model input 'x' has shape [4] (4 values per example) but the CSV gives 3 feature columns (sepal, petal, width)",
    );
    const bad = parseCsv("a,b,y\n1,2,0\n3,abc,1\n", "d.csv");
    expect(() => csvDataset(bad, { label: "y" }, "d.csv")).toThrow("d.csv:3:2 (column 'b'): 'abc' is not a finite number");
    expect(() => csvDataset(parseCsv("a,y\n,0\n"), { label: "y" }, "e.csv")).toThrow("e.csv:2:1 (column 'a'): empty cell");
    expect(() => csvDataset(parseCsv("a,y\n0x1f,0\n"), { label: "y" }, "e.csv")).toThrow(/'0x1f' is not a finite number/);
    expect(() => csvDataset(parseCsv("a,y\n1,1.5\n"), { label: "y" }, "e.csv")).toThrow(
      /e.csv:2:2 \(label column 'y'\): 1.5 is not a class id/,
    );
    expect(() => csvDataset(parseCsv("a,y\n1,3\n"), { label: "y", classes: 3 }, "e.csv")).toThrow(/class 3 is outside \[0, 3\)/);
  });

  it("loads files and names a missing one", async () => {
    const p = join(dir, "iris.csv");
    writeFileSync(p, text.replace(/\n/g, "\r\n"));
    const ds = await loadCsv(p, { label: "species" });
    expect(ds.length).toBe(3);
    await expect(loadCsv(join(dir, "none.csv"), { label: "y" })).rejects.toThrow(/CSV file '.*none.csv' does not exist/);
    writeFileSync(p, "a,b\n1,x\n");
    await expect(loadCsv(p, { label: "b" })).rejects.toThrow(/iris.csv:2:2 \(column 'b'\): 'x' is not a finite number/);
  });
});
