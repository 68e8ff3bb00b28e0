#!/usr/bin/env python3
"""Reference embeddings for `jresnet embed` (EmbedPyTorchTest), made by real PyTorch (Debian's python3-torch).

usage: embed_reference.py WEIGHTS.pth OUTDIR IMAGE...

Loads a torchvision resnet50 from WEIGHTS.pth (a state_dict), sets fc = Identity, and for the images (each
Image.open(p).convert('RGB'), then Resize(256), CenterCrop(224), ToTensor, Normalize: torchvision's
IMAGENET1K_V1 transform) writes into OUTDIR:
  pool.npy     model(x) with fc = Identity: the pooled features [N, 2048], float32
  layer3.npy   layer3's output [N, 1024, 14, 14] averaged over H and W: [N, 1024], float32
"""
import os
import sys

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms

weights, out, images = sys.argv[1], sys.argv[2], sys.argv[3:]
os.makedirs(out, exist_ok=True)
torch.set_num_threads(2)
model = torchvision.models.resnet50()
model.load_state_dict(torch.load(weights))
model.fc = torch.nn.Identity()
model.eval()
tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                         transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
x = torch.stack([tf(Image.open(p).convert("RGB")) for p in images])
with torch.no_grad():
    pool = model(x)
    h = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    layer3 = model.layer3(model.layer2(model.layer1(h))).mean(dim=(2, 3))
np.save(os.path.join(out, "pool.npy"), pool.numpy().astype(np.float32))
np.save(os.path.join(out, "layer3.npy"), layer3.numpy().astype(np.float32))
print("ok", tuple(pool.shape), tuple(layer3.shape))
