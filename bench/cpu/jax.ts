// jax-js's side of the CPU benchmark, on its wasm device (init("wasm"): Node has no
// navigator; single-threaded in Node). Idiomatic jax: jit-compiled functions, NCHW / OIHW as
// lax.conv takes them, a training step that is one jit of valueAndGrad plus the SGD update
// over the parameter tree (jax-js's move semantics: arguments are consumed, `.ref` keeps them).

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

let jaxp: Promise<Loose> | undefined;

function load(): Promise<Loose> {
  return (jaxp ??= (async () => {
    const jax = await peer("@jax-js/jax");
    await jax.init("wasm");
    jax.defaultDevice("wasm");
    return jax;
  })());
}

export const jaxjs: Impl = async (caseName) => {
  const jax = await load();
  const { numpy: np, lax, nn, tree, jit, valueAndGrad } = jax;
  const arr = (data: Float32Array, shape: number[]): Loose => np.array(data).reshape(shape);

  if (caseName === "matmul-256" || caseName === "matmul-1024") {
    const n = caseName === "matmul-256" ? 256 : 1024;
    const a = arr(uniform(n * n, 1), [n, n]);
    const b = arr(uniform(n * n, 2), [n, n]);
    const f = jit((p: Loose, q: Loose) => np.matmul(p, q));
    return {
      step: () => {
        f(a.ref, b.ref).dataSync(); // dataSync consumes the result
      },
      dispose: () => tree.dispose([a, b]),
    };
  }
  if (caseName === "conv2d-fwd") {
    const { batch, cin, cout, k, h, w, pad } = CONV;
    const x = arr(uniform(batch * cin * h * w, 5), [batch, cin, h, w]);
    const fanIn = cin * k * k;
    const wt = arr(heUniform(cout * fanIn, fanIn, 3), [cout, cin, k, k]);
    const bias = arr(uniform(cout, 4), [1, cout, 1, 1]);
    const f = jit((xx: Loose, ww: Loose, bb: Loose) =>
      lax
        .conv(
          xx,
          ww,
          [1, 1],
          [
            [pad, pad],
            [pad, pad],
          ],
        )
        .add(bb),
    );
    return {
      step: () => {
        f(x.ref, wt.ref, bias.ref).dataSync();
      },
      dispose: () => tree.dispose([x, wt, bias]),
    };
  }
  if (caseName === "mlp-train" || caseName === "lenet-train") {
    const lenet = caseName === "lenet-train";
    let seed = 100;
    type Layer = { W: Loose; b: Loose };
    const conv: Layer[] = lenet
      ? LENET_CONVS.map(({ cin, cout, k }) => ({
          W: arr(heUniform(cout * cin * k * k, cin * k * k, seed++), [cout, cin, k, k]),
          b: np.zeros([1, cout, 1, 1]),
        }))
      : [];
    const fc: Layer[] = (lenet ? LENET_DENSE : MLP_LAYERS).map(([i, o]) => ({
      W: arr(heUniform(i * o, i, seed++), [i, o]),
      b: np.zeros([o]),
    }));
    let params: Loose = { conv, fc };
    const x = lenet ? arr(uniform(BATCH * 28 * 28, 11), [BATCH, 1, 28, 28]) : arr(uniform(BATCH * 784, 11), [BATCH, 784]);
    const y = arr(oneHot(labels(BATCH)), [BATCH, 10]);

    const maxpool2 = (t: Loose): Loose => {
      const [b, c, hh, ww] = t.shape as number[];
      return np.max(t.reshape([b!, c!, hh! / 2, 2, ww! / 2, 2]), [3, 5]);
    };
    const lossFn = (p: Loose, xx: Loose, yy: Loose): Loose => {
      let h = xx;
      (p.conv as Layer[]).forEach((l, i) => {
        const pd = LENET_CONVS[i]!.pad;
        h = nn.relu(
          lax
            .conv(
              h,
              l.W,
              [1, 1],
              [
                [pd, pd],
                [pd, pd],
              ],
            )
            .add(l.b),
        );
        if (i < 2) h = maxpool2(h);
      });
      if (lenet) h = h.reshape([BATCH, 120]);
      const n = (p.fc as Layer[]).length;
      (p.fc as Layer[]).forEach((l, i) => {
        h = np.matmul(h, l.W).add(l.b);
        if (i < n - 1) h = nn.relu(h);
      });
      return nn
        .logSoftmax(h, -1)
        .mul(yy)
        .sum()
        .mul(-1 / BATCH);
    };
    const step = jit((p: Loose, xx: Loose, yy: Loose) => {
      const [loss, g] = valueAndGrad(lossFn)(tree.ref(p), xx, yy);
      const next = tree.map((w: Loose, gw: Loose) => w.sub(gw.mul(LR)), p, g);
      return [loss, next];
    });
    return {
      step: () => {
        const [loss, next] = step(params, x.ref, y.ref);
        params = next;
        loss.dataSync();
      },
      dispose: () => tree.dispose([params, x, y]),
    };
  }
  return { na: "unknown case" };
};
