#!/usr/bin/env python3
"""PIL/torchvision reference for dev.jresnet.image (ImageDecoder, Resize, Preset).

usage: pil_preprocess.py OUTDIR [--synth] IMAGE...

For every image (and, with --synth, for synthetic images this script first writes to OUTDIR/synth/)
writes, with NAME = the file name:
  NAME.decoded.rgb              Image.open(p).convert('RGB') as raw RGB bytes
  NAME.PRESET.resized.rgb       transforms.Resize(resize) of that
  NAME.PRESET.cropped.rgb       transforms.CenterCrop(crop) of that
  NAME.PRESET.tensor.f32        Compose([Resize, CenterCrop, ToTensor, Normalize]) as little-endian float32, CHW
and one line per (image, preset) to OUTDIR/manifest.tsv:
  name path mode width height preset resized_w resized_h crop
"""
import io
import os
import struct
import sys
import zlib

import numpy as np
import torch
from PIL import Image
from torchvision import transforms

PRESETS = [("torchvision-v1", 256, 224), ("torchvision-v2", 232, 224)]
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def raw_png(w, h, bitdepth, colortype, rows):
    """A minimal PNG (filter 0 on every row) for layouts PIL cannot write: 16-bit RGB, 16-bit LA, 2-bit grey."""
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, bitdepth, colortype, 0, 0, 0)
    data = b"".join(b"\x00" + r for r in rows)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(data)) + chunk(b"IEND", b"")


def photo_like(rng, w, h, channels=3):
    """Smooth gradients plus noise and a few hard edges, so resampling rounding is exercised everywhere."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    base = []
    for c in range(channels):
        f = 0.5 + 0.5 * np.sin(xx * (0.05 + 0.03 * c) + yy * (0.031 + 0.02 * c) + c)
        edge = ((xx // max(1, w // 7) + yy // max(1, h // 5)) % 2) * 0.3
        base.append(f * 0.7 + edge)
    a = np.stack(base, axis=-1) * 255 + rng.normal(0, 12, (h, w, channels))
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def write_synthetic(d, icc=None):
    os.makedirs(d, exist_ok=True)
    rng = np.random.RandomState(1234)
    out = []

    def save(name, img, **kw):
        p = os.path.join(d, name)
        img.save(p, **kw)
        out.append(p)

    save("small_100x80.png", Image.fromarray(photo_like(rng, 100, 80)))
    save("tiny_7x5.png", Image.fromarray(photo_like(rng, 7, 5)))
    save("one_pixel_1x1.png", Image.fromarray(photo_like(rng, 1, 1)))
    save("odd_333x517.png", Image.fromarray(photo_like(rng, 333, 517)))
    save("odd_1001x257.png", Image.fromarray(photo_like(rng, 1001, 257)))
    save("exact_256x256.png", Image.fromarray(photo_like(rng, 256, 256)))
    save("exact_232x300.png", Image.fromarray(photo_like(rng, 232, 300)))
    save("square_225x225.png", Image.fromarray(photo_like(rng, 225, 225)))
    save("wide_2000x37.png", Image.fromarray(photo_like(rng, 2000, 37)))
    save("tall_41x1500.png", Image.fromarray(photo_like(rng, 41, 1500)))
    save("big_3001x2003.png", Image.fromarray(photo_like(rng, 3001, 2003)))
    save("grey_L_301x257.png", Image.fromarray(photo_like(rng, 301, 257, 1)[:, :, 0], "L"))
    save("grey_LA_260x310.png", Image.fromarray(photo_like(rng, 260, 310, 2), "LA"))
    save("rgba_300x280.png", Image.fromarray(photo_like(rng, 300, 280, 4), "RGBA"))
    rgb = Image.fromarray(photo_like(rng, 320, 240))
    save("palette_256_320x240.png", rgb.quantize(256))
    save("palette_16_320x240.png", rgb.quantize(16))  # PIL writes a 4-bit palette PNG
    save("palette_trns_320x240.png", rgb.quantize(64), transparency=3)
    save("bilevel_1_270x190.png", Image.fromarray(photo_like(rng, 270, 190, 1)[:, :, 0], "L").convert("1"))
    # Mostly below 256 with some above, so both the kept values and PIL's clipping of "I" to RGB show.
    g16 = (photo_like(rng, 280, 300, 1)[:, :, 0].astype(np.uint16) * 2)
    save("grey16_280x300.png", Image.fromarray(g16.astype(np.uint16), "I;16"))
    rgb16 = photo_like(rng, 290, 270).astype(np.uint16) * 257 + rng.randint(0, 257, (270, 290, 3)).astype(np.uint16)
    for name, arr, ct in (("rgb16_290x270.png", rgb16, 2), ("la16_290x270.png", rgb16[:, :, :2], 4)):
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(raw_png(arr.shape[1], arr.shape[0], 16, ct, [r.astype(">u2").tobytes() for r in arr]))
        out.append(p)
    g2 = photo_like(rng, 300, 260, 1)[:, :, 0] >> 6
    packed = np.packbits(np.unpackbits(g2.astype(np.uint8)[:, :, None], axis=2)[:, :, 6:].reshape(260, -1), axis=1)
    p = os.path.join(d, "grey2bit_300x260.png")
    with open(p, "wb") as f:
        f.write(raw_png(300, 260, 2, 0, [r.tobytes() for r in packed]))
    out.append(p)
    jpg = Image.fromarray(photo_like(rng, 400, 300))
    save("synthetic_420_400x300.jpg", jpg, quality=90)
    save("synthetic_422_400x300.jpg", jpg, quality=90, subsampling=1)
    save("synthetic_444_400x300.jpg", jpg, quality=95, subsampling=0)
    save("synthetic_progressive_400x300.jpg", jpg, quality=85, progressive=True)
    # Embedded ICC profiles: PIL ignores them; ImageIO would convert to sRGB unless told not to.
    from PIL import ImageCms
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    save("icc_srgb_400x300.jpg", jpg, quality=90, icc_profile=srgb)
    save("icc_srgb_400x300.png", jpg, icc_profile=srgb)
    if icc:
        save("icc_photo_400x300.jpg", jpg, quality=90, icc_profile=icc)
        save("icc_photo_400x300.png", jpg, icc_profile=icc)
    save("synthetic_grey_333x250.jpg", Image.fromarray(photo_like(rng, 333, 250, 1)[:, :, 0], "L"), quality=90)
    return out


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    outdir = args.pop(0)
    os.makedirs(outdir, exist_ok=True)
    images = []
    if args and args[0] == "--synth":
        args.pop(0)
        # Borrow a real camera/display ICC profile from the inputs when one has it (samples/rocket.jpg does).
        icc = next((Image.open(p).info.get("icc_profile") for p in args
                    if Image.open(p).info.get("icc_profile")), None)
        images += write_synthetic(os.path.join(outdir, "synth"), icc)
    images = list(args) + images
    torch.set_num_threads(1)
    lines = []
    for path in images:
        name = os.path.basename(path)
        im = Image.open(path)
        mode = im.mode
        rgb = im.convert("RGB")
        with open(os.path.join(outdir, name + ".decoded.rgb"), "wb") as f:
            f.write(rgb.tobytes())
        for pid, rs, cs in PRESETS:
            resized = transforms.Resize(rs)(rgb)
            cropped = transforms.CenterCrop(cs)(resized)
            tensor = transforms.Compose([
                transforms.Resize(rs), transforms.CenterCrop(cs), transforms.ToTensor(),
                transforms.Normalize(MEAN, STD)])(rgb)
            assert tuple(tensor.shape) == (3, cs, cs), tensor.shape
            base = os.path.join(outdir, "%s.%s" % (name, pid))
            with open(base + ".resized.rgb", "wb") as f:
                f.write(resized.tobytes())
            with open(base + ".cropped.rgb", "wb") as f:
                f.write(cropped.tobytes())
            with open(base + ".tensor.f32", "wb") as f:
                f.write(tensor.numpy().astype("<f4").tobytes())
            lines.append("\t".join(str(v) for v in (
                name, os.path.abspath(path), mode, rgb.width, rgb.height, pid, resized.width, resized.height, cs)))
    with open(os.path.join(outdir, "manifest.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %d images x %d presets to %s" % (len(images), len(PRESETS), outdir))


if __name__ == "__main__":
    main()
