#!/usr/bin/env python3
"""Writes cnn_golden.inc: PyTorch's results for tapegrad's CNN ops, as C++ data.

How the numbers were made: PyTorch 1.13 (Debian's python3-torch, CPU, float32) runs each case
below on small inputs drawn from torch.manual_seed(0); the inputs, the incoming gradient and
PyTorch's forward results and gradients are all written out in full (9 significant digits), so
the C++ tests (tests/autograd/test_{conv,pooling,normalization,loss}.cpp) need no torch and
use the very same inputs. Regenerate with:

    /usr/bin/python3 tests/autograd/golden/make_golden.py > tests/autograd/golden/cnn_golden.inc
"""
import sys

import torch
import torch.nn.functional as F

torch.manual_seed(0)
arrays = []  # (name, tensor)


def put(name, t):
    arrays.append((name, t.detach().to(torch.float32).contiguous().clone()))  # a snapshot


def leaf(name, shape, lo=-1.0, hi=1.0):
    t = (torch.rand(shape) * (hi - lo) + lo).requires_grad_(True)
    put(name, t)
    return t


def backward(prefix, out, inputs):
    """Backpropagates a random gradient (recorded as prefix.gy) and records each input's grad."""
    gy = torch.rand(out.shape) * 2 - 1
    put(prefix + ".y", out)
    put(prefix + ".gy", gy)
    out.backward(gy)
    for name, t in inputs:
        put(prefix + ".g" + name, t.grad)


def conv_case(prefix, x_shape, w_shape, bias, **kw):
    x = leaf(prefix + ".x", x_shape)
    w = leaf(prefix + ".w", w_shape)
    b = leaf(prefix + ".b", (w_shape[0],)) if bias else None
    grads = [("x", x), ("w", w)] + ([("b", b)] if bias else [])
    backward(prefix, F.conv2d(x, w, b, **kw), grads)


def pool_case(prefix, fn, x_shape, **kw):
    x = leaf(prefix + ".x", x_shape)
    backward(prefix, fn(x, **kw), [("x", x)])


def batch_norm_case(prefix, x_shape, training):
    c = x_shape[1]
    x = leaf(prefix + ".x", x_shape, 1.0, 4.0)
    w = leaf(prefix + ".w", (c,), 0.5, 1.5)
    b = leaf(prefix + ".b", (c,))
    rm = torch.rand(c)
    rv = torch.rand(c) + 0.5
    put(prefix + ".running_mean", rm)
    put(prefix + ".running_var", rv)
    y = F.batch_norm(x, rm, rv, w, b, training=training, momentum=0.1, eps=1e-5)
    put(prefix + ".running_mean_after", rm)
    put(prefix + ".running_var_after", rv)
    backward(prefix, y, [("x", x), ("w", w), ("b", b)])


# conv2d
conv_case("conv_plain", (2, 3, 6, 6), (4, 3, 3, 3), True, stride=1, padding=1)
conv_case("conv_mixed", (2, 4, 7, 6), (6, 2, 3, 2), True, stride=(2, 1), padding=(1, 2),
          dilation=(1, 2), groups=2)
conv_case("conv_nobias", (1, 3, 8, 5), (2, 3, 1, 1), False, stride=2)
conv_case("conv_seed", (1, 3, 9, 9), (5, 3, 5, 5), True)
conv_case("conv_wide", (2, 8, 5, 5), (4, 8, 3, 3), True, padding=1)  # input grad as a conv

# pooling (inputs rand: ties have probability ~0)
pool_case("max_ceil", F.max_pool2d, (2, 2, 7, 6), kernel_size=3, stride=2, padding=1, ceil_mode=True)
pool_case("max_plain", F.max_pool2d, (2, 3, 6, 8), kernel_size=2)
pool_case("avg_ceil_pad", F.avg_pool2d, (2, 2, 7, 6), kernel_size=3, stride=2, padding=1,
          ceil_mode=True, count_include_pad=True)
pool_case("avg_ceil_nopad", F.avg_pool2d, (2, 2, 7, 6), kernel_size=3, stride=2, padding=1,
          ceil_mode=True, count_include_pad=False)
pool_case("avg_ceil_edge", F.avg_pool2d, (1, 2, 5, 5), kernel_size=2, stride=2, padding=1,
          ceil_mode=True, count_include_pad=True)
pool_case("adaptive", F.adaptive_avg_pool2d, (2, 2, 7, 5), output_size=(3, 2))

# batch norm
batch_norm_case("bn2d_train", (4, 3, 3, 2), True)
batch_norm_case("bn2d_eval", (4, 3, 3, 2), False)
batch_norm_case("bn1d_train", (6, 4), True)

# softmax and losses
x = leaf("log_softmax.x", (2, 3, 4), -3, 3)
backward("log_softmax", F.log_softmax(x, dim=1), [("x", x)])
x = leaf("softmax.x", (3, 5), -3, 3)
backward("softmax", F.softmax(x, dim=-1), [("x", x)])

labels = torch.tensor([2, 0, 3, 3, 1])
put("labels5", labels.float())
for name, reduction, ls in [("ce_mean_ls", "mean", 0.1), ("ce_sum_ls", "sum", 0.25),
                            ("ce_none", "none", 0.0), ("ce_mean", "mean", 0.0)]:
    x = leaf(name + ".x", (5, 4), -4, 4)
    backward(name, F.cross_entropy(x, labels, reduction=reduction, label_smoothing=ls), [("x", x)])
x = leaf("nll.x", (5, 4), -4, 0)
backward("nll", F.nll_loss(x, labels), [("x", x)])

x = torch.tensor([-100.0, -3.0, -0.5, 0.0, 0.7, 2.5, 100.0, 20.0], requires_grad=True)
t = torch.tensor([0.0, 1.0, 0.3, 1.0, 0.0, 0.9, 1.0, 0.0], requires_grad=True)
put("bce.x", x)
put("bce.t", t)
backward("bce", F.binary_cross_entropy_with_logits(x, t), [("x", x), ("t", t)])
x = leaf("mse.x", (3, 4))
t = leaf("mse.t", (3, 4))
backward("mse", F.mse_loss(x, t, reduction="sum"), [("x", x), ("t", t)])

# Class-probability targets (MixUp/CutMix soft labels); rows need not sum to 1 for PyTorch.
for name, reduction, ls in [("ce_soft_mean", "mean", 0.0), ("ce_soft_sum_ls", "sum", 0.2),
                            ("ce_soft_none", "none", 0.1)]:
    x = leaf(name + ".x", (5, 4), -4, 4)
    t = leaf(name + ".t", (5, 4), 0, 1)
    backward(name, F.cross_entropy(x, t, reduction=reduction, label_smoothing=ls), [("x", x), ("t", t)])


def fmt(v):
    s = "%.9g" % v
    return s if ("." in s or "e" in s or "n" in s) else s + ".0"


out = sys.stdout
out.write("// Generated by tests/autograd/golden/make_golden.py with PyTorch %s; do not edit.\n"
          % torch.__version__)
out.write("// Inputs, incoming gradients (.gy), results (.y) and gradients; golden.hpp reads them.\n")
for i, (name, t) in enumerate(arrays):
    values = ", ".join(fmt(v) + "f" for v in t.flatten().tolist())
    out.write("inline constexpr float v%d[] = {%s};\n" % (i, values))
out.write("inline constexpr Entry entries[] = {\n")
for i, (name, t) in enumerate(arrays):
    dims = ", ".join(str(d) for d in t.shape)
    out.write('    {"%s", %d, {%s}, v%d, %d},\n' % (name, t.dim(), dims, i, t.numel()))
out.write("};\n")
