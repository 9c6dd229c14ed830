import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodeSafetensors, encodeSafetensors, readSafetensors, writeSafetensors, type SafeTensor } from "../../runtime/safetensors.js";

const dir = mkdtempSync(join(tmpdir(), "dlm-safetensors-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const f32 = (...v: number[]) => Float32Array.from(v);

/** A file built by hand from the spec: u64 LE header length, the header text (padded by the caller), the data bytes. */
function handFile(headerText: string, data: number[]): Uint8Array {
  const h = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + h.length + data.length);
  let n = h.length;
  for (let i = 0; i < 8; i++) {
    out[i] = n & 0xff;
    n = Math.floor(n / 256);
  }
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** little-endian bytes of float32 values, by hand: 1.0 = 0x3f800000 → 00 00 80 3f */
const F32_0_TO_5 = [0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64];

describe("encodeSafetensors: byte-exact against the reference implementation's own test vectors", () => {
  it("test_serialization: attn.0 F32[1,2,3] (header already 8-aligned)", () => {
    const out = encodeSafetensors(new Map([["attn.0", { dtype: "F32", shape: [1, 2, 3], data: f32(0, 1, 2, 3, 4, 5) }]]));
    // safetensors/src/tensor.rs test_serialization
    expect([...out]).toEqual([
      64,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      123,
      34,
      97,
      116,
      116,
      110,
      46,
      48,
      34,
      58,
      123,
      34,
      100,
      116,
      121,
      112,
      101,
      34,
      58,
      34,
      70,
      51,
      50,
      34,
      44,
      34,
      115,
      104,
      97,
      112,
      101,
      34,
      58,
      91,
      49,
      44,
      50,
      44,
      51,
      93,
      44,
      34,
      100,
      97,
      116,
      97,
      95,
      111,
      102,
      102,
      115,
      101,
      116,
      115,
      34,
      58,
      91,
      48,
      44,
      50,
      52,
      93,
      125,
      125,
      ...F32_0_TO_5,
    ]);
  });

  it("test_serialization_forced_alignement: attn0 F32[1,1,2,3] padded with 7 spaces", () => {
    const out = encodeSafetensors(new Map([["attn0", { dtype: "F32", shape: [1, 1, 2, 3], data: f32(0, 1, 2, 3, 4, 5) }]]));
    expect([...out]).toEqual([
      72,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      123,
      34,
      97,
      116,
      116,
      110,
      48,
      34,
      58,
      123,
      34,
      100,
      116,
      121,
      112,
      101,
      34,
      58,
      34,
      70,
      51,
      50,
      34,
      44,
      34,
      115,
      104,
      97,
      112,
      101,
      34,
      58,
      91,
      49,
      44,
      49,
      44,
      50,
      44,
      51,
      93,
      44,
      34,
      100,
      97,
      116,
      97,
      95,
      111,
      102,
      102,
      115,
      101,
      116,
      115,
      34,
      58,
      91,
      48,
      44,
      50,
      52,
      93,
      125,
      125,
      32,
      32,
      32,
      32,
      32,
      32,
      32,
      ...F32_0_TO_5,
    ]);
  });

  it("test_empty: no tensors, with and without metadata", () => {
    expect([...encodeSafetensors(new Map())]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    expect([...encodeSafetensors(new Map(), { framework: "pt" })]).toEqual([
      40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95, 95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119,
      111, 114, 107, 34, 58, 34, 112, 116, 34, 125, 125, 32, 32, 32, 32, 32,
    ]);
  });

  it("a mixed file built by hand: dtype-descending then name order, metadata first, space padding", () => {
    const tensors = new Map<string, SafeTensor>([
      ["b", { dtype: "F32", shape: [1], data: f32(1) }],
      ["mask", { dtype: "BOOL", shape: [2], data: Uint8Array.of(1, 0) }],
      ["a", { dtype: "F32", shape: [1], data: f32(2) }],
      ["step", { dtype: "I64", shape: [], data: BigInt64Array.of(258n) }],
      ["ids", { dtype: "I32", shape: [2], data: Int32Array.of(-1, 3) }],
    ]);
    // reference order: I64 > F32 > I32 > BOOL (descending dtype), ties by name (a before b)
    const header =
      '{"__metadata__":{"format":"pt","z":"1"},' +
      '"step":{"dtype":"I64","shape":[],"data_offsets":[0,8]},' +
      '"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},' +
      '"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]},' +
      '"ids":{"dtype":"I32","shape":[2],"data_offsets":[16,24]},' +
      '"mask":{"dtype":"BOOL","shape":[2],"data_offsets":[24,26]}}';
    const pad = " ".repeat((8 - (header.length % 8)) % 8);
    const data = [
      2,
      1,
      0,
      0,
      0,
      0,
      0,
      0, // 258 as i64 LE
      0,
      0,
      0,
      64, // 2.0f
      0,
      0,
      128,
      63, // 1.0f
      255,
      255,
      255,
      255,
      3,
      0,
      0,
      0, // -1, 3 as i32 LE
      1,
      0,
    ];
    const want = handFile(header + pad, data);
    expect((8 + header.length + pad.length) % 8).toBe(0);
    expect([...encodeSafetensors(tensors, { z: "1", format: "pt" })]).toEqual([...want]);
  });
});

describe("decodeSafetensors", () => {
  it("round-trips every writable dtype, zero-size and scalar tensors, and metadata", () => {
    const tensors = new Map<string, SafeTensor>([
      ["w", { dtype: "F32", shape: [2, 3], data: f32(1.5, -2, 3.25, 0, 1e-30, -7) }],
      ["d", { dtype: "F64", shape: [2], data: Float64Array.of(Math.PI, -1e300) }],
      ["i", { dtype: "I32", shape: [3], data: Int32Array.of(-2147483648, 0, 2147483647) }],
      ["l", { dtype: "I64", shape: [2], data: BigInt64Array.of(-(2n ** 63n), 2n ** 62n + 5n) }],
      ["u", { dtype: "U8", shape: [3], data: Uint8Array.of(0, 128, 255) }],
      ["m", { dtype: "BOOL", shape: [1, 2], data: Uint8Array.of(1, 0) }],
      ["empty", { dtype: "F32", shape: [0, 4], data: new Float32Array(0) }],
      ["scalar", { dtype: "F32", shape: [], data: f32(42) }],
    ]);
    const { tensors: got, metadata } = decodeSafetensors(encodeSafetensors(tensors, { epoch: "3", 'note "q"\n': "é ✓" }));
    expect(metadata).toEqual({ epoch: "3", 'note "q"\n': "é ✓" });
    expect(new Set(got.keys())).toEqual(new Set(tensors.keys()));
    for (const [k, t] of tensors) {
      const g = got.get(k)!;
      expect(g.dtype).toBe(t.dtype);
      expect(g.shape).toEqual(t.shape);
      expect(g.data.constructor).toBe(t.data.constructor);
      expect([...g.data]).toEqual([...t.data]);
    }
  });

  it("reads F16 and BF16 into float32 (hand-made bit patterns)", () => {
    const header = '{"h":{"dtype":"F16","shape":[6],"data_offsets":[0,12]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[12,16]}}';
    const pad = " ".repeat((8 - (header.length % 8)) % 8);
    // f16: 0x3c00 = 1, 0xc000 = -2, 0x7bff = 65504, 0x0001 = 2^-24, 0x7c00 = inf, 0x3555 = 0.333251953125
    // bf16: 0x3f80 = 1, 0xc049 = -3.140625
    const data = [0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00, 0x00, 0x7c, 0x55, 0x35, 0x80, 0x3f, 0x49, 0xc0];
    const { tensors } = decodeSafetensors(handFile(header + pad, data));
    expect([...tensors.get("h")!.data]).toEqual([1, -2, 65504, 2 ** -24, Infinity, 0.333251953125]);
    expect(tensors.get("h")!.data).toBeInstanceOf(Float32Array);
    expect([...tensors.get("b")!.data]).toEqual([1, -3.140625]);
  });

  it("accepts files whose tensors are listed in any order (sorted by offsets on read)", () => {
    const header = '{"y":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
    const { tensors } = decodeSafetensors(handFile(header, [7, 9]));
    expect([...tensors.get("x")!.data]).toEqual([7]);
    expect([...tensors.get("y")!.data]).toEqual([9]);
  });

  it("copies data out of a Node Buffer", () => {
    const bytes = encodeSafetensors(new Map([["w", { dtype: "F32", shape: [2], data: f32(1, 2) }]]));
    const pooled = Buffer.concat([Buffer.from([9, 9, 9]), Buffer.from(bytes)]).subarray(3);
    const t = decodeSafetensors(pooled).tensors.get("w")!;
    expect([...t.data]).toEqual([1, 2]);
    pooled.fill(0);
    expect([...t.data]).toEqual([1, 2]);
  });
});

describe("corrupt files give precise errors", () => {
  const good = encodeSafetensors(new Map([["w", { dtype: "F32", shape: [2, 2], data: f32(1, 2, 3, 4) }]]));
  const withLength = (n: bigint) => {
    const b = Uint8Array.from(good);
    new DataView(b.buffer).setBigUint64(0, n, true);
    return b;
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ["shorter than 8 bytes", good.slice(0, 5), /5 bytes, too short/],
    ["truncated data", good.slice(0, good.length - 3), /run past the end of the data \(13 bytes; truncated file\?\)/],
    ["truncated header", good.slice(0, 20), /runs past the end of the 20-byte file \(truncated\?\)/],
    ["huge header length", withLength(2n ** 62n), /exceeds the 100000000-byte limit/],
    ["header length just past the file", withLength(BigInt(good.length)), /runs past the end/],
    ["bad JSON", handFile('{"w": {"dtype": "F32",', []), /header is not valid JSON/],
    ["not an object", handFile("[1,2,3]", []), /does not start with '\{'/],
    ["bad UTF-8", handFile("{}", []).map((b, i) => (i === 9 ? 0xff : b)), /not valid UTF-8/],
    [
      "overlapping offsets",
      handFile('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}', [1, 2, 3]),
      /tensor 'b': data_offsets \[1, 3\] overlap tensor 'a' \(which ends at 2\)/,
    ],
    [
      "offsets past the end",
      handFile('{"a":{"dtype":"U8","shape":[1000000],"data_offsets":[0,1000000]}}', [1, 2]),
      /tensor 'a': data_offsets \[0, 1000000\] run past the end of the data \(2 bytes/,
    ],
    ["gap", handFile('{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', [1, 2]), /begin at 1 but the previous tensor ends at 0/],
    [
      "trailing bytes",
      handFile('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', [1, 2]),
      /cover 1 bytes of data but the file has 2/,
    ],
    [
      "dtype/shape inconsistent with the byte length",
      handFile('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', [0, 0, 0, 0, 0, 0, 0, 0]),
      /tensor 'a': F32\[3\] needs 12 bytes but data_offsets \[0, 8\] span 8/,
    ],
    [
      "lying shape (huge numel)",
      handFile('{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}', [0, 0, 0, 0, 0, 0, 0, 0]),
      /needs .* bytes but data_offsets \[0, 8\] span 8/,
    ],
    ["unknown dtype", handFile('{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}', []), /tensor 'a': unknown dtype "F128"/],
    ["unsupported dtype", handFile('{"a":{"dtype":"U16","shape":[1],"data_offsets":[0,2]}}', [0, 0]), /dtype U16 is not supported/],
    [
      "negative shape",
      handFile('{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}', []),
      /shape must be an array of non-negative integers/,
    ],
    ["bad offsets", handFile('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0]}}', [0]), /data_offsets must be \[begin, end\]/],
    ["reversed offsets", handFile('{"a":{"dtype":"U8","shape":[0],"data_offsets":[2,1]}}', [0, 0]), /end before they begin/],
    ["bad metadata", handFile('{"__metadata__":{"k":1}}', []), /__metadata__ 'k' must be a string/],
  ];
  for (const [what, bytes, re] of cases)
    it(what, () => {
      expect(() => decodeSafetensors(bytes)).toThrow(re);
    });
});

describe("writeSafetensors / readSafetensors", () => {
  it("writes atomically (no temp file left), overwrites, and reads back", async () => {
    const path = join(dir, "model.safetensors");
    writeFileSync(path, "old contents");
    const tensors = new Map<string, SafeTensor>([
      ["fc.weight", { dtype: "F32", shape: [2, 2], data: f32(1, 2, 3, 4) }],
      ["step", { dtype: "I64", shape: [], data: BigInt64Array.of(12n) }],
    ]);
    await writeSafetensors(path, tensors, { dlm: "1" });
    expect(readdirSync(dir)).toEqual(["model.safetensors"]);
    expect(new Uint8Array(readFileSync(path))).toEqual(encodeSafetensors(tensors, { dlm: "1" }));
    const back = await readSafetensors(path);
    expect([...back.tensors.get("fc.weight")!.data]).toEqual([1, 2, 3, 4]);
    expect(back.tensors.get("step")!.data).toEqual(BigInt64Array.of(12n));
    expect(back.metadata).toEqual({ dlm: "1" });
  });

  it("a failed write leaves nothing behind", async () => {
    await expect(writeSafetensors(join(dir, "missing-dir", "x.safetensors"), new Map())).rejects.toThrow();
    const bad = new Map<string, SafeTensor>([["w", { dtype: "F32", shape: [3], data: f32(1, 2) }]]);
    await expect(writeSafetensors(join(dir, "bad.safetensors"), bad)).rejects.toThrow(/shape \[3\] \(3 values\) but 2 values/);
    expect(readdirSync(dir).filter((f) => f !== "model.safetensors")).toEqual([]);
  });

  it("names the file in read errors", async () => {
    await expect(readSafetensors(join(dir, "nope.safetensors"))).rejects.toThrow(/nope.safetensors\): cannot read the file/);
    const p = join(dir, "corrupt.safetensors");
    writeFileSync(p, Buffer.from([1, 2, 3]));
    await expect(readSafetensors(p)).rejects.toThrow(/corrupt.safetensors\): file is 3 bytes/);
    rmSync(p);
  });

  it("rejects a data array that does not match the dtype", () => {
    expect(() => encodeSafetensors(new Map([["w", { dtype: "F64", shape: [1], data: f32(1) }]]))).toThrow(
      /dtype F64 but its data is a Float32Array, not a Float64Array/,
    );
    expect(() => encodeSafetensors(new Map([["w", { dtype: "F16", shape: [1], data: f32(1) }]]))).toThrow(/can be read but not written/);
  });
});
