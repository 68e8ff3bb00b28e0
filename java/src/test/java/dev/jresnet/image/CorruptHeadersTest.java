package dev.jresnet.image;

import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A header field forged in an otherwise valid file: the refusal names the format and what ImageIO found, with the
 * type of an unchecked exception (part of the story) and of an exception without a message (else nothing would be
 * said), and a frame of width 0 is refused before decoding.
 */
class CorruptHeadersTest {
    private static String reason(byte[] bytes) {
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(bytes, "f"));
        assertTrue(e.getMessage().startsWith("f: ") && !e.getMessage().contains("\n"), e.getMessage());
        return e.reason();
    }

    /** An 8x6 BMP (ImageIO's: 54-byte header, bfOffBits at byte 10, biWidth at 18, little-endian) with byte {@code at} set. */
    private static byte[] bmp(int at, int value) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(new BufferedImage(8, 6, BufferedImage.TYPE_3BYTE_BGR), "bmp", out);
        byte[] b = out.toByteArray();
        b[at] = (byte) value;
        return b;
    }

    @Test
    void exceptionsAreDescribedCauseByCause() throws IOException {
        // biWidth 0x80000008: ImageIO's IIOException, caused by an IllegalArgumentException whose type is named
        String negative = reason(bmp(21, 0x80));
        assertTrue(negative.matches("corrupt or truncated BMP: [^:]+: IllegalArgumentException Width \\(-2147483640\\) "
                + "and height \\(6\\) must be > 0"), negative);
        // bfOffBits 0x80000036: an unchecked exception alone, with its message
        assertEquals("corrupt or truncated BMP: NegativeArraySizeException -2147483648", reason(bmp(13, 0x80)));
        // bfOffBits 0x00100036: past the end; an EOFException has no message, so its type is all there is to say
        assertEquals("corrupt or truncated BMP: EOFException", reason(bmp(12, 0x10)));
    }

    @Test
    void aGifFrameOfWidthOrHeightZeroIsAnEmptyImage() throws Exception {
        Path dir = Path.of(CorruptHeadersTest.class.getResource("pil/screen.gif").toURI()).getParent();
        byte[] gif = Files.readAllBytes(dir.resolve("screen.gif"));
        int table = (gif[10] & 0x80) != 0 ? 3 * (1 << ((gif[10] & 7) + 1)) : 0;
        int at = 13 + table;
        while (gif[at] != 0x2c) { // the image descriptor: left, top, width, height (little-endian)
            at++;
        }
        assertEquals(9, gif[at + 5] & 0xff, "the fixture's frame is 9x7");
        byte[] noHeight = gif.clone();
        gif[at + 5] = 0;
        assertEquals("GIF header gives an empty image 0x7", reason(gif));
        noHeight[at + 7] = 0;
        assertEquals("GIF header gives an empty image 9x0", reason(noHeight));
    }
}
