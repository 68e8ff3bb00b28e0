#!/usr/bin/env python3
"""Reference outputs for the ResNet family (jresnet's FamilyPyTorchTest), made by real PyTorch.

usage: family_reference.py OUTDIR ARCH [ARCH ...] [--onnx ARCH,ARCH...]

For each torchvision builder name ARCH (resnet18 ... resnext101_64x4d), a seeded model whose BatchNorm parameters
and running statistics are random (not 1/0), so batch norm is really tested. Writes into OUTDIR:
  input.npy              a seeded random batch [1,3,224,224] (normal), shared by every ARCH
  ARCH.pth               torch.save(state_dict)
  ARCH.logits.npy        model(input) in eval mode, float32
  ARCH.keys.txt          the state_dict keys in order, with shapes
  ARCH.params            the number of parameters (sum of numel over model.parameters())
and for the archs --onnx names, ARCH.onnx: torch.onnx.export of the model (opset 13, dynamic batch, BatchNorm
folded into the convolutions).
"""
import os
import sys
import zlib

import numpy as np
import torch
import torchvision


def block_last_bns(model):
    """The names of the batch norms right before each block's add: bn2 of a basic block, bn3 of a bottleneck."""
    last = set()
    for name, m in model.named_modules():
        if isinstance(m, torchvision.models.resnet.BasicBlock):
            last.add(name + ".bn2")
        elif isinstance(m, torchvision.models.resnet.Bottleneck):
            last.add(name + ".bn3")
    return last


def seeded(arch):
    torch.manual_seed(zlib.crc32(arch.encode()))
    model = getattr(torchvision.models, arch)()
    # The batch norm before each block's add gets small scales, as trained networks have, so that the activations
    # of the deep members (resnet152: 50 blocks) stay within a few orders of magnitude instead of overflowing.
    last = block_last_bns(model)
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                scale = 0.2 if name in last else 1.0
                m.weight.copy_(scale * (1.0 + 0.2 * torch.randn(c)))
                m.bias.copy_(0.1 * torch.randn(c))
                m.running_mean.copy_(0.1 * torch.randn(c))
                m.running_var.copy_(0.5 + torch.rand(c))
                m.num_batches_tracked.fill_(7)
    return model.eval()


def main():
    args = sys.argv[1:]
    onnx_archs = set()
    if "--onnx" in args:
        i = args.index("--onnx")
        onnx_archs = set(args[i + 1].split(","))
        del args[i:i + 2]
    out, archs = args[0], args[1:]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(2)
    torch.manual_seed(99)
    x = torch.randn(1, 3, 224, 224)
    np.save(os.path.join(out, "input.npy"), x.numpy().astype(np.float32))
    for arch in archs:
        model = seeded(arch)
        torch.save(model.state_dict(), os.path.join(out, arch + ".pth"))
        with open(os.path.join(out, arch + ".keys.txt"), "w") as f:
            for k, v in model.state_dict().items():
                f.write("%s %s\n" % (k, list(v.shape)))
        with open(os.path.join(out, arch + ".params"), "w") as f:
            f.write("%d\n" % sum(p.numel() for p in model.parameters()))
        with torch.no_grad():
            logits = model(x)
        np.save(os.path.join(out, arch + ".logits.npy"), logits.numpy().astype(np.float32))
        if arch in onnx_archs:
            torch.onnx.export(model, x, os.path.join(out, arch + ".onnx"), opset_version=13, input_names=["input"],
                              output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                              do_constant_folding=True)
        print(arch, "ok", tuple(logits.shape), "max |logit| %.3g" % float(logits.abs().max()))


if __name__ == "__main__":
    main()
