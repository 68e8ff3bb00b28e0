package dev.jresnet.train;

import dev.jresnet.tensor.Tensor;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code torch.optim.AdamW} (no amsgrad): decoupled weight decay {@code p *= 1 - lr*wd} first, then
 * {@code m = beta1*m + (1-beta1)*g}, {@code v = beta2*v + (1-beta2)*g*g},
 * {@code p += -(lr/bc1) * m / (sqrt(v)/sqrt(bc2) + eps)} with bias corrections {@code bc = 1 - beta^step}.
 *
 * <p>Each parameter counts its own steps ({@code "<param>.step"}), as in PyTorch, so one that sometimes has no
 * gradient gets its bias correction right. Scalar factors are computed in double, as Python does, and rounded to
 * float32 where PyTorch casts them to the tensor's type; the element arithmetic is float32 in PyTorch 1.13's
 * single-tensor CPU order. Where Debian's AVX2 build of torch computes {@code a + b*c} in one rounding
 * ({@code add_(x, alpha)} through {@code fmadd}, {@code addcmul_} because GCC contracts its vector multiply and
 * add), this uses {@link Math#fma}; that makes the result bitwise equal to torch's on that build
 * (TorchAgreementTest), and within an ulp of a build without FMA.
 */
public final class AdamW implements Optimizer {
    static final String EXP_AVG = "exp_avg";
    static final String EXP_AVG_SQ = "exp_avg_sq";
    static final String STEP = "step";

    private final float beta1;
    private final float beta2;
    private final float eps;
    private final float weightDecay;
    private final OptimizerState state;

    public AdamW(float beta1, float beta2, float eps, float weightDecay) {
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("AdamW betas must be in [0, 1), got (" + beta1 + ", " + beta2 + ")");
        }
        if (!(eps > 0) || !Float.isFinite(eps)) {
            // eps keeps the denominator away from 0 for parameters whose gradients are all zero.
            throw new IllegalArgumentException("AdamW eps must be finite and positive, got " + eps);
        }
        if (!(weightDecay >= 0) || !Float.isFinite(weightDecay)) {
            throw new IllegalArgumentException("AdamW weight decay must be finite and non-negative, got " + weightDecay);
        }
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.state = new OptimizerState("AdamW", Set.of(EXP_AVG, EXP_AVG_SQ, STEP));
    }

    @Override
    public void step(List<Parameter> params, float lr) {
        state.beginStep(params, lr);
        double lrD = lr;
        float decay = (float) (1 - lrD * weightDecay);
        float oneMinusBeta1 = (float) (1 - (double) beta1);
        float oneMinusBeta2 = (float) (1 - (double) beta2);
        for (Parameter p : params) {
            if (p.grad() == null) {
                continue;
            }
            Tensor m = state.get(p, EXP_AVG);
            Tensor v = state.get(p, EXP_AVG_SQ);
            Tensor stepT = state.getScalar(p, STEP);
            if (m == null || v == null || stepT == null) {
                m = Tensor.zeros(p.value().shape());
                v = Tensor.zeros(p.value().shape());
                stepT = OptimizerState.scalar(0);
                state.put(p, EXP_AVG, m);
                state.put(p, EXP_AVG_SQ, v);
                state.put(p, STEP, stepT);
            }
            long step = state.count(p.name() + "." + STEP, stepT) + 1;
            stepT.data()[0] = step;
            double bc1 = 1 - Math.pow(beta1, step);
            double bc2 = 1 - Math.pow(beta2, step);
            float negStepSize = (float) -(lrD / bc1);
            float bc2Sqrt = (float) Math.sqrt(bc2);

            float[] w = p.value().data();
            float[] g = p.grad().data();
            float[] md = m.data();
            float[] vd = v.data();
            for (int i = 0; i < w.length; i++) {
                float wi = w[i] * decay;
                float gi = g[i];
                float mi = Math.fma(gi, oneMinusBeta1, md[i] * beta1);
                float vi = Math.fma(oneMinusBeta2 * gi, gi, vd[i] * beta2);
                md[i] = mi;
                vd[i] = vi;
                float denom = (float) Math.sqrt(vi) / bc2Sqrt + eps;
                w[i] = wi + negStepSize * mi / denom;
            }
        }
    }

    @Override
    public Map<String, Tensor> state() {
        return state.snapshot();
    }

    @Override
    public void loadState(Map<String, Tensor> s) {
        if (s != null) {
            // A parameter's moments and step count only make sense together.
            OptimizerState.requireCompanions("AdamW", s, EXP_AVG, EXP_AVG_SQ, STEP);
            OptimizerState.requireCompanions("AdamW", s, EXP_AVG_SQ, EXP_AVG, STEP);
            OptimizerState.requireCompanions("AdamW", s, STEP, EXP_AVG, EXP_AVG_SQ);
        }
        state.load(s);
    }

    @Override
    public String describe() {
        return "adamw(beta1=" + beta1 + ", beta2=" + beta2 + ", eps=" + eps + ", weight_decay=" + weightDecay + ")";
    }
}
