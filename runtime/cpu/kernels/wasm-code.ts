// A minimal WebAssembly binary writer for the CPU kernels: an instruction emitter for the few
// opcodes they use and a module assembler (functions of i32 parameters returning nothing, one
// linear memory, defined and exported as "mem" or imported as "env"."mem"). The kernels are
// emitted as bytes from TypeScript, so no external toolchain is needed.

export const I32 = 0x7f;
export const V128 = 0x7b;

export function uleb(n: number, out: number[]): void {
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
}

export function sleb(n: number, out: number[]): void {
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return;
    }
    out.push(byte | 0x80);
  }
}

export const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  void: 0x40,
  i32eqz: 0x45,
  i32eq: 0x46,
  i32ne: 0x47,
  i32ltS: 0x48,
  i32ltU: 0x49,
  i32gtS: 0x4a,
  i32leS: 0x4c,
  i32geS: 0x4e,
  i32add: 0x6a,
  i32sub: 0x6b,
  i32mul: 0x6c,
  f32load: 0x2a,
  f32store: 0x38,
  f32add: 0x92,
  f32const: 0x43,
  select: 0x1b,
} as const;

export const SIMD = {
  load: 0x00,
  load32Splat: 0x09,
  store: 0x0b,
  f32x4splat: 0x13,
  f32x4extractLane: 0x1f,
  f32x4add: 0xe4,
  f32x4sub: 0xe5,
  f32x4mul: 0xe6,
  f32x4div: 0xe7,
  f32x4sqrt: 0xe3,
  i32x4splat: 0x11,
  bitselect: 0x52,
  relaxedMadd: 0x105,
} as const;

/** An instruction emitter: each method appends one instruction (or a short idiom) and chains. */
export class Code {
  readonly b: number[] = [];
  get(i: number): this {
    this.b.push(0x20);
    uleb(i, this.b);
    return this;
  }
  set(i: number): this {
    this.b.push(0x21);
    uleb(i, this.b);
    return this;
  }
  tee(i: number): this {
    this.b.push(0x22);
    uleb(i, this.b);
    return this;
  }
  i32(v: number): this {
    this.b.push(0x41);
    sleb(v, this.b);
    return this;
  }
  f32zero(): this {
    this.b.push(OP.f32const, 0, 0, 0, 0);
    return this;
  }
  op(...bytes: number[]): this {
    this.b.push(...bytes);
    return this;
  }
  /** Scalar memory op (f32.load, f32.store) with memarg (align log2, offset). */
  mem(opcode: number, align: number, offset: number): this {
    this.b.push(opcode);
    uleb(align, this.b);
    uleb(offset, this.b);
    return this;
  }
  simd(opcode: number): this {
    this.b.push(0xfd);
    uleb(opcode, this.b);
    return this;
  }
  /** SIMD memory op with memarg (align log2, offset). */
  simdMem(opcode: number, align: number, offset: number): this {
    this.simd(opcode);
    uleb(align, this.b);
    uleb(offset, this.b);
    return this;
  }
  lane(opcode: number, lane: number): this {
    this.simd(opcode);
    this.b.push(lane);
    return this;
  }
  v128zero(): this {
    this.simd(0x0c);
    for (let i = 0; i < 16; i++) this.b.push(0);
    return this;
  }
  /** local[i] += k (i32). */
  addTo(i: number, k: number): this {
    return this.get(i).i32(k).op(OP.i32add).set(i);
  }
  /** local[i] += local[j] (i32). */
  addLocal(i: number, j: number): this {
    return this.get(i).get(j).op(OP.i32add).set(i);
  }
  /** `block loop` whose body starts by leaving when local[i] <= 0 (signed); close with endLoop. */
  whilePositive(i: number): this {
    return this.op(OP.block, OP.void, OP.loop, OP.void).get(i).i32(0).op(OP.i32leS, OP.brIf, 1);
  }
  /** Jumps back to the loop opened by whilePositive and closes it. */
  endLoop(): this {
    return this.op(OP.br, 0, OP.end, OP.end);
  }
}

/** One function of a module: `params` i32 parameters, no result, its extra locals and its code. */
export interface WasmFunction {
  name: string;
  params: number;
  i32Locals: number;
  v128Locals: number;
  /** the instructions, without the final `end` */
  code: Code;
}

/** How the module gets its memory: defines and exports one as "mem", or imports "env"."mem" (shared with a maximum, or private). */
export type MemorySpec = { kind: "own" } | { kind: "import"; shared: true; maximumPages: number } | { kind: "import"; shared: false };

export function assembleModule(fns: readonly WasmFunction[], memory: MemorySpec): Uint8Array<ArrayBuffer> {
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const section = (id: number, content: number[]) => {
    out.push(id);
    uleb(content.length, out);
    out.push(...content);
  };
  const name = (s: string, to: number[]) => {
    uleb(s.length, to);
    for (const ch of s) to.push(ch.charCodeAt(0));
  };
  // one function type per parameter count: (i32 × n) -> ()
  const arities = [...new Set(fns.map((f) => f.params))];
  const types: number[] = [];
  uleb(arities.length, types);
  for (const n of arities) {
    types.push(0x60);
    uleb(n, types);
    for (let i = 0; i < n; i++) types.push(I32);
    types.push(0);
  }
  section(1, types);
  if (memory.kind === "import") {
    const imp: number[] = [1];
    name("env", imp);
    name("mem", imp);
    imp.push(0x02, memory.shared ? 0x03 : 0x00);
    uleb(1, imp);
    if (memory.shared) uleb(memory.maximumPages, imp);
    section(2, imp);
  }
  const funcs: number[] = [];
  uleb(fns.length, funcs);
  for (const f of fns) uleb(arities.indexOf(f.params), funcs);
  section(3, funcs);
  if (memory.kind === "own") section(5, [1, 0x00, 1]);
  const exp: number[] = [];
  uleb(fns.length + (memory.kind === "own" ? 1 : 0), exp);
  fns.forEach((f, i) => {
    name(f.name, exp);
    exp.push(0x00);
    uleb(i, exp);
  });
  if (memory.kind === "own") {
    name("mem", exp);
    exp.push(0x02, 0);
  }
  section(7, exp);
  const code: number[] = [];
  uleb(fns.length, code);
  for (const f of fns) {
    const body: number[] = [];
    const groups = (f.i32Locals > 0 ? 1 : 0) + (f.v128Locals > 0 ? 1 : 0);
    uleb(groups, body);
    if (f.i32Locals > 0) {
      uleb(f.i32Locals, body);
      body.push(I32);
    }
    if (f.v128Locals > 0) {
      uleb(f.v128Locals, body);
      body.push(V128);
    }
    body.push(...f.code.b, OP.end);
    uleb(body.length, code);
    code.push(...body);
  }
  section(10, code);
  return new Uint8Array(out);
}
