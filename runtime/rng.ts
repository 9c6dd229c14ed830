// Seedable, splittable random numbers for initialisation, shuffling, dropout and data.
//
// Generator: Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC 2011), the counter-based generator behind cuRAND, PyTorch's CUDA generator and JAX's
// threefry-like API. Chosen because
//   - it is a pure function block(counter, key) → 4 words, so a fork is just another key,
//     skipping ahead is O(1), and a WGSL kernel can draw the same numbers as this file;
//   - the full state is tiny (key, counter, position in the current block): 7 words;
//   - published known-answer vectors (Random123's kat_vectors) make it testable.
//
// Seeding: key = (seed mod 2^32, floor(seed / 2^32)) for a non-negative integer seed < 2^53,
// as PyTorch's Philox engine does; the counter starts at 0. Streams: fork(s) derives a new
// key from (key, s) by running one Philox block, independent of how much has been drawn.

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const M0_LO = M0 & 0xffff;
const M0_HI = M0 >>> 16;
const M1_LO = M1 & 0xffff;
const M1_HI = M1 >>> 16;

const TWO_NEG_24 = 2 ** -24;
const TWO_NEG_32 = 2 ** -32;
const TWO_NEG_53 = 2 ** -53;
const TWO_PI = 2 * Math.PI;

/** High 32 bits of the 64-bit product of a 32-bit constant (split in 16-bit halves) and x, exactly. */
function mulhi(cLo: number, cHi: number, x: number): number {
  const xLo = x & 0xffff;
  const xHi = x >>> 16;
  const ll = cLo * xLo;
  const lh = cLo * xHi;
  const hl = cHi * xLo;
  const hh = cHi * xHi;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/**
 * One Philox-4x32-10 block: out = philox(ctr, key). ctr[0] is the least significant word,
 * as in Random123. Exposed for tests and for kernels that want the same stream.
 */
export function philox4x32_10(ctr: ArrayLike<number>, key: ArrayLike<number>, out: Uint32Array): void {
  let c0 = ctr[0]! >>> 0;
  let c1 = ctr[1]! >>> 0;
  let c2 = ctr[2]! >>> 0;
  let c3 = ctr[3]! >>> 0;
  let k0 = key[0]! >>> 0;
  let k1 = key[1]! >>> 0;
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulhi(M0_LO, M0_HI, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1_LO, M1_HI, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/** Length of the array returned by Rng.state(). */
export const RNG_STATE_WORDS = 7;

export class Rng {
  /** key words (a typed array so that refills allocate nothing) */
  private readonly key = new Uint32Array(2);
  /** counter of the next block to generate, 128-bit little-endian words */
  private readonly ctr = new Uint32Array(4);
  /** output of block ctr-1, consumed from `pos` (4 = used up) */
  private readonly buf = new Uint32Array(4);
  private pos = 4;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`Rng seed must be a non-negative safe integer, got ${seed}`);
    this.key[0] = seed % 0x100000000;
    this.key[1] = Math.floor(seed / 0x100000000);
  }

  /** Next raw 32-bit word. */
  nextU32(): number {
    if (this.pos === 4) this.refill();
    return this.buf[this.pos++]!;
  }

  private refill(): void {
    philox4x32_10(this.ctr, this.key, this.buf);
    // 128-bit increment
    for (let i = 0; i < 4; i++) {
      this.ctr[i] = (this.ctr[i]! + 1) >>> 0;
      if (this.ctr[i] !== 0) break;
    }
    this.pos = 0;
  }

  /** One uniform double in [0, 1) with 53 random bits. */
  nextDouble(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) * TWO_NEG_53;
  }

  /**
   * Fill `out` with U[lo, hi). Float32 targets use 24 random bits per value (one word),
   * Float64 targets 53 (two words), so every representable grid point is reachable.
   */
  uniform(out: Float32Array | Float64Array, lo = 0, hi = 1): void {
    const span = hi - lo;
    const n = out.length;
    if (out instanceof Float32Array) {
      // block-wise: the same words as nextU32() in turn, without a call per value
      const b = this.buf;
      let i = 0;
      while (i < n) {
        if (this.pos === 4) this.refill();
        let p = this.pos;
        while (p < 4 && i < n) out[i++] = lo + span * ((b[p++]! >>> 8) * TWO_NEG_24);
        this.pos = p;
      }
    } else {
      for (let i = 0; i < n; i++) out[i] = lo + span * this.nextDouble();
    }
  }

  /**
   * Fill `out` with N(mean, std²) by Box–Muller on pairs of 32-bit uniforms in (0, 1)
   * (tails reach about 6.7σ). No value is cached between calls, so the state stays 7 words;
   * an odd tail discards the second value of its pair.
   */
  normal(out: Float32Array | Float64Array, mean = 0, std = 1): void {
    const n = out.length;
    let i = 0;
    for (; i < n; i += 2) {
      const u1 = (this.nextU32() + 0.5) * TWO_NEG_32;
      const u2 = (this.nextU32() + 0.5) * TWO_NEG_32;
      const r = std * Math.sqrt(-2 * Math.log(u1));
      const t = TWO_PI * u2;
      out[i] = mean + r * Math.cos(t);
      if (i + 1 < n) out[i + 1] = mean + r * Math.sin(t);
    }
  }

  /** One standard normal draw (uses a whole Box–Muller pair). */
  nextNormal(): number {
    const u1 = (this.nextU32() + 0.5) * TWO_NEG_32;
    const u2 = (this.nextU32() + 0.5) * TWO_NEG_32;
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(TWO_PI * u2);
  }

  /** Uniform integer in [0, n), unbiased (rejection of the short last bucket). 1 ≤ n ≤ 2^32. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 0x100000000) throw new Error(`Rng.int(n) needs an integer 1 ≤ n ≤ 2^32, got ${n}`);
    const limit = 0x100000000 - (0x100000000 % n);
    let x = this.nextU32();
    while (x >= limit) x = this.nextU32();
    return x % n;
  }

  /** Fisher–Yates shuffle of `a` in place. */
  shuffle(a: Int32Array | Uint32Array | number[]): void {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
  }

  /**
   * An independent generator for stream `s` (a non-negative integer < 2^32). The new key is
   * Philox(counter = (s, 0, 0, 0x5eed_f04c), key = this key): a pure function of this key and s,
   * so fork(s) names the same stream no matter how much this generator has drawn.
   */
  fork(stream: number): Rng {
    if (!Number.isInteger(stream) || stream < 0 || stream > 0xffffffff)
      throw new Error(`Rng.fork stream must be an integer in [0, 2^32), got ${stream}`);
    const out = new Uint32Array(4);
    philox4x32_10(Uint32Array.of(stream, 0, 0, 0x5eedf04c), this.key, out);
    const r = new Rng(0);
    r.key[0] = out[0]!;
    r.key[1] = out[1]!;
    return r;
  }

  /** The full state: [key0, key1, ctr0, ctr1, ctr2, ctr3, pos]. */
  state(): Uint32Array {
    return Uint32Array.of(this.key[0]!, this.key[1]!, this.ctr[0]!, this.ctr[1]!, this.ctr[2]!, this.ctr[3]!, this.pos);
  }

  /** A generator that continues exactly where the one that produced `s` was. */
  static fromState(s: ArrayLike<number>): Rng {
    if (s.length !== RNG_STATE_WORDS) throw new Error(`Rng state must have ${RNG_STATE_WORDS} words, got ${s.length}`);
    for (let i = 0; i < RNG_STATE_WORDS; i++) {
      const w = s[i]!;
      if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) throw new Error(`Rng state word ${i} is not a 32-bit unsigned integer: ${w}`);
    }
    const pos = s[6]!;
    if (pos > 4) throw new Error(`Rng state position must be 0..4, got ${pos}`);
    const r = new Rng(0);
    r.key[0] = s[0]!;
    r.key[1] = s[1]!;
    for (let i = 0; i < 4; i++) r.ctr[i] = s[2 + i]!;
    r.pos = pos;
    if (pos < 4) {
      // the buffer holds block ctr - 1: recompute it
      const prev = Uint32Array.from(r.ctr);
      for (let i = 0; i < 4; i++) {
        const was = prev[i]!;
        prev[i] = (was - 1) >>> 0;
        if (was !== 0) break;
      }
      philox4x32_10(prev, r.key, r.buf);
    }
    return r;
  }
}
