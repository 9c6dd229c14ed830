// The random stream behind rng_uniform / rng_normal, shared by the float64 reference and the
// float32 executor so that both draw the same numbers for the same seed.
//
// Generator: Philox-4x32-10 (runtime/rng.ts) with key = (seed mod 2^32, floor(seed / 2^32)) and
// the counter from 0: exactly the word stream of `new Rng(seed)`. Unlike Rng it can be re-seeded
// without allocating, which the executor needs (no allocation per run).
//   uniform: one 32-bit word a value, (word >>> 8) · 2^-24 ∈ [0, 1): the same numbers Rng.uniform
//            writes into a Float32Array, exactly representable in float32 (so the f32 executor
//            and the f64 reference agree bit for bit);
//   normal:  Box–Muller on pairs of words, as Rng.normal: u = (word + 0.5) · 2^-32,
//            r = √(−2 ln u1), values r·cos(2π u2), r·sin(2π u2); an odd tail discards its sine.
// Nodes draw in node order from one stream per evaluation.

import { philox4x32_10 } from "../rng.js";

const TWO_NEG_24 = 2 ** -24;
const TWO_NEG_32 = 2 ** -32;
const TWO_PI = 2 * Math.PI;

export class SeededStream {
  private readonly key = new Uint32Array(2);
  private readonly ctr = new Uint32Array(4);
  private readonly buf = new Uint32Array(4);
  private pos = 4;

  constructor(seed = 0) {
    this.reset(seed);
  }

  /** Restart the stream of `seed` (a non-negative safe integer); allocates nothing. */
  reset(seed: number): void {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`rng seed must be a non-negative safe integer, got ${seed}`);
    this.key[0] = seed % 0x100000000;
    this.key[1] = Math.floor(seed / 0x100000000);
    this.ctr.fill(0);
    this.pos = 4;
  }

  nextU32(): number {
    if (this.pos === 4) {
      philox4x32_10(this.ctr, this.key, this.buf);
      for (let i = 0; i < 4; i++) {
        this.ctr[i] = (this.ctr[i]! + 1) >>> 0;
        if (this.ctr[i] !== 0) break;
      }
      this.pos = 0;
    }
    return this.buf[this.pos++]!;
  }

  /** Fill out[0..n) with U[0, 1) (24 random bits a value). */
  uniform(out: Float32Array | Float64Array, n = out.length): void {
    for (let i = 0; i < n; i++) out[i] = (this.nextU32() >>> 8) * TWO_NEG_24;
  }

  /** Fill out[0..n) with N(0, 1). */
  normal(out: Float32Array | Float64Array, n = out.length): void {
    for (let i = 0; i < n; i += 2) {
      const u1 = (this.nextU32() + 0.5) * TWO_NEG_32;
      const u2 = (this.nextU32() + 0.5) * TWO_NEG_32;
      const r = Math.sqrt(-2 * Math.log(u1));
      const t = TWO_PI * u2;
      out[i] = r * Math.cos(t);
      if (i + 1 < n) out[i + 1] = r * Math.sin(t);
    }
  }
}
