"""PyTorch's side of dlm's GPU benchmark (bench/gpu.ts runs it): the same cases, fp32 with
TF32 off, eager mode, on CUDA where there is a GPU (else the CPU, to try the flow).

usage: python3 bench/gpu_torch.py '{"cases": [...], "min_ms": 1000, "rounds": 3}'
Prints one JSON line: a list of rows {case, impl: "pytorch", value, unit, note?}.
"""

import json
import sys
import time

import torch
from torch import nn

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def sync():
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def median_ms(run, rounds, min_ms, warmup=2):
    for _ in range(warmup):
        run()
    sync()
    times = []
    for _ in range(rounds):
        calls = 0
        t0 = time.perf_counter()
        while True:
            run()
            calls += 1
            sync()
            if (time.perf_counter() - t0) * 1000 >= min_ms:
                break
        times.append((time.perf_counter() - t0) * 1000 / calls)
    times.sort()
    return times[len(times) // 2]


def matmul(n, rounds, min_ms):
    a = torch.rand(n, n, device=DEVICE) * 2 - 1
    b = torch.rand(n, n, device=DEVICE) * 2 - 1
    inner = max(1, min(64, round(2**31 / n**3)))

    def run():
        for _ in range(inner):
            torch.mm(a, b)

    ms = median_ms(run, rounds, min_ms) / inner
    return 2 * n**3 / (ms * 1e6)


def lenet():
    return nn.Sequential(
        nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


class Encoder6(nn.Module):
    """The benchmark's transformer: embedding, 6 pre-norm layers with a final norm, a vocabulary head."""

    def __init__(self, vocab=1000, d=512):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        layer = nn.TransformerEncoderLayer(d, 8, 2048, dropout=0.0, activation="relu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, 6, norm=nn.LayerNorm(d), enable_nested_tensor=False)
        self.head = nn.Linear(d, vocab)

    def forward(self, tokens):
        return self.head(self.encoder(self.embed(tokens)))


def train(spec, rounds, min_ms):
    model_name, batch = spec["model"], spec["batch"]
    if model_name == "mlp":
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
        x, y, opt = torch.rand(batch, 784), torch.randint(0, 10, (batch,)), dict(lr=0.01, momentum=0.9)
    elif model_name == "lenet":
        model = lenet()
        x, y, opt = torch.rand(batch, 3, 32, 32), torch.randint(0, 10, (batch,)), dict(lr=0.01, momentum=0.9)
    elif model_name == "resnet18":
        try:
            import torchvision
        except ImportError:
            return None, "torchvision is not installed"
        model = torchvision.models.resnet18()
        x, y = torch.rand(batch, 3, 224, 224), torch.randint(0, 1000, (batch,))
        opt = dict(lr=0.1, momentum=0.9, weight_decay=1e-4)  # examples/resnet18.dlm's train section
    elif model_name == "transformer":
        seq = spec.get("T", 256)
        model = Encoder6()
        x, y, opt = torch.randint(0, 1000, (batch, seq)), torch.randint(0, 1000, (batch, seq)), dict(lr=0.01, momentum=0.9)
    else:
        return None, f"unknown model {model_name}"
    model = model.to(DEVICE).train()
    x, y = x.to(DEVICE), y.to(DEVICE)
    optimizer = torch.optim.SGD(model.parameters(), **opt)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad(set_to_none=True)
        out = model(x)
        loss = loss_fn(out.reshape(-1, out.shape[-1]), y.reshape(-1))
        loss.backward()
        optimizer.step()
        loss.item()  # the loss read back every step, as dlm's step does

    return 1000 / median_ms(step, rounds, min_ms), None


def main():
    spec = json.loads(sys.argv[1])
    rounds, min_ms = spec.get("rounds", 3), spec.get("min_ms", 1000)
    note = f"torch {torch.__version__} on {torch.cuda.get_device_name() if DEVICE == 'cuda' else 'the CPU (no CUDA device)'}, fp32, TF32 off"
    rows = []
    for case in spec["cases"]:
        if case["kind"] == "matmul":
            rows.append({"case": case["case"], "impl": "pytorch", "value": matmul(case["n"], rounds, min_ms), "unit": "GFLOP/s", "note": note})
        else:
            value, why = train(case, rounds, min_ms)
            row = {"case": case["case"], "impl": "pytorch", "value": value, "unit": "steps/s", "note": why or note}
            rows.append(row)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
