import { describe, expect, it } from "vitest";
import {
  convBackwardBias,
  convBackwardInput,
  convBackwardWeight,
  convForward,
  convGeometry,
  convOutSize,
  setConvDirectMaxK,
  type ConvGeometry,
} from "../../../runtime/cpu/kernels/conv.js";
import type { FloatArray } from "../../../runtime/cpu/kernels/matmul.js";
import { DIRECT_CONV_CASES, dot, maxAbsDiff, prod, randArray, randInt, ravel, rng, unravel } from "./helpers.js";

/** Direct N-d cross-correlation in float64, straight from the definition. */
function reference(x: ArrayLike<number>, w: ArrayLike<number>, bias: ArrayLike<number> | null, g: ConvGeometry): Float64Array {
  const { batch, inChannels: cin, outChannels: cout, groups } = g;
  const cg = cin / groups;
  const og = cout / groups;
  const outP = prod(g.outSize);
  const taps = prod(g.kernel);
  const y = new Float64Array(batch * cout * outP);
  for (let n = 0; n < batch; n++)
    for (let o = 0; o < cout; o++)
      for (let p = 0; p < outP; p++) {
        const op = unravel(p, g.outSize);
        let s = bias ? bias[o]! : 0;
        for (let c = 0; c < cg; c++)
          for (let t = 0; t < taps; t++) {
            const kt = unravel(t, g.kernel);
            const ip = op.map((q, d) => q * g.stride[d]! - g.padLo[d]! + kt[d]! * g.dilation[d]!);
            if (ip.some((v, d) => v < 0 || v >= g.inSize[d]!)) continue;
            const ci = Math.floor(o / og) * cg + c;
            s += w[(o * cg + c) * taps + t]! * x[(n * cin + ci) * prod(g.inSize) + ravel(ip, g.inSize)]!;
          }
        y[(n * cout + o) * outP + p] = s;
      }
  return y;
}

function randomGeometry(r: () => number, rank: number): ConvGeometry {
  const groups = [1, 1, 2, 3][randInt(r, 0, 3)]!;
  const depthwise = r() < 0.2;
  const cg = depthwise ? 1 : randInt(r, 1, 3);
  const og = randInt(r, 1, 3);
  for (;;) {
    const kernel = Array.from({ length: rank }, () => randInt(r, 1, 3));
    const dilation = Array.from({ length: rank }, () => randInt(r, 1, 2));
    const stride = Array.from({ length: rank }, () => randInt(r, 1, 3));
    const padLo = Array.from({ length: rank }, () => randInt(r, 0, 2));
    const padHi = Array.from({ length: rank }, () => randInt(r, 0, 2));
    const inSize = Array.from({ length: rank }, () => randInt(r, 1, rank === 3 ? 6 : rank === 2 ? 9 : 13));
    const outSize = convOutSize(inSize, kernel, stride, padLo, padHi, dilation);
    if (outSize.some((n) => n < 1)) continue;
    return {
      batch: randInt(r, 1, 3),
      inChannels: cg * groups,
      outChannels: og * groups,
      groups,
      inSize,
      kernel,
      stride,
      padLo,
      padHi,
      dilation,
      outSize,
    };
  }
}

function sizes(g: ConvGeometry) {
  return {
    x: g.batch * g.inChannels * prod(g.inSize),
    w: (g.outChannels * g.inChannels * prod(g.kernel)) / g.groups,
    y: g.batch * g.outChannels * prod(g.outSize),
  };
}

const f32 = (xs: number[]) => Float32Array.from(xs);

describe("conv oracles (ORACLES.md)", () => {
  it("corr2d([[0,1,2],[3,4,5],[6,7,8]], [[0,1],[2,3]]) = [[19,25],[37,43]]", () => {
    const g = convGeometry({ batch: 1, inChannels: 1, outChannels: 1, inSize: [3, 3], kernel: [2, 2] });
    expect(g.outSize).toEqual([2, 2]);
    const y = new Float32Array(4);
    convForward(f32([0, 1, 2, 3, 4, 5, 6, 7, 8]), f32([0, 1, 2, 3]), null, y, g);
    expect([...y]).toEqual([19, 25, 37, 43]);
  });

  it("transposed conv of [[0,1],[2,3]] with [[0,1],[2,3]] = [[0,0,1],[0,4,6],[4,12,9]]", () => {
    const g = convGeometry({ batch: 1, inChannels: 1, outChannels: 1, inSize: [3, 3], kernel: [2, 2] });
    const out = new Float32Array(9);
    convBackwardInput(f32([0, 1, 2, 3]), f32([0, 1, 2, 3]), out, g);
    expect([...out]).toEqual([0, 0, 1, 0, 4, 6, 4, 12, 9]);
  });

  it("1-D K=(1,0,-1) on 0 1 2 4 8 4 2 1 0: valid and zero padding 1", () => {
    const x = f32([0, 1, 2, 4, 8, 4, 2, 1, 0]);
    const k = f32([1, 0, -1]);
    const valid = convGeometry({ batch: 1, inChannels: 1, outChannels: 1, inSize: [9], kernel: [3] });
    const y = new Float32Array(valid.outSize[0]!);
    convForward(x, k, null, y, valid);
    expect([...y]).toEqual([-2, -3, -6, 0, 6, 3, 2]);
    const padded = convGeometry({ batch: 1, inChannels: 1, outChannels: 1, inSize: [9], kernel: [3], padLo: [1] });
    const yp = new Float32Array(padded.outSize[0]!);
    convForward(x, k, null, yp, padded);
    expect([...yp]).toEqual([-1, -2, -3, -6, 0, 6, 3, 2, 1]);
  });
});

describe("convForward", () => {
  for (const rank of [1, 2, 3]) {
    for (const backend of ["js", "wasm"] as const) {
      it(`${rank}-d float32 (${backend} matmul) matches the direct reference (stride, padding, dilation, groups)`, () => {
        const r = rng(1000 * rank + (backend === "js" ? 1 : 2));
        for (let i = 0; i < 25; i++) {
          const g = randomGeometry(r, rank);
          const s = sizes(g);
          const x = randArray(Float32Array, s.x, r);
          const w = randArray(Float32Array, s.w, r);
          const b = r() < 0.5 ? randArray(Float32Array, g.outChannels, r) : null;
          const y = randArray(Float32Array, s.y, r);
          convForward(x, w, b, y, g, { backend });
          expect(maxAbsDiff(y, reference(x, w, b, g)), JSON.stringify(g)).toBeLessThan(1e-5);
        }
      });
    }
  }

  it("a larger 2-d layer (auto backend, pointwise and 3x3) and accumulate", () => {
    const r = rng(5);
    for (const k of [1, 3]) {
      const g = convGeometry({ batch: 2, inChannels: 16, outChannels: 24, inSize: [17, 19], kernel: [k, k], padLo: [k >> 1, k >> 1] });
      const s = sizes(g);
      const x = randArray(Float32Array, s.x, r);
      const w = randArray(Float32Array, s.w, r);
      const y0 = randArray(Float32Array, s.y, r);
      const y = Float32Array.from(y0);
      convForward(x, w, null, y, g, { accumulate: true });
      const ref = reference(x, w, null, g);
      for (let i = 0; i < ref.length; i++) ref[i] += y0[i]!;
      expect(maxAbsDiff(y, ref)).toBeLessThan(1e-4);
    }
  });

  it("stride-1 layers with few input channels (the direct kernel: dense rows, padded grid, 1-d/3-d, dilation, accumulate)", () => {
    const r = rng(17);
    for (const g of DIRECT_CONV_CASES)
      for (const accumulate of [false, true]) {
        const s = sizes(g);
        const x = randArray(Float32Array, s.x, r);
        const w = randArray(Float32Array, s.w, r);
        const b = randArray(Float32Array, g.outChannels, r);
        const y0 = randArray(Float32Array, s.y, r);
        const y = Float32Array.from(y0);
        convForward(x, w, b, y, g, { accumulate });
        const ref = reference(x, w, b, g);
        if (accumulate) for (let i = 0; i < ref.length; i++) ref[i] += y0[i]!;
        expect(maxAbsDiff(y, ref), JSON.stringify({ g, accumulate })).toBeLessThan(1e-5);
      }
  });

  it("rejects a wrong outSize and non-dividing groups", () => {
    const g = convGeometry({ batch: 1, inChannels: 2, outChannels: 2, inSize: [4], kernel: [2] });
    expect(() => convForward(new Float32Array(8), new Float32Array(8), null, new Float32Array(6), { ...g, outSize: [4] })).toThrow(
      /outSize/,
    );
    expect(() => convForward(new Float32Array(8), new Float32Array(8), null, new Float32Array(6), { ...g, groups: 3 })).toThrow(/groups/);
  });
});

describe("conv gradients", () => {
  /** L = <r, conv(x, w) + b>; the gradients are convBackward*(r). */
  function loss(x: FloatArray, w: FloatArray, b: FloatArray, r: Float64Array, g: ConvGeometry): number {
    const y = new Float64Array(r.length);
    convForward(x, w, b, y, g);
    return dot(y, r);
  }

  it("match central finite differences of the forward kernel in float64", () => {
    const rr = rng(77);
    const h = 1e-6;
    for (let rank = 1; rank <= 3; rank++)
      for (let i = 0; i < 6; i++) {
        const g = randomGeometry(rr, rank);
        const s = sizes(g);
        const x = randArray(Float64Array, s.x, rr);
        const w = randArray(Float64Array, s.w, rr);
        const b = randArray(Float64Array, g.outChannels, rr);
        const r = randArray(Float64Array, s.y, rr);
        const dx = new Float64Array(s.x);
        const dw = new Float64Array(s.w);
        const db = new Float64Array(g.outChannels);
        convBackwardInput(r, w, dx, g);
        convBackwardWeight(x, r, dw, g);
        convBackwardBias(r, db, g);
        for (const [param, grad] of [
          [x, dx],
          [w, dw],
          [b, db],
        ] as const) {
          for (let j = 0; j < param.length; j++) {
            const v = param[j]!;
            param[j] = v + h;
            const lp = loss(x, w, b, r, g);
            param[j] = v - h;
            const lm = loss(x, w, b, r, g);
            param[j] = v;
            expect(Math.abs((lp - lm) / (2 * h) - grad[j]!), JSON.stringify(g)).toBeLessThan(1e-6);
          }
        }
      }
  });

  it("float32 gradients on random geometries satisfy the adjoint identities (both matmul paths)", () => {
    const rr = rng(99);
    for (const backend of ["js", "wasm"] as const)
      for (let rank = 1; rank <= 3; rank++)
        for (let i = 0; i < 10; i++) {
          const g = randomGeometry(rr, rank);
          const s = sizes(g);
          const x = randArray(Float32Array, s.x, rr);
          const w = randArray(Float32Array, s.w, rr);
          const r = randArray(Float32Array, s.y, rr);
          const y = reference(x, w, null, g);
          const dx = randArray(Float32Array, s.x, rr);
          const dw = randArray(Float32Array, s.w, rr);
          const dx0 = Float32Array.from(dx);
          convBackwardInput(r, w, dx, g, { backend, accumulate: true });
          convBackwardWeight(x, r, dw, g, { backend });
          for (let j = 0; j < dx.length; j++) dx[j] -= dx0[j]!;
          const lhs = dot(y, r);
          // <conv(x,w), r> = <x, dx> = <w, dw>
          expect(Math.abs(dot(x, dx) - lhs), JSON.stringify(g)).toBeLessThan(1e-4 * (1 + Math.abs(lhs)));
          expect(Math.abs(dot(w, dw) - lhs), JSON.stringify(g)).toBeLessThan(1e-4 * (1 + Math.abs(lhs)));
        }
  });
});

describe("batch chunking", () => {
  /** dx and dw of L = <r, conv(x, w)> straight from the definition, in float64. */
  function referenceGrads(x: ArrayLike<number>, w: ArrayLike<number>, r: ArrayLike<number>, g: ConvGeometry) {
    const { batch, inChannels: cin, outChannels: cout, groups } = g;
    const cg = cin / groups;
    const og = cout / groups;
    const outP = prod(g.outSize);
    const inP = prod(g.inSize);
    const taps = prod(g.kernel);
    const dx = new Float64Array(batch * cin * inP);
    const dw = new Float64Array((cout * cin * taps) / groups);
    for (let n = 0; n < batch; n++)
      for (let o = 0; o < cout; o++)
        for (let p = 0; p < outP; p++) {
          const op = unravel(p, g.outSize);
          const rv = r[(n * cout + o) * outP + p]!;
          for (let c = 0; c < cg; c++)
            for (let t = 0; t < taps; t++) {
              const kt = unravel(t, g.kernel);
              const ip = op.map((q, d) => q * g.stride[d]! - g.padLo[d]! + kt[d]! * g.dilation[d]!);
              if (ip.some((v, d) => v < 0 || v >= g.inSize[d]!)) continue;
              const xi = (n * cin + Math.floor(o / og) * cg + c) * inP + ravel(ip, g.inSize);
              const wi = (o * cg + c) * taps + t;
              dx[xi] += w[wi]! * rv;
              dw[wi] += x[xi]! * rv;
            }
        }
    return { dx, dw };
  }

  const geometries: ConvGeometry[] = [
    // LeNet-like: one input channel, padding (the GEMM path, not the depthwise loop)
    convGeometry({ batch: 7, inChannels: 1, outChannels: 6, inSize: [12, 12], kernel: [5, 5], padLo: [2, 2] }),
    // groups, stride, dilation, asymmetric padding
    convGeometry({
      batch: 5,
      inChannels: 4,
      outChannels: 6,
      groups: 2,
      inSize: [9, 8],
      kernel: [3, 2],
      stride: [2, 1],
      padLo: [1, 0],
      padHi: [0, 1],
      dilation: [1, 2],
    }),
    // pointwise (col = x for one item), 1-d and 3-d
    convGeometry({ batch: 5, inChannels: 3, outChannels: 4, inSize: [11], kernel: [1] }),
    convGeometry({ batch: 5, inChannels: 2, outChannels: 3, inSize: [4, 5, 3], kernel: [2, 3, 2], padLo: [1, 1, 0], stride: [1, 2, 1] }),
    // dense: the window covers the whole input (one output position), with groups
    convGeometry({ batch: 5, inChannels: 4, outChannels: 6, groups: 2, inSize: [3, 3], kernel: [3, 3] }),
  ];

  it("forward and both gradients agree with the reference for every chunk size (boundaries inside the batch)", () => {
    const rr = rng(4242);
    for (const g of geometries) {
      const s = sizes(g);
      const x = randArray(Float32Array, s.x, rr);
      const w = randArray(Float32Array, s.w, rr);
      const r = randArray(Float32Array, s.y, rr);
      const y64 = reference(x, w, null, g);
      const { dx: dx64, dw: dw64 } = referenceGrads(x, w, r, g);
      for (const backend of ["js", "wasm"] as const)
        for (const chunk of [1, 2, 3, g.batch - 1, g.batch, g.batch + 4]) {
          const what = `${JSON.stringify(g)} chunk ${chunk} ${backend}`;
          const y = randArray(Float32Array, s.y, rr);
          convForward(x, w, null, y, g, { backend, chunk });
          expect(maxAbsDiff(y, y64), what).toBeLessThan(1e-5);
          const dx = randArray(Float32Array, s.x, rr);
          convBackwardInput(r, w, dx, g, { backend, chunk });
          expect(maxAbsDiff(dx, dx64), what).toBeLessThan(1e-5);
          const dw = randArray(Float32Array, s.w, rr);
          convBackwardWeight(x, r, dw, g, { backend, chunk });
          expect(maxAbsDiff(dw, dw64), what).toBeLessThan(1e-4);
          // accumulate adds onto what is there
          const y0 = randArray(Float32Array, s.y, rr);
          const ya = Float32Array.from(y0);
          convForward(x, w, null, ya, g, { backend, chunk, accumulate: true });
          for (let i = 0; i < ya.length; i++) ya[i] -= y0[i]!;
          expect(maxAbsDiff(ya, y64), what).toBeLessThan(1e-5);
          const dw0 = randArray(Float32Array, s.w, rr);
          const dwa = Float32Array.from(dw0);
          convBackwardWeight(x, r, dwa, g, { backend, chunk, accumulate: true });
          for (let i = 0; i < dwa.length; i++) dwa[i] -= dw0[i]!;
          expect(maxAbsDiff(dwa, dw64), what).toBeLessThan(1e-4);
        }
    }
  });

  it("the default chunking of a LeNet-sized batch matches one item at a time", () => {
    const rr = rng(7);
    const g = convGeometry({ batch: 37, inChannels: 6, outChannels: 16, inSize: [14, 14], kernel: [5, 5] });
    const s = sizes(g);
    const x = randArray(Float32Array, s.x, rr);
    const w = randArray(Float32Array, s.w, rr);
    const r = randArray(Float32Array, s.y, rr);
    const [y1, y2] = [new Float32Array(s.y), new Float32Array(s.y)];
    convForward(x, w, null, y1, g, { chunk: 1 });
    convForward(x, w, null, y2, g);
    expect(maxAbsDiff(y1, y2)).toBeLessThan(1e-5);
    const [d1, d2] = [new Float32Array(s.x), new Float32Array(s.x)];
    convBackwardInput(r, w, d1, g, { chunk: 1 });
    convBackwardInput(r, w, d2, g);
    expect(maxAbsDiff(d1, d2)).toBeLessThan(1e-5);
    const [w1, w2] = [new Float32Array(s.w), new Float32Array(s.w)];
    convBackwardWeight(x, r, w1, g, { chunk: 1 });
    convBackwardWeight(x, r, w2, g);
    expect(maxAbsDiff(w1, w2)).toBeLessThan(1e-3);
  });
});

// The direct wasm kernels (stride 1) must round no worse than im2col + GEMM, whose micro-kernel
// sums blocks of at most 256 along k (with more than 16 output channels: fewer take the GEMM's
// small-M path, one running sum). One running sum over all of K = 2304 made ResNet-18's
// convolutions about three times less accurate, which flipped a ReLU mask deep in the network and
// moved its gradients by 7e-2 against PyTorch. Positive data makes the rounding of a long sum
// grow with its length, so the two summation orders differ clearly (about 10x here for the
// forward, 3x for the weight gradient).
describe("rounding of the direct kernels", () => {
  /** Root-mean-square error against the float64 result, relative to its largest magnitude. */
  function rmsError(got: Float32Array, want: Float64Array): number {
    let sq = 0;
    let scale = 0;
    for (let i = 0; i < want.length; i++) {
      sq += (got[i]! - want[i]!) ** 2;
      scale = Math.max(scale, Math.abs(want[i]!));
    }
    return Math.sqrt(sq / want.length) / scale;
  }

  /** Uniform in [0, 1), as float32 and the same values as float64. */
  function positive(n: number, r: () => number): [Float32Array, Float64Array] {
    const a = Float32Array.from({ length: n }, () => r());
    return [a, Float64Array.from(a)];
  }

  /** Runs `f` with the direct kernels, then through im2col + GEMM. */
  function bothPaths(f: () => Float32Array): { direct: Float32Array; gemm: Float32Array } {
    const direct = f();
    const previous = setConvDirectMaxK(0);
    try {
      return { direct, gemm: f() };
    } finally {
      setConvDirectMaxK(previous);
    }
  }

  it("forward (and the input gradient, the same kernel) over K = 4096 taps", () => {
    const r = rng(5);
    const g = convGeometry({ batch: 1, inChannels: 256, outChannels: 32, inSize: [11, 11], kernel: [4, 4] });
    const s = sizes(g);
    const [x, x64] = positive(s.x, r);
    const [w, w64] = positive(s.w, r);
    const want = new Float64Array(s.y);
    convForward(x64, w64, null, want, g);
    const { direct, gemm } = bothPaths(() => {
      const y = new Float32Array(s.y);
      convForward(x, w, null, y, g);
      return y;
    });
    expect(rmsError(gemm, want)).toBeLessThan(2e-7);
    expect(rmsError(direct, want)).toBeLessThan(1.5 * rmsError(gemm, want));
  });

  it("weight gradient over 4,096 positions", () => {
    const r = rng(6);
    const g = convGeometry({ batch: 1, inChannels: 2, outChannels: 32, inSize: [64, 64], kernel: [3, 3], padLo: [1, 1] });
    const s = sizes(g);
    const [x, x64] = positive(s.x, r);
    const [dy, dy64] = positive(s.y, r);
    const want = new Float64Array(s.w);
    convBackwardWeight(x64, dy64, want, g);
    const { direct, gemm } = bothPaths(() => {
      const dw = new Float32Array(s.w);
      convBackwardWeight(x, dy, dw, g);
      return dw;
    });
    expect(rmsError(gemm, want)).toBeLessThan(2e-7);
    expect(rmsError(direct, want)).toBeLessThan(1.5 * rmsError(gemm, want));
  });
});
