package dev.jresnet.cli;

import java.awt.Font;
import java.awt.font.FontRenderContext;
import java.util.ArrayList;
import java.util.List;

/**
 * How a confusion matrix's class names and counts fit a {@code width} x {@code height} image: the names' font, the
 * predicted-class names turned vertical only when the widest is wider than a column, every {@code step}-th name
 * when even a 9-point font cannot give each row its own, and the counts' font (null: the cells are too small, the
 * colours alone show the matrix). Beyond {@value #ZEROS_UP_TO} classes zero counts are left blank (their cells are
 * white): a page of zeros would bury the few counts that matter. The plot's size is estimated from the image's,
 * less fixed room for the title, the colour legend and the axis titles, and the names' measured width.
 *
 * @param shownNames the names on the axes: cut to {@value #MAX_NAME} characters (an ellipsis for the middle), ""
 *                   where {@code step} skips one
 */
record ConfusionLayout(Font labelFont, boolean rotated, int step, Font countFont, List<String> shownNames) {
    /** Whether a cell holding {@code count} of {@code k} classes gets its number written. */
    boolean writes(int count, int k) {
        return countFont != null && (count != 0 || k <= ZEROS_UP_TO);
    }

    /** Longer names are cut: a few very long ones would otherwise squeeze the matrix. */
    static final int MAX_NAME = 24;
    static final double MAX_LABEL_SPACE = 250;
    static final int ZEROS_UP_TO = 12;
    private static final int TITLE_SPACE = 80;
    private static final int LEGEND_SPACE = 140;
    private static final int AXIS_SPACE = 45;
    private static final int MAX_LABEL_POINTS = 13;
    private static final int MIN_LABEL_POINTS = 9;
    private static final int MAX_COUNT_POINTS = 20;
    private static final int MIN_COUNT_POINTS = 8;
    private static final FontRenderContext FRC = new FontRenderContext(null, true, true);

    static ConfusionLayout of(List<String> names, int[][] counts, int width, int height) {
        int k = names.size();
        List<String> cut = names.stream().map(ConfusionLayout::cut).toList();
        for (int points = MAX_LABEL_POINTS; ; points--) {
            Font font = new Font(Font.SANS_SERIF, Font.PLAIN, points);
            double labelWidth = Math.min(MAX_LABEL_SPACE, widest(cut, font));
            double labelHeight = lineHeight(font);
            double pitchX = (width - LEGEND_SPACE - labelWidth - AXIS_SPACE) / k;
            boolean rotated = labelWidth > 0.9 * pitchX;
            double pitchY = (height - TITLE_SPACE - (rotated ? labelWidth : labelHeight) - AXIS_SPACE) / k;
            // Rows always stack names vertically; columns do so only when turned.
            double pitch = rotated ? Math.min(pitchX, pitchY) : pitchY;
            int step = pitch <= 0 ? k : (int) Math.min(k, Math.max(1, Math.ceil(1.1 * labelHeight / pitch)));
            if (step == 1 || points == MIN_LABEL_POINTS) {
                List<String> shown = new ArrayList<>(k);
                for (int i = 0; i < k; i++) {
                    shown.add(i % step == 0 ? cut.get(i) : "");
                }
                return new ConfusionLayout(font, rotated, step, countFont(counts, pitchX, pitchY), List.copyOf(shown));
            }
        }
    }

    /**
     * {width, height} for {@code names}: a plot of about 40 px a class (within 420..1800 px), widened by up to 80 %
     * (to 1800 px) where that lets the names stand upright in their columns, plus the room {@link #of} leaves
     * around it.
     */
    static int[] defaultSize(List<String> names) {
        int k = Math.max(1, names.size());
        Font font = new Font(Font.SANS_SERIF, Font.PLAIN, MAX_LABEL_POINTS);
        double labelWidth = Math.min(MAX_LABEL_SPACE, widest(names, font));
        double plot = Math.max(420, Math.min(1800, 40.0 * k));
        double upright = k * labelWidth / 0.88; // the plot's side at which of() keeps the names upright
        if (upright > plot && upright <= Math.min(1.8 * plot, 1800)) {
            plot = upright;
        }
        boolean rotated = labelWidth > 0.9 * plot / k;
        return new int[] {(int) Math.ceil(plot + LEGEND_SPACE + labelWidth + AXIS_SPACE) + 20,
                (int) Math.ceil(plot + TITLE_SPACE + (rotated ? labelWidth : lineHeight(font)) + AXIS_SPACE) + 20};
    }

    /** The largest font, at most {@value #MAX_COUNT_POINTS} points, in which the widest count fits its cell. */
    private static Font countFont(int[][] counts, double pitchX, double pitchY) {
        int max = 0;
        for (int[] row : counts) {
            for (int c : row) {
                max = Math.max(max, c);
            }
        }
        String widest = Integer.toString(max);
        int start = (int) Math.min(MAX_COUNT_POINTS, Math.floor(0.5 * Math.min(pitchX, pitchY)));
        for (int points = start; points >= MIN_COUNT_POINTS; points--) {
            Font f = new Font(Font.SANS_SERIF, Font.PLAIN, points);
            if (f.getStringBounds(widest, FRC).getWidth() <= 0.85 * pitchX && lineHeight(f) <= 0.8 * pitchY) {
                return f;
            }
        }
        return null;
    }

    static double widest(List<String> names, Font font) {
        double w = 0;
        for (String n : names) {
            w = Math.max(w, font.getStringBounds(cut(n), FRC).getWidth());
        }
        return w;
    }

    private static double lineHeight(Font font) {
        return font.getLineMetrics("Ag", FRC).getHeight();
    }

    /** Names longer than {@value #MAX_NAME} characters lose their middle: classes often differ only at the end. */
    private static String cut(String name) {
        int n = name.codePointCount(0, name.length());
        if (n <= MAX_NAME) {
            return name;
        }
        int tail = MAX_NAME / 3;
        return name.substring(0, name.offsetByCodePoints(0, MAX_NAME - 1 - tail)) + "\u2026"
                + name.substring(name.offsetByCodePoints(0, n - tail));
    }
}
