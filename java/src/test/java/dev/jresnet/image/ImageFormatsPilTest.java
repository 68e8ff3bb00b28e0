package dev.jresnet.image;

import dev.jresnet.testing.PyTorchReference;
import org.junit.jupiter.api.Test;
import org.w3c.dom.NodeList;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageOutputStream;
import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * BMP, GIF, TIFF and CMYK/YCCK JPEG decoded exactly as PIL's {@code Image.open(f).convert("RGB")}: files PIL writes
 * (weights/reference/pil_formats.py) and a YCCK JPEG written here (PIL cannot write one), each compared pixel for
 * pixel with PIL's decoding; the files named refused-* must be refused in one line saying it is not supported.
 */
class ImageFormatsPilTest {
    @Test
    void everyAcceptedFormatMatchesPilExactly() throws IOException {
        PyTorchReference.assumeAvailable();
        Path dir = PyTorchReference.scratch("pil_formats");
        try (var s = Files.list(dir)) {
            for (Path p : s.toList()) {
                Files.delete(p);
            }
        }
        writeYcckJpeg(dir.resolve("ycck.jpg"));
        PyTorchReference.run("pil_formats.py", dir.toString());
        List<String> failures = new ArrayList<>();
        StringBuilder table = new StringBuilder();
        int compared = 0;
        for (String line : Files.readAllLines(dir.resolve("manifest.tsv"))) {
            String[] f = line.split("\t");
            Path file = dir.resolve(f[0]);
            if (f[0].startsWith("refused-")) {
                ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(file));
                assertTrue(e.reason().contains("not supported") && !e.reason().contains("\n"), e.getMessage());
                table.append(String.format(Locale.ROOT, "%-18s refused: %s%n", f[0], e.reason()));
                continue;
            }
            RgbImage img = ImageDecoder.decode(file);
            int w = Integer.parseInt(f[2]);
            int h = Integer.parseInt(f[3]);
            byte[] pil = Files.readAllBytes(dir.resolve(f[0] + ".rgb"));
            if (img.width() != w || img.height() != h) {
                failures.add(f[0] + ": " + img.width() + "x" + img.height() + ", PIL " + w + "x" + h);
                continue;
            }
            int max = 0;
            int differing = 0;
            for (int i = 0; i < pil.length; i++) {
                int d = Math.abs((pil[i] & 0xff) - (img.pixels()[i] & 0xff));
                max = Math.max(max, d);
                differing += d != 0 ? 1 : 0;
            }
            if (max != 0) {
                failures.add(f[0] + " (PIL mode " + f[1] + "): " + differing + " samples differ, by up to " + max);
            }
            compared++;
            table.append(String.format(Locale.ROOT, "%-18s %-5s %dx%d max diff %d%n", f[0], f[1], w, h, max));
        }
        System.out.print(table);
        assertTrue(compared >= 20, "compared only " + compared + " files:\n" + table);
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    /**
     * A 4-channel JPEG stored as YCCK (Adobe transform 2), the way Photoshop saves CMYK: ImageIO's writer stores the
     * raster's samples as they are, so libjpeg (PIL) reads them as Y, Cb, Cr, K.
     */
    static void writeYcckJpeg(Path file) throws IOException {
        int w = 40;
        int h = 24;
        WritableRaster r = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, w, h, 4, null);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                r.setPixel(x, y, new int[] {x * 6, 60 + y * 7, 255 - x * 5, (x + y) * 4});
            }
        }
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ImageWriteParam param = writer.getDefaultWriteParam();
        ColorSpace cmyk = new ColorSpace(ColorSpace.TYPE_CMYK, 4) {
            @Override public float[] toRGB(float[] v) { return new float[3]; }
            @Override public float[] fromRGB(float[] v) { return new float[4]; }
            @Override public float[] toCIEXYZ(float[] v) { return new float[3]; }
            @Override public float[] fromCIEXYZ(float[] v) { return new float[4]; }
        };
        ImageTypeSpecifier type = new ImageTypeSpecifier(new ComponentColorModel(cmyk, false, false,
                Transparency.OPAQUE, DataBuffer.TYPE_BYTE), r.getSampleModel());
        IIOMetadata md = writer.getDefaultImageMetadata(type, param);
        String format = "javax_imageio_jpeg_image_1.0";
        IIOMetadataNode root = (IIOMetadataNode) md.getAsTree(format);
        NodeList adobe = root.getElementsByTagName("app14Adobe");
        assertEquals(1, adobe.getLength(), "ImageIO's default 4-channel JPEG metadata has an Adobe marker");
        ((IIOMetadataNode) adobe.item(0)).setAttribute("transform", "2");
        md.setFromTree(format, root);
        try (ImageOutputStream out = ImageIO.createImageOutputStream(file.toFile())) {
            writer.setOutput(out);
            writer.write(null, new IIOImage(r, null, md), param);
        } finally {
            writer.dispose();
        }
    }
}
