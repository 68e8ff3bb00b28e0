#!/usr/bin/env python3
"""PyTorch reference for jresnet's training backward pass (dev.jresnet.train.Trainer).

usage: grad_reference.py OUTDIR [ARCH]

A seeded torchvision ARCH() (default resnet50; also resnet18 and resnext50_32x4d, each with its own variants)
with random BatchNorm parameters (chosen to keep ReLU inputs away from 0) and
running statistics calibrated on the input, then jittered and fc replaced by
a 5-class nn.Linear, a seeded input [2,3,64,64] and targets; for each variant, one forward + backward of
CrossEntropyLoss with requires_grad only on the unfrozen stages. Frozen stages always run in eval mode; the
unfrozen ones run in train mode (batch statistics, running statistics updated) for the *_trainbn variants and
in eval mode for *_frozenbn.

Writes into OUTDIR:
  model.pth                          torch.save(state_dict) before any step (every variant starts from it)
  input.npy                          [2,3,64,64] float32
  targets.npy                        [2] class indices, as float32
  variants.txt                       one line per variant: NAME unfreeze train_bn label_smoothing loss (repr)
  NAME.logits.npy                    the training forward's logits
  NAME.grad.PARAM.npy                the gradient of every parameter that requires grad
  NAME.after.BUFFER.npy              running_mean / running_var of the unfrozen stages after the forward
"""
import os
import sys

import numpy as np
import torch
import torchvision

from family_reference import block_last_bns

VARIANTS = {
    # name, first unfrozen stage, BatchNorm in train mode, label smoothing
    "resnet50": [
        ("layer4_trainbn", "layer4", True, 0.1),
        ("layer4_frozenbn", "layer4", False, 0.0),
        ("all_trainbn", "all", True, 0.1),
    ],
    # a basic-block and a grouped architecture
    "resnet18": [
        ("layer3_frozenbn", "layer3", False, 0.0),
        ("all_trainbn", "all", True, 0.1),
    ],
    "resnext50_32x4d": [
        ("layer4_frozenbn", "layer4", False, 0.1),
        ("all_trainbn", "all", True, 0.0),
    ],
}
STAGES = ["stem", "layer1", "layer2", "layer3", "layer4", "fc"]


def stage_of(name):
    top = name.split(".")[0]
    return "stem" if top in ("conv1", "bn1") else top


def save(outdir, name, t):
    np.save(os.path.join(outdir, name + ".npy"), t.detach().numpy().astype(np.float32))


def margin(model, x, trainable):
    """The smallest |input| of any ReLU in the trainable stages (BN outputs and block sums), for the log."""
    smallest = [float("inf")]
    hooks = []
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.ReLU) and stage_of(name) in trainable:
            hooks.append(m.register_forward_pre_hook(
                lambda mod, inp: smallest.__setitem__(0, min(smallest[0], float(inp[0].abs().min())))))
    training = {n: m.training for n, m in model.named_modules()}
    bn_state = {n: (b.running_mean.clone(), b.running_var.clone()) for n, b in model.named_modules()
                if isinstance(b, torch.nn.BatchNorm2d)}
    with torch.no_grad():
        model(x)
    for n, b in model.named_modules():
        if n in bn_state:
            b.running_mean.copy_(bn_state[n][0])
            b.running_var.copy_(bn_state[n][1])
    for h in hooks:
        h.remove()
    return smallest[0]


def main():
    out = sys.argv[1]
    arch = sys.argv[2] if len(sys.argv) > 2 else "resnet50"
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(4321)
    torch.set_num_threads(2)
    model = getattr(torchvision.models, arch)()
    model.fc = torch.nn.Linear(model.fc.in_features, 5)
    last_bn = block_last_bns(model)
    x = torch.randn(2, 3, 64, 64)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        # Every pre-ReLU value is kept well away from 0: the two implementations differ by ~1e-5 in float32, and a
        # value that close to the kink would make their ReLU masks (and every gradient upstream) differ. Small
        # gammas with shifts of +-0.5 do it: gamma * x_hat never reaches |beta|. The block's last BN and the downsample BN get
        # positive shifts so that the sum before each block's last ReLU stays positive too. ReLU masks
        # themselves are checked by finite differences (GradCheck), not here.
        for name, m in model.named_modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.05 * (1.0 + 0.2 * torch.randn(c)))
                sign = torch.ones(c) if name in last_bn or name.endswith("downsample.1") \
                    else torch.randint(0, 2, (c,)).float() * 2 - 1
                m.bias.copy_(sign * (0.5 + 0.1 * torch.rand(c)))
        # Running statistics of the input batch itself (momentum 1 keeps just its statistics), then jittered by a
        # fraction of each channel's spread: plausible for eval mode, so eval-mode x_hat stays within a few units.
        model.train()
        for m in bns:
            m.momentum = 1.0
        model(x)
        for m in bns:
            m.momentum = 0.1
            c = m.num_features
            m.running_mean.add_(0.1 * m.running_var.sqrt() * torch.randn(c))
            m.running_var.mul_(0.8 + 0.4 * torch.rand(c))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    torch.save(model.state_dict(), os.path.join(out, "model.pth"))
    y = torch.tensor([3, 1])
    save(out, "input", x)
    save(out, "targets", y.float())

    lines = []
    for name, unfreeze, train_bn, smoothing in VARIANTS[arch]:
        model.load_state_dict(state)
        first = 0 if unfreeze == "all" else STAGES.index(unfreeze)
        trainable = set(STAGES[first:])
        model.eval()
        for pname, p in model.named_parameters():
            p.requires_grad_(stage_of(pname) in trainable)
            p.grad = None
        if train_bn:
            for mname, m in model.named_modules():
                if isinstance(m, torch.nn.BatchNorm2d) and stage_of(mname) in trainable:
                    m.train()
        logits = model(x)
        loss = torch.nn.CrossEntropyLoss(label_smoothing=smoothing)(logits, y)
        loss.backward()
        save(out, name + ".logits", logits)
        for pname, p in model.named_parameters():
            if p.requires_grad:
                save(out, name + ".grad." + pname, p.grad)
        for bname, b in model.named_buffers():
            if stage_of(bname) in trainable and (bname.endswith("running_mean") or bname.endswith("running_var")):
                save(out, name + ".after." + bname, b)
        lines.append("%s %s %s %r %r" % (name, unfreeze, train_bn, smoothing, loss.item()))
        print(name, "smallest |pre-ReLU| in trainable stages: %.2e" % margin(model, x, trainable))
    with open(os.path.join(out, "variants.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
