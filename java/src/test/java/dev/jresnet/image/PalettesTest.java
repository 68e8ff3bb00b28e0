package dev.jresnet.image;

import org.junit.jupiter.api.Test;

import java.awt.image.IndexColorModel;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The palette PIL looks indices up in, and a PNG's PLTE length read from its chunks, hostile ones included. */
class PalettesTest {
    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    private static byte[] chunk(String type, int length, int bytes) {
        ByteBuffer b = ByteBuffer.allocate(12 + bytes);
        b.putInt(length).put(type.getBytes(StandardCharsets.ISO_8859_1)).put(new byte[bytes]).putInt(0);
        return b.array();
    }

    private static byte[] png(byte[]... chunks) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(SIGNATURE);
        for (byte[] c : chunks) {
            out.writeBytes(c);
        }
        return out.toByteArray();
    }

    @Test
    void pastTheTableAnIndexIsGrey() {
        IndexColorModel table = new IndexColorModel(8, 2, new byte[] {1, 2}, new byte[] {3, 4}, new byte[] {5, 6});
        assertEquals(0x020406, Palettes.rgb(table, 1));
        assertEquals(0x070707, Palettes.rgb(table, 7));
        assertEquals(0xffffff, Palettes.rgb(table, 255));
    }

    @Test
    void thePlteLengthIsReadUpToTheImageData() {
        byte[] ihdr = chunk("IHDR", 13, 13);
        assertEquals(5, Palettes.pngPaletteEntries(png(ihdr, chunk("PLTE", 15, 15), chunk("IDAT", 0, 0))));
        assertEquals(-1, Palettes.pngPaletteEntries(png(ihdr, chunk("IDAT", 0, 0), chunk("PLTE", 15, 15))),
                "a PLTE after the image data is not the image's");
        assertEquals(-1, Palettes.pngPaletteEntries(png(ihdr)), "no PLTE: the file ends");
        assertEquals(-1, Palettes.pngPaletteEntries(png(chunk("IHDR", Integer.MAX_VALUE, 13), chunk("PLTE", 15, 15))),
                "a chunk length past the file");
        assertEquals(-1, Palettes.pngPaletteEntries(png(chunk("IHDR", -1, 13))), "a length of 2^32 - 1");
        assertEquals(-1, Palettes.pngPaletteEntries(java.util.Arrays.copyOf(png(ihdr), 20)), "truncated in a header");
        assertEquals(-1, Palettes.pngPaletteEntries(new byte[0]));
    }
}
