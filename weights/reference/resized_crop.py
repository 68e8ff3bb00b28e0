#!/usr/bin/env python3
"""torchvision reference for dev.jresnet.train.RandomResizedCrop / Augmentation.

usage: resized_crop.py OUTDIR IMAGE SIZE BOX... [--fallback WxH...]

For each BOX "top,left,height,width,flip" (flip 0 or 1) writes OUTDIR/box<k>.rgb, the raw RGB bytes of
F.resized_crop(Image.open(IMAGE).convert('RGB'), top, left, height, width, [SIZE, SIZE]) followed by
F.hflip when flip is 1 (what RandomResizedCrop then RandomHorizontalFlip do once the draws are made).
For each WxH after --fallback prints "W H top left height width", the box RandomResizedCrop.get_params
returns for a W x H image with the default scale and ratio when no random try fits (for extreme aspect
ratios every try fails, so the answer does not depend on the random draws).
"""
import os
import sys

import torch
from PIL import Image
from torchvision import transforms
from torchvision.transforms import functional as F


def main(argv):
    out, image, size = argv[0], argv[1], int(argv[2])
    rest = argv[3:]
    boxes, fallbacks = rest, []
    if "--fallback" in rest:
        k = rest.index("--fallback")
        boxes, fallbacks = rest[:k], rest[k + 1:]
    os.makedirs(out, exist_ok=True)
    img = Image.open(image).convert("RGB")
    for k, box in enumerate(boxes):
        top, left, h, w, flip = (int(v) for v in box.split(","))
        r = F.resized_crop(img, top, left, h, w, [size, size])
        if flip:
            r = F.hflip(r)
        with open(os.path.join(out, "box%d.rgb" % k), "wb") as f:
            f.write(r.tobytes())
    torch.manual_seed(0)
    for wh in fallbacks:
        w, h = (int(v) for v in wh.split("x"))
        i, j, hh, ww = transforms.RandomResizedCrop.get_params(Image.new("RGB", (w, h)), [0.08, 1.0], [3 / 4, 4 / 3])
        print(w, h, i, j, hh, ww)


if __name__ == "__main__":
    main(sys.argv[1:])
