#!/usr/bin/env python3
"""PyTorch reference for dev.jresnet.train (Sgd, AdamW, LrSchedule, GradClipping).

usage: optim_reference.py OUTDIR

Writes float32 .npy files (C order) to OUTDIR:
  init.NAME.npy                       the seeded starting value of parameter NAME
  grad.STEP.NAME.npy                  the gradient of NAME at optimizer step STEP (0-based); absent when NAME has
                                      no gradient at that step (torch then skips it)
  OPT.STEP.NAME.npy                   NAME after step STEP of optimizer OPT (sgd, sgd_nesterov, adamw)
  OPT.final.NAME.KEY.npy              the optimizer state after the last step (momentum_buffer, exp_avg, ...)
  clip.in.NAME.npy / clip.out.NAME.npy  gradients before and after clip_grad_norm_(max_norm=CLIP_MAX)
and text files:
  optim.txt      one line per optimizer: OPT key=value ... (hyperparameters, as floats exactly representable
                 in float32, since jresnet takes them as float)
  clip.txt       max_norm and the total norm clip_grad_norm_ returned
  schedules.txt  one line per schedule: NAME base_lr total_steps then the lr each optimizer step used (repr)
"""
import os
import sys

import numpy as np
import torch

STEPS = 5
SHAPES = {"conv.weight": (4, 3, 3, 3), "bn.bias": (13,), "fc.weight": (7, 37), "fc.bias": (7,)}
# fc.bias has no gradient at step 2, to check that a parameter without gradient is skipped entirely
NO_GRAD = {("fc.bias", 2)}
CLIP_MAX = 0.5


def f32(x):
    """The double nearest to float32(x): the value jresnet, which takes hyperparameters as float, actually uses."""
    return float(np.float32(x))


def save(outdir, name, t):
    np.save(os.path.join(outdir, name + ".npy"), t.detach().numpy().astype(np.float32))


def make_params(seed):
    g = torch.Generator().manual_seed(seed)
    return {n: torch.randn(s, generator=g) for n, s in SHAPES.items()}


def make_grads(seed):
    g = torch.Generator().manual_seed(seed)
    grads = []
    for step in range(STEPS):
        grads.append({n: (None if (n, step) in NO_GRAD else torch.randn(s, generator=g) * 0.1)
                      for n, s in SHAPES.items()})
    return grads


def run_optimizer(outdir, tag, make_opt, init, grads):
    params = {n: torch.nn.Parameter(v.clone()) for n, v in init.items()}
    opt = make_opt(list(params.values()))
    for step, gs in enumerate(grads):
        for n, p in params.items():
            p.grad = None if gs[n] is None else gs[n].clone()
        opt.step()
        for n, p in params.items():
            save(outdir, f"{tag}.{step}.{n}", p)
    for n, p in params.items():
        for key, v in opt.state[p].items():
            if torch.is_tensor(v):
                save(outdir, f"{tag}.final.{n}.{key}", v.reshape(-1) if v.dim() == 0 else v)


def optimizers(outdir, init, grads):
    sgd = dict(lr=f32(0.1), momentum=f32(0.9), weight_decay=f32(1e-4))
    adamw = dict(lr=f32(1e-3), betas=(f32(0.9), f32(0.999)), eps=f32(1e-8), weight_decay=f32(0.01))
    lines = []
    run_optimizer(outdir, "sgd", lambda ps: torch.optim.SGD(ps, foreach=False, **sgd), init, grads)
    lines.append("sgd lr={lr!r} momentum={momentum!r} weight_decay={weight_decay!r} nesterov=False".format(**sgd))
    run_optimizer(outdir, "sgd_nesterov", lambda ps: torch.optim.SGD(ps, nesterov=True, foreach=False, **sgd),
                  init, grads)
    lines.append("sgd_nesterov lr={lr!r} momentum={momentum!r} weight_decay={weight_decay!r} nesterov=True"
                 .format(**sgd))
    run_optimizer(outdir, "adamw", lambda ps: torch.optim.AdamW(ps, foreach=False, **adamw), init, grads)
    lines.append("adamw lr={!r} beta1={!r} beta2={!r} eps={!r} weight_decay={!r}".format(
        adamw["lr"], adamw["betas"][0], adamw["betas"][1], adamw["eps"], adamw["weight_decay"]))
    with open(os.path.join(outdir, "optim.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def clipping(outdir, grads):
    params = []
    for n, g in grads[0].items():
        p = torch.nn.Parameter(torch.zeros(SHAPES[n]))
        p.grad = g.clone() * 10  # large enough that clipping scales them down
        save(outdir, f"clip.in.{n}", p.grad)
        params.append((n, p))
    total = torch.nn.utils.clip_grad_norm_([p for _, p in params], CLIP_MAX)
    for n, p in params:
        save(outdir, f"clip.out.{n}", p.grad)
    with open(os.path.join(outdir, "clip.txt"), "w") as f:
        f.write(f"max_norm={CLIP_MAX!r} total_norm={float(total)!r}\n")


def lrs_used(make_sched, base_lr, total):
    """The lr of each optimizer step, as a training loop that calls scheduler.step() after every step sees it."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
    sched = make_sched(opt)
    out = []
    for _ in range(total):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def schedules(outdir):
    S = torch.optim.lr_scheduler
    base = f32(0.1)
    total = 20
    cases = {
        "constant": lambda o: S.LambdaLR(o, lambda step: 1.0),
        "step_5_0.1": lambda o: S.StepLR(o, step_size=5, gamma=f32(0.1)),
        "step_3_0.5": lambda o: S.StepLR(o, step_size=3, gamma=f32(0.5)),
        "cosine_min0": lambda o: S.CosineAnnealingLR(o, T_max=total, eta_min=0.0),
        "cosine_min1e-3": lambda o: S.CosineAnnealingLR(o, T_max=total, eta_min=f32(1e-3)),
        "warmup4_0.01_cosine": lambda o: S.SequentialLR(o, [
            S.LinearLR(o, start_factor=f32(0.01), end_factor=1.0, total_iters=4),
            S.CosineAnnealingLR(o, T_max=total - 4, eta_min=0.0)], milestones=[4]),
        "warmup3_0.1_step_5_0.1": lambda o: S.SequentialLR(o, [
            S.LinearLR(o, start_factor=f32(0.1), end_factor=1.0, total_iters=3),
            S.StepLR(o, step_size=5, gamma=f32(0.1))], milestones=[3]),
    }
    with open(os.path.join(outdir, "schedules.txt"), "w") as f:
        for name, make in cases.items():
            f.write(" ".join([name, repr(base), str(total)] + [repr(v) for v in lrs_used(make, base, total)]) + "\n")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(1)
    init = make_params(1234)
    grads = make_grads(5678)
    for n, v in init.items():
        save(outdir, f"init.{n}", v)
    for step, gs in enumerate(grads):
        for n, g in gs.items():
            if g is not None:
                save(outdir, f"grad.{step}.{n}", g)
    optimizers(outdir, init, grads)
    clipping(outdir, grads)
    schedules(outdir)
    print(f"wrote the optimizer reference to {outdir} with torch {torch.__version__}")


if __name__ == "__main__":
    main()
