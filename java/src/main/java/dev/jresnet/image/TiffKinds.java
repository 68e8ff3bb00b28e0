package dev.jresnet.image;

import javax.imageio.ImageReader;
import javax.imageio.plugins.tiff.BaselineTIFFTagSet;
import javax.imageio.plugins.tiff.TIFFDirectory;
import javax.imageio.plugins.tiff.TIFFField;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.IOException;

/**
 * The TIFF images decoded (the first page, as PIL opens it): bilevel, grey, palette, RGB (alpha dropped) or CMYK,
 * 1 or 8 bits per sample (16-bit grey as PNG's), unsigned, interleaved, uncompressed, LZW, deflate or PackBits. Those
 * are the kinds PIL writes and whose pixels were checked equal to PIL's. The rest is refused in one line before
 * decoding: JPEG-in-TIFF (the JDK's libjpeg 6b and PIL's libjpeg-turbo may differ), CCITT fax, YCbCr and Lab,
 * WhiteIsZero, premultiplied alpha (PIL un-premultiplies with its own rounding), planar, float and 16-bit colour.
 */
final class TiffKinds {
    /** TIFF tag 339, SampleFormat (not in BaselineTIFFTagSet's constants): 1 is unsigned integer. */
    private static final int TAG_SAMPLE_FORMAT = 339;
    private static final int COMPRESSION_DEFLATE_OLD = 32946;

    private TiffKinds() {}

    /** The first page's tags, read once per decode for the checks and the palette below. */
    static TIFFDirectory firstPage(ImageReader reader) throws IOException {
        return TIFFDirectory.createFromMetadata(reader.getImageMetadata(0));
    }

    /** Null when the first page ({@link #firstPage}) is a kind decoded as PIL does, else why not. */
    static String refusal(TIFFDirectory d) {
        int compression = value(d, BaselineTIFFTagSet.TAG_COMPRESSION, 1);
        int photometric = value(d, BaselineTIFFTagSet.TAG_PHOTOMETRIC_INTERPRETATION, -1);
        int planar = value(d, BaselineTIFFTagSet.TAG_PLANAR_CONFIGURATION, 1);
        int format = value(d, TAG_SAMPLE_FORMAT, 1);
        int bits = value(d, BaselineTIFFTagSet.TAG_BITS_PER_SAMPLE, 1);
        int extra = value(d, BaselineTIFFTagSet.TAG_EXTRA_SAMPLES, 0);
        String kind = switch (compression) {
            case BaselineTIFFTagSet.COMPRESSION_NONE, BaselineTIFFTagSet.COMPRESSION_LZW,
                    BaselineTIFFTagSet.COMPRESSION_ZLIB, BaselineTIFFTagSet.COMPRESSION_PACKBITS,
                    COMPRESSION_DEFLATE_OLD -> null;
            case BaselineTIFFTagSet.COMPRESSION_JPEG, BaselineTIFFTagSet.COMPRESSION_OLD_JPEG -> "JPEG-compressed";
            case BaselineTIFFTagSet.COMPRESSION_CCITT_RLE, BaselineTIFFTagSet.COMPRESSION_CCITT_T_4,
                    BaselineTIFFTagSet.COMPRESSION_CCITT_T_6 -> "CCITT fax-compressed";
            default -> "compression " + compression;
        };
        if (kind == null) {
            kind = switch (photometric) {
                case BaselineTIFFTagSet.PHOTOMETRIC_INTERPRETATION_BLACK_IS_ZERO,
                        BaselineTIFFTagSet.PHOTOMETRIC_INTERPRETATION_RGB,
                        BaselineTIFFTagSet.PHOTOMETRIC_INTERPRETATION_PALETTE_COLOR,
                        BaselineTIFFTagSet.PHOTOMETRIC_INTERPRETATION_CMYK -> null;
                case BaselineTIFFTagSet.PHOTOMETRIC_INTERPRETATION_WHITE_IS_ZERO -> "WhiteIsZero";
                case BaselineTIFFTagSet.PHOTOMETRIC_INTERPRETATION_Y_CB_CR -> "YCbCr";
                case BaselineTIFFTagSet.PHOTOMETRIC_INTERPRETATION_CIELAB -> "CIE Lab";
                default -> "photometric interpretation " + photometric;
            };
        }
        boolean grey = photometric == BaselineTIFFTagSet.PHOTOMETRIC_INTERPRETATION_BLACK_IS_ZERO;
        if (kind == null && !(bits == 8 || bits == 1 && grey || bits == 16 && grey)) {
            kind = bits + "-bit";
        }
        if (kind == null && format != 1) {
            kind = format == 3 ? "floating-point" : "signed or undefined sample format";
        }
        if (kind == null && planar != 1) {
            kind = "planar (separate colour planes)";
        }
        if (kind == null && extra == 1) {
            kind = "premultiplied-alpha";
        }
        if (kind == null && bits == 16 && extra != 0) {
            kind = "16-bit grey with alpha";
        }
        return kind == null ? null : kind + " TIFF is not supported (decoded: bilevel, 8-bit grey, palette, RGB, RGBA "
                + "or CMYK, 16-bit grey; uncompressed, LZW, deflate or PackBits): convert it to PNG first";
    }

    /**
     * The image with the palette PIL uses: the high byte of each 16-bit ColorMap entry (TiffImagePlugin's b // 256),
     * where ImageIO rounds (off by one on many entries). Images without a ColorMap are returned as they are.
     */
    static BufferedImage withPilPalette(TIFFDirectory d, BufferedImage image) {
        TIFFField map = d.getTIFFField(BaselineTIFFTagSet.TAG_COLOR_MAP);
        if (map == null || !(image.getColorModel() instanceof IndexColorModel icm) || map.getCount() % 3 != 0) {
            return image;
        }
        int n = map.getCount() / 3; // all reds, then all greens, then all blues
        byte[][] rgb = new byte[3][n];
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < n; i++) {
                rgb[c][i] = (byte) (map.getAsInt(c * n + i) >>> 8);
            }
        }
        IndexColorModel pil = new IndexColorModel(icm.getPixelSize(), n, rgb[0], rgb[1], rgb[2]);
        return new BufferedImage(pil, image.getRaster(), false, null);
    }

    /**
     * Null when every strip (or tile) of the first page ({@link #firstPage}) lies within the file's {@code fileBytes}, else which does not.
     * The JDK's deflate decoder allocates a strip's byte count before it reads a byte (a 418-byte file claiming a
     * 1.6 GB strip ran the fuzzer's heap out), so the counts are checked against the file first.
     */
    static String outsideFile(TIFFDirectory d, long fileBytes) {
        boolean tiles = d.getTIFFField(BaselineTIFFTagSet.TAG_TILE_OFFSETS) != null;
        TIFFField offsets = d.getTIFFField(tiles ? BaselineTIFFTagSet.TAG_TILE_OFFSETS
                : BaselineTIFFTagSet.TAG_STRIP_OFFSETS);
        TIFFField counts = d.getTIFFField(tiles ? BaselineTIFFTagSet.TAG_TILE_BYTE_COUNTS
                : BaselineTIFFTagSet.TAG_STRIP_BYTE_COUNTS);
        if (offsets == null || counts == null) {
            return null;  // the reader's own rules (it may infer a single strip's count)
        }
        String part = tiles ? "tile" : "strip";
        for (int i = 0; i < Math.min(offsets.getCount(), counts.getCount()); i++) {
            long at = offsets.getAsLong(i), bytes = counts.getAsLong(i);
            if (at < 0 || bytes < 0 || at + bytes > fileBytes) {
                return part + " " + i + " claims " + bytes + " bytes at offset " + at + ", past the end of the "
                        + fileBytes + "-byte file";
            }
        }
        return null;
    }

    private static int value(TIFFDirectory d, int tag, int absent) {
        TIFFField f = d.getTIFFField(tag);
        return f == null || f.getCount() == 0 ? absent : f.getAsInt(0);
    }
}
