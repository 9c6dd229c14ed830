// onnxruntime-node's side of the CPU benchmark: the native ceiling (MLAS kernels, AVX-512).
// ONNX models are built here with onnx-proto (the ONNX protobuf schema compiled for
// protobufjs). onnxruntime-node has no training API, so a training step is a hand-built ONNX
// graph of forward + softmax cross-entropy + backward + the SGD update (weights in, updated
// weights out), run as an inference session and fed its own outputs on the next step.
// `onnxruntime` runs on one intra-op thread like every other implementation here;
// `onnxruntime-mt` with ORT's default (one thread per core).

import {
  BATCH,
  CONV,
  LENET_CONVS,
  LENET_DENSE,
  LR,
  MLP_LAYERS,
  heUniform,
  labels,
  oneHot,
  peer,
  uniform,
  type Impl,
  type Loose,
} from "./common.js";

const FLOAT = 1;
const INT64 = 7;

type Attr = { i: number } | { f: number } | { ints: number[] };
const int = (i: number): Attr => ({ i });
const ints = (...v: number[]): Attr => ({ ints: v });

/** A tiny ONNX graph builder over onnx-proto's message classes. */
class Graph {
  private readonly nodes: Loose[] = [];
  private readonly inits: Loose[] = [];
  private readonly ins: Loose[] = [];
  private readonly outs: Loose[] = [];
  private n = 0;
  constructor(private readonly onnx: Loose) {}

  private valueInfo(name: string, dims: number[], elemType = FLOAT): Loose {
    return {
      name,
      type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
    };
  }
  input(name: string, dims: number[]): string {
    this.ins.push(this.valueInfo(name, dims));
    return name;
  }
  output(name: string, dims: number[]): void {
    this.outs.push(this.valueInfo(name, dims));
  }
  /** A constant tensor (an initializer). */
  init(data: Float32Array | number[], dims: number[], type: "f32" | "i64" = "f32"): string {
    const name = `c${this.inits.length}`;
    const raw =
      type === "f32"
        ? new Uint8Array(Float32Array.from(data).buffer)
        : new Uint8Array(BigInt64Array.from(Array.from(data, (v) => BigInt(v))).buffer);
    this.inits.push({ name, dims, dataType: type === "f32" ? FLOAT : INT64, rawData: raw });
    return name;
  }
  scalar(v: number): string {
    return this.init([v], []);
  }
  op(type: string, inputs: string[], attrs: Record<string, Attr> = {}, outputs = 1, out?: string[]): string[] {
    const names = out ?? Array.from({ length: outputs }, () => `t${this.n++}`);
    const attribute = Object.entries(attrs).map(([name, a]) =>
      "i" in a ? { name, type: 2, i: a.i } : "f" in a ? { name, type: 1, f: a.f } : { name, type: 7, ints: a.ints },
    );
    this.nodes.push({ opType: type, input: inputs, output: names, attribute, name: `n${this.nodes.length}` });
    return names;
  }
  one(type: string, inputs: string[], attrs: Record<string, Attr> = {}): string {
    return this.op(type, inputs, attrs)[0]!;
  }
  /** The serialized ModelProto. */
  encode(): Uint8Array {
    const { ModelProto } = this.onnx;
    const model = ModelProto.create({
      irVersion: 8,
      producerName: "dlm-bench",
      opsetImport: [{ domain: "", version: 17 }],
      graph: { name: "g", node: this.nodes, initializer: this.inits, input: this.ins, output: this.outs },
    });
    return ModelProto.encode(model).finish() as Uint8Array;
  }
}

// ---------------------------------------------------------------------------
// Training-step graphs

interface Param {
  name: string;
  dims: number[];
  data: Float32Array;
}

/** Append mean softmax cross-entropy on logits z [B,10] against one-hot y; returns [loss, dz]. */
function crossEntropy(g: Graph, z: string, y: string): [string, string] {
  const ls = g.one("LogSoftmax", [z], { axis: int(1) });
  const sum = g.one("ReduceSum", [g.one("Mul", [ls, y]), g.init([0, 1], [2], "i64")], { keepdims: int(0) });
  const loss = g.one("Mul", [sum, g.scalar(-1 / BATCH)]);
  const dz = g.one("Mul", [g.one("Sub", [g.one("Exp", [ls]), y]), g.scalar(1 / BATCH)]);
  return [loss, dz];
}

/** dy · (pre > 0): the gradient through a ReLU whose input was `pre`. */
function reluGrad(g: Graph, dy: string, pre: string): string {
  return g.one("Mul", [dy, g.one("Cast", [g.one("Greater", [pre, g.scalar(0)])], { to: int(FLOAT) })]);
}

/** A dense layer h·W + b; the backward pass returns [dW, db, dh]. */
function dense(g: Graph, h: string, W: string, b: string) {
  const z = g.one("Gemm", [h, W, b]);
  return {
    z,
    back: (dz: string, needInput: boolean) => ({
      dW: g.one("Gemm", [h, dz], { transA: int(1) }),
      db: g.one("ReduceSum", [dz, g.init([0], [1], "i64")], { keepdims: int(0) }),
      dh: needInput ? g.one("Gemm", [dz, W], { transB: int(1) }) : "",
    }),
  };
}

/** A stride-1 convolution with padding p; the backward pass returns [dW, db, dx]. */
function conv(g: Graph, x: string, W: string, b: string, p: number) {
  const pads = ints(p, p, p, p);
  const z = g.one("Conv", [x, W, b], { pads });
  return {
    z,
    back: (dz: string, needInput: boolean) => {
      const swap = ints(1, 0, 2, 3);
      // dW[o,i] = Σ_n x[n,i] ⋆ dz[n,o]: a convolution with the batch as the channel axis
      const dWt = g.one("Conv", [g.one("Transpose", [x], { perm: swap }), g.one("Transpose", [dz], { perm: swap })], { pads });
      return {
        dW: g.one("Transpose", [dWt], { perm: swap }),
        db: g.one("ReduceSum", [dz, g.init([0, 2, 3], [3], "i64")], { keepdims: int(0) }),
        dh: needInput ? g.one("ConvTranspose", [dz, W], { pads }) : "",
      };
    },
  };
}

/** 2x2 max pooling; the backward pass scatters the gradient to the argmax positions. */
function maxpool(g: Graph, x: string, dims: number[]) {
  const [y, idx] = g.op("MaxPool", [x], { kernel_shape: ints(2, 2), strides: ints(2, 2) }, 2);
  const numel = dims.reduce((a, b) => a * b, 1);
  return {
    y: y!,
    back: (dy: string) => {
      const flat = g.init([-1], [1], "i64");
      const zeros = g.one("ConstantOfShape", [g.init([numel], [1], "i64")]);
      const dx = g.one("ScatterElements", [zeros, g.one("Reshape", [idx!, flat]), g.one("Reshape", [dy, flat])], { axis: int(0) });
      return g.one("Reshape", [dx, g.init(dims, [4], "i64")]);
    },
  };
}

function sgdOutputs(g: Graph, params: Param[], grads: Map<string, string>): void {
  const lr = g.scalar(LR);
  for (const p of params) {
    g.op("Sub", [p.name, g.one("Mul", [grads.get(p.name)!, lr])], {}, 1, [`new_${p.name}`]);
    g.output(`new_${p.name}`, p.dims);
  }
}

function mlpStep(onnx: Loose): { model: Uint8Array; params: Param[] } {
  const g = new Graph(onnx);
  const x = g.input("x", [BATCH, 784]);
  const y = g.input("y", [BATCH, 10]);
  const params: Param[] = [];
  let seed = 100;
  const layers = MLP_LAYERS.map(([i, o], k) => {
    params.push(
      { name: `W${k}`, dims: [i, o], data: heUniform(i * o, i, seed++) },
      { name: `b${k}`, dims: [o], data: new Float32Array(o) },
    );
    return { W: g.input(`W${k}`, [i, o]), b: g.input(`b${k}`, [o]) };
  });
  let h = x;
  const fwd = layers.map((l, k) => {
    const d = dense(g, h, l.W, l.b);
    h = k < layers.length - 1 ? g.one("Relu", [d.z]) : d.z;
    return d;
  });
  const [loss, dz] = crossEntropy(g, h, y);
  g.op("Identity", [loss], {}, 1, ["loss"]);
  g.output("loss", []);
  const grads = new Map<string, string>();
  let d = dz;
  for (let k = layers.length - 1; k >= 0; k--) {
    const b = fwd[k]!.back(d, k > 0);
    grads.set(`W${k}`, b.dW).set(`b${k}`, b.db);
    if (k > 0) d = reluGrad(g, b.dh, fwd[k - 1]!.z);
  }
  sgdOutputs(g, params, grads);
  return { model: g.encode(), params };
}

function lenetStep(onnx: Loose): { model: Uint8Array; params: Param[] } {
  const g = new Graph(onnx);
  const x = g.input("x", [BATCH, 1, 28, 28]);
  const y = g.input("y", [BATCH, 10]);
  const params: Param[] = [];
  let seed = 100;
  const convs = LENET_CONVS.map(({ cin, cout, k }, j) => {
    const dims = [cout, cin, k, k];
    params.push(
      { name: `C${j}`, dims, data: heUniform(cout * cin * k * k, cin * k * k, seed++) },
      { name: `cb${j}`, dims: [cout], data: new Float32Array(cout) },
    );
    return { W: g.input(`C${j}`, dims), b: g.input(`cb${j}`, [cout]) };
  });
  const fcs = LENET_DENSE.map(([i, o], j) => {
    params.push(
      { name: `W${j}`, dims: [i, o], data: heUniform(i * o, i, seed++) },
      { name: `b${j}`, dims: [o], data: new Float32Array(o) },
    );
    return { W: g.input(`W${j}`, [i, o]), b: g.input(`b${j}`, [o]) };
  });
  // forward
  const sizes = [28, 14, 5]; // input size of each convolution
  let h = x;
  const cf = convs.map((c, j) => {
    const f = conv(g, h, c.W, c.b, LENET_CONVS[j]!.pad);
    const r = g.one("Relu", [f.z]);
    const outSize = sizes[j]! + 2 * LENET_CONVS[j]!.pad - LENET_CONVS[j]!.k + 1;
    const pool = j < 2 ? maxpool(g, r, [BATCH, LENET_CONVS[j]!.cout, outSize, outSize]) : undefined;
    h = pool ? pool.y : r;
    return { f, pool };
  });
  h = g.one("Reshape", [h, g.init([BATCH, 120], [2], "i64")]);
  const ff = fcs.map((l, j) => {
    const d = dense(g, h, l.W, l.b);
    h = j < fcs.length - 1 ? g.one("Relu", [d.z]) : d.z;
    return d;
  });
  const [loss, dz] = crossEntropy(g, h, y);
  g.op("Identity", [loss], {}, 1, ["loss"]);
  g.output("loss", []);
  // backward
  const grads = new Map<string, string>();
  let d = dz;
  for (let j = fcs.length - 1; j >= 0; j--) {
    const b = ff[j]!.back(d, true);
    grads.set(`W${j}`, b.dW).set(`b${j}`, b.db);
    d = j > 0 ? reluGrad(g, b.dh, ff[j - 1]!.z) : b.dh;
  }
  d = g.one("Reshape", [d, g.init([BATCH, 120, 1, 1], [4], "i64")]);
  for (let j = convs.length - 1; j >= 0; j--) {
    d = reluGrad(g, d, cf[j]!.f.z);
    const b = cf[j]!.f.back(d, j > 0);
    grads.set(`C${j}`, b.dW).set(`cb${j}`, b.db);
    if (j > 0) d = cf[j - 1]!.pool!.back(b.dh);
  }
  sgdOutputs(g, params, grads);
  return { model: g.encode(), params };
}

// ---------------------------------------------------------------------------

export function onnxruntime(threads: "one" | "default"): Impl {
  return async (caseName) => {
    const ort = await peer("onnxruntime-node");
    const onnx = (await peer("onnx-proto")).default.onnx;
    const options = {
      executionProviders: ["cpu"],
      graphOptimizationLevel: "all",
      ...(threads === "one" ? { intraOpNumThreads: 1, interOpNumThreads: 1 } : {}),
    };
    const f32 = (data: Float32Array, dims: number[]) => new ort.Tensor("float32", data, dims);

    if (caseName === "matmul-256" || caseName === "matmul-1024") {
      const n = caseName === "matmul-256" ? 256 : 1024;
      const g = new Graph(onnx);
      g.op("MatMul", [g.input("A", [n, n]), g.input("B", [n, n])], {}, 1, ["C"]);
      g.output("C", [n, n]);
      const session = await ort.InferenceSession.create(g.encode(), options);
      const feeds = { A: f32(uniform(n * n, 1), [n, n]), B: f32(uniform(n * n, 2), [n, n]) };
      return { step: async () => void (await session.run(feeds)), dispose: () => void session.release() };
    }
    if (caseName === "conv2d-fwd") {
      const { batch, cin, cout, k, h, w, pad } = CONV;
      const g = new Graph(onnx);
      const fanIn = cin * k * k;
      const W = g.init(heUniform(cout * fanIn, fanIn, 3), [cout, cin, k, k]);
      const B = g.init(uniform(cout, 4), [cout]);
      g.op("Conv", [g.input("x", [batch, cin, h, w]), W, B], { pads: ints(pad, pad, pad, pad) }, 1, ["y"]);
      g.output("y", [batch, cout, h, w]);
      const session = await ort.InferenceSession.create(g.encode(), options);
      const feeds = { x: f32(uniform(batch * cin * h * w, 5), [batch, cin, h, w]) };
      return { step: async () => void (await session.run(feeds)), dispose: () => void session.release() };
    }
    if (caseName === "mlp-train" || caseName === "lenet-train") {
      const lenet = caseName === "lenet-train";
      const { model, params } = lenet ? lenetStep(onnx) : mlpStep(onnx);
      const session = await ort.InferenceSession.create(model, options);
      const feeds: Record<string, Loose> = {
        x: lenet ? f32(uniform(BATCH * 28 * 28, 11), [BATCH, 1, 28, 28]) : f32(uniform(BATCH * 784, 11), [BATCH, 784]),
        y: f32(oneHot(labels(BATCH)), [BATCH, 10]),
      };
      for (const p of params) feeds[p.name] = f32(p.data, p.dims);
      return {
        step: async () => {
          const out = await session.run(feeds);
          for (const p of params) feeds[p.name] = out[`new_${p.name}`];
          if (!Number.isFinite(out.loss.data[0])) throw new Error("onnxruntime: the loss is not finite");
        },
        dispose: () => void session.release(),
      };
    }
    return { na: "unknown case" };
  };
}

export const ORT_NOTE =
  "training steps: a hand-built ONNX graph of forward + loss + backward + SGD (onnxruntime-node has no training API), run as an inference session";
