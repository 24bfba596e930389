#!/usr/bin/python3
"""Writes the zoo's parity goldens against torchvision 0.14 (torch 1.13), one safetensors file
per model: <model>.safetensors. Run from anywhere:  /usr/bin/python3 tests/vision/golden/make_golden.py
Needs Debian's python3-torch and python3-torchvision; the tests read the committed files only.

Weights are not stored (ResNet-18 alone is 45 MB, VGG-16 540 MB): every state-dict entry is
filled from a hash of its name and element index (fill() below), which the C++ test computes
bit for bit the same, from the per-entry (offset, bound) this script writes into the manifest.
The files hold the manifest (torchvision's state-dict names, dtypes and shapes, in order), the
labels, eval-mode logits, training-mode logits and loss (BatchNorm on batch statistics, dropout
0), the gradients of a subset of parameters, and the running statistics of the first BatchNorm
after that training step. The script runs the training step in float64 too and refuses to
write a golden whose float32 gradients are more than 3e-4 (relative) from the float64 ones: a
comparison at 1e-3 is only meaningful where float32 itself is that accurate. Inputs come from
fill() as well ("input" for eval, "train_input" for training). lenet5.weights.safetensors is a whole state dict as PyTorch holds it,
to load through tg::nn::load.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision import models

HERE = os.path.dirname(os.path.abspath(__file__))


def name_seed(name):
    """FNV-1a, 32 bits, over the UTF-8 bytes of the name."""
    h = 2166136261
    for b in name.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def fill(name, shape, offset, bound):
    """offset + (2u - 1) * bound, u = (fmix32((i * 0x9E3779B1) ^ seed) + 0.5) / 2^32 (float64),
    rounded to float32: the same in tests/vision/zoo_test_util.hpp."""
    n = int(np.prod(shape, dtype=np.int64))
    with np.errstate(over="ignore"):
        x = np.arange(n, dtype=np.uint32) * np.uint32(0x9E3779B1)
        x ^= np.uint32(name_seed(name))
        x ^= x >> np.uint32(16)
        x *= np.uint32(0x85EBCA6B)
        x ^= x >> np.uint32(13)
        x *= np.uint32(0xC2B2AE35)
        x ^= x >> np.uint32(16)
    u = (x.astype(np.float64) + 0.5) / 4294967296.0
    return (offset + (2.0 * u - 1.0) * bound).astype(np.float32).reshape(shape)


def fill_rule(name, tensor, residual_last):
    """(offset, bound) of an entry: He-uniform weights (variance 2/fan_in), small biases,
    running statistics that differ from the defaults, BatchNorm weights near 0.5, and near 0.2
    for the last BatchNorm of each residual branch (`residual_last`, a softened
    zero_init_residual). Why not 1: BatchNorm in training mode makes gradients grow
    exponentially with depth at initialisation (Yang et al. 2019), and with them float32's
    rounding error: with weights near 1, PyTorch's own float32 gradients of ResNet-50 and
    GoogLeNet differ from float64 by 1-6%, and no float32 code could match them to 1e-3."""
    leaf = name.rsplit(".", 1)[-1]
    if leaf == "num_batches_tracked":
        return 0.0, 0.0
    if leaf == "running_mean":
        return 0.0, 0.1
    if leaf == "running_var":
        return 1.0, 0.5
    if tensor.dim() >= 2:
        fan_in = int(np.prod(tensor.shape[1:]))
        return 0.0, math.sqrt(6.0 / fan_in)
    if leaf == "weight":  # 1-D weights are BatchNorm's
        return (0.2, 0.02) if residual_last(name) else (0.5, 0.1)
    return 0.0, 0.05


def dtype_name(t):
    return {torch.float32: "F32", torch.int64: "I64"}[t.dtype]


def write_safetensors(path, tensors, metadata):
    """The format by hand (Debian has no python3-safetensors): 8-byte little-endian header
    length, JSON header, raw little-endian data."""
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().numpy().astype("<" + t.numpy().dtype.str[1:]).tobytes()
        header[name] = {"dtype": dtype_name(t), "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


class LeNet5(nn.Module):
    """tapegrad's vision/lenet.hpp, written in PyTorch."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5)
        self.s2 = nn.AvgPool2d(2)
        self.c3 = nn.Conv2d(6, 16, 5)
        self.s4 = nn.AvgPool2d(2)
        self.c5 = nn.Conv2d(16, 120, 5)
        self.f6 = nn.Linear(120, 84)
        self.output = nn.Linear(84, num_classes)

    def forward(self, x):
        x = self.s2(torch.tanh(self.c1(x)))
        x = self.s4(torch.tanh(self.c3(x)))
        x = torch.tanh(self.c5(x)).flatten(1)
        return self.output(torch.tanh(self.f6(x)))


def resnet18_1ch():
    m = models.resnet18(num_classes=10)
    m.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)  # what in_channels = 1 does
    return m


def last_bn_of(block_bn):
    """Whether an entry is the last BatchNorm weight of a residual branch (bn2 or bn3)."""
    return lambda name: name.startswith("layer") and name.endswith("." + block_bn + ".weight")


def never(name):
    return False


# name: (constructor, eval input shape, training input shape, config the C++ test reads back,
# which BatchNorm weights end a residual branch). GoogLeNet's eval check runs at its smallest
# input, 15x15; its training step runs at 32x32 with 8 images, ResNet-50's at 64x64, where
# float32 is accurate enough (see make()).
MODELS = {
    "lenet5": (lambda: LeNet5(10), [4, 1, 32, 32], [4, 1, 32, 32], {"num_classes": 10}, never),
    "resnet18": (resnet18_1ch, [4, 1, 32, 32], [4, 1, 32, 32],
                 {"num_classes": 10, "in_channels": 1}, last_bn_of("bn2")),
    "resnet34": (lambda: models.resnet34(num_classes=10), [4, 3, 32, 32], [4, 3, 32, 32],
                 {"num_classes": 10}, last_bn_of("bn2")),
    "resnet50": (lambda: models.resnet50(num_classes=10), [4, 3, 32, 32], [4, 3, 64, 64],
                 {"num_classes": 10}, last_bn_of("bn3")),
    "vgg11": (lambda: models.vgg11(num_classes=4, dropout=0.0), [2, 3, 32, 32], [2, 3, 32, 32],
              {"num_classes": 4}, never),
    "vgg11_bn": (lambda: models.vgg11_bn(num_classes=4, dropout=0.0), [4, 3, 32, 32],
                 [4, 3, 32, 32], {"num_classes": 4}, never),
    "vgg16": (lambda: models.vgg16(num_classes=4, dropout=0.0), [2, 3, 32, 32], [2, 3, 32, 32],
              {"num_classes": 4}, never),
    "alexnet": (lambda: models.alexnet(num_classes=4, dropout=0.0), [2, 3, 63, 63],
                [2, 3, 63, 63], {"num_classes": 4}, never),
    "googlenet": (lambda: models.GoogLeNet(num_classes=10, aux_logits=True, init_weights=True,
                                           dropout=0.0, dropout_aux=0.0),
                  [4, 3, 15, 15], [8, 3, 32, 32], {"num_classes": 10}, never),
}


def grad_subset(named):
    """The first and last two parameters, the auxiliary heads' biases, and up to 8 others of at
    most 10,000 elements, evenly spaced: a few hundred kB per model."""
    names = [n for n, _ in named]
    pick = {names[0], names[-2], names[-1]} | {n for n in names if n.endswith("fc2.bias")}
    small = [n for n, p in named if p.numel() <= 10000 and n not in pick]
    step = max(1, len(small) // 8)
    pick |= set(small[::step][:8])
    return [n for n in names if n in pick]


def filled_model(build, residual_last):
    torch.manual_seed(0)
    model = build()
    manifest = []
    with torch.no_grad():
        for key, t in model.state_dict().items():
            offset, bound = fill_rule(key, t, residual_last)
            manifest.append([key, dtype_name(t), list(t.shape), offset, bound])
            if t.dtype == torch.float32:
                t.copy_(torch.from_numpy(fill(key, list(t.shape), offset, bound)))
            else:
                t.zero_()
    return model, manifest


def train_step(name, model, x, labels):
    """Training-mode logits, auxiliary logits (GoogLeNet) and loss, backpropagated."""
    model.train()
    y = model(x)
    aux = ()
    if name == "googlenet":
        # torchvision 0.14 swaps the two: its forward unpacks _forward's (x, aux2, aux1) as
        # (x, aux1, aux2), so GoogLeNetOutputs.aux_logits1 holds aux2's output. The heads are
        # told apart by what they are: aux1 (on inception4a) is the first auxiliary call.
        y, head_4a, head_4d = y[0], y.aux_logits2, y.aux_logits1
        assert model.aux1.fc2.bias.shape == head_4a.shape[1:]
        aux = (head_4a.detach(), head_4d.detach())
        aux1, aux2 = head_4a, head_4d
        loss = F.cross_entropy(y, labels) + 0.3 * (
            F.cross_entropy(aux1, labels) + F.cross_entropy(aux2, labels))
    else:
        loss = F.cross_entropy(y, labels)
    loss.backward()
    return y.detach(), aux, loss.detach()


def relative(a, b):
    return ((a.double() - b.double()).norm() / b.double().norm()).item()


def make(name, build, eval_shape, train_shape, config, residual_last):
    model, manifest = filled_model(build, residual_last)
    labels = torch.arange(train_shape[0], dtype=torch.int64) % config["num_classes"]
    out = {"labels": labels}
    model.eval()
    with torch.no_grad():
        x = torch.from_numpy(fill("input", eval_shape, 0.0, 1.0))
        out["logits_eval"] = model(x)
        if name == "googlenet":
            model.transform_input = True
            out["logits_eval_transform_input"] = model(x)
            model.transform_input = False

    x = torch.from_numpy(fill("train_input", train_shape, 0.0, 1.0))
    logits, aux, loss = train_step(name, model, x, labels)
    # The same step in float64: how far PyTorch's own float32 result is from the exact one.
    exact, _ = filled_model(build, residual_last)
    exact = exact.double()
    exact_logits, _, _ = train_step(name, exact, x.double(), labels)
    named, exact_named = dict(model.named_parameters()), dict(exact.named_parameters())
    out["logits_train"], out["loss_train"] = logits, loss.reshape(1)
    if aux:
        out["aux_logits1_train"], out["aux_logits2_train"] = aux
    worst = 0.0
    # A bias feeding BatchNorm has an exactly zero gradient (float32 leaves rounding noise).
    nonzero = [(k, p) for k, p in named.items() if exact_named[k].grad.norm() >= 1e-9]
    for key in grad_subset(nonzero):
        out["grad/" + key] = named[key].grad
        worst = max(worst, relative(named[key].grad, exact_named[key].grad))
    state = model.state_dict()
    bns = [k for k in state if k.endswith("running_var")]
    if bns:
        prefix = bns[0][: -len("running_var")]
        for leaf in ("running_mean", "running_var"):
            out["after/" + prefix + leaf] = state[prefix + leaf]
    assert worst < 3e-4, f"{name}: float32 gradients {worst:.1e} from float64: ill-conditioned"
    metadata = {"manifest": json.dumps(manifest), "config": json.dumps(config),
                "input_shape": json.dumps(eval_shape), "train_input_shape": json.dumps(train_shape),
                "torch_float32_error": f"{worst:.3e}",
                "made_by": f"make_golden.py, torch {torch.__version__}, "
                           f"torchvision {torchvision.__version__}"}
    write_safetensors(os.path.join(HERE, name + ".safetensors"), out, metadata)
    if name == "lenet5":
        weights = {key: torch.from_numpy(fill(key, shape, offset, bound))
                   for key, _, shape, offset, bound in manifest}
        write_safetensors(os.path.join(HERE, "lenet5.weights.safetensors"), weights, {})
    print(f"{name}: {len(manifest)} entries, loss {loss.item():.6f}, {len(out)} tensors, "
          f"PyTorch float32 gradients within {worst:.1e} of float64, "
          f"logits within {(logits.double() - exact_logits).abs().max().item():.1e}")


if __name__ == "__main__":
    torch.set_num_threads(2)
    only = sys.argv[1:]
    for name, spec in MODELS.items():
        if not only or name in only:
            make(name, *spec)
