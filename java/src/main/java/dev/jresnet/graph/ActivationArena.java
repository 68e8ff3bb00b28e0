package dev.jresnet.graph;

import dev.jresnet.cpu.Blocked;
import dev.jresnet.tensor.Shape;
import dev.jresnet.tensor.Tensor;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The activations of one thread's forward passes at one input shape [N, C, H, W], reused from call to call. A value's
 * array is given back when the step that reads it for the last time is done (the lifetimes of
 * {@link dev.jresnet.nn.NetworkSpec#lastUse}) and handed to the next step that needs an array of that exact size,
 * as the CUDA NetworkPlan does with device memory, but planned on the fly. A pass's takes and gives come in the same
 * order every time, so after the first pass at a shape no array is allocated, and the arena holds at most what the
 * first pass had live at once, size by size (ResNet-50 at 224x224: 13.5 MB at batch 1, 108 MB at batch 8). A blocked
 * array's zero border is made again when the array was last used at another shape (keeping blocked arrays apart by
 * shape instead doubled the arena, and a 256 MB heap ran out beside a large photo).
 * Not thread-safe: one per thread.
 */
final class ActivationArena {
    private final int batch, height, width;
    private final Map<Integer, ArrayDeque<float[]>> free = new HashMap<>();
    /** The shape each array was last taken at: a blocked one taken at another needs its border zeroed. */
    private final Map<float[], Shape> lastShape = new IdentityHashMap<>();
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
     * A tensor of this shape with unspecified contents: every op the arena serves overwrites its whole output; a
     * blocked one ({@link Blocked}) its interior, so its border is zero here.
     */
    Tensor take(Shape shape) {
        ArrayDeque<float[]> q = free.get(shape.size());
        float[] a = q == null ? null : q.pollLast();
        Tensor t;
        if (a == null) {
            t = Tensor.zeros(shape);
            bytes += 4L * shape.size();
        } else {
            t = new Tensor(shape, a);
            if (Blocked.is(t) && !shape.equals(lastShape.get(a))) {
                Blocked.zeroBorder(t);
            }
        }
        lastShape.put(t.data(), shape);
        return t;
    }

    /** Gives back an array taken from this arena, no longer read by anyone. */
    void give(Tensor t) {
        free.computeIfAbsent(t.data().length, k -> new ArrayDeque<>()).addLast(t.data());
    }

    /** The arrays allocated at this shape, in bytes. */
    long bytes() {
        return bytes;
    }
}
