package dev.jresnet.dnnl;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * What one owner made in native memory (oneDNN objects, buffers), freed in reverse order of making: primitives before
 * the descriptors and memory they use. Not thread-safe; its owner closes it once.
 */
final class NativeScope implements AutoCloseable {
    private final Deque<Runnable> frees = new ArrayDeque<>();

    /** Remembers how to free something just made; returns it. */
    <T> T owns(T made, Runnable free) {
        frees.push(java.util.Objects.requireNonNull(free, "free"));
        return made;
    }

    @Override
    public void close() {
        while (!frees.isEmpty()) {
            frees.pop().run();
        }
    }
}
