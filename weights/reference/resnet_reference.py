#!/usr/bin/env python3
"""Reference outputs for jresnet's whole-network tests, made by real PyTorch (Debian's python3-torch).

Writes into OUTDIR:
  resnet50_seeded.pth       torch.save(state_dict) of a seeded torchvision resnet50() whose BatchNorm
                            parameters and running statistics are random (not 1/0), so BN is really tested
  input.npy                 a seeded random batch [2,3,224,224] (normal, not zeros)
  logits_v15.npy            model(input) in eval mode, float32, torchvision v1.5 (stride in the 3x3)
  logits_v1.npy             the same weights with the stride moved to the first 1x1 (ResNet v1)
  features_v15.npy          the pooled 2048-d features of input (before fc)
  keys.txt                  the state_dict keys in order, with shapes
"""
import sys, os
import numpy as np
import torch
import torchvision

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(1234)
torch.set_num_threads(2)
model = torchvision.models.resnet50()
with torch.no_grad():
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            m.weight.copy_(1.0 + 0.2 * torch.randn(c))
            m.bias.copy_(0.1 * torch.randn(c))
            m.running_mean.copy_(0.1 * torch.randn(c))
            m.running_var.copy_(0.5 + torch.rand(c))
            m.num_batches_tracked.fill_(12345)
model.eval()
torch.save(model.state_dict(), os.path.join(out, "resnet50_seeded.pth"))
with open(os.path.join(out, "keys.txt"), "w") as f:
    for k, v in model.state_dict().items():
        f.write("%s %s\n" % (k, list(v.shape)))

x = torch.randn(2, 3, 224, 224)
np.save(os.path.join(out, "input.npy"), x.numpy().astype(np.float32))
with torch.no_grad():
    logits = model(x)
    feats = torch.flatten(model.avgpool(model.layer4(model.layer3(model.layer2(model.layer1(
        model.maxpool(model.relu(model.bn1(model.conv1(x))))))))), 1)
np.save(os.path.join(out, "logits_v15.npy"), logits.numpy().astype(np.float32))
np.save(os.path.join(out, "features_v15.npy"), feats.numpy().astype(np.float32))

# ResNet v1: the same weights, stride on the first 1x1 convolution of each downsampling block.
for layer in (model.layer2, model.layer3, model.layer4):
    block = layer[0]
    block.conv1.stride = (2, 2)
    block.conv2.stride = (1, 1)
with torch.no_grad():
    logits_v1 = model(x)
np.save(os.path.join(out, "logits_v1.npy"), logits_v1.numpy().astype(np.float32))
print("ok", tuple(logits.shape), float(logits.abs().max()))
