package dev.jresnet.train;

import dev.jresnet.tensor.Tensor;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code torch.optim.SGD} with dampening 0: weight decay is added to the gradient, the momentum buffer starts
 * as the first (decayed) gradient, and Nesterov adds {@code momentum * buffer} to the gradient.
 *
 * <p>The arithmetic follows PyTorch 1.13's single-tensor CPU path in float32: {@code Tensor.add(x, alpha=a)}
 * runs as a fused multiply-add there (AVX2 {@code fmadd}), hence {@link Math#fma}; {@code mul_} by a scalar is a
 * separate rounding. Python-float hyperparameters are rounded to float32 where PyTorch casts them.
 */
public final class Sgd implements Optimizer {
    static final String MOMENTUM_BUFFER = "momentum_buffer";

    private final float momentum;
    private final float weightDecay;
    private final boolean nesterov;
    private final OptimizerState state;

    public Sgd(float momentum, float weightDecay, boolean nesterov) {
        if (!(momentum >= 0 && momentum < 1)) {
            throw new IllegalArgumentException("SGD momentum must be in [0, 1), got " + momentum);
        }
        if (!(weightDecay >= 0) || !Float.isFinite(weightDecay)) {
            throw new IllegalArgumentException("SGD weight decay must be finite and non-negative, got " + weightDecay);
        }
        if (nesterov && momentum == 0) {
            // torch refuses this too: Nesterov without momentum is plain SGD and almost certainly a mistake.
            throw new IllegalArgumentException("SGD with nesterov needs a momentum > 0");
        }
        this.momentum = momentum;
        this.weightDecay = weightDecay;
        this.nesterov = nesterov;
        this.state = new OptimizerState("SGD", Set.of(MOMENTUM_BUFFER));
    }

    @Override
    public void step(List<Parameter> params, float lr) {
        state.beginStep(params, lr);
        float negLr = -lr;
        for (Parameter p : params) {
            if (p.grad() == null) {
                continue;
            }
            float[] w = p.value().data();
            float[] g = p.grad().data();
            float[] buf = null;
            boolean first = false;
            if (momentum != 0) {
                Tensor b = state.get(p, MOMENTUM_BUFFER);
                first = b == null;
                if (first) {
                    b = Tensor.zeros(p.value().shape());
                    state.put(p, MOMENTUM_BUFFER, b);
                }
                buf = b.data();
            }
            for (int i = 0; i < w.length; i++) {
                float d = weightDecay != 0 ? Math.fma(w[i], weightDecay, g[i]) : g[i];
                if (buf != null) {
                    float b = first ? d : buf[i] * momentum + d;
                    buf[i] = b;
                    d = nesterov ? Math.fma(b, momentum, d) : b;
                }
                w[i] = Math.fma(d, negLr, w[i]);
            }
        }
    }

    @Override
    public Map<String, Tensor> state() {
        return state.snapshot();
    }

    @Override
    public void loadState(Map<String, Tensor> s) {
        state.load(s);
    }

    @Override
    public String describe() {
        return "sgd(momentum=" + momentum + ", weight_decay=" + weightDecay + ", nesterov=" + nesterov + ")";
    }
}
