#!/usr/bin/python3
"""Small PIL-made image fixtures, committed, for the decoder tests that must not need PIL (PilFixturesTest).

usage: pil_fixtures.py OUTDIR     (OUTDIR: java/src/test/resources/dev/jresnet/image/pil)

pil_formats.py checks every accepted format against PIL when PIL is there (ImageFormatsPilTest, in CI); these few
files keep the conversions PIL defines (CMYK and YCCK JPEG, CMYK and palette TIFF, a GIF frame on its logical screen,
16-bit grey) checked where it is not. Writes each file and NAME.rgb, Image.open(p).convert('RGB') as raw bytes, for
every file in OUTDIR (also ycck.jpg, which PIL cannot write: ImageFormatsPilTest.writeYcckJpeg's way at 16x12, with
Y, Cb, Cr and K over their whole range) and OUTDIR/manifest.tsv: NAME<TAB>MODE<TAB>WIDTH<TAB>HEIGHT. Run with
Debian's python3-pil (PIL 9.4); the output is committed (about 20 KB), rerun only to change it.
"""
import os
import sys

import numpy as np
from PIL import Image


def write(out):
    rng = np.random.default_rng(15)
    h, w = 12, 16
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([x * 16, y * 21, (x + y) * 9 + 20], -1) + rng.integers(-12, 13, (h, w, 3))
    rgb = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    rgb.convert("CMYK").save(f"{out}/cmyk.jpg", quality=90)
    # every C against every K (M and Y run the other way), 0, 1, 254 and 255 included: Pillow's MULDIV255 rounding
    levels = np.array([0, 1, 2, 17, 63, 64, 100, 127, 128, 129, 191, 200, 240, 253, 254, 255], dtype=np.uint8)
    c, k = np.meshgrid(levels, levels)
    cmyk = np.stack([c, 255 - c, c // 2 + k // 3, k], -1)
    Image.fromarray(cmyk.astype(np.uint8), "CMYK").save(f"{out}/cmyk.tif")
    # ColorMap entries v * 256: PIL reads v back (b // 256) where ImageIO rounds v * 256 / 257 (255 -> 254)
    pal = rgb.convert("P", palette=Image.ADAPTIVE, colors=40)
    palette = pal.getpalette()[: 3 * 40]
    palette[0:3] = [255, 254, 128]
    pal.putpalette(palette)
    pal.save(f"{out}/palette.tif")
    Image.fromarray((np.arange(h * w, dtype=np.uint16).reshape(h, w) * 337 % 1200).astype(np.uint16)).save(
        f"{out}/grey16.tif")
    # a GIF whose first frame (9x7 at 5, 3) lies on a 16x12 logical screen filled with its transparent index
    small = rgb.crop((0, 0, 9, 7)).convert("P", palette=Image.ADAPTIVE, colors=12)
    small.save(f"{out}/moved-frame.gif", transparency=5)
    data = bytearray(open(f"{out}/moved-frame.gif", "rb").read())
    data[6:10] = (16).to_bytes(2, "little") + (12).to_bytes(2, "little")
    table = 3 * 2 ** ((data[10] & 7) + 1) if data[10] & 0x80 else 0
    at = data.index(0x2C, 13 + table)
    data[at + 1:at + 5] = (5).to_bytes(2, "little") + (3).to_bytes(2, "little")
    open(f"{out}/moved-frame.gif", "wb").write(data)
    # the same frame at 0, 0 without transparency on a larger screen: filled with palette index 0
    small.save(f"{out}/screen.gif")
    data = bytearray(open(f"{out}/screen.gif", "rb").read())
    data[6:10] = (11).to_bytes(2, "little") + (8).to_bytes(2, "little")
    open(f"{out}/screen.gif", "wb").write(data)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    write(out)
    lines = []
    for name in sorted(os.listdir(out)):
        if name.endswith((".rgb", ".tsv", ".md")):
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
