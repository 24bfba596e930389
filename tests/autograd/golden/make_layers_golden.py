#!/usr/bin/env python3
"""Writes layers_golden.inc: PyTorch's results for conv_transpose2d, the probability, robust and
weighted losses and interpolate, as C++ data (read by layers_golden.hpp).

How the numbers were made: PyTorch 1.13 (Debian's python3-torch, CPU, float32) runs each case
below on small inputs drawn from torch.manual_seed(0); inputs, incoming gradients (.gy), results
(.y) and input gradients (.g<name>) are written out in full (9 significant digits), so the C++
tests (tests/autograd/test_conv_transpose.cpp, test_loss_extra.cpp, test_interpolate.cpp) need
no torch. Regenerate with:

    /usr/bin/python3 tests/autograd/golden/make_layers_golden.py > tests/autograd/golden/layers_golden.inc
"""
import sys

import torch
import torch.nn.functional as F

torch.manual_seed(0)
arrays = []  # (name, tensor)


def put(name, t):
    arrays.append((name, t.detach().to(torch.float32).contiguous().clone()))


def leaf(name, shape, lo=-1.0, hi=1.0):
    t = (torch.rand(shape) * (hi - lo) + lo).requires_grad_(True)
    put(name, t)
    return t


def backward(prefix, out, inputs):
    gy = torch.rand(out.shape) * 2 - 1
    put(prefix + ".y", out)
    put(prefix + ".gy", gy)
    out.backward(gy)
    for name, t in inputs:
        put(prefix + ".g" + name, t.grad)


# conv_transpose2d: x [N, Cin, H, W], w [Cin, Cout/groups, kH, kW]. The names are the C++ test's.
def conv_t_case(prefix, x_shape, w_shape, groups, bias, **kw):
    x = leaf(prefix + ".x", x_shape)
    w = leaf(prefix + ".w", w_shape)
    b = leaf(prefix + ".b", (w_shape[1] * groups,)) if bias else None
    grads = [("x", x), ("w", w)] + ([("b", b)] if bias else [])
    backward(prefix, F.conv_transpose2d(x, w, b, groups=groups, **kw), grads)


conv_t_case("ct_plain", (2, 3, 4, 4), (3, 2, 3, 3), 1, True)
conv_t_case("ct_stride2", (2, 3, 4, 5), (3, 4, 3, 3), 1, True, stride=2)
conv_t_case("ct_pad1_outpad1", (2, 4, 5, 5), (4, 3, 3, 3), 1, True, stride=2, padding=1,
            output_padding=1)
conv_t_case("ct_groups2", (2, 4, 3, 3), (4, 3, 3, 3), 2, True, stride=2, padding=1)
conv_t_case("ct_dilation2", (1, 2, 4, 5), (2, 3, 3, 2), 1, True, padding=1, dilation=2)
conv_t_case("ct_rect", (1, 3, 4, 3), (3, 2, 2, 4), 1, False, stride=(2, 1), padding=(0, 1),
            output_padding=(1, 0))
# output_padding >= stride, allowed since it is below the dilation.
conv_t_case("ct_outpad_dil", (1, 2, 3, 4), (2, 2, 3, 2), 1, True, padding=(1, 0), output_padding=(1, 2),
            dilation=(2, 3))
conv_t_case("ct_dcgan1", (2, 8, 1, 1), (8, 16, 4, 4), 1, False)  # noise -> 4x4
conv_t_case("ct_dcgan2", (1, 16, 4, 4), (16, 8, 3, 3), 1, False, stride=2, padding=1)  # 4 -> 7
conv_t_case("ct_dcgan3", (1, 8, 7, 7), (8, 4, 4, 4), 1, False, stride=2, padding=1)  # 7 -> 14
conv_t_case("ct_dcgan4", (1, 4, 14, 14), (4, 1, 4, 4), 1, False, stride=2, padding=1)  # -> 28

# binary_cross_entropy on probabilities.
p = leaf("bce_p.x", (2, 5), 0.02, 0.98)
t = leaf("bce_p.t", (2, 5), 0.0, 1.0)
wt = leaf("bce_p.w", (2, 5), 0.5, 2.0).detach()
for name, reduction, weight in [("bce_p_mean", "mean", None), ("bce_p_sum_w", "sum", wt),
                                ("bce_p_none_w", "none", wt)]:
    xx = p.detach().clone().requires_grad_(True)
    tt = t.detach().clone().requires_grad_(True)
    backward(name, F.binary_cross_entropy(xx, tt, weight=weight, reduction=reduction),
             [("x", xx), ("t", tt)])
# The log is clamped at -100: probabilities of exactly 0 and 1 give finite losses.
x = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.5, 1e-30])
t = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.25, 1.0])
put("bce_edge.x", x)
put("bce_edge.t", t)
put("bce_edge.y", F.binary_cross_entropy(x, t, reduction="none"))

# smooth_l1_loss (beta) and huber_loss (delta).
x = leaf("robust.x", (3, 4), -3, 3)
t = leaf("robust.t", (3, 4), -3, 3)
for name, fn, kw in [("sl1_mean", F.smooth_l1_loss, dict(beta=1.0, reduction="mean")),
                     ("sl1_sum_b05", F.smooth_l1_loss, dict(beta=0.5, reduction="sum")),
                     ("sl1_none_b0", F.smooth_l1_loss, dict(beta=0.0, reduction="none")),
                     ("huber_mean", F.huber_loss, dict(delta=1.0, reduction="mean")),
                     ("huber_none_d2", F.huber_loss, dict(delta=2.0, reduction="none")),
                     ("huber_sum_d05", F.huber_loss, dict(delta=0.5, reduction="sum"))]:
    xx = x.detach().clone().requires_grad_(True)
    tt = t.detach().clone().requires_grad_(True)
    backward(name, fn(xx, tt, **kw), [("x", xx), ("t", tt)])

# nll_loss / cross_entropy with class weights and ignore_index (labels in the C++ test).
labels = torch.tensor([0, 2, 1, 3, 2, 1])
cw = torch.tensor([0.5, 2.0, 1.0, 1.5])
put("class_w", cw)
put("labels6", labels.to(torch.float32))
for name, fn, kw in [
        ("nll_w_mean", F.nll_loss, dict(weight=cw)),
        ("nll_w_ign_mean", F.nll_loss, dict(weight=cw, ignore_index=2)),
        ("nll_ign_sum", F.nll_loss, dict(ignore_index=1, reduction="sum")),
        ("nll_w_none", F.nll_loss, dict(weight=cw, ignore_index=3, reduction="none")),
        ("ce_w_mean", F.cross_entropy, dict(weight=cw)),
        ("ce_w_ign_mean", F.cross_entropy, dict(weight=cw, ignore_index=2)),
        ("ce_ign_ls_mean", F.cross_entropy, dict(ignore_index=0, label_smoothing=0.2)),
        ("ce_w_ls_mean", F.cross_entropy, dict(weight=cw, label_smoothing=0.1)),
        ("ce_w_ign_ls_sum", F.cross_entropy, dict(weight=cw, ignore_index=3, label_smoothing=0.3,
                                                  reduction="sum")),
        ("ce_w_ign_ls_none", F.cross_entropy, dict(weight=cw, ignore_index=1, label_smoothing=0.3,
                                                   reduction="none"))]:
    lo, hi = (-4, 0) if fn is F.nll_loss else (-3, 3)
    xx = leaf(name + ".x", (6, 4), lo, hi)
    backward(name, fn(xx, labels, **kw), [("x", xx)])

# Class weights with probability targets (MixUp's soft labels).
for name, reduction, ls in [("ce_soft_w_mean", "mean", 0.0), ("ce_soft_w_none_ls", "none", 0.2)]:
    xx = leaf(name + ".x", (5, 4), -3, 3)
    tt = leaf(name + ".t", (5, 4), 0, 1)
    backward(name, F.cross_entropy(xx, tt, weight=cw, reduction=reduction, label_smoothing=ls),
             [("x", xx), ("t", tt)])

# interpolate: nearest and bilinear, by size and by scale_factor.
for name, kw, shape in [
        ("interp_nearest_s2", dict(scale_factor=2, mode="nearest"), (1, 2, 3, 4)),
        ("interp_nearest_size", dict(size=(5, 7), mode="nearest"), (2, 1, 3, 4)),
        ("interp_nearest_down", dict(size=(2, 3), mode="nearest"), (1, 2, 5, 7)),
        ("interp_bilinear_s2", dict(scale_factor=2, mode="bilinear", align_corners=False),
         (1, 2, 3, 4)),
        ("interp_bilinear_s15", dict(scale_factor=1.5, mode="bilinear", align_corners=False),
         (1, 1, 5, 4)),
        ("interp_bilinear_size_ac", dict(size=(5, 7), mode="bilinear", align_corners=True),
         (2, 1, 3, 4)),
        ("interp_bilinear_down", dict(size=(3, 2), mode="bilinear", align_corners=False),
         (1, 2, 5, 7)),
        ("interp_bilinear_s2_ac", dict(scale_factor=2, mode="bilinear", align_corners=True),
         (1, 1, 3, 3))]:
    xx = leaf(name + ".x", shape)
    backward(name, F.interpolate(xx, **kw), [("x", xx)])


def fmt(v):
    s = "%.9g" % v
    return s if ("." in s or "e" in s or "n" in s) else s + ".0"


out = sys.stdout
out.write("// Generated by tests/autograd/golden/make_layers_golden.py with PyTorch %s; do not edit.\n"
          % torch.__version__)
out.write("// Inputs, incoming gradients (.gy), results (.y) and gradients; layers_golden.hpp reads them.\n")
for i, (name, t) in enumerate(arrays):
    values = ", ".join(fmt(v) + "f" for v in t.flatten().tolist())
    out.write("inline constexpr float v%d[] = {%s};\n" % (i, values))
out.write("inline constexpr Entry entries[] = {\n")
for i, (name, t) in enumerate(arrays):
    dims = ", ".join(str(d) for d in t.shape)
    out.write('    {"%s", %d, {%s}, v%d, %d},\n' % (name, t.dim(), dims, i, t.numel()))
out.write("};\n")
