package dev.jresnet.image;

import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.event.IIOReadWarningListener;
import javax.imageio.plugins.tiff.TIFFDirectory;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import dev.jresnet.io.FileChecks;
import dev.jresnet.io.Limits;

import java.awt.color.ColorSpace;
import java.awt.color.ICC_ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.DirectColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * Decodes PNG, JPEG, GIF, BMP and TIFF files to 8-bit RGB with the JDK's ImageIO, giving the pixels that PIL's
 * {@code Image.open(p).convert("RGB")} gives, since that is what torchvision users feed ResNet:
 * <ul>
 *   <li>grey (1, 2, 4, 8 bit) is scaled to 8 bits and copied to R, G and B;</li>
 *   <li>alpha is dropped, not composited onto a background (PIL's convert drops it);</li>
 *   <li>palette images (PNG, GIF, BMP, TIFF) are looked up in their palette, an index past the file's colour table
 *       in PIL's grey ramp (i, i, i) ({@link Palettes}); transparency is ignored;</li>
 *   <li>16-bit RGB, RGBA and grey+alpha keep the high byte of each sample (PIL unpacks them that way);</li>
 *   <li>16-bit grey without alpha is clipped to 0..255, not scaled: PIL opens it as mode "I" and its
 *       I to RGB conversion clips, so most 16-bit grey photos come out nearly white. That is lossy, but
 *       it is what {@code convert("RGB")} does and so what a torchvision pipeline classifies;</li>
 *   <li>CMYK and YCCK JPEGs and CMYK TIFFs are converted as PIL converts them ({@link Cmyk});</li>
 *   <li>a GIF gives its first frame on its logical screen ({@link GifCanvas}), a TIFF its first page; TIFF kinds
 *       not checked against PIL are refused ({@link TiffKinds}).</li>
 * </ul>
 * Embedded ICC profiles, gamma chunks and EXIF orientation are ignored, as PIL ignores them (torchvision users who
 * want the rotation call {@code ImageOps.exif_transpose} themselves). JPEG pixels come from the
 * JDK's libjpeg 6b and matched PIL's libjpeg-turbo exactly on every file tested (4:2:0, 4:4:4,
 * progressive, grey, CMYK, with an ICC profile); both use the islow IDCT and fancy upsampling by default, but
 * libjpeg-turbo also upsamples 4:4:0 (h1v2) smoothly where 6b replicates, so such files can differ.
 * Other known differences: a JPEG on which the decoder
 * reports anything but a known-harmless warning is rejected, where PIL accepts some damaged but
 * decodable files; PNG chunk CRCs are not checked (ImageIO ignores them). WebP, HEIC, AVIF, JPEG 2000 and JPEG XL
 * are refused with the reason ({@link ImageFormat}).
 */
public final class ImageDecoder {
    /**
     * The largest image accepted by default, in pixels: PIL's DecompressionBombError threshold (2 x
     * MAX_IMAGE_PIXELS), {@link Limits#IMAGE_PIXELS} (which a run can raise). Checked from the header before any
     * pixel is decoded, so a forged header cannot exhaust the heap.
     */
    public static final long MAX_PIXELS = Limits.IMAGE_PIXELS.defaultValue();

    /**
     * libjpeg warnings after which the pixels are still the whole image; any other warning (premature end
     * of data, bad Huffman code, missing EOI...) means ImageIO filled part of the image with grey.
     */
    private static final List<String> HARMLESS_WARNINGS = List.of(
            "extraneous bytes before marker",
            "color profile",
            "jfif markers not allowed in jfif jpeg thumbnail",
            // a GIF without a colour table (allowed): read here as PIL reads it, grey (Palettes.noTable)
            "use default color table");

    private ImageDecoder() {}

    /**
     * Decodes the image file at {@code path} (PNG, JPEG, GIF, BMP or TIFF). Only a regular file is opened (a named pipe would block forever,
     * a device behind a link never end): anything else, a missing file included, is an ImageDecodeException naming
     * the file and saying what it is.
     */
    public static RgbImage decode(Path path) throws ImageDecodeException {
        String name = String.valueOf(path);
        if (path == null) {
            throw new ImageDecodeException(name, "no file given");
        }
        byte[] bytes;
        try {
            FileChecks.requireRegularFile(path, null);
            long size = Files.size(path);
            if (size > Integer.MAX_VALUE - 16) {
                throw new ImageDecodeException(name, "file of " + size + " bytes is too large to be an image we decode");
            }
            bytes = Files.readAllBytes(path);
        } catch (ImageDecodeException e) {
            throw e;
        } catch (NoSuchFileException e) {
            throw new ImageDecodeException(name, "no such file", e);
        } catch (IOException e) {
            throw new ImageDecodeException(name, reason(e, name), e);
        }
        return decode(bytes, name);
    }

    /** FileChecks' message without the leading path ("is a directory, not a file"), else the exception in words. */
    private static String reason(IOException e, String name) {
        String m = e.getMessage();
        if (m != null && m.startsWith(name + ": ")) {
            return m.substring(name.length() + 2);
        }
        return "cannot read the file: " + (m != null ? m : e.toString());
    }

    /**
     * Decodes an image ({@link ImageFormat#ACCEPTED}) read from {@code in} to its end (the stream is not closed), with the limits of a file: at
     * most 2 GB, and {@link Limits#IMAGE_PIXELS} checked from the header. {@code nameForErrors} is what exception
     * messages call it (a URL, an upload's name); null reads "&lt;stream&gt;".
     */
    public static RgbImage decode(InputStream in, String nameForErrors) throws ImageDecodeException {
        String name = nameForErrors == null ? "<stream>" : nameForErrors;
        if (in == null) {
            throw new ImageDecodeException(name, "no stream given");
        }
        int max = Integer.MAX_VALUE - 16; // the largest array, as for a file
        byte[] bytes;
        try {
            bytes = in.readNBytes(max);
            if (bytes.length == max && in.read() >= 0) {
                throw new ImageDecodeException(name, "stream of more than " + max + " bytes is too large to be an "
                        + "image we decode");
            }
        } catch (ImageDecodeException e) {
            throw e;
        } catch (IOException e) {
            throw new ImageDecodeException(name, "cannot read the stream: " + (e.getMessage() != null ? e.getMessage()
                    : e.toString()), e);
        }
        return decode(bytes, name);
    }

    /** {@link #decode(InputStream, String)} with the name "&lt;stream&gt;" in messages. */
    public static RgbImage decode(InputStream in) throws ImageDecodeException {
        return decode(in, null);
    }

    /**
     * The pixels of an image already in memory, read as a file's are (raw samples, no colour management: grey is
     * copied to R, G and B, alpha dropped, palettes looked up, 5- and 6-bit packed RGB scaled as PIL scales a 16-bit
     * BMP's). A layout with no such reading (a colour space other than grey or RGB, 3-bit samples) is converted to
     * sRGB by {@link BufferedImage#getRGB}.
     */
    public static RgbImage decode(BufferedImage image) {
        if (image == null) {
            throw new IllegalArgumentException("image must not be null");
        }
        try {
            return toRgb(image, "BufferedImage", "image");
        } catch (ImageDecodeException e) {
            int w = image.getWidth(), h = image.getHeight();
            byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
            int[] row = new int[w];
            for (int y = 0, o = 0; y < h; y++) {
                image.getRGB(0, y, w, 1, row, 0, w);
                for (int argb : row) {
                    out[o++] = (byte) (argb >> 16);
                    out[o++] = (byte) (argb >> 8);
                    out[o++] = (byte) argb;
                }
            }
            return new RgbImage(w, h, out);
        }
    }

    /** Decodes an in-memory image ({@link ImageFormat#ACCEPTED}); {@code nameForErrors} is what exception messages call it. */
    public static RgbImage decode(byte[] bytes, String nameForErrors) throws ImageDecodeException {
        String name = nameForErrors == null ? "<image>" : nameForErrors;
        if (bytes == null || bytes.length == 0) {
            throw new ImageDecodeException(name, "empty file");
        }
        ImageFormat format = ImageFormat.of(bytes, name);
        String what = format.label;
        Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName(format.imageIoName);
        if (!readers.hasNext()) {
            throw new ImageDecodeException(name, "this JDK has no ImageIO " + what + " reader");
        }
        ImageReader reader = readers.next();
        List<String> warnings = new ArrayList<>();
        reader.addIIOReadWarningListener(new IIOReadWarningListener() {
            @Override
            public void warningOccurred(ImageReader source, String warning) {
                warnings.add(warning);
            }
        });
        // Memory cache, not ImageIO's default file cache: no temp files, and nothing depends on ImageIO's global settings.
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            // TIFF and GIF keep their metadata: the TIFF kind and the GIF frame's place are read from it
            reader.setInput(in, true, format != ImageFormat.TIFF && format != ImageFormat.GIF);
            int width = reader.getWidth(0);
            int height = reader.getHeight(0);
            if (width <= 0 || height <= 0) {
                throw new ImageDecodeException(name, what + " header gives an empty image " + width + "x" + height);
            }
            GifCanvas.Layout gif = format == ImageFormat.GIF ? GifCanvas.layout(reader) : null;
            if (gif != null) {
                width = gif.width();
                height = gif.height();
            }
            if (!Limits.IMAGE_PIXELS.allows((long) width * height)) {
                throw new ImageDecodeException(name, Limits.IMAGE_PIXELS.exceeded(what + " image " + width + "x"
                        + height + " pixels", (long) width * height));
            }
            TIFFDirectory tiff = format == ImageFormat.TIFF ? TiffKinds.firstPage(reader) : null;
            String outside = tiff == null ? null : TiffKinds.outsideFile(tiff, bytes.length);
            if (outside != null) {
                throw new ImageDecodeException(name, "corrupt or truncated " + what + ": " + outside);
            }
            RgbImage rgb = read(reader, format, name, format == ImageFormat.JPEG ? Cmyk.jpegKind(bytes) : null, gif,
                    format == ImageFormat.PNG ? Palettes.pngPaletteEntries(bytes) : -1, tiff);
            for (String w : warnings) {
                if (!isHarmless(w)) {
                    throw new ImageDecodeException(name, "corrupt or truncated " + what + " (decoder warned: " + w + ")");
                }
            }
            return rgb;
        } catch (ImageDecodeException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            // ImageIO's PNG reader wraps a heap too small for the image in an IIOException ("Caught exception during
            // read"): that is no fault of the file, and the caller says so as for any OutOfMemoryError
            for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
                if (cause instanceof OutOfMemoryError oom) {
                    throw oom;
                }
            }
            // ImageIO's decoders throw assorted unchecked exceptions on malformed input (index errors, bad zlib
            // data, negative sizes); to the caller they all mean the same thing: this file is not a usable image.
            throw new ImageDecodeException(name, "corrupt or truncated " + what + ": " + describe(e), e);
        } finally {
            reader.dispose();
        }
    }

    /**
     * The first image of a reader whose size was checked: 4-channel JPEGs and CMYK TIFF through {@link Cmyk}; a PNG's
     * palette as long as its PLTE ({@code pngPalette} entries, -1: none), a GIF's indices whole ({@link Palettes});
     * a TIFF's kind and palette from its first page's tags ({@code tiff}, null for the other formats).
     */
    private static RgbImage read(ImageReader reader, ImageFormat format, String name, Cmyk.JpegKind jpeg,
                                 GifCanvas.Layout gif, int pngPalette, TIFFDirectory tiff) throws IOException {
        String what = format.label;
        if (jpeg != null && jpeg.components() == 4) {
            return Cmyk.toRgb(reader.readRaster(0, null), true, jpeg.ycck());
        }
        if (tiff != null) {
            String refusal = TiffKinds.refusal(tiff);
            if (refusal != null) {
                throw new ImageDecodeException(name, refusal);
            }
        }
        ImageReadParam param = reader.getDefaultReadParam();
        ImageTypeSpecifier embedded = embeddedProfileType(reader);
        if (embedded != null) {
            param.setDestinationType(embedded);
        }
        if (format == ImageFormat.GIF
                && reader.getImageTypes(0).next().getColorModel() instanceof IndexColorModel table) {
            param.setDestination(Palettes.gifDestination(gif.colourTable() ? table : Palettes.noTable(),
                    reader.getWidth(0), reader.getHeight(0)));
        }
        BufferedImage image = reader.read(0, param);
        if (image == null) {
            throw new ImageDecodeException(name, what + " reader returned no image");
        }
        if (tiff != null) {
            if (image.getColorModel().getColorSpace().getType() == ColorSpace.TYPE_CMYK
                    && image.getRaster().getNumBands() == 4) {
                return Cmyk.toRgb(image.getRaster(), false, false);
            }
            image = TiffKinds.withPilPalette(tiff, image);
        }
        if (format == ImageFormat.PNG) {
            image = Palettes.pngAsFiled(image, pngPalette);
        }
        RgbImage rgb = toRgb(image, name, what);
        return gif == null ? rgb : GifCanvas.paste(rgb, (IndexColorModel) image.getColorModel(), gif);
    }

    /**
     * The image type that carries the file's embedded ICC profile, if the reader offers one. By default the
     * JPEG reader converts from an embedded profile to sRGB (up to 55 levels on samples/rocket.jpg); PIL
     * never colour-manages, so we ask for the profile's own colour space, which makes the reader skip the
     * conversion and hand over libjpeg's RGB unchanged.
     */
    private static ImageTypeSpecifier embeddedProfileType(ImageReader reader) throws IOException {
        Iterator<ImageTypeSpecifier> types = reader.getImageTypes(0);
        if (types == null || !types.hasNext()) {
            return null;
        }
        int components = types.next().getColorModel().getColorSpace().getNumComponents();
        while (types.hasNext()) {
            ImageTypeSpecifier t = types.next();
            ColorSpace cs = t.getColorModel().getColorSpace();
            if (cs instanceof ICC_ColorSpace && !isBuiltIn(cs) && cs.getNumComponents() == components) {
                return t;
            }
        }
        return null;
    }

    private static boolean isBuiltIn(ColorSpace cs) {
        for (int id : new int[] {ColorSpace.CS_sRGB, ColorSpace.CS_GRAY, ColorSpace.CS_LINEAR_RGB, ColorSpace.CS_PYCC, ColorSpace.CS_CIEXYZ}) {
            if (cs == ColorSpace.getInstance(id)) {
                return true;
            }
        }
        return false;
    }

    private static boolean isHarmless(String warning) {
        String w = warning.toLowerCase(Locale.ROOT);
        for (String ok : HARMLESS_WARNINGS) {
            if (w.contains(ok)) {
                return true;
            }
        }
        return false;
    }

    private static RgbImage toRgb(BufferedImage image, String name, String what) throws ImageDecodeException {
        // Work on raw raster samples: BufferedImage.getRGB would run grey images through a linear-to-sRGB
        // conversion and apply embedded ICC profiles, neither of which PIL does.
        Raster raster = image.getRaster();
        ColorModel cm = image.getColorModel();
        int width = raster.getWidth();
        int height = raster.getHeight();
        int bands = raster.getNumBands();
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(width, height), 3)];
        int[] row = new int[width * bands];
        if (cm instanceof IndexColorModel icm) {
            int[] lookup = new int[1 << Math.min(16, raster.getSampleModel().getSampleSize(0))];
            for (int i = 0; i < lookup.length; i++) {
                lookup[i] = Palettes.rgb(icm, i);  // past the file's table: PIL's grey (i, i, i)
            }
            for (int y = 0; y < height; y++) {
                raster.getPixels(0, y, width, 1, row);
                int o = y * width * 3;
                for (int x = 0; x < width; x++) {
                    int c = lookup[row[x * bands]];
                    out[o] = (byte) (c >> 16);
                    out[o + 1] = (byte) (c >> 8);
                    out[o + 2] = (byte) c;
                    o += 3;
                }
            }
            return new RgbImage(width, height, out);
        }
        int csType = cm.getColorSpace().getType();
        int colours = cm.getNumColorComponents();
        boolean grey = csType == ColorSpace.TYPE_GRAY && colours == 1;
        boolean rgb = csType == ColorSpace.TYPE_RGB && colours == 3;
        if (!grey && !rgb) {
            throw new ImageDecodeException(name, "unsupported " + what + " colour space (" + colours
                    + " colour components, java.awt.color.ColorSpace type " + csType + "); only grey, RGB and palette are supported");
        }
        // 5 and 6 bits: 16-bit BMPs (5-5-5 and 5-6-5 packed in one value a pixel)
        boolean packed = rgb && cm instanceof DirectColorModel;
        int[] maxValue = new int[3];
        for (int c = 0; c < 3; c++) {
            int bits = raster.getSampleModel().getSampleSize(grey ? 0 : c);
            boolean scaled = bits == 1 || bits == 2 || bits == 4 || bits == 8 || bits == 16;
            if (!scaled && !(packed && (bits == 5 || bits == 6))) {
                throw new ImageDecodeException(name, "unsupported " + what + " sample size of " + bits + " bits");
            }
            maxValue[c] = (1 << bits) - 1;
        }
        boolean clipInsteadOfScale = grey && maxValue[0] == 65535 && !cm.hasAlpha();
        for (int y = 0; y < height; y++) {
            raster.getPixels(0, y, width, 1, row);
            int o = y * width * 3;
            for (int x = 0; x < width; x++) {
                int base = x * bands;
                for (int c = 0; c < 3; c++) {
                    int v = row[base + (grey ? 0 : c)];
                    int v8;
                    if (maxValue[c] == 255) {
                        v8 = v;
                    } else if (maxValue[c] == 65535) {
                        v8 = clipInsteadOfScale ? Math.min(v, 255) : v >>> 8;
                    } else {
                        // exact for 1, 2 and 4 bits (255 is a multiple of 1, 3 and 15); for 5 and 6 bits truncated,
                        // as PIL's BGR;15 and BGR;16 unpackers do (getRGB would round: 3 -> 25, PIL 24)
                        v8 = v * 255 / maxValue[c];
                    }
                    out[o++] = (byte) v8;
                }
            }
        }
        return new RgbImage(width, height, out);
    }

    private static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder();
        int depth = 0;
        for (Throwable t = e; t != null && depth < 4; t = t.getCause(), depth++) {
            String msg = t.getMessage();
            boolean blank = msg == null || msg.isBlank();
            // IIOException's own messages read well alone; an unchecked exception's type is part of the story.
            String part = t instanceof RuntimeException || blank
                    ? t.getClass().getSimpleName() + (blank ? "" : " " + msg)
                    : msg;
            if (sb.indexOf(part) < 0) {
                sb.append(sb.length() > 0 ? ": " : "").append(part);
            }
        }
        return sb.toString();
    }
}
