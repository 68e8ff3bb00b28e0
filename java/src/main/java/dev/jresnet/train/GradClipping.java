package dev.jresnet.train;

import java.util.List;

/** {@code torch.nn.utils.clip_grad_norm_} with the L2 norm. */
public final class GradClipping {
    private GradClipping() {}

    /**
     * Scales every gradient by {@code min(1, maxNorm / (total + 1e-6))}, where {@code total} is the L2 norm of all
     * gradients together, and returns {@code total} (before scaling). Parameters without a gradient are left out,
     * as torch does. Like torch, a non-finite total scales the gradients to NaN rather than throwing: the caller
     * sees the returned norm and decides.
     */
    public static float clipGlobalNorm(List<Parameter> params, float maxNorm) {
        if (!(maxNorm > 0) || !Float.isFinite(maxNorm)) {
            throw new IllegalArgumentException("max gradient norm must be finite and positive, got " + maxNorm);
        }
        if (params == null) {
            throw new IllegalArgumentException("params is null");
        }
        // torch takes each tensor's norm in float, then the norm of those norms.
        double sumOfSquares = 0;
        for (Parameter p : params) {
            if (p.grad() != null) {
                float n = norm(p.grad().data());
                sumOfSquares += (double) n * n;
            }
        }
        float total = (float) Math.sqrt(sumOfSquares);
        float coef = maxNorm / (total + 1e-6f);
        float clamped = Math.min(coef, 1f);
        for (Parameter p : params) {
            if (p.grad() != null) {
                float[] g = p.grad().data();
                for (int i = 0; i < g.length; i++) {
                    g[i] *= clamped;
                }
            }
        }
        return total;
    }

    private static float norm(float[] x) {
        double s = 0;
        for (float v : x) {
            s += (double) v * v;
        }
        return (float) Math.sqrt(s);
    }
}
