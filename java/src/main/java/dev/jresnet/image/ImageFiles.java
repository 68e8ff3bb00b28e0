package dev.jresnet.image;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Which file names are images, for commands that take a folder: the extensions of the formats {@link ImageDecoder}
 * decodes, and those of formats it refuses with a reason (WebP, HEIC, AVIF), so that a folder of those is reported
 * rather than silently found empty. The decoder itself goes by content, never by name.
 */
public final class ImageFiles {
    /** Lower case, with the dot. */
    public static final List<String> EXTENSIONS = List.of(".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff",
            ".webp", ".heic", ".heif", ".avif");

    private ImageFiles() {}

    /** Whether the file name ends with one of {@link #EXTENSIONS}, in any case. */
    public static boolean hasImageExtension(Path file) {
        return hasExtension(file, EXTENSIONS);
    }

    /** Whether the file name ends with one of {@code extensions} (lower case, with the dot), in any case. */
    public static boolean hasExtension(Path file, List<String> extensions) {
        Path name = file.getFileName();
        if (name == null) {
            return false;
        }
        String n = name.toString().toLowerCase(Locale.ROOT);
        for (String ext : extensions) {
            if (n.endsWith(ext)) {
                return true;
            }
        }
        return false;
    }
}
