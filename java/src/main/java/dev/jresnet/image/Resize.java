package dev.jresnet.image;

/**
 * torchvision's {@code Resize(size)} and {@code CenterCrop(size)} on PIL images, reproduced bit for bit.
 * The resampling mirrors Pillow 9.4's {@code ImagingResample} (libImaging/Resample.c) for 8-bit images
 * with the BILINEAR filter: an antialiasing triangle filter whose support grows with the downscale
 * factor, coefficients normalised in double and then rounded to 22-bit fixed point, a horizontal pass
 * over only the rows the vertical pass will read, an 8-bit clipped intermediate, then the vertical pass.
 */
public final class Resize {
    /** Pillow's PRECISION_BITS: 8 bits of result, 2 bits of headroom for filters with negative lobes. */
    private static final int PRECISION_BITS = 32 - 8 - 2;
    private static final double BILINEAR_SUPPORT = 1.0;

    private Resize() {}

    /**
     * The {width, height} that torchvision 0.14's {@code Resize(size)} produces: the shorter side becomes
     * {@code size} and the longer {@code int(size * long / short)} (Python float division, truncated);
     * a square image counts its width as the shorter side, which changes nothing.
     */
    public static int[] resizedSize(int width, int height, int size) {
        long[] wh = resizedSizeLong(width, height, size);
        long longer = Math.max(wh[0], wh[1]);
        if (longer >= Integer.MAX_VALUE) {
            throw new IllegalArgumentException("resizing " + width + "x" + height + " so its shorter side is " + size
                    + " gives a longer side of " + longer + " pixels");
        }
        return new int[] {(int) wh[0], (int) wh[1]};
    }

    /** torchvision's {@code Resize(size)} (bilinear, PIL path); returns {@code image} itself when the size is unchanged, as torchvision does. */
    public static RgbImage resizeShorterSide(RgbImage image, int size) {
        int[] wh = resizedSize(image.width(), image.height(), size);
        if (wh[0] == image.width() && wh[1] == image.height()) {
            return image;
        }
        return resize(image, wh[0], wh[1]);
    }

    /**
     * torchvision's {@code Resize(resize)} then {@code CenterCrop(crop)}, computing only the pixels the crop keeps:
     * the same bytes as {@code centerCrop(resizeShorterSide(image, resize), crop)} (each output pixel of Pillow's
     * two passes depends only on its own coefficients, so a sub-range of rows and columns is exact), but time and
     * memory bounded by the crop whatever the aspect ratio. A 20000x1 image resized to a shorter side of 256 would
     * be 5,120,000x256 (3.9 GB, more than a Java array holds); the crop keeps 224x224 of it.
     */
    public static RgbImage resizeAndCenterCrop(RgbImage image, int resize, int crop) {
        if (crop <= 0) {
            throw new IllegalArgumentException("crop size " + crop + " must be positive");
        }
        int inW = image.width();
        int inH = image.height();
        long[] wh = resizedSizeLong(inW, inH, resize);
        long outW = wh[0];
        long outH = wh[1];
        if (outW == inW && outH == inH) {
            return centerCrop(image, crop); // torchvision's Resize hands back the image itself
        }
        long left = cropOffset(outW, crop);
        long top = cropOffset(outH, crop);
        // The part of the crop window inside the resized image: [x0, x1) x [y0, y1), at most crop x crop.
        long x0 = Math.max(0, left);
        long x1 = Math.min(outW, left + crop);
        long y0 = Math.max(0, top);
        long y1 = Math.min(outH, top + crop);
        int regionW = (int) (x1 - x0);
        int regionH = (int) (y1 - y0);
        byte[] src = image.pixels();
        Coefficients vert = outH == inH ? null : Coefficients.of(inH, outH, y0, y1);
        // Source rows the vertical pass reads (all of [y0, y1) when the height is unchanged).
        int rowFirst = vert == null ? (int) y0 : vert.min[0];
        int rowLast = vert == null ? (int) y1 : vert.min[regionH - 1] + vert.count[regionH - 1];
        int rows = rowLast - rowFirst;
        byte[] temp = new byte[regionW * rows * 3];
        if (outW != inW) {
            horizontal(src, inW, rowFirst, temp, regionW, rows, Coefficients.of(inW, outW, x0, x1));
        } else {
            for (int y = 0; y < rows; y++) {
                System.arraycopy(src, ((rowFirst + y) * inW + (int) x0) * 3, temp, y * regionW * 3, regionW * 3);
            }
        }
        byte[] region = temp;
        if (vert != null) {
            region = new byte[regionW * regionH * 3];
            vertical(temp, regionW, rowFirst, region, regionH, vert);
        }
        byte[] out = new byte[crop * crop * 3];
        int dx = (int) (x0 - left);
        int dy = (int) (y0 - top);
        for (int y = 0; y < regionH; y++) {
            System.arraycopy(region, y * regionW * 3, out, ((dy + y) * crop + dx) * 3, regionW * 3);
        }
        return new RgbImage(crop, crop, out);
    }

    /** {@link #resizedSize} in long: the longer side of an extreme aspect ratio can pass 2^31 (178956970x1 to 256). */
    private static long[] resizedSizeLong(int width, int height, int size) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size " + width + "x" + height + " must be positive");
        }
        if (size <= 0) {
            throw new IllegalArgumentException("resize size " + size + " must be positive");
        }
        boolean widthIsShort = width <= height;
        int shortSide = widthIsShort ? width : height;
        int longSide = widthIsShort ? height : width;
        // size * long < 2^62 and the quotient < 2^53: exact, rounded once, as Python's float division.
        long newLong = (long) ((double) ((long) size * longSide) / shortSide);
        if (newLong <= 0) {
            throw new IllegalArgumentException("resizing " + width + "x" + height + " so its shorter side is " + size
                    + " gives a longer side of 0 pixels");
        }
        return widthIsShort ? new long[] {size, newLong} : new long[] {newLong, size};
    }

    /** {@link #cropOffset(int, int)} for a side longer than an int. */
    private static long cropOffset(long side, int crop) {
        if (crop > side) {
            return -((crop - side) / 2);
        }
        return (long) Math.rint((side - crop) / 2.0);
    }

    /** PIL's {@code image.resize((width, height), Image.BILINEAR)} for an RGB image. */
    public static RgbImage resize(RgbImage image, int width, int height) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("target size " + width + "x" + height + " must be positive");
        }
        if ((long) width * height * 3 > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("target size " + width + "x" + height + " is too large");
        }
        int inW = image.width();
        int inH = image.height();
        if (width == inW && height == inH) {
            // Pillow's Image.resize returns a copy when neither size nor box changes.
            return new RgbImage(inW, inH, image.pixels().clone());
        }
        Coefficients vert = Coefficients.of(inH, height, 0, height);
        // The horizontal pass only needs the source rows some output row reads (Pillow crops to them too).
        int yFirst = vert.min[0];
        int yLast = vert.min[height - 1] + vert.count[height - 1];

        byte[] src = image.pixels();
        int srcW = inW;
        int rowOffset = 0;
        if (width != inW) {
            Coefficients horiz = Coefficients.of(inW, width, 0, width);
            int tempH = yLast - yFirst;
            byte[] temp = new byte[width * tempH * 3];
            horizontal(src, inW, yFirst, temp, width, tempH, horiz);
            src = temp;
            srcW = width;
            rowOffset = yFirst;
        }
        if (height == inH) {
            return new RgbImage(width, height, src);
        }
        byte[] out = new byte[width * height * 3];
        vertical(src, srcW, rowOffset, out, height, vert);
        return new RgbImage(width, height, out);
    }

    /**
     * torchvision's {@code CenterCrop(size)} on a PIL image: the offset is {@code int(round((d - size) / 2.0))}
     * with Python's half-to-even rounding; where the image is smaller than the crop it is first padded with
     * black, {@code (size - d) // 2} before and the rest after, as torchvision pads.
     */
    public static RgbImage centerCrop(RgbImage image, int size) {
        if (size <= 0) {
            throw new IllegalArgumentException("crop size " + size + " must be positive");
        }
        int left = cropOffset(image.width(), size);
        int top = cropOffset(image.height(), size);
        return crop(image, left, top, size, size);
    }

    /**
     * Where a centred crop of {@code crop} pixels starts in a side of {@code side} pixels; negative when the
     * side is padded first (then the crop covers the whole padded side).
     */
    public static int cropOffset(int side, int crop) {
        if (crop > side) {
            return -((crop - side) / 2);
        }
        return (int) Math.rint((side - crop) / 2.0);
    }

    private static RgbImage crop(RgbImage image, int left, int top, int w, int h) {
        byte[] out = new byte[w * h * 3];
        byte[] in = image.pixels();
        int x0 = Math.max(0, left);
        int x1 = Math.min(image.width(), left + w);
        if (x1 > x0) {
            for (int y = 0; y < h; y++) {
                int sy = top + y;
                if (sy < 0 || sy >= image.height()) {
                    continue;
                }
                System.arraycopy(in, (sy * image.width() + x0) * 3, out, (y * w + x0 - left) * 3, (x1 - x0) * 3);
            }
        }
        return new RgbImage(w, h, out);
    }

    private static void horizontal(byte[] in, int inW, int rowOffset, byte[] out, int outW, int outH, Coefficients k) {
        int ksize = k.ksize;
        for (int yy = 0; yy < outH; yy++) {
            int inRow = (yy + rowOffset) * inW * 3;
            int o = yy * outW * 3;
            for (int xx = 0; xx < outW; xx++) {
                int xmin = k.min[xx];
                int n = k.count[xx];
                int kb = xx * ksize;
                int s0 = 1 << (PRECISION_BITS - 1);
                int s1 = s0;
                int s2 = s0;
                int p = inRow + xmin * 3;
                for (int x = 0; x < n; x++, p += 3) {
                    int w = k.fixed[kb + x];
                    s0 += (in[p] & 0xff) * w;
                    s1 += (in[p + 1] & 0xff) * w;
                    s2 += (in[p + 2] & 0xff) * w;
                }
                out[o++] = clip8(s0);
                out[o++] = clip8(s1);
                out[o++] = clip8(s2);
            }
        }
    }

    private static void vertical(byte[] in, int w, int rowOffset, byte[] out, int outH, Coefficients k) {
        int ksize = k.ksize;
        int rowBytes = w * 3;
        int[] acc = new int[rowBytes];
        for (int yy = 0; yy < outH; yy++) {
            int ymin = k.min[yy] - rowOffset;
            int n = k.count[yy];
            int kb = yy * ksize;
            // Row-at-a-time accumulation: the same integer sums as Pillow's column-inner loop, in a cache-friendly order.
            java.util.Arrays.fill(acc, 1 << (PRECISION_BITS - 1));
            for (int y = 0; y < n; y++) {
                int wgt = k.fixed[kb + y];
                int p = (ymin + y) * rowBytes;
                for (int i = 0; i < rowBytes; i++) {
                    acc[i] += (in[p + i] & 0xff) * wgt;
                }
            }
            int o = yy * rowBytes;
            for (int i = 0; i < rowBytes; i++) {
                out[o + i] = clip8(acc[i]);
            }
        }
    }

    /** Pillow's clip8: drop the fraction bits (arithmetic shift, so negatives floor) and clamp to 0..255. */
    private static byte clip8(int acc) {
        int v = acc >> PRECISION_BITS;
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }

    private static double bilinear(double x) {
        if (x < 0.0) {
            x = -x;
        }
        return x < 1.0 ? 1.0 - x : 0.0;
    }

    /** Pillow's precompute_coeffs + normalize_coeffs_8bpc for a box of (0, inSize). */
    private static final class Coefficients {
        final int ksize;
        final int[] min;
        final int[] count;
        final int[] fixed;

        private Coefficients(int ksize, int[] min, int[] count, int[] fixed) {
            this.ksize = ksize;
            this.min = min;
            this.count = count;
            this.fixed = fixed;
        }

        /**
         * The coefficients of outputs {@code [from, to)} of a resize from {@code inSize} to {@code outSize}, indexed
         * from 0 = output {@code from}: each output's are those of the whole resize (they depend only on its
         * position), so a crop needs only its own.
         */
        static Coefficients of(int inSize, long outSize, long from, long to) {
            // Pillow's box is float; (float) inSize - 0f is exact for every size an RgbImage can have.
            double scale = (double) ((float) inSize - 0f) / outSize;
            double filterscale = Math.max(scale, 1.0);
            double support = BILINEAR_SUPPORT * filterscale;
            int ksize = (int) Math.ceil(support) * 2 + 1;
            int n = Math.toIntExact(to - from);
            int[] min = new int[n];
            int[] count = new int[n];
            int[] fixed = new int[Math.multiplyExact(n, ksize)];
            double[] k = new double[ksize];
            double ss = 1.0 / filterscale;
            for (int i = 0; i < n; i++) {
                long xx = from + i;
                double center = 0.0 + (xx + 0.5) * scale;
                double ww = 0.0;
                // (int) truncates toward zero like C's cast, so a slightly negative start becomes 0 either way.
                int xmin = (int) (center - support + 0.5);
                if (xmin < 0) {
                    xmin = 0;
                }
                int xmax = (int) (center + support + 0.5);
                if (xmax > inSize) {
                    xmax = inSize;
                }
                xmax -= xmin;
                for (int x = 0; x < xmax; x++) {
                    double w = bilinear((x + xmin - center + 0.5) * ss);
                    k[x] = w;
                    ww += w;
                }
                for (int x = 0; x < xmax; x++) {
                    if (ww != 0.0) {
                        k[x] /= ww;
                    }
                }
                for (int x = 0; x < xmax; x++) {
                    double v = k[x];
                    fixed[i * ksize + x] = v < 0
                            ? (int) (-0.5 + v * (1 << PRECISION_BITS))
                            : (int) (0.5 + v * (1 << PRECISION_BITS));
                }
                min[i] = xmin;
                count[i] = xmax;
            }
            return new Coefficients(ksize, min, count, fixed);
        }
    }
}
