package dev.jresnet.train;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits an {@link ImageFolder} into train and validation by a fraction, class by class, so that
 * every class keeps its share in both halves. The result depends only on the seed, the class names and
 * the sorted file list: not on the order the file system lists files, nor on the other classes (each
 * class's shuffle is seeded by its name, so adding a class leaves the others' splits alone).
 */
final class StratifiedSplit {
    private StratifiedSplit() {}

    static void checkFraction(double valFraction) {
        if (!(valFraction >= 0 && valFraction < 1)) {
            throw new IllegalArgumentException("validation fraction " + valFraction + " must be in [0, 1)");
        }
    }

    /**
     * How many of a class's {@code n} files go to validation: round(f * n), at least one when f > 0 and
     * n >= 2, and never all of them, so that every class can still be trained on.
     */
    static int valCount(int n, double valFraction) {
        if (valFraction == 0 || n < 2) {
            return 0;
        }
        long k = Math.round(valFraction * n);
        return (int) Math.max(1, Math.min(k, n - 1));
    }

    static ImageFolder.Split split(ImageFolder folder, double valFraction, long seed) {
        checkFraction(valFraction);
        List<Sample> train = new ArrayList<>();
        List<Sample> val = new ArrayList<>();
        List<Sample> all = folder.samples();
        int start = 0;
        while (start < all.size()) {
            int label = all.get(start).label();
            int end = start;
            while (end < all.size() && all.get(end).label() == label) {
                end++;
            }
            int n = end - start;
            boolean[] isVal = chooseVal(n, valCount(n, valFraction), seed, folder.classes().get(label));
            for (int i = 0; i < n; i++) {
                (isVal[i] ? val : train).add(all.get(start + i));
            }
            start = end;
        }
        return new ImageFolder.Split(folder.classes(), train, val);
    }

    /** Marks {@code k} of {@code n} positions: the first k of a seeded Fisher-Yates shuffle. */
    private static boolean[] chooseVal(int n, int k, long seed, String className) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        SplitMix64 rng = SplitMix64.derive(seed, className.hashCode(), className.length());
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(0, i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        boolean[] isVal = new boolean[n];
        for (int i = 0; i < k; i++) {
            isVal[order[i]] = true;
        }
        return isVal;
    }
}
