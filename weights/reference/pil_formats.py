#!/usr/bin/env python3
"""PIL reference for the formats dev.jresnet.image.ImageDecoder reads besides PNG and JPEG (ImageFormatsPilTest).

usage: pil_formats.py OUTDIR

Writes, with PIL, BMP, GIF, TIFF and CMYK JPEG files of every kind the decoder accepts (and some it refuses) to
OUTDIR, then for every file in OUTDIR that PIL opens (also those the Java test wrote there first, such as a YCCK
JPEG PIL cannot write) writes NAME.rgb: Image.open(p).convert('RGB') as raw RGB bytes, and one line
"NAME<TAB>MODE<TAB>WIDTH<TAB>HEIGHT" to OUTDIR/manifest.tsv.
"""
import os
import sys

import numpy as np
from PIL import Image


def photo_like(w, h, seed):
    """Smooth gradients plus noise: exercises JPEG's IDCT and upsampling, and palettes with many colours."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 / w, y * 255 / h, (x + y) * 127 / (w + h) + 64], -1)
    return np.clip(base + rng.normal(0, 18, base.shape), 0, 255).astype(np.uint8)


def write(out):
    rgb = Image.fromarray(photo_like(67, 45, 1))
    grey = rgb.convert("L")
    pal = rgb.convert("P", palette=Image.ADAPTIVE, colors=200)
    rgb.save(f"{out}/rgb.bmp")
    grey.save(f"{out}/grey.bmp")
    pal.save(f"{out}/palette.bmp")
    rgb.convert("1").save(f"{out}/bilevel.bmp")
    rgb.convert("RGBA").save(f"{out}/rgba.bmp")
    rgb.save(f"{out}/rgb.gif")
    grey.save(f"{out}/grey.gif")
    rgb.save(f"{out}/transparent.gif", transparency=7)
    rgb.save(f"{out}/animated.gif", save_all=True, append_images=[Image.fromarray(255 - np.asarray(rgb))])
    # The first frame smaller than the logical screen, and moved: PIL pastes it on the screen.
    data = bytearray(open(f"{out}/transparent.gif", "rb").read())
    data[6:10] = (80).to_bytes(2, "little") + (50).to_bytes(2, "little")
    open(f"{out}/small-frame.gif", "wb").write(data)
    table = 3 * 2 ** ((data[10] & 7) + 1) if data[10] & 0x80 else 0
    at = data.index(0x2C, 13 + table)
    data[at + 1:at + 5] = (9).to_bytes(2, "little") + (4).to_bytes(2, "little")
    open(f"{out}/moved-frame.gif", "wb").write(data)
    for comp, name in ((None, "raw"), ("tiff_lzw", "lzw"), ("tiff_adobe_deflate", "deflate"), ("packbits", "packbits")):
        rgb.save(f"{out}/rgb-{name}.tif", compression=comp)
    grey.save(f"{out}/grey.tif", compression="tiff_lzw")
    pal.save(f"{out}/palette.tif")
    rgb.convert("1").save(f"{out}/bilevel.tif")
    rgb.convert("RGBA").save(f"{out}/rgba.tif")
    rgb.convert("CMYK").save(f"{out}/cmyk.tif")
    Image.fromarray((np.arange(45 * 67, dtype=np.uint16).reshape(45, 67) * 20)).save(f"{out}/grey16.tif")
    rgb.convert("CMYK").save(f"{out}/cmyk.jpg", quality=90)
    Image.fromarray(photo_like(160, 120, 2)).convert("CMYK").save(f"{out}/cmyk-large.jpg", quality=75)
    rgb.save(f"{out}/refused-jpeg.tif", compression="jpeg")


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    write(out)
    lines = []
    for name in sorted(os.listdir(out)):
        if name.endswith((".rgb", ".tsv")):
            continue
        with Image.open(os.path.join(out, name)) as im:
            mode = im.mode
            converted = im.convert("RGB")
        with open(os.path.join(out, name + ".rgb"), "wb") as f:
            f.write(converted.tobytes())
        lines.append(f"{name}\t{mode}\t{converted.width}\t{converted.height}\n")
    with open(os.path.join(out, "manifest.tsv"), "w") as f:
        f.writelines(lines)


if __name__ == "__main__":
    main()
