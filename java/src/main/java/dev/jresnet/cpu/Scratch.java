package dev.jresnet.cpu;

/**
 * A grow-only float buffer per thread. Ops run on pool threads and may run concurrently, so a buffer is
 * never shared between threads; each use site has its own instance, so nested uses on one thread
 * (im2col, then the GEMM's own packing) never alias.
 */
final class Scratch {
    private final ThreadLocal<float[]> buffer = ThreadLocal.withInitial(() -> new float[0]);

    /** A buffer of at least size floats, with unspecified contents. */
    float[] get(int size) {
        float[] b = buffer.get();
        if (b.length < size) {
            b = new float[size];
            buffer.set(b);
        }
        return b;
    }
}
