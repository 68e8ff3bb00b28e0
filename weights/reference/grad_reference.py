#!/usr/bin/env python3
"""PyTorch reference for jresnet's training backward pass (dev.jresnet.train.Trainer).

usage: grad_reference.py OUTDIR [ARCH]

A seeded torchvision ARCH() (default resnet50; also resnet18 and resnext50_32x4d, each with its own variants)
with fc replaced by a 5-class nn.Linear, random BatchNorm parameters and running statistics calibrated on the
input, then jittered; a seeded input [2,3,64,64] and targets; for each variant, one forward + backward of
CrossEntropyLoss with requires_grad only on the unfrozen stages. Frozen stages always run in eval mode; the
unfrozen ones run in train mode (batch statistics, running statistics updated) for the *_trainbn variants and
in eval mode for *_frozenbn.

Two kinds of model (fixtures), both from the same input:
  forced    (model.pth, shared by the forced variants) BatchNorm parameters that keep every ReLU input far from
            0 by making each ReLU channel entirely on or off. Masks never vary across positions, and some
            gradients are exactly 0 in exact arithmetic (a BN shift that passes a ReLU unchanged and a 1x1
            convolution reaches a train-mode BN as a constant, which the batch mean removes): every bn2.bias of
            a bottleneck, most bn3.bias, the downsample and stem BN biases.
  ordinary  (model.NAME.pth, one per ordinary variant) BatchNorm parameters like a network's (gamma 0.5..1.5),
            with each bias then set, in one forward pass in the variant's BatchNorm mode, so that the channel's
            ReLU threshold falls in the widest gap between its values at the batch's positions, between their
            20th and 80th percentiles: every channel is on at some positions and off at others, no input lies
            near the kink, and those gradients are not 0.
Why keep ReLU inputs away from 0: jresnet's float32 and torch's differ by ~1e-6, and an input that close to the
kink takes the other side in one of them, which changes the gradient at that position by its whole value and
every gradient upstream of it (in an ordinary network without the gaps, an input 5e-8 from the kink moved
resnet18's gradients by 1.3e-2 relative L2).

Writes into OUTDIR:
  model.pth, model.NAME.pth          torch.save(state_dict) of each fixture before any step (its variants start from it)
  input.npy                          [2,3,64,64] float32
  targets.npy                        [2] class indices, as float32
  variants.txt                       one line per variant: NAME unfreeze train_bn label_smoothing loss (repr)
                                     model_file mixed smallest, where, over the ReLUs of the trainable stages:
                                     mixed = the fraction of (ReLU call, channel) whose mask varies across the
                                     batch's positions, smallest = the smallest |input|
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
    # name, first unfrozen stage, BatchNorm in train mode, label smoothing, fixture
    "resnet50": [
        ("layer4_trainbn", "layer4", True, 0.1, "forced"),
        ("layer4_frozenbn", "layer4", False, 0.0, "forced"),
        ("all_trainbn", "all", True, 0.1, "forced"),
        ("ordinary_all_trainbn", "all", True, 0.1, "ordinary"),
    ],
    # a basic-block and a grouped architecture
    "resnet18": [
        ("layer3_frozenbn", "layer3", False, 0.0, "forced"),
        ("all_trainbn", "all", True, 0.1, "forced"),
        ("ordinary_all_frozenbn", "all", False, 0.0, "ordinary"),
    ],
    "resnext50_32x4d": [
        ("layer4_frozenbn", "layer4", False, 0.1, "forced"),
        ("all_trainbn", "all", True, 0.0, "forced"),
    ],
}
# Each ordinary channel's ReLU threshold lies between these percentiles of its values.
LOW, HIGH = 0.2, 0.8
STAGES = ["stem", "layer1", "layer2", "layer3", "layer4", "fc"]


def stage_of(name):
    top = name.split(".")[0]
    return "stem" if top in ("conv1", "bn1") else top


def save(outdir, name, t):
    np.save(os.path.join(outdir, name + ".npy"), t.detach().numpy().astype(np.float32))


class ReluInputs:
    """Watches every ReLU call in the trainable stages (BN outputs and block sums) during the forwards it is open
    for: the fraction of (call, channel) whose mask varies across the batch's positions and the smallest |input|."""

    def __init__(self, model, trainable):
        self.mixed, self.channels, self.smallest = 0, 0, float("inf")
        self.hooks = [m.register_forward_pre_hook(self.hook) for name, m in model.named_modules()
                      if isinstance(m, torch.nn.ReLU) and stage_of(name) in trainable]

    def hook(self, mod, inp):
        v = inp[0].detach()
        on = (v > 0).transpose(0, 1).reshape(v.shape[1], -1)
        self.mixed += int((on.any(dim=1) & ~on.all(dim=1)).sum())
        self.channels += v.shape[1]
        self.smallest = min(self.smallest, float(v.abs().min()))

    def close(self):
        for h in self.hooks:
            h.remove()


def jitter(model):
    """Running statistics that are the batch's moved by a fraction of each channel's spread: plausible for eval
    mode, so eval-mode x_hat stays within a few units; BatchNorm's momentum back to its default."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = 0.1
                c = m.num_features
                m.running_mean.add_(0.1 * m.running_var.sqrt() * torch.randn(c))
                m.running_var.mul_(0.8 + 0.4 * torch.rand(c))


def calibrate(model, x):
    """Running statistics of the input batch itself (momentum 1 keeps just its statistics), then jittered."""
    with torch.no_grad():
        model.train()
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = 1.0
        model(x)
    jitter(model)


def forced(model):
    # Every pre-ReLU value is kept well away from 0: the two implementations differ by ~1e-6 in float32, and a
    # value that close to the kink would make their ReLU masks (and every gradient upstream) differ. Small
    # gammas with shifts of +-0.5 do it: gamma * x_hat never reaches |beta|. The block's last BN and the downsample
    # BN get positive shifts so that the sum before each block's last ReLU stays positive too. Masks that vary
    # across positions are the ordinary fixture's part.
    last_bn = block_last_bns(model)
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.05 * (1.0 + 0.2 * torch.randn(c)))
                sign = torch.ones(c) if name in last_bn or name.endswith("downsample.1") \
                    else torch.randint(0, 2, (c,)).float() * 2 - 1
                m.bias.copy_(sign * (0.5 + 0.1 * torch.rand(c)))


def ordinary(model, x, train_bn):
    """Network-like BatchNorm parameters, then each bias moved so that its ReLU's threshold lies in a wide gap of
    the channel's values (see the module's comment), in the BatchNorm mode the variant trains in; running
    statistics calibrated as calibrate() does."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c))
                m.bias.copy_(0.2 * torch.randn(c))
    if not train_bn:
        calibrate(model, x)  # eval-mode thresholds need the final running statistics
    # One forward in which each ReLU's input is shifted per channel as it arrives, and the BatchNorm that feeds it
    # (the block's last one for the sum before a block's last ReLU) takes the same shift: shifting a BN's bias
    # shifts its output exactly, so the later layers see the values of the final model. The stem's ReLU follows
    # bn1; a block's ReLU is called once per BN of the block, in order.
    feeding = {}
    for m in model.modules():
        if isinstance(m, torchvision.models.resnet.Bottleneck):
            feeding[m] = [m.bn1, m.bn2, m.bn3]
        elif isinstance(m, torchvision.models.resnet.BasicBlock):
            feeding[m] = [m.bn1, m.bn2]
    calls = {}
    hooks = []

    def shift(bn):
        def hook(mod, inp):
            v = inp[0]
            c = v.shape[1]
            s, _ = v.transpose(0, 1).reshape(c, -1).sort(dim=1)
            n = s.shape[1]
            lo, hi = int(LOW * n), max(int(LOW * n) + 1, int(HIGH * n))
            gaps = s[:, lo + 1:hi + 1] - s[:, lo:hi]
            j = gaps.argmax(dim=1, keepdim=True) + lo
            t = (s.gather(1, j) + s.gather(1, j + 1)).squeeze(1) / 2
            bn.bias.sub_(t)
            return (v - t.view(1, c, 1, 1),)
        return hook

    hooks.append(model.relu.register_forward_pre_hook(shift(model.bn1)))
    for block, bns in feeding.items():
        hooks.append(block.register_forward_pre_hook(lambda mod, inp: calls.__setitem__(mod, 0)))

        def hook(mod, inp, block=block, bns=bns):
            i = calls[block]
            calls[block] = i + 1
            return shift(bns[i])(mod, inp)
        hooks.append(block.relu.register_forward_pre_hook(hook))
    model.train(train_bn)
    with torch.no_grad():
        if train_bn:
            # the running statistics become the final model's batch statistics (a BN's bias does not move its own)
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.momentum = 1.0
        model(x)
    for h in hooks:
        h.remove()
    if train_bn:
        jitter(model)


def main():
    out = sys.argv[1]
    arch = sys.argv[2] if len(sys.argv) > 2 else "resnet50"
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(4321)
    torch.set_num_threads(2)
    model = getattr(torchvision.models, arch)()
    model.fc = torch.nn.Linear(model.fc.in_features, 5)
    x = torch.randn(2, 3, 64, 64)
    forced(model)
    calibrate(model, x)
    models = {"forced": ("model.pth", model)}
    for name, unfreeze, train_bn, smoothing, fixture in VARIANTS[arch]:
        if fixture == "ordinary":
            torch.manual_seed(8765)
            model = getattr(torchvision.models, arch)()
            model.fc = torch.nn.Linear(model.fc.in_features, 5)
            ordinary(model, x, train_bn)
            models[name] = ("model." + name + ".pth", model)
    states = {}
    for key, (file, m) in models.items():
        states[key] = {k: v.clone() for k, v in m.state_dict().items()}
        torch.save(m.state_dict(), os.path.join(out, file))
    y = torch.tensor([3, 1])
    save(out, "input", x)
    save(out, "targets", y.float())

    lines = []
    for name, unfreeze, train_bn, smoothing, fixture in VARIANTS[arch]:
        key = name if fixture == "ordinary" else fixture
        file, model = models[key]
        model.load_state_dict(states[key])
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
        relus = ReluInputs(model, trainable)
        logits = model(x)
        relus.close()
        loss = torch.nn.CrossEntropyLoss(label_smoothing=smoothing)(logits, y)
        loss.backward()
        save(out, name + ".logits", logits)
        for pname, p in model.named_parameters():
            if p.requires_grad:
                save(out, name + ".grad." + pname, p.grad)
        for bname, b in model.named_buffers():
            if stage_of(bname) in trainable and (bname.endswith("running_mean") or bname.endswith("running_var")):
                save(out, name + ".after." + bname, b)
        lines.append("%s %s %s %r %r %s %.4f %.3e" % (name, unfreeze, train_bn, smoothing, loss.item(), file,
                                                     relus.mixed / relus.channels, relus.smallest))
    with open(os.path.join(out, "variants.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
