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
import struct
import sys
import zlib

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
    past_table(out, np.random.default_rng(17))
    # 16-bit BMPs, 5-5-5 (BI_RGB) and 5-6-5 (BI_BITFIELDS): PIL scales each field by v * 255 // max, truncating
    values = np.random.default_rng(18).integers(0, 1 << 16, (12, 16)).astype(np.uint16)
    values[0, :] = np.arange(16) * 0x0843  # every level of the low fields
    open(f"{out}/rgb555.bmp", "wb").write(bmp16(values & 0x7fff, None))
    open(f"{out}/rgb565.bmp", "wb").write(bmp16(values, (0xF800, 0x07E0, 0x001F)))


def bmp16(values, masks):
    """A 16-bit BMP of values: 5-5-5 without masks, else BI_BITFIELDS with these R, G, B masks."""
    rows = [r.astype("<u2").tobytes() for r in values]
    extra = b"" if masks is None else struct.pack("<III", *masks)
    return bmp_file(rows, values.shape[1], 16, 0 if masks is None else 3, extra, 0)


def bmp_file(rows, w, bits, compression, after_header, colours):
    """A BMP of these top-down rows (written bottom-up, each padded to 4 bytes), with after_header (a palette or
    bitfield masks) between its 40-byte header and its pixels, and colours as biClrUsed."""
    stride = (w * bits // 8 + 3) & ~3
    pixels = b"".join(r + b"\0" * (stride - len(r)) for r in rows[::-1])
    offset = 14 + 40 + len(after_header)
    return (b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset)
            + struct.pack("<IiiHHIIiiII", 40, w, len(rows), 1, bits, compression, len(pixels), 2835, 2835, colours, 0)
            + after_header + pixels)


def past_table(out, rng):
    """Palette indices past the file's colour table, which PIL reads in its grey ramp as (i, i, i): a PNG whose PLTE
    is shorter than its pixels need (8- and 4-bit), a BMP with fewer colours than its 8 bits, a GIF frame (9x7 at
    5, 3 on a 16x12 screen) whose LZW codes outrun its 4-colour table and whose transparent index (250) is past it,
    and the same frame with no colour table at all."""
    h, w = 12, 16
    colours = rng.integers(0, 256, (256, 3), dtype=np.uint8)
    idx = rng.integers(0, 256, (h, w), dtype=np.uint8)
    idx[0, :6] = np.arange(6)  # the table's own entries too
    open(f"{out}/short-plte.png", "wb").write(png(idx, colours[:5], 8))
    open(f"{out}/short-plte-4bit.png", "wb").write(png(idx % 16, colours[:3], 4))
    open(f"{out}/short-palette.bmp", "wb").write(bmp(idx, colours[:6]))
    frame = rng.integers(0, 256, (7, 9), dtype=np.uint8)
    frame[0, :4] = np.arange(4)
    open(f"{out}/past-table.gif", "wb").write(gif_past_table(frame, colours[:4], (16, 12), (5, 3), 250))
    # no colour table at all, which GIF allows: PIL reads the indices as grey (mode L)
    open(f"{out}/no-table.gif", "wb").write(gif_past_table(frame, None, (16, 12), (5, 3), 77))


def chunk(kind, data):
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def png(idx, plte, depth):
    """A palette PNG (colour type 3) of idx at 8 or 4 bits, with only len(plte) PLTE entries."""
    h, w = idx.shape
    if depth == 4:
        rows = [bytes(((r[0::2] << 4) | r[1::2]).astype(np.uint8)) for r in idx]
    else:
        rows = [bytes(r) for r in idx]
    raw = b"".join(b"\0" + r for r in rows)
    header = struct.pack(">IIBBBBB", w, h, depth, 3, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"PLTE", plte.tobytes())
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def bmp(idx, colours):
    """An 8-bit BMP of idx whose palette has only len(colours) entries (biClrUsed)."""
    palette = b"".join(bytes([c[2], c[1], c[0], 0]) for c in colours)
    return bmp_file([bytes(r) for r in idx], idx.shape[1], 8, 0, palette, len(colours))


def gif_past_table(frame, table, screen, at, transparent):
    """A GIF89a whose global table has len(table) (a power of 2) entries (None: no table) and whose one frame,
    LZW-coded with 8-bit codes (literals only, a clear code before the table would grow), holds any index."""
    h, w = frame.shape
    flags = 0 if table is None else 0x80 | (len(table).bit_length() - 2)
    head = b"GIF89a" + struct.pack("<HHBBB", screen[0], screen[1], flags, 0, 0) + (b"" if table is None
                                                                                 else table.tobytes())
    gce = b"\x21\xf9\x04\x01\x00\x00" + bytes([transparent]) + b"\x00"
    clear, end, width = 256, 257, 9
    codes, run = [clear], 0
    for i in frame.flatten():
        codes.append(int(i))
        run += 1
        if run == (1 << width) - end - 2:
            codes.append(clear)
            run = 0
    codes.append(end)
    acc, n, packed = 0, 0, bytearray()
    for c in codes:
        acc |= c << n
        n += width
        while n >= 8:
            packed.append(acc & 255)
            acc >>= 8
            n -= 8
    if n:
        packed.append(acc)
    blocks = b"".join(bytes([len(packed[k:k + 255])]) + packed[k:k + 255] for k in range(0, len(packed), 255))
    image = b"\x2c" + struct.pack("<HHHHB", at[0], at[1], w, h, 0) + b"\x08" + blocks + b"\0"
    return head + gce + image + b"\x3b"


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
