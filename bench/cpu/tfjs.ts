// TensorFlow.js's side of the CPU benchmark, on its "cpu" (plain JS) and "wasm" (XNNPACK,
// SIMD, single-threaded in Node) backends. Idiomatic tfjs: NHWC images and HWIO filters (the
// layouts its kernels take), tf.variable parameters, tf.train.sgd's minimize() for a step.

import { join } from "node:path";
import {
  BATCH,
  CONV,
  LENET_CONVS,
  LENET_DENSE,
  LR,
  MLP_LAYERS,
  heUniform,
  labels,
  nchwToNhwc,
  oihwToHwio,
  oneHot,
  peer,
  peerDir,
  uniform,
  type Impl,
  type Loose,
} from "./common.js";

let tfp: Promise<Loose> | undefined;

async function load(backend: "cpu" | "wasm"): Promise<Loose> {
  tfp ??= (async () => {
    const tf = await peer("@tensorflow/tfjs");
    const wasm = await peer("@tensorflow/tfjs-backend-wasm");
    wasm.setWasmPaths(join(peerDir("@tensorflow/tfjs-backend-wasm"), "dist") + "/");
    return tf;
  })();
  const tf = await tfp;
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} did not start`);
  await tf.ready();
  return tf;
}

export function tfjs(backend: "cpu" | "wasm"): Impl {
  return async (caseName) => {
    const tf = await load(backend);
    if (caseName === "matmul-256" || caseName === "matmul-1024") {
      const n = caseName === "matmul-256" ? 256 : 1024;
      const a = tf.tensor2d(uniform(n * n, 1), [n, n]);
      const b = tf.tensor2d(uniform(n * n, 2), [n, n]);
      return {
        step: () => {
          const c = tf.matMul(a, b);
          c.dataSync();
          c.dispose();
        },
        dispose: () => tf.dispose([a, b]),
      };
    }
    if (caseName === "conv2d-fwd") {
      const { batch, cin, cout, k, h, w } = CONV;
      const x = tf.tensor4d(nchwToNhwc(uniform(batch * cin * h * w, 5), batch, cin, h, w), [batch, h, w, cin]);
      const fanIn = cin * k * k;
      const f = tf.tensor4d(oihwToHwio(heUniform(cout * fanIn, fanIn, 3), cout, cin, k, k), [k, k, cin, cout]);
      const bias = tf.tensor1d(uniform(cout, 4));
      return {
        step: () => {
          // fused conv2d + bias ('same' = pad 1 for a 3x3 kernel at stride 1)
          const y = tf.fused.conv2d({ x, filter: f, strides: 1, pad: "same", bias });
          y.dataSync();
          y.dispose();
        },
        dispose: () => tf.dispose([x, f, bias]),
      };
    }
    if (caseName === "mlp-train" || caseName === "lenet-train") {
      const lenet = caseName === "lenet-train";
      const vars: Loose[] = [];
      let seed = 100;
      const dense = (layers: readonly (readonly [number, number])[]) =>
        layers.map(([i, o]) => {
          const W = tf.variable(tf.tensor2d(heUniform(i * o, i, seed++), [i, o]));
          const b = tf.variable(tf.zeros([o]));
          vars.push(W, b);
          return { W, b };
        });
      const convs = lenet
        ? LENET_CONVS.map(({ cin, cout, k }) => {
            const fanIn = cin * k * k;
            const W = tf.variable(tf.tensor4d(oihwToHwio(heUniform(cout * fanIn, fanIn, seed++), cout, cin, k, k), [k, k, cin, cout]));
            const b = tf.variable(tf.zeros([cout]));
            vars.push(W, b);
            return { W, b };
          })
        : [];
      const fcs = dense(lenet ? LENET_DENSE : MLP_LAYERS);
      const x = lenet ? tf.tensor4d(uniform(BATCH * 28 * 28, 11), [BATCH, 28, 28, 1]) : tf.tensor2d(uniform(BATCH * 784, 11), [BATCH, 784]);
      const y = tf.tensor2d(oneHot(labels(BATCH)), [BATCH, 10]);
      const opt = tf.train.sgd(LR);
      const forward = (): Loose => {
        let h = x;
        if (lenet) {
          convs.forEach((c, i) => {
            h = tf.relu(tf.add(tf.conv2d(h, c.W, 1, i === 0 ? "same" : "valid"), c.b));
            if (i < 2) h = tf.maxPool(h, 2, 2, "valid");
          });
          h = tf.reshape(h, [BATCH, 120]);
        }
        fcs.forEach((l, i) => {
          h = tf.add(tf.matMul(h, l.W), l.b);
          if (i < fcs.length - 1) h = tf.relu(h);
        });
        return tf.losses.softmaxCrossEntropy(y, h); // mean over the batch
      };
      return {
        step: () => {
          const loss = opt.minimize(forward, true, vars);
          loss.dataSync();
          loss.dispose();
        },
        dispose: () => tf.dispose([...vars, x, y]),
      };
    }
    return { na: "unknown case" };
  };
}
