package dev.jresnet.graph;

import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The activations of one thread's forward passes at one input shape [N, C, H, W], reused from call to call. A value's
 * array is given back when the step that reads it for the last time is done (the lifetimes of
 * {@link dev.jresnet.nn.NetworkSpec#lastUse}) and handed to the next step that needs an array of that exact size,
 * as the CUDA NetworkPlan does with device memory, but planned on the fly. A pass's takes and gives come in the same
 * order every time, so after the first pass at a shape no array is allocated, and the arena holds at most what the
 * first pass had live at once, size by size (ResNet-50 at 224x224: 13.5 MB at batch 1, 108 MB at batch 8).
 * Not thread-safe: one per thread.
 */
final class ActivationArena {
    private final int batch, height, width;
    // By size; blocked arrays (rank 5) by shape, so that their zero border is where the next user expects it.
    private final Map<Object, ArrayDeque<float[]>> free = new HashMap<>();
    private long bytes;
    /** Whether a pass on this thread is using the arena (a listener that runs a forward pass gets a fresh one). */
    boolean busy;

    ActivationArena(int batch, int height, int width) {
        this.batch = batch;
        this.height = height;
        this.width = width;
    }

    boolean fits(Tensor x) {
        return x.dim(0) == batch && x.dim(2) == height && x.dim(3) == width;
    }

    /**
     * A tensor of this shape with unspecified contents: every op the arena serves overwrites its whole output (a
     * blocked one its interior: the border stays zero, as it was made).
     */
    Tensor take(Shape shape) {
        ArrayDeque<float[]> q = free.get(key(shape));
        float[] a = q == null ? null : q.pollLast();
        if (a == null) {
            a = new float[shape.size()];
            bytes += 4L * a.length;
        }
        return new Tensor(shape, a);
    }

    /** Gives back an array taken from this arena, no longer read by anyone. */
    void give(Tensor t) {
        free.computeIfAbsent(key(t.shape()), k -> new ArrayDeque<>()).addLast(t.data());
    }

    private static Object key(Shape shape) {
        return shape.rank() == 5 ? shape : Integer.valueOf(shape.size());
    }

    /** The arrays allocated at this shape, in bytes. */
    long bytes() {
        return bytes;
    }
}
