package dev.jresnet.cuda;

import java.util.Arrays;
import java.util.StringJoiner;

/** Formatting shared by the check helpers of {@link Cuda}, {@link Cudnn}, {@link Cublas} and {@link Nvrtc}. */
final class Checks {
    private Checks() {}

    /** Joins the context items with ", "; arrays are printed element by element. */
    static String context(Object... items) {
        if (items == null || items.length == 0) {
            return "";
        }
        StringJoiner j = new StringJoiner(", ");
        for (Object o : items) {
            j.add(o instanceof Object[] a ? Arrays.deepToString(a)
                    : o instanceof int[] a ? Arrays.toString(a)
                    : o instanceof long[] a ? Arrays.toString(a)
                    : o instanceof float[] a ? Arrays.toString(a)
                    : o instanceof double[] a ? Arrays.toString(a)
                    : String.valueOf(o));
        }
        return j.toString();
    }

    /** "1073741824 bytes (1.00 GiB)". */
    static String bytes(long bytes) {
        if (bytes < 1024) {
            return bytes + " bytes";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(java.util.Locale.ROOT, "%d bytes (%.2f %s)", bytes, v, units[u]);
    }
}
