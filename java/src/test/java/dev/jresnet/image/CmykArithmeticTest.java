package dev.jresnet.image;

import org.junit.jupiter.api.Test;

import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * {@link Cmyk#toRgb} on every sample value, against the integer arithmetic of the C sources PIL runs, written out here
 * with their constants: libjpeg's jdcolor.c (YCC to RGB with FIX(1.40200) = 91881, FIX(1.77200) = 116130,
 * FIX(0.71414) = 46802, FIX(0.34414) = 22554 in 16.16 fixed point, for YCCK) and Pillow's Convert.c (cmyk2rgb:
 * nk = 255 - K, R = clip(nk - MULDIV255(C, nk))). The PIL-made fixtures (PilFixturesTest) anchor the same on real
 * files; these cover the values small files never hold.
 */
class CmykArithmeticTest {
    private static int clip(int v) {
        return v < 0 ? 0 : Math.min(v, 255);
    }

    /** Pillow's MULDIV255(a, b, tmp): (tmp = a * b + 128, ((tmp >> 8) + tmp) >> 8). */
    private static int mulDiv255(int a, int b) {
        int tmp = a * b + 128;
        return ((tmp >> 8) + tmp) >> 8;
    }

    private static int[] cmyk2rgb(int c, int m, int y, int k) {
        int nk = 255 - k;
        return new int[] {clip(nk - mulDiv255(c, nk)), clip(nk - mulDiv255(m, nk)), clip(nk - mulDiv255(y, nk))};
    }

    /** A 256 x 256 four-band raster: sample (x, y) = {x, y, f3(x, y), f4(x, y)}. */
    private static Raster raster(java.util.function.IntBinaryOperator third, java.util.function.IntBinaryOperator fourth) {
        WritableRaster r = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, 256, 256, 4, null);
        for (int y = 0; y < 256; y++) {
            for (int x = 0; x < 256; x++) {
                r.setPixel(x, y, new int[] {x, y, third.applyAsInt(x, y), fourth.applyAsInt(x, y)});
            }
        }
        return r;
    }

    /** Sets pixel (x, y) of a 256-wide RGB array. */
    private static void put(byte[] rgb, int x, int y, int[] v) {
        for (int c = 0; c < 3; c++) {
            rgb[(y * 256 + x) * 3 + c] = (byte) v[c];
        }
    }

    @Test
    void tiffSamplesArePlainCmyk() {
        // every C against every M, Y and K running over all values
        Raster r = raster((x, y) -> (x * 7 + y) & 255, (x, y) -> (x + y * 3) & 255);
        byte[] want = new byte[256 * 256 * 3];
        for (int y = 0; y < 256; y++) {
            for (int x = 0; x < 256; x++) {
                put(want, x, y, cmyk2rgb(x, y, (x * 7 + y) & 255, (x + y * 3) & 255));
            }
        }
        assertArrayEquals(want, Cmyk.toRgb(r, false, false).pixels());
    }

    @Test
    void jpegSamplesAreAdobeInverted() {
        Raster r = raster((x, y) -> (x * 5 + y * 3) & 255, (x, y) -> (x * 3 + y) & 255);
        byte[] want = new byte[256 * 256 * 3];
        for (int y = 0; y < 256; y++) {
            for (int x = 0; x < 256; x++) {
                put(want, x, y, cmyk2rgb(255 - x, 255 - y, 255 - ((x * 5 + y * 3) & 255), 255 - ((x * 3 + y) & 255)));
            }
        }
        assertArrayEquals(want, Cmyk.toRgb(r, true, false).pixels());
    }

    @Test
    void ycckGoesThroughLibjpegsFixedPointYcc() {
        // every Cb against every Cr, with Y and K varying: the four constants' rounding shows on some of them
        Raster r = raster((x, y) -> (x * 3 + y * 5) & 255, (x, y) -> (x * 11 + y * 13) & 255);
        byte[] want = new byte[256 * 256 * 3];
        for (int yy = 0; yy < 256; yy++) {
            for (int xx = 0; xx < 256; xx++) {
                int lum = xx, cb = yy - 128, cr = ((xx * 3 + yy * 5) & 255) - 128, k = (xx * 11 + yy * 13) & 255;
                int red = clip(lum + ((91881 * cr + 32768) >> 16));
                int green = clip(lum + ((-22554 * cb + 32768 - 46802 * cr) >> 16));
                int blue = clip(lum + ((116130 * cb + 32768) >> 16));
                // libjpeg stores 255 - R... as CMYK, PIL reads the JPEG's CMYK inverted: C = R, ..., K = 255 - K
                put(want, xx, yy, cmyk2rgb(red, green, blue, 255 - k));
            }
        }
        assertArrayEquals(want, Cmyk.toRgb(r, true, true).pixels());
    }
}
