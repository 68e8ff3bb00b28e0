package dev.jresnet.train;

import dev.jresnet.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A photo under the pixel bound but too big for the heap is one skipped image, not the end of a fine-tuning run: a
 * child JVM with a 1 GB heap loads a folder holding a 14000 x 12000 PNG (168 Mpixels, 504 MB of RGB twice over while
 * decoding) beside small ones.
 */
class DataLoaderMemoryTest {
    @Test
    void aPhotoTooBigForTheHeapIsSkippedAndTheOthersLoad(@TempDir Path data) throws Exception {
        for (String c : new String[] {"a", "b"}) {
            Files.createDirectories(data.resolve(c));
            ImageIO.write(new BufferedImage(80, 60, BufferedImage.TYPE_INT_RGB), "png", data.resolve(c + "/small.png")
                    .toFile());
        }
        writeBlackPng(data.resolve("b/huge.png"), 14_000, 12_000);
        Path log = data.resolveSibling(data.getFileName() + ".log");
        Process p = ChildJvm.start(log, HugeImageLoader.class, data.toString());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the loader must end");
        String out = Files.readString(log);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("loaded 2"), out);
        assertTrue(out.contains("skipped huge.png: not enough memory to read it"), out);
    }

    /** A black RGB PNG streamed row by row (the file is about 0.5 MB; nothing of image size is held here). */
    static void writeBlackPng(Path file, int width, int height) throws IOException {
        try (OutputStream f = Files.newOutputStream(file); DataOutputStream out = new DataOutputStream(f)) {
            out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
            ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
            DataOutputStream h = new DataOutputStream(ihdr);
            h.writeInt(width);
            h.writeInt(height);
            h.write(new byte[] {8, 2, 0, 0, 0}); // 8-bit RGB, deflate, no filter method, no interlace
            chunk(out, "IHDR", ihdr.toByteArray());
            ByteArrayOutputStream idat = new ByteArrayOutputStream();
            try (DeflaterOutputStream z = new DeflaterOutputStream(idat, new Deflater(Deflater.BEST_SPEED))) {
                byte[] row = new byte[1 + 3 * width]; // filter type 0, then black pixels
                for (int y = 0; y < height; y++) {
                    z.write(row);
                }
            }
            chunk(out, "IDAT", idat.toByteArray());
            chunk(out, "IEND", new byte[0]);
        }
    }

    private static void chunk(DataOutputStream out, String type, byte[] data) throws IOException {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        out.writeInt(data.length);
        out.write(t);
        out.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeInt((int) crc.getValue());
    }
}
