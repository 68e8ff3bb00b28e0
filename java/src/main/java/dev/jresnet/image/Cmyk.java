package dev.jresnet.image;

import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import org.w3c.dom.NodeList;

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
    private static final String JPEG_METADATA = "javax_imageio_jpeg_image_1.0";
    private static final int SCALEBITS = 16;
    private static final int ONE_HALF = 1 << (SCALEBITS - 1);

    private Cmyk() {}

    /** The JPEG's component count (SOF) and whether its samples are YCCK (Adobe transform other than 0), or null. */
    record JpegKind(int components, boolean ycck) {}

    static JpegKind jpegKind(ImageReader reader) throws IOException {
        IIOMetadata md = reader.getImageMetadata(0);
        if (md == null) {
            return null;
        }
        IIOMetadataNode root = (IIOMetadataNode) md.getAsTree(JPEG_METADATA);
        NodeList sof = root.getElementsByTagName("sof");
        if (sof.getLength() == 0) {
            return null;
        }
        int components = Integer.parseInt(((IIOMetadataNode) sof.item(0)).getAttribute("numFrameComponents"));
        NodeList adobe = root.getElementsByTagName("app14Adobe");
        // libjpeg (so PIL): 4 components are CMYK without an Adobe marker or with transform 0, YCCK otherwise.
        boolean ycck = adobe.getLength() > 0
                && !"0".equals(((IIOMetadataNode) adobe.item(0)).getAttribute("transform"));
        return new JpegKind(components, ycck);
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
