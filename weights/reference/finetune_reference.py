#!/usr/bin/env python3
"""PyTorch reference for jresnet's fine-tuning loop (dev.jresnet.finetune.FineTuner / the CPU Trainer).

usage: finetune_reference.py WEIGHTS.pth INDIR OUTFILE

Replays, in torch 1.13, the optimizer steps that the Java test ran: torchvision's resnet50 with WEIGHTS.pth, fc
replaced by the head that Java initialised (INDIR/head.fc.weight.npy, head.fc.bias.npy), fed the batches Java
preprocessed (INDIR/batches.npy [STEPS*B,3,H,W] float32, labels.npy [STEPS*B] as float32) in the same order,
with the same hyper-parameters and per-step learning rates, one line per run in INDIR/runs.txt:

  NAME UNFREEZE TRAIN_BN OPTIMIZER MOMENTUM WEIGHT_DECAY LABEL_SMOOTHING CLIP LR_0,LR_1,...

UNFREEZE is fc, layer4, layer3, layer2, layer1 or all: that stage and every later one train, the others are
frozen and in eval mode; TRAIN_BN (true/false) puts the BatchNorm layers of the trainable stages in train mode.
OPTIMIZER is sgd (torch.optim.SGD with momentum and weight decay) or adamw (torch.optim.AdamW, betas 0.9/0.999,
eps 1e-8). CLIP > 0 applies clip_grad_norm_ before each step. Step i's loss is CrossEntropyLoss(label_smoothing)
of the training forward after i updates.

Writes OUTFILE: one line per run, NAME followed by the loss of every step (repr, so nothing is lost); and into
INDIR, for each run, NAME.after.TENSOR.npy: the final value of every tensor the run changes (each trainable
parameter; with TRAIN_BN also the running_mean and running_var of the trainable stages' BatchNorms).
"""
import os
import sys

import numpy as np
import torch
import torchvision

STAGES = ["stem", "layer1", "layer2", "layer3", "layer4", "fc"]


def stage_of(name):
    top = name.split(".")[0]
    return "stem" if top in ("conv1", "bn1") else top


def save_changed(model, trainable, train_bn, prefix):
    """PREFIX + TENSOR.npy for every tensor that training changes: each parameter that requires grad, and with
    train-mode BatchNorm the running statistics of the trainable stages."""
    parameters = dict(model.named_parameters())
    for name, t in model.state_dict().items():
        changed = parameters[name].requires_grad if name in parameters else (
            train_bn and stage_of(name) in trainable and name.endswith(("running_mean", "running_var")))
        if changed:
            np.save(prefix + name + ".npy", t.numpy().astype(np.float32))


def main():
    weights, indir, outfile = sys.argv[1], sys.argv[2], sys.argv[3]
    torch.set_num_threads(2)
    head_w = torch.from_numpy(np.load(os.path.join(indir, "head.fc.weight.npy")))
    head_b = torch.from_numpy(np.load(os.path.join(indir, "head.fc.bias.npy")))
    x_all = torch.from_numpy(np.load(os.path.join(indir, "batches.npy")))
    y_all = torch.from_numpy(np.load(os.path.join(indir, "labels.npy"))).round().long()

    model = torchvision.models.resnet50()
    model.load_state_dict(torch.load(weights))
    model.fc = torch.nn.Linear(2048, head_w.shape[0])
    with torch.no_grad():
        model.fc.weight.copy_(head_w)
        model.fc.bias.copy_(head_b)
    start = {k: v.clone() for k, v in model.state_dict().items()}

    lines = []
    with open(os.path.join(indir, "runs.txt")) as f:
        runs = [line.split() for line in f if line.strip()]
    for name, unfreeze, train_bn, optimizer, momentum, wd, smoothing, clip, lrs in runs:
        lrs = [float(v) for v in lrs.split(",")]
        steps = len(lrs)
        batch = x_all.shape[0] // steps
        model.load_state_dict(start)
        first = 0 if unfreeze == "all" else STAGES.index(unfreeze)
        trainable = set(STAGES[first:])
        model.eval()
        for pname, p in model.named_parameters():
            p.requires_grad_(stage_of(pname) in trainable)
            p.grad = None
        if train_bn == "true":
            for mname, m in model.named_modules():
                if isinstance(m, torch.nn.BatchNorm2d) and stage_of(mname) in trainable:
                    m.train()
        params = [p for p in model.parameters() if p.requires_grad]
        if optimizer == "sgd":
            opt = torch.optim.SGD(params, lr=lrs[0], momentum=float(momentum), weight_decay=float(wd))
        else:
            opt = torch.optim.AdamW(params, lr=lrs[0], betas=(0.9, 0.999), eps=1e-8, weight_decay=float(wd))
        criterion = torch.nn.CrossEntropyLoss(label_smoothing=float(smoothing))
        losses = []
        for i in range(steps):
            for g in opt.param_groups:
                g["lr"] = lrs[i]
            opt.zero_grad()
            x = x_all[i * batch:(i + 1) * batch]
            y = y_all[i * batch:(i + 1) * batch]
            loss = criterion(model(x), y)
            loss.backward()
            if float(clip) > 0:
                torch.nn.utils.clip_grad_norm_(params, float(clip))
            opt.step()
            losses.append(loss.item())
        save_changed(model, trainable, train_bn == "true", os.path.join(indir, name + ".after."))
        lines.append(name + " " + " ".join(repr(v) for v in losses))
        print(lines[-1])
    with open(outfile, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
