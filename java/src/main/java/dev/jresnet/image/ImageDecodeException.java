package dev.jresnet.image;

import java.io.IOException;

/** An image file that cannot be turned into an {@link RgbImage}; the message names the file and the reason. */
public class ImageDecodeException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String file;
    private final String reason;

    public ImageDecodeException(String file, String reason) {
        this(file, reason, null);
    }

    public ImageDecodeException(String file, String reason, Throwable cause) {
        super(file + ": " + reason, cause);
        this.file = file;
        this.reason = reason;
    }

    /** The file (or the name the caller gave the bytes) that failed to decode. */
    public String file() {
        return file;
    }

    /** Why it failed, without the file name. */
    public String reason() {
        return reason;
    }
}
