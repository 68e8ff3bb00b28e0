package dev.jresnet.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Runs the Vector API's shared operator dispatch on several kinds of operator before any kernel runs, so that the type
 * profile C2 reads there is mixed from the start.
 *
 * <p>Why (Java 17's C2, read in {@code -XX:+LogCompilation}): every lanewise operation goes through
 * {@code VectorOperators.opCode}, which casts its operator to the operator's implementation class and is compiled on
 * its own early in a JVM's life. Where the calls profiled until then were all one kind (a tile's fused
 * multiply-adds), C2 compiled that cast for that kind alone, and the epilogue's first add failed it 4 times
 * ({@code class_check} traps). C2 adds those 4 to its count of the reason for each inlined copy of the dispatch, and a
 * 4x7 tile inlines 28: past 100 ({@code PerMethodTrapLimit}) it stops guarding type-profiled calls with traps, a
 * vector's {@code vspecies()} stops being a constant, and every load, store and FMA of the tile falls back to the
 * Vector API's Java code, boxing each vector: the tile 20-40x slower for the life of the JVM. A 1x1 layer alone, its
 * map whole per task: 6 of 40 JVM starts so; with this profile none of 80, and none of 40 with
 * {@code -XX:PerMethodTrapLimit=100000} instead. A profile of two or more kinds makes C2 compile the cast as a plain
 * type check, which cannot trap; in a tile the operator is a constant, so the tile's code is the same either way.
 */
final class OperatorProfiles {
    private OperatorProfiles() {}

    /**
     * Enough calls for the dispatch's profile to exist and hold two kinds (its rows, once filled, stay): 300 were
     * enough here, at 30-40 ms once per JVM, most of it the interpreter running the API's Java code.
     */
    private static final int ROUNDS = 400;

    @SuppressWarnings("unused")  // read nowhere: kept so that the JIT cannot drop the loop
    private static volatile float sink;

    /** Mixes the profile for species {@code s} and returns it (for a static initialiser). */
    static VectorSpecies<Float> mixed(VectorSpecies<Float> s) {
        float[] values = new float[s.length()];
        for (int i = 0; i < values.length; i++) {
            values[i] = i - values.length / 2f;
        }
        FloatVector x = FloatVector.fromArray(s, values, 0), y = x.mul(0.5f);
        float total = 0;
        for (int i = 0; i < ROUNDS; i++) {
            FloatVector r = x.fma(y, x);                        // ternary
            r = r.add(y);                                       // associative
            r = r.sub(x);                                       // binary
            r = r.neg();                                        // unary
            r = r.blend(x, r.compare(VectorOperators.GT, y)     // comparison
                    .or(r.test(VectorOperators.IS_NAN)));       // test
            total += r.max(y).lane(i % values.length);
        }
        sink = total;
        return s;
    }
}
