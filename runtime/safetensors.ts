// The safetensors weight format (huggingface/safetensors), read and written byte-for-byte as
// the reference implementation does:
//
//   u64 little-endian N | N bytes of UTF-8 JSON header | tensor bytes
//
// The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}
// (offsets relative to the start of the byte buffer after the header) and may hold
// "__metadata__": a string → string map. The reference writer emits compact JSON with
// __metadata__ first, lays tensors out sorted by descending dtype (its Dtype enum order, i.e.
// by alignment) then by name, and pads the header with spaces so that 8 + N is a multiple of
// 8 (every tensor then starts aligned). Metadata keys are written sorted (the reference
// writes a hash map, in no fixed order).
//
// Reading validates everything before allocating anything the header asks for: header length
// within bounds (≤ 100 MB, as the reference), valid UTF-8 JSON object, known dtypes, integral
// shapes, offsets contiguous from 0 without overlap or gap, each range's byte length equal to
// numel·itemsize, and the last offset at exactly the end of the file.
//
// The in-memory forms (encode/decode) run anywhere; the file forms load node:fs lazily so that
// browsers can import this module.

export type SafeDtype = "F32" | "F64" | "I32" | "I64" | "U8" | "BOOL" | "F16" | "BF16";

export type SafeData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

export interface SafeTensor {
  readonly dtype: SafeDtype;
  readonly shape: readonly number[];
  /**
   * F32: Float32Array, F64: Float64Array, I32: Int32Array, I64: BigInt64Array, U8 and BOOL:
   * Uint8Array. F16 and BF16 are read into a Float32Array (converted exactly) and not written.
   */
  readonly data: SafeData;
}

export interface SafetensorsFile {
  readonly tensors: Map<string, SafeTensor>;
  readonly metadata: Record<string, string>;
}

/** Largest header the reference implementation accepts. */
export const MAX_HEADER_BYTES = 100_000_000;

const ITEM_SIZE: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

/** Rank in the reference's Dtype enum (ordered by alignment); the writer sorts by it, descending. */
const DTYPE_RANK: Record<SafeDtype, number> = { BOOL: 0, U8: 1, F16: 7, BF16: 8, I32: 9, F32: 11, F64: 12, I64: 13 };

const READABLE = new Set<string>(["F32", "F64", "I32", "I64", "U8", "BOOL", "F16", "BF16"]);
const WRITABLE: Record<string, (d: SafeData) => boolean> = {
  F32: (d) => d instanceof Float32Array,
  F64: (d) => d instanceof Float64Array,
  I32: (d) => d instanceof Int32Array,
  I64: (d) => d instanceof BigInt64Array,
  U8: (d) => d instanceof Uint8Array,
  BOOL: (d) => d instanceof Uint8Array,
};
const ARRAY_NAME: Record<string, string> = {
  F32: "Float32Array",
  F64: "Float64Array",
  I32: "Int32Array",
  I64: "BigInt64Array",
  U8: "Uint8Array",
  BOOL: "Uint8Array (0/1)",
};

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function requireLittleEndian(): void {
  // typed arrays use the platform's byte order; safetensors is little-endian
  if (!LITTLE_ENDIAN) throw new Error("safetensors: this platform is big-endian, which is not supported");
}

// ---------------------------------------------------------------------------
// Writing

interface Plan {
  readonly header: Uint8Array;
  readonly order: readonly [string, SafeTensor][];
  readonly dataBytes: number;
}

function planWrite(tensors: ReadonlyMap<string, SafeTensor>, metadata?: Readonly<Record<string, string>>): Plan {
  requireLittleEndian();
  const order = [...tensors].sort(([an, a], [bn, b]) => DTYPE_RANK[b.dtype] - DTYPE_RANK[a.dtype] || (an < bn ? -1 : an > bn ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    const m: Record<string, string> = {};
    for (const k of Object.keys(metadata).sort()) {
      const v = metadata[k];
      if (typeof v !== "string") throw new Error(`safetensors: metadata '${k}' must be a string, got ${typeof v}`);
      m[k] = v;
    }
    header.__metadata__ = m;
  }
  let offset = 0;
  for (const [name, t] of order) {
    if (name === "__metadata__") throw new Error("safetensors: '__metadata__' is reserved and cannot name a tensor");
    const check = WRITABLE[t.dtype];
    if (!check) throw new Error(`safetensors: tensor '${name}': dtype ${t.dtype} can be read but not written (write F32 instead)`);
    if (!check(t.data))
      throw new Error(
        `safetensors: tensor '${name}' has dtype ${t.dtype} but its data is a ${t.data.constructor.name}, not a ${ARRAY_NAME[t.dtype]}`,
      );
    for (const d of t.shape)
      if (!Number.isSafeInteger(d) || d < 0) throw new Error(`safetensors: tensor '${name}' has a bad shape [${t.shape.join(", ")}]`);
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length)
      throw new Error(
        `safetensors: tensor '${name}' has shape [${t.shape.join(", ")}] (${numel} values) but ${t.data.length} values of data`,
      );
    const n = t.data.byteLength;
    // key order dtype, shape, data_offsets: the reference's TensorInfo field order
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + n] };
    offset += n;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = new Uint8Array(json.length + ((8 - (json.length % 8)) % 8)).fill(0x20);
  padded.set(json);
  return { header: padded, order, dataBytes: offset };
}

function lengthPrefix(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

function bytesOf(d: SafeData): Uint8Array {
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** The bytes of a safetensors file holding `tensors` (and `metadata`), exactly as the reference writer lays them out. */
export function encodeSafetensors(tensors: ReadonlyMap<string, SafeTensor>, metadata?: Readonly<Record<string, string>>): Uint8Array {
  const { header, order, dataBytes } = planWrite(tensors, metadata);
  const out = new Uint8Array(8 + header.length + dataBytes);
  out.set(lengthPrefix(header.length), 0);
  out.set(header, 8);
  let at = 8 + header.length;
  for (const [, t] of order) {
    out.set(bytesOf(t.data), at);
    at += t.data.byteLength;
  }
  return out;
}

/**
 * Write a safetensors file atomically: the bytes go to a temporary file in the same directory,
 * which is fsynced and then renamed over `path` (a crash leaves the old file or the new one,
 * never half of one); the directory is fsynced afterwards where the platform allows.
 */
export async function writeSafetensors(
  path: string,
  tensors: ReadonlyMap<string, SafeTensor>,
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  const fs = await import("node:fs/promises");
  const nodePath = await import("node:path");
  const { header, order } = planWrite(tensors, metadata);
  const dir = nodePath.dirname(path);
  const tmp = nodePath.join(
    dir,
    `.${nodePath.basename(path)}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`,
  );
  const fh = await fs.open(tmp, "wx");
  try {
    await fh.write(lengthPrefix(header.length));
    await fh.write(header);
    for (const [, t] of order) if (t.data.byteLength > 0) await fh.write(bytesOf(t.data));
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
  await fh.close();
  try {
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
  try {
    const d = await fs.open(dir, "r");
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // directories cannot be opened or fsynced on some platforms (Windows); the rename stands
  }
}

// ---------------------------------------------------------------------------
// Reading

function fail(where: string, msg: string): never {
  throw new Error(`safetensors${where ? ` (${where})` : ""}: ${msg}`);
}

/** Parse and validate a safetensors file held in memory. Tensor data is copied out of `bytes`. */
export function decodeSafetensors(input: Uint8Array, where = ""): SafetensorsFile {
  requireLittleEndian();
  // a plain Uint8Array view: Node's Buffer.slice would share memory instead of copying
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (bytes.length < 8) fail(where, `file is ${bytes.length} bytes, too short for the 8-byte header length`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES))
    fail(where, `header length ${n64} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt or not a safetensors file)`);
  const n = Number(n64);
  if (n < 2) fail(where, `header length ${n} is too small for a JSON object`);
  if (8 + n > bytes.length) fail(where, `header length ${n} runs past the end of the ${bytes.length}-byte file (truncated?)`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail(where, "header is not valid UTF-8");
  }
  if (!text.startsWith("{")) fail(where, `header does not start with '{' (got ${JSON.stringify(text.slice(0, 16))})`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(where, `header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) fail(where, "header is not a JSON object");

  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail(where, "__metadata__ must be an object of strings");
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== "string") fail(where, `__metadata__ '${k}' must be a string, got ${JSON.stringify(v)}`);
        metadata[k] = v;
      }
      continue;
    }
    const t = `tensor '${name}'`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail(where, `${t}: entry must be an object`);
    const { dtype, shape, data_offsets: offs } = raw as Record<string, unknown>;
    if (typeof dtype !== "string" || !(dtype in ITEM_SIZE)) fail(where, `${t}: unknown dtype ${JSON.stringify(dtype)}`);
    if (!READABLE.has(dtype)) fail(where, `${t}: dtype ${dtype} is not supported (dlm reads ${[...READABLE].join(", ")})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      fail(where, `${t}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0))
      fail(where, `${t}: data_offsets must be [begin, end] non-negative integers, got ${JSON.stringify(offs)}`);
    const [begin, end] = offs as [number, number];
    if (end < begin) fail(where, `${t}: data_offsets [${begin}, ${end}] end before they begin`);
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }

  // offsets must tile the byte buffer: sorted by begin, each starts where the previous ended
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expect = 0;
  let prev = "";
  for (const e of entries) {
    const t = `tensor '${e.name}'`;
    if (e.end > dataLen)
      fail(where, `${t}: data_offsets [${e.begin}, ${e.end}] run past the end of the data (${dataLen} bytes; truncated file?)`);
    if (e.begin < expect) fail(where, `${t}: data_offsets [${e.begin}, ${e.end}] overlap tensor '${prev}' (which ends at ${expect})`);
    if (e.begin > expect)
      fail(where, `${t}: data_offsets begin at ${e.begin} but the previous tensor ends at ${expect} (a gap of unaccounted bytes)`);
    let numel = 1;
    for (const d of e.shape) numel *= d;
    const want = numel * ITEM_SIZE[e.dtype]!;
    if (want !== e.end - e.begin)
      fail(
        where,
        `${t}: ${e.dtype}[${e.shape.join(", ")}] needs ${want} bytes but data_offsets [${e.begin}, ${e.end}] span ${e.end - e.begin}`,
      );
    expect = e.end;
    prev = e.name;
  }
  if (expect !== dataLen)
    fail(where, `tensors cover ${expect} bytes of data but the file has ${dataLen} after the header (trailing bytes)`);

  const tensors = new Map<string, SafeTensor>();
  for (const e of entries) {
    // slice() copies into a fresh, aligned ArrayBuffer
    const buf = bytes.slice(dataStart + e.begin, dataStart + e.end).buffer;
    const dtype = e.dtype as SafeDtype;
    let data: SafeData;
    switch (dtype) {
      case "F32":
        data = new Float32Array(buf);
        break;
      case "F64":
        data = new Float64Array(buf);
        break;
      case "I32":
        data = new Int32Array(buf);
        break;
      case "I64":
        data = new BigInt64Array(buf);
        break;
      case "U8":
      case "BOOL":
        data = new Uint8Array(buf);
        break;
      case "F16":
        data = halfToFloat32(new Uint16Array(buf));
        break;
      case "BF16":
        data = bfloat16ToFloat32(new Uint16Array(buf));
        break;
    }
    tensors.set(e.name, { dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}

/** Read and validate a safetensors file; errors name the file. */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  const fs = await import("node:fs/promises");
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch (e) {
    throw new Error(`safetensors (${path}): cannot read the file: ${(e as Error).message}`);
  }
  return decodeSafetensors(bytes, path);
}

// ---------------------------------------------------------------------------
// Half-precision conversions (exact: every f16 and bf16 value is a float32)

/** IEEE 754 binary16 bit patterns → float32 values. */
export function halfToFloat32(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const x = h[i]!;
    const sign = x & 0x8000 ? -1 : 1;
    const exp = (x >>> 10) & 0x1f;
    const frac = x & 0x3ff;
    if (exp === 0)
      out[i] = sign * frac * 2 ** -24; // zero and subnormals
    else if (exp === 31) out[i] = frac ? NaN : sign * Infinity;
    else out[i] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
}

/** bfloat16 bit patterns (the top half of a float32) → float32 values. */
export function bfloat16ToFloat32(h: Uint16Array): Float32Array {
  const bits = new Uint32Array(h.length);
  for (let i = 0; i < h.length; i++) bits[i] = h[i]! << 16;
  return new Float32Array(bits.buffer);
}
