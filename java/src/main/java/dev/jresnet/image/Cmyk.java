package dev.jresnet.image;

import javax.imageio.ImageReader;

import java.awt.image.Raster;
import java.io.IOException;

/**
 * Four-channel images (CMYK and YCCK JPEG, CMYK TIFF) to RGB exactly as PIL's {@code convert("RGB")} does.
 * ImageIO's JPEG reader cannot colour-convert them (it throws "Unsupported Image Type" on most, and would apply an
 * embedded CMYK profile on the rest), so the raw samples are read with {@link ImageReader#readRaster} and converted
 * here:
 * <ul>
 *   <li>PIL reads every CMYK JPEG with Adobe's convention (samples stored inverted: rawmode "CMYK;I"); a YCCK JPEG
 *       (Adobe transform 2) is first turned into CMYK by libjpeg (YCC to RGB with its fixed-point tables, then
 *       C = 255 - R, ...), which the raster does not do;</li>
 *   <li>a CMYK TIFF is read as stored;</li>
 *   <li>then Pillow's cmyk2rgb: nk = 255 - K, R = nk - round(C * nk / 255) (its MULDIV255), no colour profile.</li>
 * </ul>
 */
final class Cmyk {
    private static final int SCALEBITS = 16;
    private static final int ONE_HALF = 1 << (SCALEBITS - 1);

    private Cmyk() {}

    /** The JPEG's component count (SOF) and whether its samples are YCCK (Adobe transform other than 0), or null. */
    record JpegKind(int components, boolean ycck) {}

    /**
     * Read from the markers before the first scan, so that ImageIO can keep skipping metadata for ordinary JPEGs:
     * the frame header's component count and APP14 Adobe's transform. Null when no frame header comes first.
     */
    static JpegKind jpegKind(byte[] b) {
        int transform = -1;
        int i = 2;
        while (i + 4 <= b.length) {
            if ((b[i] & 0xff) != 0xff) {
                return null;
            }
            int marker = b[i + 1] & 0xff;
            if (marker == 0xff) { // fill byte
                i++;
                continue;
            }
            if (marker == 0x01 || marker >= 0xd0 && marker <= 0xd7) { // no length
                i += 2;
                continue;
            }
            int length = (b[i + 2] & 0xff) << 8 | (b[i + 3] & 0xff);
            boolean sof = marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
            if (sof) {
                // length(2) precision(1) height(2) width(2) components(1)
                return i + 9 < b.length ? new JpegKind(b[i + 9] & 0xff, (b[i + 9] & 0xff) == 4 && transform > 0) : null;
            }
            if (marker == 0xee && length >= 14 && i + 15 < b.length && b[i + 4] == 'A' && b[i + 5] == 'd'
                    && b[i + 6] == 'o' && b[i + 7] == 'b' && b[i + 8] == 'e') {
                transform = b[i + 15] & 0xff; // "Adobe" version(2) flags0(2) flags1(2) transform(1)
            }
            if (marker == 0xda || length < 2) {
                return null;
            }
            i += 2 + length;
        }
        return null;
    }

    /** RGB of a 4-band 8-bit raster: JPEG samples (inverted CMYK, or YCCK) or TIFF samples (plain CMYK). */
    static RgbImage toRgb(Raster raster, boolean jpeg, boolean ycck) {
        int width = raster.getWidth();
        int height = raster.getHeight();
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(width, height), 3)];
        int[] row = new int[width * 4];
        int[] pil = new int[4];
        for (int y = 0; y < height; y++) {
            raster.getPixels(raster.getMinX(), raster.getMinY() + y, width, 1, row);
            int o = y * width * 3;
            for (int x = 0; x < width; x++) {
                int b = x * 4;
                if (ycck) {
                    // libjpeg's ycck_cmyk_convert gives 255 - R (R from YCC), PIL inverts it back: PIL's C is R
                    int yy = row[b];
                    int cb = row[b + 1] - 128;
                    int cr = row[b + 2] - 128;
                    pil[0] = clamp(yy + ((fix(1.40200) * cr + ONE_HALF) >> SCALEBITS));
                    pil[1] = clamp(yy + ((-fix(0.34414) * cb + ONE_HALF - fix(0.71414) * cr) >> SCALEBITS));
                    pil[2] = clamp(yy + ((fix(1.77200) * cb + ONE_HALF) >> SCALEBITS));
                    pil[3] = 255 - row[b + 3];
                } else {
                    for (int c = 0; c < 4; c++) {
                        pil[c] = jpeg ? 255 - row[b + c] : row[b + c];
                    }
                }
                int nk = 255 - pil[3];
                for (int c = 0; c < 3; c++) {
                    out[o++] = (byte) clamp(nk - mulDiv255(pil[c], nk));
                }
            }
        }
        return new RgbImage(width, height, out);
    }

    /** libjpeg's FIX(x): x in 16.16 fixed point, rounded. */
    private static int fix(double x) {
        return (int) (x * (1 << SCALEBITS) + 0.5);
    }

    /** Pillow's MULDIV255(a, b): a * b / 255 rounded, in integers. */
    private static int mulDiv255(int a, int b) {
        int t = a * b + 128;
        return ((t >> 8) + t) >> 8;
    }

    private static int clamp(int v) {
        return v < 0 ? 0 : Math.min(v, 255);
    }
}
