package dev.jresnet.image;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * {@link Cmyk#jpegKind}: the component count and Adobe transform read from the markers before the first scan, through
 * fill bytes, markers without a length, every SOF type, and headers cut or malformed anywhere (then null: an
 * ordinary decode, whose errors say what is wrong).
 */
class JpegMarkersTest {
    /** SOI, then {@code segments}: each a marker byte and its payload (its length field is added), or raw bytes. */
    private static byte[] jpeg(Object... segments) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(0xff);
        b.write(0xd8);
        for (int i = 0; i < segments.length; i++) {
            if (segments[i] instanceof byte[] raw) {
                b.writeBytes(raw);
                continue;
            }
            int marker = (Integer) segments[i];
            byte[] payload = (byte[]) segments[++i];
            b.write(0xff);
            b.write(marker);
            b.write((payload.length + 2) >> 8);
            b.write(payload.length + 2);
            b.writeBytes(payload);
        }
        return b.toByteArray();
    }

    /** A frame header's payload: precision 8, 16x8, {@code components} components of 3 bytes each. */
    private static byte[] sof(int components) {
        byte[] p = new byte[6 + 3 * components];
        p[0] = 8;
        p[2] = 8;
        p[4] = 16;
        p[5] = (byte) components;
        return p;
    }

    /** An APP14 "Adobe" payload with {@code transform}. */
    private static byte[] adobe(int transform) {
        return new byte[] {'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, (byte) transform};
    }

    private static final byte[] APP0 = {'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0};

    @Test
    void componentsAndTransformOfTheFrame() {
        assertEquals(new Cmyk.JpegKind(3, false), Cmyk.jpegKind(jpeg(0xe0, APP0, 0xc0, sof(3))));
        assertEquals(new Cmyk.JpegKind(4, false), Cmyk.jpegKind(jpeg(0xee, adobe(0), 0xc0, sof(4))));
        assertEquals(new Cmyk.JpegKind(4, true), Cmyk.jpegKind(jpeg(0xee, adobe(2), 0xc2, sof(4))));
        assertEquals(new Cmyk.JpegKind(4, true), Cmyk.jpegKind(jpeg(0xee, adobe(1), 0xc1, sof(4))));
        assertEquals(new Cmyk.JpegKind(4, false), Cmyk.jpegKind(jpeg(0xc0, sof(4))), "no Adobe marker");
        assertEquals(new Cmyk.JpegKind(3, false), Cmyk.jpegKind(jpeg(0xee, adobe(1), 0xc0, sof(3))), "YCC, not YCCK");
        assertEquals(new Cmyk.JpegKind(1, false), Cmyk.jpegKind(jpeg(0xcf, sof(1))), "the last SOF type");
        assertEquals(new Cmyk.JpegKind(4, false), Cmyk.jpegKind(jpeg(0xee, new byte[] {'A', 'd', 'o', 'b', 'x', 0, 100, 0,
                0, 0, 0, 2}, 0xc0, sof(4))), "not Adobe's APP14");
        assertEquals(new Cmyk.JpegKind(4, false), Cmyk.jpegKind(jpeg(0xee, new byte[] {'A', 'd', 'o', 'b', 'e', 0, 100, 0,
                0, 0, 0}, 0xc0, sof(4))), "an APP14 too short to hold a transform");
    }

    @Test
    void tablesAndMarkersWithoutALengthAreSkipped() {
        // DHT (c4), JPG (c8) and DAC (cc) lie in the SOF range but are not frames
        for (int notFrame : new int[] {0xc4, 0xc8, 0xcc}) {
            assertEquals(new Cmyk.JpegKind(4, true), Cmyk.jpegKind(jpeg(0xee, adobe(2), notFrame, new byte[] {1, 2, 3},
                    0xc0, sof(4))), Integer.toHexString(notFrame));
        }
        // fill bytes, TEM (01) and RSTn (d0..d7) carry no length
        byte[] noLength = {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x01, (byte) 0xff, (byte) 0xd0, (byte) 0xff, (byte) 0xd7};
        assertEquals(new Cmyk.JpegKind(4, true), Cmyk.jpegKind(jpeg(0xee, adobe(2), noLength, 0xc0, sof(4))));
        assertEquals(new Cmyk.JpegKind(3, false), Cmyk.jpegKind(jpeg(0xdb, new byte[65], 0xe1, new byte[300], 0xc0,
                sof(3))), "a segment longer than 255 bytes");
    }

    @Test
    void headersCutOrMalformedGiveNull() {
        assertNull(Cmyk.jpegKind(jpeg(0xda, new byte[4], 0xc0, sof(4))), "a scan before any frame");
        assertNull(Cmyk.jpegKind(jpeg(new byte[] {0x12, 0x34, 0x56, 0x78}, 0xc0, sof(4))), "no marker where one must be");
        assertNull(Cmyk.jpegKind(jpeg(new byte[] {(byte) 0xff, (byte) 0xe0, 0, 1}, 0xc0, sof(4))), "a length below 2");
        assertEquals(new Cmyk.JpegKind(4, false), Cmyk.jpegKind(jpeg(0xe0, new byte[0], 0xc0, sof(4))), "length 2: empty");
        byte[] whole = jpeg(0xc0, sof(4));
        assertEquals(new Cmyk.JpegKind(4, false), Cmyk.jpegKind(whole));
        // SOF's component count is byte 9 after the marker: a header cut before it has no kind
        assertEquals(new Cmyk.JpegKind(4, false), Cmyk.jpegKind(java.util.Arrays.copyOf(whole, 12)));
        assertNull(Cmyk.jpegKind(java.util.Arrays.copyOf(whole, 11)));
        assertNull(Cmyk.jpegKind(java.util.Arrays.copyOf(whole, 5)));
        assertNull(Cmyk.jpegKind(new byte[] {(byte) 0xff, (byte) 0xd8}));
        // an Adobe marker cut before its transform is not read past the end
        byte[] cut = jpeg(0xee, adobe(2));
        assertNull(Cmyk.jpegKind(java.util.Arrays.copyOf(cut, cut.length - 1)));
    }
}
