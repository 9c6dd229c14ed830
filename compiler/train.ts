// The `train` section: loss, optimiser, schedule and the other settings a training run
// needs, checked at compile time (and overridable from the CLI later). Intermediate tensor
// bindings are allowed; any other unknown name is a misspelt setting.

import type { SourceRange, TrainDecl } from "../grammar/ast.js";
import { Dim } from "./dim.js";
import { createDiagnostic, Diagnostics, type Diagnostic } from "./diagnostics/index.js";
import type { Node, TensorRef } from "./ir/graph.js";
import { typeToString } from "./ops/types.js";
import { ConfigValue, describeValue, PoisonValue, TensorValue, type Value } from "./values.js";
import { suggest } from "./suggest.js";

interface BuiltinSpec {
  readonly kind: "optimizer" | "schedule" | "augment";
  readonly args: readonly string[];
  /** optimiser state tensors kept per parameter */
  readonly stateSlots?: number;
}

export const TRAIN_BUILTINS: ReadonlyMap<string, BuiltinSpec> = new Map<string, BuiltinSpec>([
  ["sgd", { kind: "optimizer", args: ["lr", "momentum", "nesterov", "weight_decay", "dampening"], stateSlots: 0 }],
  ["momentum", { kind: "optimizer", args: ["lr", "beta", "weight_decay"], stateSlots: 1 }],
  ["nesterov", { kind: "optimizer", args: ["lr", "beta", "weight_decay"], stateSlots: 1 }],
  ["adagrad", { kind: "optimizer", args: ["lr", "eps", "weight_decay", "initial_accumulator"], stateSlots: 1 }],
  ["rmsprop", { kind: "optimizer", args: ["lr", "alpha", "eps", "momentum", "weight_decay"], stateSlots: 1 }],
  ["adam", { kind: "optimizer", args: ["lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad"], stateSlots: 2 }],
  ["adamw", { kind: "optimizer", args: ["lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad"], stateSlots: 2 }],
  ["constant_lr", { kind: "schedule", args: ["warmup"] }],
  ["step_lr", { kind: "schedule", args: ["every", "gamma", "warmup"] }],
  ["cosine", { kind: "schedule", args: ["steps", "min_lr", "warmup"] }],
  ["warmup", { kind: "schedule", args: ["steps"] }],
  // data augmentation of an image input ([B, …, H, W]) in training steps only
  ["random_shift", { kind: "augment", args: ["pixels", "input"] }],
  ["random_flip", { kind: "augment", args: ["input"] }],
]);

const SETTINGS = new Set([
  "loss",
  "optimizer",
  "schedule",
  "batch",
  "epochs",
  "clip_norm",
  "clip_value",
  "accumulate",
  "weight_decay",
  "metrics",
  "seed",
  "params",
  "steps",
  "augment",
]);

const METRICS = new Set(["accuracy", "precision", "recall", "f1", "top5"]);

export interface OptimizerSetup {
  readonly name: string;
  readonly args: Readonly<Record<string, number | boolean>>;
  readonly stateSlots: number;
}

export interface PhaseSetup {
  readonly name: string;
  readonly loss?: TensorRef;
  readonly optimizer?: OptimizerSetup;
  /** parameter-name prefixes this phase updates; empty = all trainable */
  readonly params: readonly string[];
  readonly steps: number;
}

/**
 * One augmentation of the training batches: `random_shift` moves each image by up to
 * `pixels` in each direction (zero fill), `random_flip` mirrors it left-right with
 * probability ½. Evaluation never sees them.
 */
export interface AugmentSetup {
  readonly name: "random_shift" | "random_flip";
  /** the model input it changes */
  readonly input: string;
  readonly pixels: number;
}

export interface TrainSetup {
  readonly model: string;
  readonly loss?: TensorRef;
  readonly optimizer: OptimizerSetup;
  readonly schedule?: { readonly name: string; readonly args: Readonly<Record<string, number>> };
  readonly batch?: number;
  readonly epochs?: number;
  readonly clipNorm?: number;
  readonly clipValue?: number;
  readonly accumulate: number;
  readonly weightDecay?: number;
  readonly metrics: readonly string[];
  readonly seed?: number;
  readonly phases: readonly PhaseSetup[];
  readonly augment: readonly AugmentSetup[];
}

/** each setting's value, where the value is written, and where its name is */
type Settings = ReadonlyMap<string, { readonly value: Value; readonly range: SourceRange; readonly nameRange: SourceRange }>;

export function checkTrainSetup(ctx: {
  decl: TrainDecl;
  file: string;
  settings: Settings;
  phases: readonly { name: string; range: SourceRange; settings: Settings }[];
  nodes: readonly Node[];
  paramNames: readonly string[];
}): { setup?: TrainSetup; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const { file } = ctx;
  const bad = (range: SourceRange, key: string, what: string): void => {
    diagnostics.push(createDiagnostic(Diagnostics.Train_bad_value_0_1, file, range, [key, what]));
  };

  const num = (s: Settings, key: string, opts: { int?: boolean; min?: number } = {}): number | undefined => {
    const e = s.get(key);
    if (!e || e.value instanceof PoisonValue) return undefined;
    const v = e.value instanceof Dim ? e.value.constant : typeof e.value === "number" ? e.value : undefined;
    if (v === undefined || (opts.int && !Number.isInteger(v)) || (opts.min !== undefined && v < opts.min)) {
      bad(
        e.range,
        key,
        `must be ${opts.int ? "an integer" : "a number"}${opts.min !== undefined ? ` ≥ ${opts.min}` : ""}, got ${describeValue(e.value)}`,
      );
      return undefined;
    }
    return v;
  };

  const lossOf = (s: Settings): TensorRef | undefined => {
    const e = s.get("loss");
    if (!e || e.value instanceof PoisonValue) return undefined;
    if (!(e.value instanceof TensorValue)) {
      diagnostics.push(createDiagnostic(Diagnostics.Not_a_tensor_0, file, e.range, [describeValue(e.value)]));
      return undefined;
    }
    if (e.value.type.shape.length !== 0) {
      diagnostics.push(
        createDiagnostic(Diagnostics.Loss_not_scalar_0, file, e.range, [typeToString(e.value.type)], {
          hint: 'reduce it with mean(...) or sum(...), or use a loss with reduction: "mean"',
        }),
      );
      return undefined;
    }
    return e.value.ref;
  };

  const optimizerOf = (s: Settings): OptimizerSetup | undefined => {
    const e = s.get("optimizer");
    if (!e || e.value instanceof PoisonValue) return undefined;
    if (!(e.value instanceof ConfigValue) || e.value.kind !== "optimizer") {
      const text = typeof e.value === "string" ? e.value : describeValue(e.value);
      diagnostics.push(
        createDiagnostic(Diagnostics.Train_unknown_optimizer_0, file, e.range, [text], {
          hint: `optimizers: ${[...TRAIN_BUILTINS]
            .filter(([, b]) => b.kind === "optimizer")
            .map(([n]) => n)
            .join(", ")}`,
        }),
      );
      return undefined;
    }
    const args: Record<string, number | boolean> = {};
    for (const [k, v] of Object.entries(e.value.args)) {
      const n = v instanceof Dim ? v.constant : v;
      if (typeof n === "number" || typeof n === "boolean") args[k] = n;
      else bad(e.range, `${e.value.name}.${k}`, `must be a number, got ${describeValue(v)}`);
    }
    if (typeof args.lr === "number" && !(args.lr > 0)) bad(e.range, "lr", "must be positive");
    return { name: e.value.name, args, stateSlots: TRAIN_BUILTINS.get(e.value.name)!.stateSlots ?? 0 };
  };

  const checkKeys = (s: Settings, allowed: ReadonlySet<string>): void => {
    for (const [key, e] of s) {
      if (allowed.has(key) || e.value instanceof TensorValue || e.value instanceof PoisonValue) continue;
      diagnostics.push(
        createDiagnostic(Diagnostics.Train_unknown_setting_0, file, e.nameRange, [key], {
          hint: suggest(key, allowed) ? `did you mean '${suggest(key, allowed)}'?` : `settings: ${[...allowed].join(", ")}`,
        }),
      );
    }
  };

  const paramsOf = (s: Settings): string[] => {
    const e = s.get("params");
    if (!e) return [];
    const list = Array.isArray(e.value) ? (e.value as Value[]) : [e.value];
    const out: string[] = [];
    for (const v of list) {
      if (typeof v !== "string") {
        bad(e.range, "params", `must list parameter-name prefixes as strings, got ${describeValue(v)}`);
        continue;
      }
      if (!ctx.paramNames.some((p) => p === v || p.startsWith(v + ".")))
        bad(e.range, "params", `names '${v}', which matches no parameter of the model`);
      out.push(v);
    }
    return out;
  };

  checkKeys(ctx.settings, SETTINGS);
  const loss = lossOf(ctx.settings);
  const optimizer = optimizerOf(ctx.settings);
  const phases: PhaseSetup[] = ctx.phases.map((p) => {
    checkKeys(p.settings, SETTINGS);
    return {
      name: p.name,
      ...(lossOf(p.settings) ? { loss: lossOf(p.settings)! } : {}),
      ...(optimizerOf(p.settings) ? { optimizer: optimizerOf(p.settings)! } : {}),
      params: paramsOf(p.settings),
      steps: num(p.settings, "steps", { int: true, min: 1 }) ?? 1,
    };
  });
  if (!loss && !phases.some((p) => p.loss) && !ctx.settings.has("loss") && !ctx.phases.some((p) => p.settings.has("loss")))
    diagnostics.push(createDiagnostic(Diagnostics.Train_missing_loss, file, ctx.decl.model.range, []));

  let schedule: TrainSetup["schedule"];
  const sched = ctx.settings.get("schedule");
  if (sched && !(sched.value instanceof PoisonValue)) {
    if (sched.value instanceof ConfigValue && sched.value.kind === "schedule") {
      const args: Record<string, number> = {};
      for (const [k, v] of Object.entries(sched.value.args)) {
        const n = v instanceof Dim ? v.constant : typeof v === "number" ? v : undefined;
        if (n === undefined) bad(sched.range, k, `must be a number, got ${describeValue(v)}`);
        else args[k] = n;
      }
      schedule = { name: sched.value.name, args };
    } else
      diagnostics.push(
        createDiagnostic(Diagnostics.Train_unknown_schedule_0, file, sched.range, [describeValue(sched.value)], {
          hint: "schedules: constant_lr, step_lr(every, gamma), cosine(steps, min_lr), warmup(steps)",
        }),
      );
  }

  const metrics: string[] = [];
  const m = ctx.settings.get("metrics");
  if (m) {
    const list = Array.isArray(m.value) ? (m.value as Value[]) : [m.value];
    for (const v of list)
      if (typeof v === "string" && METRICS.has(v)) metrics.push(v);
      else bad(m.range, "metrics", `must list metric names (${[...METRICS].join(", ")}), got ${describeValue(v)}`);
  }

  const augment = augmentOf(ctx, bad);

  const setup: TrainSetup = {
    model: ctx.decl.model.name,
    ...(loss ? { loss } : {}),
    optimizer: optimizer ?? { name: "adam", args: { lr: 1e-3 }, stateSlots: 2 },
    ...(schedule ? { schedule } : {}),
    ...opt("batch", num(ctx.settings, "batch", { int: true, min: 1 })),
    ...opt("epochs", num(ctx.settings, "epochs", { int: true, min: 1 })),
    ...opt("clipNorm", num(ctx.settings, "clip_norm", { min: 0 })),
    ...opt("clipValue", num(ctx.settings, "clip_value", { min: 0 })),
    accumulate: num(ctx.settings, "accumulate", { int: true, min: 1 }) ?? 1,
    ...opt("weightDecay", num(ctx.settings, "weight_decay", { min: 0 })),
    metrics,
    ...opt("seed", num(ctx.settings, "seed", { int: true })),
    phases,
    augment,
  };
  return { setup, diagnostics };
}

/** `augment = random_shift(2)` or a list of them: each resolved to a floating-point image input of the model. */
function augmentOf(
  ctx: { settings: Settings; nodes: readonly Node[] },
  bad: (range: SourceRange, key: string, what: string) => void,
): AugmentSetup[] {
  const e = ctx.settings.get("augment");
  if (!e || e.value instanceof PoisonValue) return [];
  const images = ctx.nodes.filter(
    (n): n is Node & { kind: "input"; name: string } =>
      n.kind === "input" && n.region === 0 && n.outputs[0]!.dtype.startsWith("f") && n.outputs[0]!.shape.length >= 3,
  );
  const out: AugmentSetup[] = [];
  for (const v of Array.isArray(e.value) ? (e.value as Value[]) : [e.value]) {
    if (!(v instanceof ConfigValue) || v.kind !== "augment") {
      bad(e.range, "augment", `must list augmentations (random_shift(pixels), random_flip()), got ${describeValue(v)}`);
      continue;
    }
    const named = v.args.input;
    let input: string | undefined;
    if (named !== undefined) {
      if (typeof named !== "string" || !images.some((n) => n.name === named)) {
        bad(
          v.range,
          `${v.name}.input`,
          `must name a floating-point model input of rank 3 or more (an image batch), got ${describeValue(named)}`,
        );
        continue;
      }
      input = named;
    } else if (images.length === 1) input = images[0]!.name;
    else {
      bad(
        v.range,
        "augment",
        images.length === 0
          ? "needs a floating-point model input of rank 3 or more ([B, …, H, W]) to change"
          : `must say which input it changes (input: "${images[0]!.name}"), the model has ${images.length} image inputs`,
      );
      continue;
    }
    let pixels = 0;
    if (v.name === "random_shift") {
      const p = v.args.pixels instanceof Dim ? v.args.pixels.constant : v.args.pixels;
      if (typeof p !== "number" || !Number.isInteger(p) || p < 1) {
        bad(
          v.range,
          "random_shift.pixels",
          `must be a positive integer, got ${p === undefined ? "nothing" : describeValue(v.args.pixels!)}`,
        );
        continue;
      }
      pixels = p;
    }
    out.push({ name: v.name as AugmentSetup["name"], input, pixels });
  }
  return out;
}

function opt<K extends string>(key: K, v: number | undefined): Partial<Record<K, number>> {
  return v === undefined ? {} : ({ [key]: v } as Record<K, number>);
}
