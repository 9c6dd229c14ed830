"""Runs exported PyTorch modules for the tests (test/export/): for each job of a JSON list,
imports the generated file, loads dlm's weights with its load_dlm_weights, runs the inputs
through the module and writes what the test compares with dlm, with the module's own
write_safetensors:

  eval:NAME   the outputs in evaluation mode (no gradient)
  out:NAME    the outputs in training mode
  loss        the train section's loss (mode "loss") or sum(output * probe) (mode "probe")
  grad:NAME   the gradient of that loss for every parameter (and float input) that has one
  buffer:NAME every buffer after the training-mode forward (running statistics)
  f64:...     with "float64": the training-mode results again, computed in float64
and, for a job with "resave", the loaded weights written back with save_dlm_weights (a job
without "inputs" does only that).

A job that fails leaves OUT.error with the exception instead.
"""

import importlib.util
import json
import sys

import torch


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def as_tuple(out):
    return out if isinstance(out, tuple) else (out,)


def forward_backward(model, job, args, kwargs, probes, prefix, results):
    """One training-mode pass (outputs, loss, gradients, buffers) into results[prefix + key]."""
    model.train(job.get("training", True))
    if job["mode"] == "probe":
        for a in args:
            if a.is_floating_point():
                a.requires_grad_(True)
    if job["mode"] == "loss":
        outputs, loss = model(*args, **kwargs, return_loss=True)
    else:
        outputs = model(*args)
        pairs = zip(job["outputs"], as_tuple(outputs))
        loss = sum((o * probes[name].to(o.dtype)).sum() for name, o in pairs if o.is_floating_point())
    if torch.is_tensor(loss) and loss.requires_grad:
        loss.backward()
    for name, t in zip(job["outputs"], as_tuple(outputs)):
        results[prefix + "out:" + name] = t
    results[prefix + "loss"] = torch.as_tensor(loss).reshape(())
    for name, p in model.named_parameters():
        if p.grad is not None:
            results[prefix + "grad:" + name] = p.grad
    for i, a in enumerate(args):
        if a.grad is not None:
            results[f"{prefix}grad:input:{job['args'][i]}"] = a.grad
    for name, b in model.named_buffers():
        results[prefix + "buffer:" + name] = b


def run(job, index):
    m = load_module(job["module"], f"exported_{index}")

    def fresh():
        model = getattr(m, job["class"])()
        if job.get("weights"):
            m.load_dlm_weights(model, job["weights"])
        return model

    model = fresh()
    if job.get("resave"):
        m.save_dlm_weights(model, job["resave"])
    if not job.get("inputs"):
        return
    tensors, _ = m.read_safetensors(job["inputs"])
    args = [tensors[n] for n in job["args"]]
    kwargs = {k: tensors[v] for k, v in job.get("kwargs", {}).items()}
    probes = {k[len("probe:") :]: v for k, v in tensors.items() if k.startswith("probe:")}
    results = {}
    model.eval()
    with torch.no_grad():
        for name, t in zip(job["outputs"], as_tuple(model(*args))):
            results["eval:" + name] = t
    if job.get("mode") is not None:
        forward_backward(model, job, args, kwargs, probes, "", results)
        if job.get("float64"):
            # the same pass in float64: how far float32 rounding alone takes torch
            wide = [a.detach().double() if a.is_floating_point() else a for a in args]
            forward_backward(fresh().double(), job, wide, kwargs, probes, "f64:", results)
    m.write_safetensors(job["out"], {k: v.detach().contiguous() for k, v in results.items()})


def main():
    torch.manual_seed(0)
    jobs = json.load(open(sys.argv[1]))
    for i, job in enumerate(jobs):
        try:
            run(job, i)
        except Exception as e:  # reported per job (OUT.error), so each test names its own failure
            with open(job["out"] + ".error", "w") as f:
                f.write(f"{type(e).__name__}: {e}")


if __name__ == "__main__":
    main()
