package dev.jresnet.image;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link TiffKinds}: every TIFF kind not checked against PIL is refused in one line naming it, before any pixel is
 * decoded, and the kinds decoded are not refused. The files are written here tag by tag (an uncompressed strip), so
 * that each differs from a decoded kind in one field only.
 */
class TiffKindsTest {
    private static final int W = 3;
    private static final int H = 2;

    /** A little-endian TIFF of one W x H strip holding {@code strip}, with {@code tags}: tag -> SHORT values. */
    private static byte[] tiff(Map<Integer, int[]> tags, byte[] strip) {
        Map<Integer, int[]> all = new TreeMap<>(tags);
        all.put(256, new int[] {W});
        all.put(257, new int[] {H});
        all.put(278, new int[] {H});
        all.put(279, new int[] {strip.length});
        all.put(273, new int[] {0}); // patched below
        int ifd = 8;
        int extra = ifd + 2 + 12 * all.size() + 4; // out-of-line values, then the strip
        ByteBuffer b = ByteBuffer.allocate(extra + 2 * all.values().stream().mapToInt(v -> v.length).sum() + strip.length)
                .order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 'I').put((byte) 'I').putShort((short) 42).putInt(ifd);
        b.position(ifd).putShort((short) all.size());
        int next = extra;
        int stripAt = extra + 2 * all.values().stream().filter(v -> v.length > 2).mapToInt(v -> v.length).sum();
        all.put(273, new int[] {stripAt});
        for (Map.Entry<Integer, int[]> e : all.entrySet()) {
            int[] v = e.getValue();
            boolean isLong = e.getKey() == 273 || e.getKey() == 279;
            b.putShort(e.getKey().shortValue()).putShort((short) (isLong ? 4 : 3)).putInt(v.length);
            if (isLong) {
                b.putInt(v[0]);
            } else if (v.length <= 2) {
                b.putShort((short) v[0]).putShort((short) (v.length > 1 ? v[1] : 0));
            } else {
                b.putInt(next);
                int at = b.position();
                b.position(next);
                for (int x : v) {
                    b.putShort((short) x);
                }
                next = b.position();
                b.position(at);
            }
        }
        b.putInt(0);
        b.position(stripAt).put(strip);
        return java.util.Arrays.copyOf(b.array(), stripAt + strip.length);
    }

    private static Map<Integer, int[]> rgb8() {
        Map<Integer, int[]> t = new TreeMap<>();
        t.put(258, new int[] {8, 8, 8});
        t.put(259, new int[] {1});
        t.put(262, new int[] {2});
        t.put(277, new int[] {3});
        return t;
    }

    private static Map<Integer, int[]> grey(int bits) {
        Map<Integer, int[]> t = new TreeMap<>();
        t.put(258, new int[] {bits});
        t.put(259, new int[] {1});
        t.put(262, new int[] {1});
        t.put(277, new int[] {1});
        return t;
    }

    private static Map<Integer, int[]> with(Map<Integer, int[]> t, int tag, int... v) {
        Map<Integer, int[]> c = new TreeMap<>(t);
        c.put(tag, v);
        return c;
    }

    private static String refusal(Map<Integer, int[]> tags) {
        ImageDecodeException e = assertThrows(ImageDecodeException.class,
                () -> ImageDecoder.decode(tiff(tags, new byte[W * H * 8]), "t.tif"));
        assertTrue(e.reason().endsWith(" TIFF is not supported (decoded: bilevel, 8-bit grey, palette, RGB, RGBA or CMYK, "
                + "16-bit grey; uncompressed, LZW, deflate or PackBits): convert it to PNG first"), e.getMessage());
        return e.reason().substring(0, e.reason().indexOf(" TIFF is not supported"));
    }

    @Test
    void aStripLargerThanTheFileIsRefusedBeforeTheDecoderAllocatesIt() {
        // deflate: the JDK's decoder allocates the strip's byte count before it reads (the fuzzer's 1.6 GB strip)
        for (int compression : new int[] {8, 1}) {
            byte[] file = tiff(with(rgb8(), 259, compression), new byte[W * H * 3]);
            ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
            int entries = b.getShort(8);
            for (int i = 0; i < entries; i++) {
                if (b.getShort(10 + 12 * i) == 279) {
                    b.putInt(10 + 12 * i + 8, 0x60000116);
                }
            }
            ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(file, "big.tif"));
            assertEquals("corrupt or truncated TIFF: strip 0 claims 1610613014 bytes at offset " + (file.length - W * H * 3)
                    + ", past the end of the " + file.length + "-byte file", e.reason(), "compression " + compression);
        }
    }

    @Test
    void theWrittenFilesAreDecoded() throws ImageDecodeException {
        byte[] px = {10, 20, 30, 40, 50, 60, 70, 80, 90, (byte) 200, (byte) 210, (byte) 220, 1, 2, 3, 4, 5, 6};
        assertArrayEquals(px, ImageDecoder.decode(tiff(rgb8(), px), "rgb.tif").pixels());
        byte[] g = {0, 1, 2, (byte) 253, (byte) 254, (byte) 255};
        RgbImage grey = ImageDecoder.decode(tiff(grey(8), g), "grey.tif");
        for (int i = 0; i < g.length; i++) {
            assertEquals(g[i] & 0xff, grey.get(i % W, i / W, 1));
        }
        // a ColorMap on an RGB image is ignored, not applied
        int[] map = new int[3 * 256];
        java.util.Arrays.fill(map, 0x8000);
        assertArrayEquals(px, ImageDecoder.decode(tiff(with(rgb8(), 320, map), px), "rgbmap.tif").pixels());
    }

    @Test
    void compressionsOtherThanPilsAreRefused() {
        assertEquals("JPEG-compressed", refusal(with(rgb8(), 259, 7)));
        assertEquals("JPEG-compressed", refusal(with(rgb8(), 259, 6)));
        for (int ccitt : new int[] {2, 3, 4}) {
            assertEquals("CCITT fax-compressed", refusal(with(grey(1), 259, ccitt)));
        }
        assertEquals("compression 99", refusal(with(rgb8(), 259, 99)));
        // the decoded compressions are not refused: garbage data is then a corrupt file, not an unsupported kind
        for (int ok : new int[] {5, 8, 32773, 32946}) {
            try {
                ImageDecoder.decode(tiff(with(rgb8(), 259, ok), new byte[] {1, 2, 3}), "c.tif");
            } catch (ImageDecodeException e) {
                assertTrue(!e.reason().contains("not supported"), ok + ": " + e.getMessage());
            }
        }
    }

    @Test
    void colourModelsOtherThanPilsAreRefused() {
        assertEquals("WhiteIsZero", refusal(with(grey(8), 262, 0)));
        assertEquals("YCbCr", refusal(with(rgb8(), 262, 6)));
        assertEquals("CIE Lab", refusal(with(rgb8(), 262, 8)));
        assertEquals("photometric interpretation 9", refusal(with(rgb8(), 262, 9)));
        Map<Integer, int[]> none = rgb8();
        none.remove(262);
        assertEquals("photometric interpretation -1", refusal(none));
    }

    @Test
    void sampleLayoutsOtherThanPilsAreRefused() {
        assertEquals("16-bit", refusal(with(with(rgb8(), 258, 16, 16, 16), 339, 1, 1, 1)));
        assertEquals("4-bit", refusal(grey(4)));
        assertEquals("2-bit", refusal(grey(2)));
        assertEquals("1-bit", refusal(with(with(grey(1), 262, 3), 320, new int[6])), "a 1-bit palette");
        assertEquals("floating-point", refusal(with(grey(8), 339, 3)));
        assertEquals("signed or undefined sample format", refusal(with(grey(8), 339, 2)));
        assertEquals("planar (separate colour planes)", refusal(with(rgb8(), 284, 2)));
        Map<Integer, int[]> rgba = with(with(rgb8(), 258, 8, 8, 8, 8), 277, 4);
        assertEquals("premultiplied-alpha", refusal(with(rgba, 338, 1)));
        Map<Integer, int[]> greyAlpha = with(with(grey(16), 258, 16, 16), 277, 2);
        assertEquals("16-bit grey with alpha", refusal(with(greyAlpha, 338, 2)));
    }

    @Test
    void theDecodedLayoutsAreNotRefused() throws ImageDecodeException {
        Map<Integer, int[]> rgba = with(with(rgb8(), 258, 8, 8, 8, 8), 277, 4);
        byte[] px = new byte[W * H * 4];
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) (i * 11);
        }
        RgbImage unassociated = ImageDecoder.decode(tiff(with(rgba, 338, 2), px), "rgba.tif");
        assertEquals(px[4] & 0xff, unassociated.get(1, 0, 0), "alpha dropped, not applied");
        assertEquals(W, ImageDecoder.decode(tiff(with(grey(8), 339, 1), new byte[W * H]), "u.tif").width());
        assertEquals(W, ImageDecoder.decode(tiff(with(grey(8), 284, 1), new byte[W * H]), "p.tif").width());
        RgbImage bilevel = ImageDecoder.decode(tiff(grey(1), new byte[] {(byte) 0b1010_0000, 0b0100_0000}), "b.tif");
        assertArrayEquals(new int[] {255, 0, 255, 0, 255, 0}, new int[] {bilevel.get(0, 0, 0), bilevel.get(1, 0, 1),
                bilevel.get(2, 0, 2), bilevel.get(0, 1, 0), bilevel.get(1, 1, 0), bilevel.get(2, 1, 0)});
        byte[] g16 = new byte[W * H * 2];
        g16[0] = (byte) 200; // 200: kept (16-bit grey is clipped to 255, not scaled)
        g16[3] = 1; // 256: clipped
        RgbImage grey16 = ImageDecoder.decode(tiff(grey(16), g16), "g16.tif");
        assertEquals(200, grey16.get(0, 0, 0));
        assertEquals(255, grey16.get(1, 0, 2));
        assertEquals(0, grey16.get(2, 0, 1));
    }
}
