// Every bundled example checks clean, and the models reproduce their reference figures
// through the real pipeline (parse → elaborate → analyse). The figures come from
// ../shared/reference/ORACLES.md, the public model definitions (torchvision, the BERT and
// GPT-2 releases, PyTorch's modules) or the hand derivations in each model's doc comment.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { check, renderDiagnostic, summarize } from "../../src/index.js";
import type { ModelReport } from "../../compiler/analyze.js";

const dir = join(import.meta.dirname, "..", "..", "examples");
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".dlm"))
  .sort();

function report(file: string, model?: string, dims: Record<string, number> = {}): ModelReport {
  const r = summarize(join(dir, file), { model, dims: new Map(Object.entries(dims)) });
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  expect(errors.map((d) => renderDiagnostic(d, undefined)).join("\n")).toBe("");
  return r.report!;
}

describe("every example checks clean", () => {
  it("has examples", () => expect(files.length).toBeGreaterThanOrEqual(50));
  it.each(files)("%s", (file) => {
    const r = check(join(dir, file));
    expect(r.diagnostics.map((d) => renderDiagnostic(d, undefined)).join("\n")).toBe("");
    expect(r.models.size).toBeGreaterThan(0);
  });
});

// [file, model, total parameters, trainable (when some are frozen)]
const PARAMS: readonly [string, string, number, number?][] = [
  // ORACLES.md
  ["lenet5.dlm", "LeNet5", 61_706],
  ["lenet_seed002.dlm", "LeNet", 62_006],
  ["mlp_mnist.dlm", "NeuralNetwork", 669_706],
  ["mlp_from_scratch.dlm", "ScratchMLP", 7_960],
  ["rnn.dlm", "TorchRNN", 1_480],
  ["rnn.dlm", "ScanRNN", 1_480],
  ["attention.dlm", "MultiHead", 1_050_624],
  ["attention.dlm", "BuiltinMultiHead", 1_050_624],
  ["depthwise_separable.dlm", "Conv7x7", 735],
  ["depthwise_separable.dlm", "DepthwiseSeparable", 162],
  ["receptive_field.dlm", "Stacked3x3", 110_592],
  ["receptive_field.dlm", "Single7x7", 200_704],
  ["lora.dlm", "LoRALinear", 65_536 + 16_777_216, 65_536],
  ["alexnet.dlm", "AlexNet", 61_100_840],
  ["vgg16.dlm", "VGG", 138_357_544],
  ["resnet18.dlm", "ResNet18", 11_689_512],
  // torchvision / the BERT and GPT-2 releases
  ["googlenet.dlm", "GoogLeNet", 6_624_904],
  ["resnet50.dlm", "ResNet50", 25_557_032],
  ["densenet121.dlm", "DenseNet121", 7_978_856],
  ["mobilenet_v2.dlm", "MobileNetV2", 3_504_872],
  ["convnext.dlm", "ConvNeXtT", 28_589_128],
  ["vit_b16.dlm", "ViTB16", 86_567_656],
  ["bert_base.dlm", "BERTBase", 109_482_240],
  ["gpt2_small.dlm", "GPT2Small", 124_439_808],
  // derived by hand in the models' doc comments
  ["perceptron.dlm", "Perceptron", 3],
  ["softmax_regression.dlm", "SoftmaxRegression", 7_850],
  ["maxout_mlp.dlm", "MaxoutMLP", 494_890],
  ["stacked_birnn.dlm", "StackedBiRNN", 4_129],
  ["stacked_birnn.dlm", "TorchBiRNN", 4_129],
  ["lstm_lm.dlm", "LSTMLanguageModel", 19_780_400],
  ["gru.dlm", "GRUClassifier", 18_884],
  ["gru.dlm", "TorchGRUClassifier", 19_076],
  ["multi_query_attention.dlm", "MultiQueryAttention", 590_976],
  ["multi_query_attention.dlm", "GroupedQueryAttention", 656_640],
  ["multi_query_attention.dlm", "BuiltinMultiQuery", 590_976],
  ["cross_attention.dlm", "BuiltinCrossAttention", 1_050_624],
  ["pre_post_norm.dlm", "PostNormEncoder", 18_914_304],
  ["pre_post_norm.dlm", "PreNormEncoder", 18_915_328],
  ["gcn.dlm", "GCN", 23_063],
  ["linear_autoencoder.dlm", "LinearAutoencoder", 50_176],
  ["cbow.dlm", "CBOW", 2_010_000],
];

describe("parameter counts", () => {
  it.each(PARAMS)("%s %s has %i parameters", (file, model, total, trainable) => {
    const r = report(file, model);
    expect(r.params.total).toBe(total);
    expect(r.params.trainable).toBe(trainable ?? total);
  });
});

// [file, model, MACs per sample, relative tolerance]: torchvision's published GMACs are
// rounded to 3-4 digits; ORACLES' LeNet and MLP figures are exact.
const MACS: readonly [string, string, number, number][] = [
  ["lenet_seed002.dlm", "LeNet", 651_720, 0],
  ["mlp_mnist.dlm", "NeuralNetwork", 668_672, 0],
  ["alexnet.dlm", "AlexNet", 0.714e9, 0.005],
  ["vgg16.dlm", "VGG", 15.47e9, 0.005],
  ["resnet18.dlm", "ResNet18", 1.814e9, 0.005],
  ["resnet50.dlm", "ResNet50", 4.089e9, 0.005],
  ["densenet121.dlm", "DenseNet121", 2.834e9, 0.005],
  ["vit_b16.dlm", "ViTB16", 17.56e9, 0.005],
];

describe("MACs per sample", () => {
  it.each(MACS)("%s %s: %d MACs", (file, model, macs, tol) => {
    const r = report(file, model, { B: 1 });
    if (tol === 0) expect(r.macs.forward).toBe(macs);
    else expect(Math.abs(Number(r.macs.forward) / macs - 1)).toBeLessThan(tol);
  });

  it("a training step is forward + backward, and backward of matmul-like work is twice forward", () => {
    const r = report("resnet18.dlm", "ResNet18", { B: 8 });
    expect(Number(r.macs.step)).toBe(Number(r.macs.forward) + Number(r.macs.backward));
    expect(Number(r.macs.backward)).toBeGreaterThan(1.9 * Number(r.macs.forward));
    expect(Number(r.macs.backward)).toBeLessThanOrEqual(2 * Number(r.macs.forward));
  });
});
