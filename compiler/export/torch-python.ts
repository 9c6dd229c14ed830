// The fixed Python text of an exported PyTorch file (compiler/export/torch.ts): imports, the
// container module, dlm's initialisers, safetensors reading and writing, the strict weight
// loader, and the helpers op mappings ask for. Nothing here depends on the model; the
// exporter adds the model's class and training settings around it. Works with torch ≥ 1.13.

import type { TorchHelper } from "../ops/torch-mapping.js";

export const IMPORTS = String.raw`import argparse
import contextlib
import json
import math
import os
import struct
import sys

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset`;

/** Names the fixed text defines at module level (generated names must avoid them). */
export const MODULE_NAMES: readonly string[] = [
  "argparse",
  "contextlib",
  "json",
  "math",
  "os",
  "struct",
  "sys",
  "torch",
  "dist",
  "nn",
  "F",
  "DDP",
  "DataLoader",
  "DistributedSampler",
  "TensorDataset",
  "Scope",
  "init_tensor",
  "tensor_fans",
  "SAFETENSORS_DTYPES",
  "SAFETENSORS_NAMES",
  "SAFETENSORS_ORDER",
  "read_safetensors",
  "write_safetensors",
  "weight_mismatches",
  "load_dlm_weights",
  "save_dlm_weights",
  "MODEL_NAME",
  "DIMS",
  "NO_DECAY",
  "LR_SCALE",
  "make_dataset",
  "make_optimizer",
  "lr_at",
  "main",
];

export const SCOPE = String.raw`class Scope(nn.Module):
    """A group of layers, parameters (nn.Parameter) and buffers (plain tensors) under the
    names dlm gives them, which need not be Python identifiers ("0", "1", ...)."""

    def __init__(self, children):
        super().__init__()
        for name, child in children.items():
            if isinstance(child, nn.Module):
                self._modules[name] = child
            elif isinstance(child, nn.Parameter):
                self._parameters[name] = child
            else:
                self._buffers[name] = child

    def __getitem__(self, name):
        for table in (self._modules, self._parameters, self._buffers):
            if name in table:
                return table[name]
        raise KeyError(name)`;

export const INIT = String.raw`def tensor_fans(t):
    """fan_in and fan_out of a weight [out, in, *kernel], as torch.nn.init counts them."""
    if t.dim() < 2:
        raise ValueError(f"fan in and fan out need a tensor of rank >= 2, got shape {list(t.shape)}")
    receptive = math.prod(t.shape[2:])
    return t.shape[1] * receptive, t.shape[0] * receptive


def init_tensor(t, rule, args):
    """Fills t as dlm's initialiser rule does (torch.nn.init's formulas and fan conventions)."""
    a = dict(args)
    if rule == "zeros":
        nn.init.zeros_(t)
    elif rule == "ones":
        nn.init.ones_(t)
    elif rule == "constant":
        nn.init.constant_(t, a["value"])
    elif rule == "normal":
        nn.init.normal_(t, a.get("mean", 0.0), a.get("std", 1.0))
    elif rule == "uniform":
        if "bound" in a:
            lo, hi = -a["bound"], a["bound"]
        else:
            pairs = [(l, h) for l, h in (("lo", "hi"), ("low", "high"), ("a", "b")) if l in a or h in a]
            lo, hi = (a.get(pairs[0][0], 0.0), a.get(pairs[0][1], 1.0)) if pairs else (0.0, 1.0)
        nn.init.uniform_(t, lo, hi)
    elif rule == "xavier_uniform":
        nn.init.xavier_uniform_(t, gain=a.get("gain", 1.0))
    elif rule == "xavier_normal":
        nn.init.xavier_normal_(t, gain=a.get("gain", 1.0))
    elif rule in ("kaiming_uniform", "kaiming_normal"):
        mode = "fan_out" if a.get("fan_out") else "fan_in"
        if "gain" in a:
            fan_in, fan_out = tensor_fans(t)
            std = a["gain"] / math.sqrt(fan_out if mode == "fan_out" else fan_in)
            if rule == "kaiming_uniform":
                nn.init.uniform_(t, -math.sqrt(3.0) * std, math.sqrt(3.0) * std)
            else:
                nn.init.normal_(t, 0.0, std)
        elif rule == "kaiming_uniform":
            nn.init.kaiming_uniform_(t, a=a.get("a", 0.0), mode=mode)
        else:
            nn.init.kaiming_normal_(t, a=a.get("a", 0.0), mode=mode)
    elif rule == "lecun_normal":
        nn.init.normal_(t, 0.0, a.get("gain", 1.0) / math.sqrt(tensor_fans(t)[0]))
    elif rule == "orthogonal":
        nn.init.orthogonal_(t, gain=a.get("gain", 1.0))
    else:
        raise ValueError(f"unknown initialiser {rule!r}")`;

export const WEIGHTS_IO = String.raw`SAFETENSORS_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
SAFETENSORS_NAMES = {dtype: name for name, dtype in SAFETENSORS_DTYPES.items()}
# The reference writer lays tensors out by its dtype enum (descending), then by name.
SAFETENSORS_ORDER = {"BOOL": 0, "U8": 1, "I8": 2, "I16": 5, "F16": 7, "BF16": 8, "I32": 9, "F32": 11, "F64": 12, "I64": 13}


def read_safetensors(path):
    """The tensors (name -> tensor) and the metadata of a safetensors file."""
    if sys.byteorder != "little":
        raise RuntimeError("safetensors files are little-endian; this machine is not")
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: {len(data)} bytes, too short for a safetensors file")
    n = struct.unpack("<Q", data[:8])[0]
    if n > 100_000_000 or 8 + n > len(data):
        raise ValueError(f"{path}: not a safetensors file (header length {n}, file length {len(data)})")
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", None) or {}
    tensors = {}
    for name, info in header.items():
        dtype = SAFETENSORS_DTYPES.get(info.get("dtype"))
        if dtype is None:
            raise ValueError(f"{path}: tensor {name!r} has dtype {info.get('dtype')!r}, which this reader does not handle")
        begin, end = info["data_offsets"]
        shape = [int(d) for d in info["shape"]]
        raw = bytearray(data[8 + n + begin : 8 + n + end])
        flat = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        if flat.numel() != math.prod(shape) or end < begin or 8 + n + end > len(data):
            raise ValueError(f"{path}: tensor {name!r}: shape {shape} does not match its data_offsets [{begin}, {end}]")
        tensors[name] = flat.reshape(shape)
    return tensors, metadata


def write_safetensors(path, tensors, metadata=None):
    """Writes tensors (name -> tensor) as dlm and the reference writer lay them out, atomically:
    a temporary file in the same directory, flushed to disk, then renamed over path."""
    if sys.byteorder != "little":
        raise RuntimeError("safetensors files are little-endian; this machine is not")
    items = [(name, t.detach().to("cpu").contiguous()) for name, t in tensors.items()]
    items.sort(key=lambda item: (-SAFETENSORS_ORDER[SAFETENSORS_NAMES[item[1].dtype]], item[0]))
    header = {}
    if metadata:
        header["__metadata__"] = {k: str(metadata[k]) for k in sorted(metadata)}
    blobs = []
    offset = 0
    for name, t in items:
        blob = t.reshape(-1).view(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": SAFETENSORS_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for blob in blobs:
                f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def weight_mismatches(own, tensors):
    """Every difference between a model's parameters and buffers (own) and a file's tensors."""
    widen = {torch.float32: (torch.float16, torch.bfloat16)}
    problems = []
    for name, target in own.items():
        t = tensors.get(name)
        if t is None:
            problems.append(f"missing: {name} {list(target.shape)}")
        elif list(t.shape) != list(target.shape):
            problems.append(f"shape: {name} is {list(t.shape)} in the file, the model has {list(target.shape)}")
        elif t.dtype != target.dtype and t.dtype not in widen.get(target.dtype, ()):
            problems.append(f"dtype: {name} is {SAFETENSORS_NAMES.get(t.dtype, t.dtype)} in the file, the model has {SAFETENSORS_NAMES.get(target.dtype, target.dtype)}")
    for name, t in tensors.items():
        if name not in own and not name.startswith("optimizer.") and not name.endswith(".num_batches_tracked"):
            problems.append(f"unexpected: {name} {list(t.shape)}")
    return problems


def load_dlm_weights(model, path):
    """Copies the parameters and buffers of a safetensors file (dlm's weights or checkpoint, or
    torch's with the same names) into model. Strict: every parameter and buffer must be there
    with its shape, and nothing else (a checkpoint's optimizer state and torch's
    num_batches_tracked counters excepted); the error lists every mismatch. F16 and BF16
    tensors are widened to float32 exactly."""
    tensors, _ = read_safetensors(path)
    own = model.state_dict(keep_vars=True)
    problems = weight_mismatches(own, tensors)
    if problems:
        raise ValueError(f"{path} does not fit {type(model).__name__}:\n  " + "\n  ".join(problems))
    with torch.no_grad():
        for name, target in own.items():
            target.copy_(tensors[name].to(target.dtype))


def save_dlm_weights(model, path, metadata=None):
    """Writes the model's parameters and buffers under dlm's names: dlm run --weights reads the file."""
    write_safetensors(path, model.state_dict(), {"model": MODEL_NAME, **(metadata or {})})`;

/** The helpers op mappings ask for, by name; each is included once, in this order, when used. */
export const HELPERS: Readonly<Record<TorchHelper, string>> = {
  no_batch_counter: String.raw`def without_batch_counter(norm):
    """dlm keeps no num_batches_tracked counter: dropping it keeps the state_dict names dlm's."""
    norm.register_buffer("num_batches_tracked", None)
    return norm`,
  embedding: String.raw`def embedding_lookup(ids, weight, padding_idx):
    """Rows of the table; the padding row's output is zero (so it gets no gradient), as in dlm."""
    rows = F.embedding(ids, weight)
    return rows * (ids != padding_idx).unsqueeze(-1).to(rows.dtype)`,
  cross_entropy: String.raw`def cross_entropy(logits, target, weight=None, label_smoothing=0.0, ignore_index=-100, reduction="mean"):
    """dlm's cross_entropy: classes on the LAST axis (torch's F.cross_entropy wants axis 1)."""
    if logits.dim() > 1:
        logits = logits.movedim(-1, 1)
        if target.is_floating_point():
            target = target.movedim(-1, 1)
    if not target.is_floating_point():
        target = target.long()
    w = None if weight is None else torch.tensor(weight, dtype=logits.dtype, device=logits.device)
    return F.cross_entropy(logits, target, weight=w, ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing)`,
  nll_loss: String.raw`def nll_loss(logp, target, weight=None, ignore_index=-100, reduction="mean"):
    """dlm's nll_loss: classes on the LAST axis (torch's F.nll_loss wants axis 1)."""
    if logp.dim() > 1:
        logp = logp.movedim(-1, 1)
    w = None if weight is None else torch.tensor(weight, dtype=logp.dtype, device=logp.device)
    return F.nll_loss(logp, target.long(), weight=w, ignore_index=ignore_index, reduction=reduction)`,
  reduce_loss: String.raw`def reduce_loss(losses, reduction):
    """Per-element losses reduced as dlm's reduction says: "mean", "sum" or "none"."""
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses`,
  sdpa: String.raw`def scaled_dot_product_attention(q, k, v, mask=None, causal=False, scale=None, dropout=0.0, training=False):
    """softmax(q k^T * scale + mask) v as dlm computes it: a bool mask says where a query may
    attend, a float mask is added; causal keeps keys j <= query i; dropout on the weights."""
    scores = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]) if scale is None else scale)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    if causal:
        allowed = torch.ones(scores.shape[-2], scores.shape[-1], dtype=torch.bool, device=scores.device).tril()
        scores = scores.masked_fill(~allowed, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    if training and dropout > 0:
        weights = F.dropout(weights, dropout, training=True)
    return torch.matmul(weights, v)`,
  rope: String.raw`def rotary(x, base=10000.0):
    """Rotary position embedding over x [..., T, d] in the rotate-half layout, as dlm's apply_rope."""
    t, d = x.shape[-2], x.shape[-1]
    half = d // 2
    pos = torch.arange(t, dtype=torch.float64, device=x.device)
    j = (torch.arange(d, device=x.device) % half).to(torch.float64)
    angle = pos[:, None] * torch.pow(torch.tensor(base, dtype=torch.float64), -2.0 * j / d)[None, :]
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * angle.cos().to(x.dtype) + rotated * angle.sin().to(x.dtype)`,
  mha: String.raw`class MultiheadAttention(nn.Module):
    """dlm's multihead_attention: q/k/v/out projections under dlm's names, grouped key/value
    heads (kv_heads < heads), optional rotary embeddings."""

    def __init__(self, d, dkv, heads, kv_heads, bias):
        super().__init__()
        self.heads, self.kv_heads = heads, kv_heads
        dh = d // heads
        self.q_proj = nn.Linear(d, d, bias=bias)
        self.k_proj = nn.Linear(dkv, kv_heads * dh, bias=bias)
        self.v_proj = nn.Linear(dkv, kv_heads * dh, bias=bias)
        self.out_proj = nn.Linear(d, d, bias=bias)

    def forward(self, x, kv=None, mask=None, causal=False, dropout=0.0, rope=False):
        unbatched = x.dim() == 2
        if unbatched:
            x = x.unsqueeze(0)
            kv = None if kv is None else kv.unsqueeze(0)
        kv = x if kv is None else kv
        b, t, d = x.shape
        s = kv.shape[1]
        dh = d // self.heads

        def heads_of(y, n, length, rotate):
            h = y.reshape(b, length, n, dh).transpose(1, 2)
            return rotary(h) if rotate else h

        q = heads_of(self.q_proj(x), self.heads, t, rope)
        k = heads_of(self.k_proj(kv), self.kv_heads, s, rope)
        v = heads_of(self.v_proj(kv), self.kv_heads, s, False)
        if self.kv_heads != self.heads:
            k = k.repeat_interleave(self.heads // self.kv_heads, dim=1)
            v = v.repeat_interleave(self.heads // self.kv_heads, dim=1)
        o = scaled_dot_product_attention(q, k, v, mask, causal, None, dropout, self.training)
        y = self.out_proj(o.transpose(1, 2).reshape(b, t, d))
        return y.squeeze(0) if unbatched else y`,
  sinusoidal: String.raw`def sinusoidal_positions(t, d, device=None, dtype=torch.float32):
    """The fixed table pe[pos, 2i] = sin(pos / 10000^(2i/d)), pe[pos, 2i+1] = cos(...): f32 [t, d]."""
    pos = torch.arange(t, dtype=torch.float64, device=device)[:, None]
    k = torch.arange(d, device=device)
    angle = pos / torch.pow(torch.tensor(10000.0, dtype=torch.float64), (k - k % 2).to(torch.float64) / d)
    return torch.where(k % 2 == 0, angle.sin(), angle.cos()).to(dtype)`,
  recurrent: String.raw`def run_recurrent(layer, x, h0=None, c0=None):
    """nn.RNN / nn.GRU / nn.LSTM (batch_first) on x: (outputs, h_n) or (outputs, h_n, c_n), as dlm's ops."""
    if not isinstance(layer, nn.LSTM):
        return layer(x, h0)
    states = None
    if h0 is not None or c0 is not None:
        lead = (layer.num_layers * (2 if layer.bidirectional else 1),) + tuple(x.shape[:-2])
        size = layer.proj_size if layer.proj_size > 0 else layer.hidden_size
        h0 = x.new_zeros(lead + (size,)) if h0 is None else h0
        c0 = x.new_zeros(lead + (layer.hidden_size,)) if c0 is None else c0
        states = (h0, c0)
    out, (h, c) = layer(x, states)
    return out, h, c`,
  cell: String.raw`def run_cell(cell, x, h=None, c=None):
    """One step of nn.RNNCell / nn.GRUCell (-> h') or nn.LSTMCell (-> (h', c')), zero states by default."""
    if not isinstance(cell, nn.LSTMCell):
        return cell(x, h)
    if h is None and c is None:
        return cell(x)
    h = x.new_zeros(x.shape[:-1] + (cell.hidden_size,)) if h is None else h
    c = x.new_zeros(x.shape[:-1] + (cell.hidden_size,)) if c is None else c
    return cell(x, (h, c))`,
};

/** The Python names the helpers define (each mapping calls its helper by one of these). */
export const HELPER_NAMES: Readonly<Record<TorchHelper, string>> = {
  no_batch_counter: "without_batch_counter",
  embedding: "embedding_lookup",
  cross_entropy: "cross_entropy",
  nll_loss: "nll_loss",
  reduce_loss: "reduce_loss",
  sdpa: "scaled_dot_product_attention",
  rope: "rotary",
  mha: "MultiheadAttention",
  sinusoidal: "sinusoidal_positions",
  recurrent: "run_recurrent",
  cell: "run_cell",
};

/** Helpers other helpers call. */
export const HELPER_NEEDS: Readonly<Partial<Record<TorchHelper, readonly TorchHelper[]>>> = {
  mha: ["sdpa", "rope"],
};
