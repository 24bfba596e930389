#!/usr/bin/python3
"""Golden numbers for tapegrad's optim tests, computed by PyTorch.

How they were made: Debian's python3-torch 1.13.1 (CPU, float32 tensors, the optimizers'
default single-tensor code paths), run as `/usr/bin/python3 tests/optim/golden/make_golden.py`
from the repository root. It writes tests/optim/golden/optim_golden.inc, which the tests
#include (through golden.hpp); the tests never need torch.

- Optimizers: two parameters p0 [3, 4] and p1 [5] drawn from a seeded torch.Generator; at each
  of 6 steps a fixed random gradient (scaled by a per-step factor, so that second moments rise
  and fall and AMSGrad's max matters) is assigned to .grad, then optimizer.step() runs (and,
  for the *_onecycle cases, OneCycleLR.step()). Recorded: the initial values, the gradients,
  and both parameters after every step. A NaN gradient row means "no gradient" (grad = None).
- Schedulers: an SGD (momentum 0.9) or Adam optimizer with two groups (lr 0.1 and 0.05);
  recorded: every group's lr and momentum (SGD) or beta1 (Adam) after construction and after
  each scheduler.step() (ReduceLROnPlateau: step(metric) with the recorded metrics).
- clip_grad_norm_: two gradients; recorded: the returned total norm and the clipped gradients.
"""
import math
import sys

import torch

torch.set_num_threads(1)
STEPS = 6
SCALES = [1.0, 2.0, 0.1, 0.1, 0.5, 0.05]
out = []


def f32(x):
    return "%.9ef" % float(x)


def f64(x):
    return repr(float(x))


def floats(values):
    return "{" + ", ".join(f32(v) for v in values) + "}"


def make_params(seed):
    gen = torch.Generator().manual_seed(seed)
    p0 = torch.randn(3, 4, generator=gen)
    p1 = torch.randn(5, generator=gen)
    grads = [(torch.randn(3, 4, generator=gen) * s, torch.randn(5, generator=gen) * s)
             for s in SCALES]
    return p0, p1, grads


def flat(a, b):
    return torch.cat([a.reshape(-1), b.reshape(-1)]).tolist()


OPTIMIZERS = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW,
              "RMSprop": torch.optim.RMSprop}

# name, optimizer, kwargs, group0_lr (p0 in its own group with this lr), missing-grad step,
# OneCycleLR max_lr, use_defaults (the C++ test builds the optimizer with {} options)
OPTIM_CASES = [
    ("sgd_plain", "SGD", dict(lr=0.1), None, -1, None, False),
    ("sgd_momentum", "SGD", dict(lr=0.1, momentum=0.9), None, -1, None, False),
    ("sgd_dampening", "SGD", dict(lr=0.1, momentum=0.9, dampening=0.3), None, -1, None, False),
    ("sgd_nesterov", "SGD", dict(lr=0.1, momentum=0.9, nesterov=True), None, -1, None, False),
    ("sgd_weight_decay", "SGD", dict(lr=0.1, momentum=0.5, weight_decay=0.1), None, -1, None, False),
    ("sgd_nesterov_wd", "SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.01, nesterov=True),
     None, -1, None, False),
    ("sgd_maximize", "SGD", dict(lr=0.1, momentum=0.9, maximize=True), None, -1, None, False),
    ("sgd_groups", "SGD", dict(lr=0.1, momentum=0.9), 0.01, -1, None, False),
    ("sgd_missing_grad", "SGD", dict(lr=0.1, momentum=0.9, dampening=0.1), None, 2, None, False),
    ("sgd_onecycle", "SGD", dict(lr=0.1, momentum=0.9), None, -1, 0.5, False),
    ("adam_defaults", "Adam", dict(), None, -1, None, True),
    ("adam_lr", "Adam", dict(lr=0.05), None, -1, None, False),
    ("adam_betas_eps", "Adam", dict(lr=0.05, betas=(0.8, 0.9), eps=0.1), None, -1, None, False),
    ("adam_weight_decay", "Adam", dict(lr=0.05, weight_decay=0.1), None, -1, None, False),
    ("adam_amsgrad", "Adam", dict(lr=0.05, amsgrad=True), None, -1, None, False),
    ("adam_amsgrad_wd_eps", "Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.05, eps=1e-3),
     None, -1, None, False),
    ("adam_maximize", "Adam", dict(lr=0.05, maximize=True), None, -1, None, False),
    ("adam_groups", "Adam", dict(lr=0.05), 0.2, -1, None, False),
    ("adam_missing_grad", "Adam", dict(lr=0.05), None, 2, None, False),
    ("adam_onecycle", "Adam", dict(lr=0.05), None, -1, 0.05, False),
    ("adamw_defaults", "AdamW", dict(), None, -1, None, True),
    ("adamw_lr", "AdamW", dict(lr=0.05), None, -1, None, False),
    ("adamw_wd_amsgrad", "AdamW", dict(lr=0.05, weight_decay=0.5, amsgrad=True), None, -1, None, False),
    ("adamw_groups", "AdamW", dict(lr=0.05, weight_decay=0.1), 0.01, -1, None, False),
    ("rmsprop_defaults", "RMSprop", dict(), None, -1, None, True),
    ("rmsprop_alpha_eps", "RMSprop", dict(lr=0.01, alpha=0.9, eps=0.1), None, -1, None, False),
    ("rmsprop_centered", "RMSprop", dict(lr=0.01, centered=True), None, -1, None, False),
    ("rmsprop_momentum", "RMSprop", dict(lr=0.01, momentum=0.9), None, -1, None, False),
    ("rmsprop_centered_momentum_wd", "RMSprop",
     dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1), None, -1, None, False),
    ("rmsprop_maximize", "RMSprop", dict(lr=0.01, maximize=True), None, -1, None, False),
    ("rmsprop_missing_grad", "RMSprop", dict(lr=0.01, momentum=0.9), None, 2, None, False),
    ("rmsprop_onecycle", "RMSprop", dict(lr=0.01), None, -1, 0.02, False),
]


def run_optim_case(index, name, kind, kwargs, group0_lr, missing, onecycle, use_defaults):
    p0, p1, grads = make_params(100 + index)
    init = flat(p0, p1)
    p0 = p0.clone().requires_grad_(True)
    p1 = p1.clone().requires_grad_(True)
    if group0_lr is None:
        opt = OPTIMIZERS[kind]([p0, p1], **kwargs)
    else:
        opt = OPTIMIZERS[kind]([{"params": [p0], "lr": group0_lr}, {"params": [p1]}], **kwargs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=onecycle, total_steps=STEPS) \
        if onecycle is not None else None
    d = opt.defaults
    grad_rows, param_rows = [], []
    for step in range(STEPS):
        g0, g1 = grads[step]
        p0.grad = g0.clone()
        p1.grad = None if step == missing else g1.clone()
        row = flat(g0, g1)
        if step == missing:
            row = row[:12] + [math.nan] * 5
        grad_rows.append(row)
        opt.step()
        if sched is not None:
            sched.step()
        param_rows.append(flat(p0.detach(), p1.detach()))
    betas = d.get("betas", (0.0, 0.0))
    fields = [f64(d["lr"]), f64(d.get("momentum", 0.0)), f64(d.get("dampening", 0.0)),
              f64(d.get("weight_decay", 0.0)), str(d.get("nesterov", False)).lower(),
              f64(betas[0]), f64(betas[1]), f64(d.get("eps", 0.0)),
              str(d.get("amsgrad", False)).lower(), f64(d.get("alpha", 0.0)),
              str(d.get("centered", False)).lower(), str(d.get("maximize", False)).lower()]
    nan = "std::numeric_limits<double>::quiet_NaN()"
    out.append('  {"%s", "%s", %s, %s, %s, %d, %s,\n   %s,\n   {%s},\n   {%s}},' % (
        name, kind, ", ".join(fields), "true" if use_defaults else "false",
        nan if group0_lr is None else f64(group0_lr), missing,
        nan if onecycle is None else f64(onecycle), floats(init),
        ",\n    ".join(floats(r).replace("nanf", "NAN") for r in grad_rows),
        ",\n    ".join(floats(r) for r in param_rows)))


def scheduler_optimizer(kind):
    p0 = torch.zeros(2, requires_grad=True)
    p1 = torch.zeros(2, requires_grad=True)
    groups = [{"params": [p0], "lr": 0.1}, {"params": [p1], "lr": 0.05}]
    if kind == "SGD":
        return torch.optim.SGD(groups, lr=0.1, momentum=0.9)
    return torch.optim.Adam(groups, lr=0.1)


S = torch.optim.lr_scheduler
# name, optimizer, builder, number of steps, metrics (ReduceLROnPlateau only)
SCHED_CASES = [
    ("steplr", "SGD", lambda o: S.StepLR(o, step_size=3, gamma=0.5), 12, None),
    ("multisteplr", "SGD", lambda o: S.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3), 12, None),
    ("exponentiallr", "SGD", lambda o: S.ExponentialLR(o, gamma=0.9), 10, None),
    ("cosine", "SGD", lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001), 35, None),
    ("cosine_default", "SGD", lambda o: S.CosineAnnealingLR(o, T_max=7), 16, None),
    ("linearlr_default", "SGD", lambda o: S.LinearLR(o), 8, None),
    ("linearlr", "SGD", lambda o: S.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=4),
     8, None),
    ("onecycle_sgd", "SGD", lambda o: S.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=20), 20, None),
    ("onecycle_adam_three_phase_linear", "Adam",
     lambda o: S.OneCycleLR(o, max_lr=0.01, total_steps=25, pct_start=0.25, three_phase=True,
                            anneal_strategy="linear"), 25, None),
    ("onecycle_no_momentum", "SGD",
     lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, cycle_momentum=False, div_factor=10.0,
                            final_div_factor=100.0), 10, None),
    ("sequential_warmup_cosine", "SGD",
     lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=5),
                                  S.CosineAnnealingLR(o, T_max=15, eta_min=1e-4)], milestones=[5]),
     25, None),
    ("sequential_three", "SGD",
     lambda o: S.SequentialLR(o, [S.ExponentialLR(o, gamma=0.9), S.StepLR(o, step_size=2, gamma=0.5),
                                  S.LinearLR(o, start_factor=0.5, total_iters=3)], milestones=[3, 8]),
     14, None),
    ("plateau_min", "SGD", lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=2), 16,
     [1.0, 0.9, 0.9, 0.91, 0.95, 0.8999, 0.7, 0.7, 0.7, 0.7, 0.7, 0.69995, 0.5, 0.6, 0.6, 0.6]),
    ("plateau_max_abs_cooldown", "SGD",
     lambda o: S.ReduceLROnPlateau(o, mode="max", factor=0.3, patience=1, threshold=0.1,
                                   threshold_mode="abs", cooldown=2, min_lr=[0.01, 0.02]), 16,
     [0.1, 0.15, 0.25, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.5, 0.5, 0.55, 0.55, 0.55, 0.55, 0.55]),
]


def momentum_of(opt, g):
    group = opt.param_groups[g]
    return group["betas"][0] if "betas" in group else group["momentum"]


def run_sched_case(name, kind, build, steps, metrics):
    opt = scheduler_optimizer(kind)
    sched = build(opt)
    lrs, moms = [], []
    for step in range(steps + 1):
        if step > 0:
            opt.step()
            if metrics is None:
                sched.step()
            else:
                sched.step(metrics[step - 1])
        lrs.append([g["lr"] for g in opt.param_groups])
        moms.append([momentum_of(opt, g) for g in range(2)])
    pairs = lambda rows: ", ".join("{%s, %s}" % (f64(a), f64(b)) for a, b in rows)
    out.append('  {"%s", "%s", {%s},\n   {%s},\n   {%s}},' % (
        name, kind, ", ".join(f64(m) for m in (metrics or [])), pairs(lrs), pairs(moms)))


CLIP_CASES = [(1.0, 2.0), (0.5, 1.0), (0.3, math.inf), (2.0, 3.0), (100.0, 2.0)]


def run_clip_case(index, max_norm, norm_type):
    _, _, grads = make_params(500 + index)
    g0, g1 = grads[1]
    p0 = torch.zeros(3, 4, requires_grad=True)
    p1 = torch.zeros(5, requires_grad=True)
    p0.grad, p1.grad = g0.clone(), g1.clone()
    total = torch.nn.utils.clip_grad_norm_([p0, p1], max_norm, norm_type)
    norm = "INFINITY" if math.isinf(norm_type) else f64(norm_type)
    out.append('  {%s, %s, %s,\n   %s,\n   %s},' % (
        f64(max_norm), norm, f64(total.item()), floats(flat(g0, g1)), floats(flat(p0.grad, p1.grad))))


def main():
    out.append("// Generated by tests/optim/golden/make_golden.py with PyTorch %s: do not edit." %
               torch.__version__)
    out.append("// Compiled once, in tests/optim/golden/optim_golden.cpp; declared in golden.hpp.")
    out.append("const std::vector<OptimGolden> kOptimGolden = {")
    for i, case in enumerate(OPTIM_CASES):
        run_optim_case(i, *case)
    out.append("};\n")
    out.append("const std::vector<SchedulerGolden> kSchedulerGolden = {")
    for case in SCHED_CASES:
        run_sched_case(*case)
    out.append("};\n")
    out.append("const std::vector<ClipGolden> kClipGolden = {")
    for i, case in enumerate(CLIP_CASES):
        run_clip_case(i, *case)
    out.append("};")
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/optim/golden/optim_golden.inc"
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
