package dev.jresnet.image;

import java.nio.charset.StandardCharsets;

/**
 * The image formats {@link ImageDecoder} reads, told apart by their first bytes (never by the file name: downloads
 * are often misnamed), and the formats it recognises only to refuse them with the reason and the fix. The accepted
 * set is what the JDK's ImageIO reads and PIL reads the same way; WebP, HEIC/HEIF, AVIF, JPEG 2000 and JPEG XL have
 * no ImageIO reader in the JDK, and a third-party codec would break "JavaCPP only" and PIL parity untested.
 */
enum ImageFormat {
    PNG("png", "PNG"),
    JPEG("jpeg", "JPEG"),
    GIF("gif", "GIF"),
    BMP("bmp", "BMP"),
    TIFF("tiff", "TIFF");

    /** What a message says the decoder accepts. */
    static final String ACCEPTED = "PNG, JPEG, GIF, BMP or TIFF";

    private static final String CONVERT = "convert it to PNG or JPEG first (e.g. PIL: Image.open(f).convert(\"RGB\")"
            + ".save(\"x.png\"))";

    /** The ImageIO format name. */
    final String imageIoName;
    /** The name messages use. */
    final String label;

    ImageFormat(String imageIoName, String label) {
        this.imageIoName = imageIoName;
        this.label = label;
    }

    /** The format of {@code bytes}, or an ImageDecodeException naming what they are and why they are refused. */
    static ImageFormat of(byte[] b, String name) throws ImageDecodeException {
        if (starts(b, 0, 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n')) {
            return PNG;
        }
        if (starts(b, 0, 0xff, 0xd8, 0xff)) {
            return JPEG;
        }
        if (starts(b, 0, 'G', 'I', 'F', '8', '7', 'a') || starts(b, 0, 'G', 'I', 'F', '8', '9', 'a')) {
            return GIF;
        }
        if (starts(b, 0, 'B', 'M') && b.length >= 18) {
            return BMP;
        }
        if (starts(b, 0, 'I', 'I', 42, 0) || starts(b, 0, 'M', 'M', 0, 42)) {
            return TIFF;
        }
        String refused = refused(b);
        if (refused != null) {
            throw new ImageDecodeException(name, refused);
        }
        throw new ImageDecodeException(name, "not an image (" + ACCEPTED + "); starts with " + hexPrefix(b));
    }

    /** Why a recognised but unsupported file is refused, with the fix; null when the bytes are not recognised. */
    private static String refused(byte[] b) {
        if (starts(b, 0, 'R', 'I', 'F', 'F') && starts(b, 8, 'W', 'E', 'B', 'P')) {
            return "WebP is not supported (the JDK has no WebP reader): " + CONVERT;
        }
        if (starts(b, 4, 'f', 't', 'y', 'p') && b.length >= 12) {
            String brand = new String(b, 8, 4, StandardCharsets.ISO_8859_1);
            if (brand.startsWith("avi")) {
                return "AVIF is not supported (the JDK has no AVIF reader): " + CONVERT;
            }
            if (brand.startsWith("hei") || brand.startsWith("hev") || brand.equals("mif1") || brand.equals("msf1")) {
                return "HEIC/HEIF is not supported (the JDK has no HEIF reader): " + CONVERT;
            }
        }
        if (starts(b, 0, 0, 0, 0, 0x0c, 'j', 'P', ' ', ' ') || starts(b, 0, 0xff, 0x4f, 0xff, 0x51)) {
            return "JPEG 2000 is not supported (the JDK has no JPEG 2000 reader): " + CONVERT;
        }
        if (starts(b, 0, 0xff, 0x0a) || starts(b, 0, 0, 0, 0, 0x0c, 'J', 'X', 'L', ' ')) {
            return "JPEG XL is not supported (the JDK has no JPEG XL reader): " + CONVERT;
        }
        if (starts(b, 0, 'I', 'I', 43, 0) || starts(b, 0, 'M', 'M', 0, 43)) {
            return "BigTIFF is not supported (the JDK's TIFF reader reads classic TIFF only): " + CONVERT;
        }
        if (starts(b, 0, '8', 'B', 'P', 'S')) {
            return "Photoshop PSD is not supported: " + CONVERT;
        }
        if (starts(b, 0, 0x93, 'N', 'U', 'M', 'P', 'Y')) {
            return "a NumPy .npy array, not an image (name it *.npy to pass a preprocessed tensor)";
        }
        if (starts(b, 0, 'P', 'K', 3, 4)) {
            return "a zip archive (PyTorch .pth weights?), not an image";
        }
        if (b.length >= 9 && b[8] == '{' && b[7] == 0 && b[6] == 0) {
            return "a safetensors file (weights?), not an image";
        }
        return null;
    }

    private static boolean starts(byte[] b, int at, int... prefix) {
        if (b.length < at + prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if ((b[at + i] & 0xff) != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    static String hexPrefix(byte[] bytes) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(8, bytes.length); i++) {
            if (i > 0) {
                sb.append(' ');
            }
            sb.append(String.format("%02x", bytes[i] & 0xff));
        }
        return sb.toString();
    }
}
