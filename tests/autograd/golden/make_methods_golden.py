#!/usr/bin/env python3
"""Writes methods_golden.inc: PyTorch's results for tapegrad's LibTorch-style tensor methods,
grad_fn names, and LibTorch's C++ printing of tensors, as C++ data.

How the numbers were made: PyTorch 1.13 (Debian's python3-torch, CPU, float32) runs each method
below on small inputs drawn from torch.manual_seed(0); inputs, results and gradients (for the
incoming gradient recorded as NAME.gy) are written in full (9 significant digits) in the format
of cnn_golden.inc, so tests/autograd/test_tensor_methods.cpp uses the very same inputs.

Printing: Python's repr of a tensor is not LibTorch's C++ `std::cout << tensor`. The expected
text is what LibTorch's own operator<< prints: this script writes a small C++ program that prints
the same tensors, builds it against Debian's libtorch-dev (`apt-get install libtorch-dev`,
the LibTorch of python3-torch) with g++, and records its output. Regenerate with:

    /usr/bin/python3 tests/autograd/golden/make_methods_golden.py > tests/autograd/golden/methods_golden.inc
"""
import math
import os
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F

torch.manual_seed(0)
arrays = []  # (name, tensor)


def put(name, t):
    arrays.append((name, t.detach().to(torch.float32).contiguous().clone()))


def leaf(name, shape, lo=-2.0, hi=2.0):
    t = (torch.rand(shape) * (hi - lo) + lo).requires_grad_(True)
    put(name, t)
    return t


def with_grad(name, out, inputs):
    """Records out, a random incoming gradient NAME.gy, and NAME.g<input> for each input."""
    gy = torch.rand(out.shape) * 2 - 1
    put(name + ".y", out)
    put(name + ".gy", gy)
    for t in inputs:
        t.grad = None
    out.backward(gy)
    for i, t in enumerate(inputs):
        put(name + ".g%d" % i, t.grad)


# ---- reductions ----
x = leaf("x", (3, 4))
ties = torch.tensor([[1.0, 5.0, 5.0, -2.0], [7.0, 7.0, 2.0, 7.0], [0.0, -3.0, -3.0, 1.0]],
                    requires_grad=True)
put("ties", ties)
with_grad("sum", x.sum(), [x])
with_grad("sum_d1", x.sum(1), [x])
with_grad("mean", x.mean(), [x])
with_grad("mean_d1", x.mean(1), [x])
with_grad("mean_dm2k", x.mean(-2, True), [x])
with_grad("max", ties.max(), [ties])
v, i = ties.max(1)
with_grad("max_d1", v, [ties])
put("max_d1.i", i)
v, i = ties.max(0, True)
with_grad("max_d0k", v, [ties])
put("max_d0k.i", i)
with_grad("min", ties.min(), [ties])
v, i = ties.min(1)
with_grad("min_d1", v, [ties])
put("min_d1.i", i)
v, i = x.min(0, True)
with_grad("min_x_d0k", v, [x])
put("min_x_d0k.i", i)
put("argmax", ties.argmax())
put("argmax_d1", ties.argmax(1))
put("argmax_d0k", ties.argmax(0, True))
put("argmin", ties.argmin())
put("argmin_d1", ties.argmin(1))
with_grad("norm", x.norm(), [x])
with_grad("norm_p1", x.norm(1), [x])
with_grad("norm_p3", x.norm(3), [x])
with_grad("norm_d1", x.norm(2, 1), [x])
with_grad("norm_p3_d0k", x.norm(3, 0, True), [x])
z = torch.zeros(3, requires_grad=True)
put("zero3", z)
with_grad("norm_zero", z.norm(), [z])
bools = torch.tensor([[1.0, 0.0, 2.0], [3.0, 4.0, -1.0]])
put("bools", bools)
put("all", bools.all())
put("all_d1", bools.all(1))
put("any_d0", (bools * 0).any(0))
put("any", bools.any())

# ---- elementwise ----
p = leaf("p", (2, 3), 0.2, 2.0)  # positive, for sqrt, log, fractional powers
e = leaf("e", (2, 3), -1.0, 1.0)
with_grad("pow2", x.pow(2), [x])
with_grad("pow_half", p.pow(0.5), [p])
with_grad("pow_t", p.pow(e), [p, e])
with_grad("sqrt", p.sqrt(), [p])
with_grad("exp", x.exp(), [x])
with_grad("log", p.log(), [p])
with_grad("abs", x.abs(), [x])
with_grad("clamp", x.clamp(-0.5, 0.5), [x])
with_grad("clamp_min", x.clamp_min(0.25), [x])
with_grad("clamp_max", x.clamp_max(-0.25), [x])
with_grad("neg", x.neg(), [x])
with_grad("sigmoid", x.sigmoid(), [x])
with_grad("tanh", x.tanh(), [x])
with_grad("relu", x.relu(), [x])

# ---- comparisons: the bool results as 0/1 ----
row = leaf("row", (4,))
put("eq_s", ties.eq(7))
put("ne_s", ties.ne(7))
put("lt_s", ties.lt(1))
put("le_s", ties.le(1))
put("gt_s", ties.gt(1))
put("ge_s", ties.ge(1))
put("lt_row", x.lt(row))
put("ge_row", x.ge(row))
labels = torch.tensor([1, 0, 3])
put("labels", labels)
put("eq_labels", ties.argmax(1).eq(labels))
put("correct", ties.argmax(1).eq(labels).sum())

# ---- matrix products and shapes ----
w = leaf("w", (4, 2))
with_grad("mm", x.mm(w), [x, w])
with_grad("t", x.t(), [x])
with_grad("unsqueeze", x.unsqueeze(1), [x])
with_grad("squeeze", x.unsqueeze(0).unsqueeze(2).squeeze(), [x])

# ---- grad_fn names, from LibTorch's C++ (its Scalar overloads name some nodes differently from
# Python's: C++ `x + 2` is AddBackward1, Python's AddBackward0); tapegrad's test makes each with
# the same call ----
grad_fns = [
    ("a + b", "a + b"), ("a - b", "a - b"), ("a * b", "a * b"), ("a / b", "a / b"),
    ("a + 2", "a + 2"), ("a - 2", "a - 2"), ("a * 2", "a * 2"), ("a / 2", "a / 2"),
    ("2 / a", "2 / a"), ("-a", "-a"), ("a.pow(2)", "a.pow(2)"), ("a.pow(b)", "a.pow(b)"),
    ("a.exp()", "a.exp()"), ("a.log()", "a.log()"), ("a.sqrt()", "a.sqrt()"),
    ("a.abs()", "a.abs()"), ("a.sigmoid()", "a.sigmoid()"), ("a.tanh()", "a.tanh()"),
    ("a.relu()", "a.relu()"), ("a.clamp(0.2, 0.8)", "a.clamp(0.2, 0.8)"),
    ("a.sum()", "a.sum()"), ("a.sum(1)", "a.sum(1)"), ("a.mean()", "a.mean()"),
    ("a.mean(1)", "a.mean(1)"), ("a.max()", "a.max()"), ("a.max(1)", "std::get<0>(a.max(1))"),
    ("a.min()", "a.min()"), ("a.min(1)", "std::get<0>(a.min(1))"), ("a.norm()", "a.norm()"),
    ("a.view({3, 2})", "a.view({3, 2})"), ("a.permute({1, 0})", "a.permute({1, 0})"),
    ("a.unsqueeze(1)", "a.unsqueeze(1)"), ("a.t()", "a.t()"),
    ("a.mm(m)", "a.mm(m)"), ("a.matmul(m)", "a.matmul(m)"), ("cat({a, b})", "torch::cat({a, b})"),
    ("linear(a, lw, lb)", "F::linear(a, lw, lb)"), ("linear(a, lw)", "F::linear(a, lw)"),
    ("conv2d(img, cw)", "torch::conv2d(img, cw)"),
    ("max_pool2d(img, 2)", "torch::max_pool2d(img, {2, 2})"),
    ("avg_pool2d(img, 2)", "torch::avg_pool2d(img, {2, 2})"),
    ("adaptive_avg_pool2d(img, 1)", "torch::adaptive_avg_pool2d(img, {1, 1})"),
    ("adaptive_avg_pool2d(img, 2)", "torch::adaptive_avg_pool2d(img, {2, 2})"),
    ("softmax(a, 1)", "torch::softmax(a, 1)"), ("log_softmax(a, 1)", "torch::log_softmax(a, 1)"),
    ("leaky_relu(a, 0.2)", "torch::leaky_relu(a, 0.2)"),
    ("mse_loss(a, b)", "torch::mse_loss(a, b.detach())"),
    ("cross_entropy(a, labels)", "F::cross_entropy(a, torch::tensor({2, 0}))"),
]

# ---- LibTorch's printing ----
prints = [
    ("scalar", torch.tensor(3.5)),
    ("scalar_int", torch.tensor(2.0)),
    ("scalar_frac", torch.tensor(0.1)),
    ("ints_1d", torch.tensor([1.0, 2.0, 3.0])),
    ("floats_1d", torch.tensor([0.1, -2.5, 3.25])),
    ("tiny_1d", torch.tensor([1e-5, 2.5e-5, -3e-5])),
    ("wide_1d", torch.tensor([123456.7, 2.5, 0.001])),
    ("big_1d", torch.tensor([123456.5, 234567.25])),
    ("bigint_1d", torch.tensor([1e10, 3.0])),
    ("nan_1d", torch.tensor([float("nan"), 1.5, float("inf"), -float("inf")])),
    ("allnan_1d", torch.tensor([float("nan")])),
    ("empty_1d", torch.zeros(0)),
    ("ones_2x2", torch.ones(2, 2)),
    ("randn_2x3", torch.randn(2, 3)),
    ("neg_first", torch.tensor([[-100.5, 1.25], [2.0, 3.0]])),
    ("scaled_2d", torch.tensor([[1e-4, 2e-4], [3.5e-4, -1e-4]])),
    ("wide_3x20", torch.randn(3, 20)),
    ("scaled_wide_2x15", torch.randn(2, 15) * 1e6),
    ("empty_2d", torch.zeros(0, 3)),
    ("rand_2x2x3", torch.rand(2, 2, 3)),
    ("ints_2x3x2x2", torch.arange(24.0).reshape(2, 3, 2, 2)),
    ("mixed_3d", torch.stack([torch.tensor([[1.0, 2.0]]), torch.tensor([[0.123456, 7.5]])])),
]
for name, t in prints:
    put("print." + name, t)


def libtorch_prints():
    """The text LibTorch's operator<< prints for each tensor of `prints`."""
    program = ['#include <torch/torch.h>', '#include <iostream>', '#include <vector>',
               'namespace F = torch::nn::functional;', 'int main() {',
               '  auto o = torch::requires_grad();',
               '  auto a = torch::rand({2, 3}, o), b = torch::rand({2, 3}, o), m = torch::rand({3, 4}, o);',
               '  auto img = torch::rand({1, 2, 5, 5}, o), cw = torch::rand({3, 2, 3, 3}, o);',
               '  auto lw = torch::rand({4, 3}, o), lb = torch::rand({4}, o);']
    for label, call in grad_fns:
        program.append('  std::cout << "@@gradfn:%s" << std::endl << (%s).grad_fn()->name() << std::endl;'
                       % (label, call))
    for name, t in prints:
        values = ", ".join(repr(float(v)).replace("nan", "NAN").replace("inf", "INFINITY")
                           for v in t.flatten().tolist())
        sizes = ", ".join(str(d) for d in t.shape)
        program.append('  { std::vector<float> v{%s};' % values)
        program.append('    auto t = torch::from_blob(v.data(), {%s}, torch::kFloat32).clone();' % sizes)
        program.append('    std::cout << "@@%s" << std::endl << t << std::endl; }' % name)
    program.append('}')
    import torch.utils.cpp_extension as ext
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "print.cpp")
        exe = os.path.join(tmp, "print")
        with open(src, "w") as f:
            f.write("\n".join(program).replace("INFINITY", "std::numeric_limits<float>::infinity()")
                    .replace("NAN", "std::numeric_limits<float>::quiet_NaN()") + "\n")
        cmd = ["g++", "-std=c++17", "-O0", "-w", src, "-o", exe, "-D_GLIBCXX_USE_CXX11_ABI=1"]
        cmd += ["-I" + p for p in ext.include_paths()]
        cmd += ["-L" + p for p in ext.library_paths()] + ["-ltorch", "-ltorch_cpu", "-lc10"]
        cmd += ["-Wl,-rpath," + ":".join(ext.library_paths())]
        subprocess.run(cmd, check=True)
        out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
    texts = {}
    for block in out.split("@@")[1:]:
        name, _, text = block.partition("\n")
        texts[name] = text[:-1]  # the std::endl after the tensor
    return texts


def fmt(v):
    if math.isnan(v):
        return "NAN"
    if math.isinf(v):
        return "INFINITY" if v > 0 else "-INFINITY"
    s = "%.9g" % v
    return (s if ("." in s or "e" in s) else s + ".0") + "f"


texts = libtorch_prints()
out = sys.stdout
out.write("// Generated by tests/autograd/golden/make_methods_golden.py with PyTorch %s; do not edit.\n"
          % torch.__version__)
out.write("// Inputs, incoming gradients (.gy), results (.y), gradients (.g0, .g1), grad_fn names and\n")
out.write("// LibTorch's printed text; methods_golden.hpp reads them.\n")
for i, (name, t) in enumerate(arrays):
    values = ", ".join(fmt(v) for v in t.flatten().tolist())
    out.write("inline constexpr float v%d[] = {%s};\n" % (i, values if values else "0.0f"))
out.write("inline constexpr Entry entries[] = {\n")
for i, (name, t) in enumerate(arrays):
    dims = ", ".join(str(d) for d in t.shape)
    out.write('    {"%s", %d, {%s}, v%d, %d},\n' % (name, t.dim(), dims, i, t.numel()))
out.write("};\n")
out.write("inline constexpr GradFnName grad_fn_names[] = {\n")
for label, _ in grad_fns:
    out.write('    {"%s", "%s"},\n' % (label, texts["gradfn:" + label]))
out.write("};\n")
out.write("inline constexpr PrintedText printed[] = {\n")
for name, _ in prints:
    out.write('    {"%s", R"__(%s)__"},\n' % (name, texts[name]))
out.write("};\n")
