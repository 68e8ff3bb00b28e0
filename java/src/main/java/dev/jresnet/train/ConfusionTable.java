package dev.jresnet.train;

import java.util.List;
import java.util.Locale;

/** Renders a confusion matrix as fixed-width text for a terminal. */
final class ConfusionTable {
    /** Longer class names are cut so that wide label sets still give a readable table. */
    private static final int MAX_NAME = 16;

    private ConfusionTable() {}

    static String render(int[][] counts, List<String> classNames, double[] accuracy) {
        int k = counts.length;
        if (classNames == null || classNames.size() != k) {
            throw new IllegalArgumentException("need " + k + " class names, got "
                    + (classNames == null ? "null" : classNames.size()));
        }
        String[] names = new String[k];
        int nameWidth = "true \\ predicted".length();
        int cell = 1;
        for (int i = 0; i < k; i++) {
            names[i] = i + " " + shorten(classNames.get(i));
            nameWidth = Math.max(nameWidth, names[i].length());
            cell = Math.max(cell, Integer.toString(i).length());
            for (int c : counts[i]) {
                cell = Math.max(cell, Integer.toString(c).length());
            }
        }
        StringBuilder sb = new StringBuilder();
        sb.append(pad("true \\ predicted", nameWidth));
        for (int j = 0; j < k; j++) {
            sb.append(' ').append(padLeft(Integer.toString(j), cell));
        }
        sb.append("  accuracy\n");
        for (int i = 0; i < k; i++) {
            sb.append(pad(names[i], nameWidth));
            for (int j = 0; j < k; j++) {
                sb.append(' ').append(padLeft(Integer.toString(counts[i][j]), cell));
            }
            sb.append("  ").append(Double.isNaN(accuracy[i]) ? "    -" : String.format(Locale.ROOT, "%5.1f %%", 100 * accuracy[i]));
            sb.append('\n');
        }
        return sb.toString();
    }

    private static String shorten(String s) {
        String one = s.replace('\n', ' ');
        return one.length() <= MAX_NAME ? one : one.substring(0, MAX_NAME - 1) + "…";
    }

    private static String pad(String s, int width) {
        return s.length() >= width ? s : s + " ".repeat(width - s.length());
    }

    private static String padLeft(String s, int width) {
        return s.length() >= width ? s : " ".repeat(width - s.length()) + s;
    }
}
