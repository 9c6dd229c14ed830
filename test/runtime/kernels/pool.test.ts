import { describe, expect, it } from "vitest";
import {
  avgPoolBackward,
  avgPoolForward,
  maxPoolBackward,
  maxPoolForward,
  poolGeometry,
  poolOutSize,
  type PoolGeometry,
} from "../../../runtime/cpu/kernels/pool.js";
import { dot, maxAbsDiff, prod, randArray, randInt, ravel, rng, unravel } from "./helpers.js";

/** Direct reference: max (value, index) and PyTorch-rule average for each output. */
function reference(x: ArrayLike<number>, g: PoolGeometry, includePad: boolean) {
  const planes = g.batch * g.channels;
  const inP = prod(g.inSize);
  const outP = prod(g.outSize);
  const max = new Float64Array(planes * outP);
  const arg = new Int32Array(planes * outP);
  const avg = new Float64Array(planes * outP);
  for (let pl = 0; pl < planes; pl++)
    for (let p = 0; p < outP; p++) {
      const op = unravel(p, g.outSize);
      let best = -Infinity;
      let bi = -1;
      let sum = 0;
      let inside = 0;
      let padded = 0;
      for (let t = 0; t < prod(g.kernel); t++) {
        const kt = unravel(t, g.kernel);
        const ip = op.map((q, d) => q * g.stride[d]! - g.padLo[d]! + kt[d]! * g.dilation[d]!);
        if (ip.every((v, d) => v < g.inSize[d]! + g.padHi[d]!)) padded++;
        if (ip.some((v, d) => v < 0 || v >= g.inSize[d]!)) continue;
        const i = pl * inP + ravel(ip, g.inSize);
        inside++;
        sum += x[i]!;
        if (x[i]! > best) {
          best = x[i]!;
          bi = i;
        }
      }
      max[pl * outP + p] = best;
      arg[pl * outP + p] = bi;
      const div = includePad ? padded : inside;
      avg[pl * outP + p] = div > 0 ? sum / div : 0;
    }
  return { max, arg, avg };
}

function randomGeometry(r: () => number, rank: number, dilated: boolean): PoolGeometry {
  for (;;) {
    const kernel = Array.from({ length: rank }, () => randInt(r, 1, 3));
    const padLo = kernel.map((k) => randInt(r, 0, k >> 1));
    const g = poolGeometry({
      batch: randInt(r, 1, 2),
      channels: randInt(r, 1, 3),
      inSize: Array.from({ length: rank }, () => randInt(r, 1, rank === 3 ? 6 : 10)),
      kernel,
      stride: Array.from({ length: rank }, () => randInt(r, 1, 3)),
      padLo,
      padHi: padLo.map((p) => (r() < 0.5 ? p : 0)),
      dilation: Array.from({ length: rank }, () => (dilated ? randInt(r, 1, 2) : 1)),
      ceilMode: r() < 0.5,
    });
    if (g.outSize.every((n) => n >= 1)) return g;
  }
}

describe("pool oracles (ORACLES.md, seed 002 Example 4.4)", () => {
  const Y = Float32Array.from([0, 5, 8, 0, 6, 10, 1, 5, 4, 0, 2, 11, 0, 1, 11, 3]);
  const g = poolGeometry({ batch: 1, channels: 1, inSize: [4, 4], kernel: [2, 2] });
  it("2x2 max pool = [[10,8],[4,11]] and routes gradients to the argmax", () => {
    const y = new Float32Array(4);
    const arg = new Int32Array(4);
    maxPoolForward(Y, y, arg, g);
    expect([...y]).toEqual([10, 8, 4, 11]);
    expect([...arg]).toEqual([5, 2, 8, 11]);
    const dx = new Float32Array(16);
    maxPoolBackward(Float32Array.from([1, 2, 3, 4]), arg, dx, g);
    expect([...dx]).toEqual([0, 0, 2, 0, 0, 1, 0, 0, 3, 0, 0, 4, 0, 0, 0, 0]);
  });
  it("2x2 average pool = [[5.25,3.5],[1.25,6.75]]", () => {
    const y = new Float32Array(4);
    avgPoolForward(Y, y, g);
    expect([...y]).toEqual([5.25, 3.5, 1.25, 6.75]);
  });
});

describe("pooling", () => {
  it("ceil-mode output sizes follow PyTorch (last window starts inside input or padding)", () => {
    expect(poolOutSize([5], [2], [2], [0], [0], [1], false)).toEqual([2]);
    expect(poolOutSize([5], [2], [2], [0], [0], [1], true)).toEqual([3]);
    expect(poolOutSize([4], [2], [2], [1], [1], [1], true)).toEqual([3]);
    expect(poolOutSize([6], [3], [2], [0], [0], [2], false)).toEqual([1]);
  });

  for (const rank of [1, 2, 3]) {
    it(`${rank}-d max and avg forward match the reference (padding, dilation, ceil mode)`, () => {
      const r = rng(rank * 17);
      for (let i = 0; i < 40; i++) {
        const dilated = i % 2 === 0;
        const g = randomGeometry(r, rank, dilated);
        const x = randArray(Float32Array, g.batch * g.channels * prod(g.inSize), r);
        const n = g.batch * g.channels * prod(g.outSize);
        const y = new Float32Array(n);
        const arg = new Int32Array(n);
        maxPoolForward(x, y, arg, g);
        for (const includePad of [true, false]) {
          const ref = reference(x, g, includePad);
          expect([...y], JSON.stringify(g)).toEqual([...Float32Array.from(ref.max)]);
          expect([...arg]).toEqual([...ref.arg]);
          const ya = new Float32Array(n);
          avgPoolForward(x, ya, g, { countIncludePad: includePad });
          expect(maxAbsDiff(ya, ref.avg), JSON.stringify(g)).toBeLessThan(1e-6);
        }
      }
    });
  }

  it("a window entirely in the padding gives -Infinity / argmax -1 / average 0", () => {
    const g: PoolGeometry = {
      batch: 1,
      channels: 1,
      inSize: [2],
      kernel: [1],
      stride: [1],
      padLo: [1],
      padHi: [0],
      dilation: [1],
      outSize: [3],
    };
    const y = new Float32Array(3);
    const arg = new Int32Array(3);
    maxPoolForward(Float32Array.from([1, 2]), y, arg, g);
    expect([...y]).toEqual([-Infinity, 1, 2]);
    expect([...arg]).toEqual([-1, 0, 1]);
    const dx = new Float32Array(2);
    maxPoolBackward(Float32Array.from([5, 6, 7]), arg, dx, g);
    expect([...dx]).toEqual([6, 7]);
    avgPoolForward(Float32Array.from([1, 2]), y, g, { countIncludePad: false });
    expect([...y]).toEqual([0, 1, 2]);
  });

  it("backward kernels match central finite differences in float64", () => {
    const r = rng(4242);
    const h = 1e-6;
    for (let rank = 1; rank <= 3; rank++)
      for (let i = 0; i < 8; i++) {
        const g = randomGeometry(r, rank, i % 2 === 0);
        const inN = g.batch * g.channels * prod(g.inSize);
        const outN = g.batch * g.channels * prod(g.outSize);
        // distinct, well-separated values so the max is stable under ±h
        const x = Float64Array.from({ length: inN }, (_, j) => j * 0.01);
        for (let j = inN - 1; j > 0; j--) {
          const k = Math.floor(r() * (j + 1));
          [x[j], x[k]] = [x[k]!, x[j]!];
        }
        const dy = randArray(Float64Array, outN, r);
        const y = new Float64Array(outN);
        const arg = new Int32Array(outN);
        const lossMax = () => {
          maxPoolForward(x, y, null, g);
          let s = 0;
          for (let j = 0; j < outN; j++) if (Number.isFinite(y[j]!)) s += y[j]! * dy[j]!;
          return s;
        };
        maxPoolForward(x, y, arg, g);
        const dxMax = new Float64Array(inN);
        maxPoolBackward(dy, arg, dxMax, g);
        for (const includePad of [true, false]) {
          const dxAvg = new Float64Array(inN);
          avgPoolBackward(dy, dxAvg, g, { countIncludePad: includePad });
          const lossAvg = () => {
            avgPoolForward(x, y, g, { countIncludePad: includePad });
            return dot(y, dy);
          };
          for (let j = 0; j < inN; j++) {
            const v = x[j]!;
            x[j] = v + h;
            const ap = lossAvg();
            const mp = lossMax();
            x[j] = v - h;
            const am = lossAvg();
            const mm = lossMax();
            x[j] = v;
            expect(Math.abs((ap - am) / (2 * h) - dxAvg[j]!), JSON.stringify(g)).toBeLessThan(1e-6);
            expect(Math.abs((mp - mm) / (2 * h) - dxMax[j]!), JSON.stringify(g)).toBeLessThan(1e-6);
          }
        }
      }
  });
});
