#!/usr/bin/python3
"""Small PIL-made image fixtures, committed, for the tests that must not need PIL (PilFixturesTest, PilResizeTest).

usage: pil_fixtures.py OUTDIR     (OUTDIR: java/src/test/resources/dev/jresnet/image/pil)

pil_formats.py checks every accepted format against PIL when PIL is there (ImageFormatsPilTest, in CI); these few
files keep the conversions PIL defines (CMYK and YCCK JPEG, CMYK and palette TIFF, GIF frames on a logical screen
of another size, 16-bit grey) and its bilinear resize checked where it is not. Writes each file and NAME.rgb,
Image.open(p).convert('RGB') as raw bytes, for every file in OUTDIR (also ycck.jpg, which PIL cannot write:
ImageFormatsPilTest.writeYcckJpeg's way at 16x12, with Y, Cb, Cr and K over their whole range), OUTDIR/manifest.tsv
(NAME<TAB>MODE<TAB>WIDTH<TAB>HEIGHT), and resize/: source.rgb (23x17) and WxH.rgb, its Image.resize((W, H),
BILINEAR). Run with Debian's python3-pil (PIL 9.4); the output is committed (34 KB), rerun only to change it.
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
    # K varies too (RGB's convert("CMYK") leaves it 0, where reading the samples uninverted happens to give the same)
    cmyk_photo = np.concatenate([255 - np.asarray(rgb), ((x * 11 + y * 7) % 256)[..., None]], -1).astype(np.uint8)
    Image.fromarray(cmyk_photo, "CMYK").save(f"{out}/cmyk.jpg", quality=90)
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
    gif(small, out, "screen.gif", screen=(11, 8))
    gif(small, out, "plain.gif")
    gif(small, out, "taller.gif", screen=(9, 10))
    gif(small, out, "wider.gif", screen=(12, 7))
    # a frame sticking out of its screen: PIL grows the canvas to hold it
    gif(small, out, "outside.gif", screen=(8, 6), at=(3, 2))
    # no Graphic Control Extension at all (PIL writes one): no transparency, fill with index 0
    gif(small, out, "no-gce.gif", screen=(11, 8), strip_gce=True)


def gif(img, out, name, screen=None, at=None, strip_gce=False):
    """img saved as a GIF, then its logical screen size and the frame's place patched in."""
    img.save(f"{out}/{name}")
    data = bytearray(open(f"{out}/{name}", "rb").read())
    if screen:
        data[6:10] = screen[0].to_bytes(2, "little") + screen[1].to_bytes(2, "little")
    table = 3 * 2 ** ((data[10] & 7) + 1) if data[10] & 0x80 else 0
    if strip_gce and b"\x21\xf9" in data:
        g = data.index(b"\x21\xf9", 13 + table)
        del data[g:g + 8]
    if at:
        d = data.index(0x2C, 13 + table)
        data[d + 1:d + 5] = at[0].to_bytes(2, "little") + at[1].to_bytes(2, "little")
    open(f"{out}/{name}", "wb").write(data)


def resizes(out):
    """resize/source.rgb (23x17, seeded noise) and PIL's bilinear resize of it to each size: resize/WxH.rgb."""
    os.makedirs(f"{out}/resize", exist_ok=True)
    src = Image.fromarray(np.random.default_rng(16).integers(0, 256, (17, 23, 3), dtype=np.uint8))
    open(f"{out}/resize/source.rgb", "wb").write(src.tobytes())
    # down and up by odd ratios, one side only, to one pixel, and exactly twice
    for w, h in ((9, 7), (40, 30), (23, 9), (11, 17), (5, 3), (64, 5), (1, 1), (46, 34), (23, 40)):
        open(f"{out}/resize/{w}x{h}.rgb", "wb").write(src.resize((w, h), Image.BILINEAR).tobytes())


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    write(out)
    resizes(out)
    lines = []
    for name in sorted(os.listdir(out)):
        if name.endswith((".rgb", ".tsv", ".md")) or os.path.isdir(os.path.join(out, name)):
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
