// CSV files as datasets: a header row of column names, then one example per record.
//
// Parsing follows RFC 4180: comma-separated fields, records ended by CRLF or LF, fields in
// double quotes may hold commas, quotes ("" inside quotes) and line breaks. A UTF-8 BOM and
// blank lines are ignored; spaces around numbers are allowed. Feature columns become one f32
// input tensor per example, the label column an integer class id. Errors say where:
// the file, the line, the column (number and name).

import { TensorDataset, type BatchBuffer, type InputDType, type InputSpec } from "./dataset.js";

export interface CsvTable {
  readonly columns: readonly string[];
  /** records[r][c]: the text of column c of data record r */
  readonly records: readonly (readonly string[])[];
  /** the file line on which each data record starts (1-based; the header is line 1 at the earliest) */
  readonly lines: readonly number[];
}

/** Split CSV text into a header and records (text cells). `where` names the source in errors. */
export function parseCsv(text: string, where = "CSV"): CsvTable {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const rows: string[][] = [];
  const lines: number[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    // one record
    const startLine = line;
    const fields: string[] = [];
    let field = "";
    let quotedAny = false;
    for (;;) {
      if (i < n && text[i] === '"' && field === "") {
        // quoted field
        quotedAny = true;
        i++;
        for (;;) {
          if (i >= n) throw new Error(`${where}:${startLine}: unterminated quoted field (a '"' is never closed)`);
          const ch = text[i]!;
          if (ch === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (ch === "\n") line++;
          field += ch;
          i++;
        }
        if (i < n && text[i] !== "," && text[i] !== "\n" && text[i] !== "\r")
          throw new Error(`${where}:${line}: unexpected character ${JSON.stringify(text[i])} after a closing quote`);
      } else {
        while (i < n && text[i] !== "," && text[i] !== "\n" && text[i] !== "\r") field += text[i++];
      }
      fields.push(field);
      field = "";
      if (i < n && text[i] === ",") {
        i++;
        continue;
      }
      // end of record: \r\n, \n, \r or end of text
      if (text[i] === "\r") i++;
      if (text[i] === "\n") i++;
      line++;
      break;
    }
    const blank = fields.length === 1 && fields[0] === "" && !quotedAny;
    if (!blank) {
      rows.push(fields);
      lines.push(startLine);
    }
  }
  if (rows.length === 0) throw new Error(`${where}: empty file (expected a header row of column names)`);
  const columns = rows[0]!.map((c) => c.trim());
  const seen = new Set<string>();
  for (const c of columns) {
    if (c === "") throw new Error(`${where}:${lines[0]}: the header has an empty column name`);
    if (seen.has(c)) throw new Error(`${where}:${lines[0]}: column '${c}' appears twice in the header`);
    seen.add(c);
  }
  for (let r = 1; r < rows.length; r++)
    if (rows[r]!.length !== columns.length)
      throw new Error(`${where}:${lines[r]}: ${rows[r]!.length} fields, but the header has ${columns.length} (${columns.join(", ")})`);
  return { columns, records: rows.slice(1), lines: lines.slice(1) };
}

export interface CsvDatasetOptions {
  /** the label column (an integer class id per row) */
  readonly label: string;
  /** feature columns, in order; default: every column but the label */
  readonly features?: readonly string[];
  /** input names, to match the model's (defaults: x, labels) */
  readonly inputName?: string;
  readonly labelName?: string;
  /** the model's per-example input shape; its size must equal the number of feature columns */
  readonly inputShape?: readonly number[];
  readonly labelDtype?: Extract<InputDType, "i32" | "i64">;
  /** number of classes: labels must lie in [0, classes) */
  readonly classes?: number;
}

function columnIndex(table: CsvTable, name: string, where: string, role: string): number {
  const c = table.columns.indexOf(name);
  if (c < 0) throw new Error(`${where}: no ${role} column '${name}'; the columns are: ${table.columns.join(", ")}`);
  return c;
}

/** Decimal notation only: Number() would also take "" (0), "0x1f" and "Infinity". */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function parseNumber(cell: string, where: string, line: number, col: number, name: string): number {
  const t = cell.trim();
  if (DECIMAL.test(t)) {
    const v = Number(t);
    if (Number.isFinite(v)) return v;
  }
  // NaN and infinities are rejected too: one would poison every gradient
  throw new Error(`${where}:${line}:${col + 1} (column '${name}'): ${t === "" ? "empty cell" : `'${t}' is not a finite number`}`);
}

/** A dataset from parsed CSV: feature columns → one f32 input, the label column → integer ids. */
export function csvDataset(table: CsvTable, options: CsvDatasetOptions, where = "CSV"): TensorDataset {
  const labelCol = columnIndex(table, options.label, where, "label");
  const featureNames = options.features ?? table.columns.filter((c) => c !== options.label);
  if (featureNames.length === 0) throw new Error(`${where}: no feature columns (the only column is the label '${options.label}')`);
  const featureCols = featureNames.map((f) => columnIndex(table, f, where, "feature"));
  if (featureNames.includes(options.label)) throw new Error(`${where}: column '${options.label}' is both the label and a feature`);
  const inputShape = options.inputShape ?? [featureCols.length];
  const inputName = options.inputName ?? "x";
  const labelName = options.labelName ?? "labels";
  const want = inputShape.reduce((a, b) => a * b, 1);
  if (want !== featureCols.length)
    throw new Error(
      `${where}: model input '${inputName}' has shape [${inputShape.join(", ")}] (${want} values per example) but the CSV gives ${featureCols.length} feature columns (${featureNames.join(", ")})`,
    );
  const n = table.records.length;
  const x = new Float32Array(n * featureCols.length);
  const y = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const rec = table.records[r]!;
    const line = table.lines[r]!;
    for (let k = 0; k < featureCols.length; k++) {
      const c = featureCols[k]!;
      x[r * featureCols.length + k] = parseNumber(rec[c]!, where, line, c, table.columns[c]!);
    }
    const v = parseNumber(rec[labelCol]!, where, line, labelCol, options.label);
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff)
      throw new Error(
        `${where}:${line}:${labelCol + 1} (label column '${options.label}'): ${rec[labelCol]!.trim()} is not a class id (an integer ≥ 0)`,
      );
    if (options.classes !== undefined && v >= options.classes)
      throw new Error(`${where}:${line}:${labelCol + 1} (label column '${options.label}'): class ${v} is outside [0, ${options.classes})`);
    y[r] = v;
  }
  if (inputName === labelName) throw new Error(`input and label need different names (both '${inputName}')`);
  const shapes = new Map<string, InputSpec>([
    [inputName, { shape: [...inputShape], dtype: "f32" }],
    [labelName, { shape: [], dtype: options.labelDtype ?? "i64" }],
  ]);
  const arrays = new Map<string, BatchBuffer>([
    [inputName, x],
    [labelName, y],
  ]);
  return new TensorDataset(shapes, arrays, n);
}

/** Read a CSV file (Node) into a dataset; errors name the file. */
export async function loadCsv(path: string, options: CsvDatasetOptions): Promise<TensorDataset> {
  const fs = await import("node:fs/promises");
  let text: string;
  try {
    text = await fs.readFile(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === "ENOENT" ? `CSV file '${path}' does not exist` : `cannot read CSV file '${path}': ${(e as Error).message}`);
  }
  return csvDataset(parseCsv(text, path), options, path);
}
