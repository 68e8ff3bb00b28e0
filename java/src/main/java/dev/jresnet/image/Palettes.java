package dev.jresnet.image;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.nio.charset.StandardCharsets;

/**
 * Palette lookups as PIL makes them. PIL's palette starts as a grey ramp, entry i = (i, i, i), and a file's colour
 * table overwrites its first entries: an index past the table (a PNG whose PLTE is shorter than its pixels need, a
 * GIF whose LZW codes outrun its colour table or whose transparent index lies past it, a BMP with fewer colours than
 * its bits) reads as (i, i, i). ImageIO instead repeats a PNG's last PLTE entry up to 2^depth, keeps only the low bits
 * of a GIF's indices, and leaves such BMP pixels for the caller; this class undoes each.
 */
final class Palettes {
    private Palettes() {}

    /** The red, green and blue of index {@code i} in {@code table} as PIL gives it: past the table, grey (i, i, i). */
    static int rgb(IndexColorModel table, int i) {
        if (i < table.getMapSize()) {
            return table.getRed(i) << 16 | table.getGreen(i) << 8 | table.getBlue(i);
        }
        int grey = i & 0xff;
        return grey << 16 | grey << 8 | grey;
    }

    /**
     * The entries of a PNG's PLTE chunk (its length / 3), or -1 where it has none before its image data or its chunks
     * cannot be followed (the reader then says what is wrong with the file). Read from the bytes rather than ImageIO's
     * metadata, which would also inflate every compressed text chunk.
     */
    static int pngPaletteEntries(byte[] png) {
        long at = 8; // the signature
        while (at + 8 <= png.length) {
            long length = u32(png, (int) at);
            String type = new String(png, (int) at + 4, 4, StandardCharsets.ISO_8859_1);
            if (type.equals("PLTE")) {
                return (int) Math.min(length / 3, Integer.MAX_VALUE);
            }
            if (type.equals("IDAT") || type.equals("IEND") || length > png.length) {
                return -1;
            }
            at += 12 + length; // length, type, data, CRC
        }
        return -1;
    }

    /**
     * {@code image} looked up in only the first {@code entries} of its palette, where ImageIO padded a PNG's PLTE to
     * 2^depth entries with copies of its last one; the image itself where it is not indexed or not padded.
     */
    static BufferedImage pngAsFiled(BufferedImage image, int entries) {
        if (!(image.getColorModel() instanceof IndexColorModel icm) || entries <= 0 || entries >= icm.getMapSize()) {
            return image;
        }
        return new BufferedImage(firstEntries(icm, icm.getPixelSize(), entries), image.getRaster(), false, null);
    }

    /**
     * An empty 8-bit indexed image of a GIF frame's size whose palette is the frame's colour {@code table}: the reader
     * then writes each index whole, where into an image of the table's own depth it keeps only the low bits (index 5
     * of a 4-colour table read as 1).
     */
    static BufferedImage gifDestination(IndexColorModel table, int width, int height) {
        return new BufferedImage(width, height, BufferedImage.TYPE_BYTE_INDEXED,
                firstEntries(table, 8, Math.min(table.getMapSize(), 256)));
    }

    /** The table of a GIF frame without one: a single black entry, past which every index is PIL's grey (i, i, i). */
    static IndexColorModel noTable() {
        return new IndexColorModel(8, 1, new byte[1], new byte[1], new byte[1]);
    }

    /** A palette of {@code bits} a pixel holding the first {@code n} entries of {@code table}. */
    private static IndexColorModel firstEntries(IndexColorModel table, int bits, int n) {
        byte[] r = new byte[n];
        byte[] g = new byte[n];
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            r[i] = (byte) table.getRed(i);
            g[i] = (byte) table.getGreen(i);
            b[i] = (byte) table.getBlue(i);
        }
        return new IndexColorModel(bits, n, r, g, b);
    }

    private static long u32(byte[] a, int at) {
        return (a[at] & 0xffL) << 24 | (a[at + 1] & 0xffL) << 16 | (a[at + 2] & 0xffL) << 8 | (a[at + 3] & 0xffL);
    }
}
