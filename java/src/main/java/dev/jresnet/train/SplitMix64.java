package dev.jresnet.train;

import java.util.random.RandomGenerator;

/**
 * Steele, Lea and Flood's SplitMix64: a tiny generator whose output is fixed by this code alone, so a
 * seed gives the same splits, shuffles and augmentations on every JDK (the JDK's own generators may
 * change between releases). {@link #derive} turns a tuple such as (seed, epoch, sample) into an
 * independent stream, which is what lets each worker thread draw a sample's randomness without sharing
 * a generator.
 */
public final class SplitMix64 implements RandomGenerator {
    private static final long GOLDEN_GAMMA = 0x9e3779b97f4a7c15L;

    private long state;

    public SplitMix64(long seed) {
        this.state = seed;
    }

    /** A generator seeded from every part in order; (1, 2) and (2, 1) give unrelated streams. */
    public static SplitMix64 derive(long... parts) {
        long s = 0x6a09e667f3bcc909L;
        for (long p : parts) {
            s = mix((s + GOLDEN_GAMMA) ^ p);
        }
        return new SplitMix64(s);
    }

    @Override
    public long nextLong() {
        state += GOLDEN_GAMMA;
        return mix(state);
    }

    // The bounded and floating-point draws are spelled out rather than inherited so that their algorithm
    // is part of this class's fixed behaviour too.

    @Override
    public int nextInt(int origin, int bound) {
        if (origin >= bound) {
            throw new IllegalArgumentException("empty range [" + origin + ", " + bound + ")");
        }
        long range = (long) bound - origin;
        // Rejection sampling on the top 32 bits: unbiased for every range up to 2^32.
        long limit = (1L << 32) - ((1L << 32) % range);
        long r;
        do {
            r = nextLong() >>> 32;
        } while (r >= limit);
        return (int) (origin + r % range);
    }

    @Override
    public int nextInt(int bound) {
        return nextInt(0, bound);
    }

    @Override
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    @Override
    public float nextFloat() {
        return (nextLong() >>> 40) * 0x1.0p-24f;
    }

    @Override
    public boolean nextBoolean() {
        return nextLong() < 0;
    }

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
