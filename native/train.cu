// Fine-tuning on the GPU: the backward ops cuDNN and cuBLAS lack (ReLU and residual gradients, the average
// pool's backward, frozen-statistics BatchNorm forward and backward, the linear bias gradient), the softmax
// cross-entropy loss with label smoothing, global gradient-norm clipping, and the SGD and AdamW updates.
// NCHW fp32 throughout. Java side: dev.jresnet.cuda.train.TrainKernels.
//
// Exactness: compiled with --fmad=false (no contraction), IEEE division and square root (NVRTC's defaults), so
// each float expression rounds as the Java reference (dev.jresnet.cpu.CpuGrads, dev.jresnet.train.Sgd/AdamW)
// writes it; __fmaf_rn stands exactly where the Java code calls Math.fma. Reductions are summed in double, as
// CpuGrads does, but in a different order, so they agree to rounding of the double sums (well below a float ulp
// in practice), not bit for bit. Elementwise kernels and the optimizer updates are bit-identical to Java.

#define JR_NEG_INF_D __longlong_as_double(0xfff0000000000000LL)

// Sum (or max) of a double over the whole block (blockDim.x a multiple of 32, at most 1024); every thread gets
// the result. scratch: 32 doubles of shared memory. Syncs before reusing scratch.
__device__ __forceinline__ double jr_block_reduce_d(double v, bool is_max, double* scratch) {
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int warps = blockDim.x >> 5;
    for (int offset = 16; offset > 0; offset >>= 1) {
        const double o = __shfl_xor_sync(0xffffffffu, v, offset);
        v = is_max ? fmax(v, o) : v + o;
    }
    __syncthreads();
    if (lane == 0) {
        scratch[warp] = v;
    }
    __syncthreads();
    v = lane < warps ? scratch[lane] : (is_max ? JR_NEG_INF_D : 0.0);
    for (int offset = 16; offset > 0; offset >>= 1) {
        const double o = __shfl_xor_sync(0xffffffffu, v, offset);
        v = is_max ? fmax(v, o) : v + o;
    }
    return v;
}

extern "C" {

// relu_backward_f32
// Launch: grid = (min(ceil(count / 256), 65535)), block = (256); grid-stride loop.
// Computes dx[i] = y[i] > 0 ? dy[i] : 0 from the ReLU's output y; dx may be dy.
__global__ void relu_backward_f32(const float* dy, const float* y, float* dx, long long count) {
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < count;
         i += (long long) gridDim.x * blockDim.x) {
        dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
    }
}

// add_relu_f32
// Launch: grid = (min(ceil(count / 256), 65535)), block = (256); grid-stride loop.
// Computes out[i] = max(a[i] + b[i], 0) (the bottleneck's residual add and final ReLU); out may be a or b.
__global__ void add_relu_f32(const float* a, const float* b, float* out, long long count) {
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < count;
         i += (long long) gridDim.x * blockDim.x) {
        const float v = a[i] + b[i];
        out[i] = v > 0.0f ? v : (v == v ? 0.0f : v);
    }
}

// add_inplace_f32
// Launch: grid = (min(ceil(count / 256), 65535)), block = (256); grid-stride loop.
// Computes into[i] += g[i] (a gradient where a value fans out: the residual connection).
__global__ void add_inplace_f32(float* into, const float* g, long long count) {
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < count;
         i += (long long) gridDim.x * blockDim.x) {
        into[i] = into[i] + g[i];
    }
}

// global_avg_pool_backward_nchw_f32
// Launch: grid = (min(ceil(count / 256), 65535)), block = (256); grid-stride loop over count = N*C*hw.
// Computes dx[n][c][i] = dy[n][c] / hw (dy is [N, C], dx is [N, C, H, W] with hw = H*W).
__global__ void global_avg_pool_backward_nchw_f32(const float* dy, float* dx, long long count, int hw) {
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < count;
         i += (long long) gridDim.x * blockDim.x) {
        dx[i] = dy[i / hw] / (float) hw;
    }
}

// bn_eval_forward_nchw_f32
// Launch: grid = (min(ceil(count / 256), 65535)), block = (256); grid-stride loop over count = N*C*hw.
// Computes BatchNorm on running statistics, as CpuOps.batchNorm: scale = gamma / sqrt(var + eps),
// shift = beta - mean * scale (float), y = x * scale + shift, then max(y, 0) when relu != 0; y may be x.
__global__ void bn_eval_forward_nchw_f32(const float* x, float* y, const float* gamma, const float* beta,
                                         const float* mean, const float* var, float eps, int c, int hw,
                                         long long count, int relu) {
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < count;
         i += (long long) gridDim.x * blockDim.x) {
        const int ch = (int) ((i / hw) % c);
        const float scale = gamma[ch] / sqrtf(var[ch] + eps);
        const float shift = beta[ch] - mean[ch] * scale;
        float v = x[i] * scale + shift;
        if (relu != 0) {
            v = v > 0.0f ? v : (v == v ? 0.0f : v);
        }
        y[i] = v;
    }
}

// bn_eval_backward_params_nchw_f32
// Launch: grid = (C), block = (256): one block per channel, sums in double.
// Computes, with invStd = 1 / sqrt(var + eps) in float (as the forward), xhat = (x - mean) * invStd in double:
// dgamma[c] += (float) sum(dy * xhat), dbeta[c] += (float) sum(dy) over the N*hw values of channel c.
__global__ void bn_eval_backward_params_nchw_f32(const float* dy, const float* x, const float* mean,
                                                 const float* var, float* dgamma, float* dbeta, float eps,
                                                 int n, int c, int hw) {
    __shared__ double scratch[32];
    const int ch = blockIdx.x;
    const double mu = mean[ch];
    const double inv = 1.0f / sqrtf(var[ch] + eps);
    const long long m = (long long) n * hw;
    double sdy = 0.0, sdyx = 0.0;
    for (long long j = threadIdx.x; j < m; j += blockDim.x) {
        const long long b = j / hw;
        const long long idx = (b * c + ch) * hw + (j - b * hw);
        const double g = dy[idx];
        sdy += g;
        sdyx += g * ((x[idx] - mu) * inv);
    }
    sdy = jr_block_reduce_d(sdy, false, scratch);
    sdyx = jr_block_reduce_d(sdyx, false, scratch);
    if (threadIdx.x == 0) {
        dgamma[ch] = dgamma[ch] + (float) sdyx;
        dbeta[ch] = dbeta[ch] + (float) sdy;
    }
}

// bn_eval_backward_data_nchw_f32
// Launch: grid = (min(ceil(count / 256), 65535)), block = (256); grid-stride loop over count = N*C*hw.
// Computes dx = (float) ((double) gamma * invStd * dy) with invStd = 1 / sqrt(var + eps) in float: the input
// gradient of BatchNorm on frozen statistics; dx may be dy.
__global__ void bn_eval_backward_data_nchw_f32(const float* dy, const float* gamma, const float* var, float* dx,
                                               float eps, int c, int hw, long long count) {
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < count;
         i += (long long) gridDim.x * blockDim.x) {
        const int ch = (int) ((i / hw) % c);
        const float inv = 1.0f / sqrtf(var[ch] + eps);
        const double a = (double) gamma[ch] * (double) inv;
        dx[i] = (float) (a * (double) dy[i]);
    }
}

// bias_grad_rows_f32
// Launch: grid = (ceil(o / 256)), block = (256): one thread per column, rows summed in order, in double.
// Computes db[j] += (float) sum_r dy[r][j] for dy [rows, o] (the linear layer's bias gradient).
__global__ void bias_grad_rows_f32(const float* dy, float* db, int rows, int o) {
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= o) {
        return;
    }
    double s = 0.0;
    for (int r = 0; r < rows; r++) {
        s += dy[(long long) r * o + j];
    }
    db[j] = db[j] + (float) s;
}

// softmax_xent_rows_f32
// Launch: grid = (N), block = (256): one block per row of logits [N, K], in double.
// Computes, with q = (1 - smoothing) * onehot(target) + smoothing / K and p = softmax(logits row):
// rowloss[r] = -sum_k q_k * log p_k (double), dlogits[r][k] = (float) ((p_k - q_k) / N).
// targets holds N int class indices, checked on the host.
__global__ void softmax_xent_rows_f32(const float* logits, const int* targets, float* dlogits, double* rowloss,
                                      int k, int n, float smoothing) {
    __shared__ double scratch[32];
    const long long row = blockIdx.x;
    const float* x = logits + row * k;
    float* d = dlogits + row * k;
    const int y = targets[row];
    const double off = (double) smoothing / (double) k;
    const double on = 1.0 - (double) smoothing + off;

    double mx = JR_NEG_INF_D;
    for (int j = threadIdx.x; j < k; j += blockDim.x) {
        mx = fmax(mx, (double) x[j]);
    }
    mx = jr_block_reduce_d(mx, true, scratch);
    double s = 0.0;
    for (int j = threadIdx.x; j < k; j += blockDim.x) {
        s += exp((double) x[j] - mx);
    }
    s = jr_block_reduce_d(s, false, scratch);
    const double log_sum = log(s) + mx;
    double loss = 0.0;
    for (int j = threadIdx.x; j < k; j += blockDim.x) {
        const double q = j == y ? on : off;
        loss -= q * ((double) x[j] - log_sum);
        d[j] = (float) ((exp((double) x[j] - mx) / s - q) / n);
    }
    loss = jr_block_reduce_d(loss, false, scratch);
    if (threadIdx.x == 0) {
        rowloss[row] = loss;
    }
}

// mean_rows_f64
// Launch: grid = (1), block = (32): lane 0 adds the rows in order.
// Computes out[0] = (float) (sum_r rowloss[r] / n), the mean loss.
__global__ void mean_rows_f64(const double* rowloss, float* out, int n) {
    if (threadIdx.x != 0) {
        return;
    }
    double total = 0.0;
    for (int r = 0; r < n; r++) {
        total += rowloss[r];
    }
    out[0] = (float) (total / n);
}

// grad_sumsq_f64
// Launch: grid = (1), block = (1024): one block per tensor (launched once per parameter).
// Computes sumsq[slot] = sum_i (double) g[i] * g[i] over count values.
__global__ void grad_sumsq_f64(const float* g, double* sumsq, long long count, int slot) {
    __shared__ double scratch[32];
    double s = 0.0;
    for (long long i = threadIdx.x; i < count; i += blockDim.x) {
        const double v = g[i];
        s += v * v;
    }
    s = jr_block_reduce_d(s, false, scratch);
    if (threadIdx.x == 0) {
        sumsq[slot] = s;
    }
}

// clip_coef_f32
// Launch: grid = (1), block = (32): lane 0 works.
// Computes, as GradClipping.clipGlobalNorm: norm_i = (float) sqrt(sumsq[i]); total = (float) sqrt(sum_i
// (double) norm_i^2); out[0] = min(maxNorm / (total + 1e-6f), 1), out[1] = total.
__global__ void clip_coef_f32(const double* sumsq, float* out, int tensors, float max_norm) {
    if (threadIdx.x != 0) {
        return;
    }
    double s = 0.0;
    for (int i = 0; i < tensors; i++) {
        const float nrm = (float) sqrt(sumsq[i]);
        s += (double) nrm * nrm;
    }
    const float total = (float) sqrt(s);
    const float coef = max_norm / (total + 1e-6f);
    out[0] = coef < 1.0f ? coef : (coef == coef ? 1.0f : coef);
    out[1] = total;
}

// scale_by_device_f32
// Launch: grid = (min(ceil(count / 256), 65535)), block = (256); grid-stride loop.
// Computes g[i] *= factor[0] (the clipping coefficient, left on the device by clip_coef_f32).
__global__ void scale_by_device_f32(float* g, const float* factor, long long count) {
    const float f = factor[0];
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < count;
         i += (long long) gridDim.x * blockDim.x) {
        g[i] = g[i] * f;
    }
}

// sgd_step_f32
// Launch: grid = (min(ceil(count / 256), 65535)), block = (256); grid-stride loop.
// Computes torch.optim.SGD (dampening 0) in dev.jresnet.train.Sgd's float order: d = wd != 0 ? fma(w, wd, g) : g;
// with momentum (flags bit 0): b = first (bit 1) ? d : buf * momentum + d, buf = b, d = nesterov (bit 2) ?
// fma(b, momentum, d) : b; then w = fma(d, negLr, w).
__global__ void sgd_step_f32(float* w, const float* g, float* buf, long long count, float neg_lr, float momentum,
                             float wd, int flags) {
    const bool use_momentum = (flags & 1) != 0;
    const bool first = (flags & 2) != 0;
    const bool nesterov = (flags & 4) != 0;
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < count;
         i += (long long) gridDim.x * blockDim.x) {
        const float wi = w[i];
        float d = wd != 0.0f ? __fmaf_rn(wi, wd, g[i]) : g[i];
        if (use_momentum) {
            const float b = first ? d : buf[i] * momentum + d;
            buf[i] = b;
            d = nesterov ? __fmaf_rn(b, momentum, d) : b;
        }
        w[i] = __fmaf_rn(d, neg_lr, wi);
    }
}

// adamw_step_f32
// Launch: grid = (min(ceil(count / 256), 65535)), block = (256); grid-stride loop.
// Computes torch.optim.AdamW in dev.jresnet.train.AdamW's float order: wi = w * decay;
// m = fma(g, 1 - beta1, m * beta1); v = fma((1 - beta2) * g, g, v * beta2);
// w = wi + negStepSize * m / (sqrt(v) / bc2Sqrt + eps). The scalars come from the host, rounded as AdamW does.
__global__ void adamw_step_f32(float* w, const float* g, float* m, float* v, long long count, float decay,
                               float one_minus_beta1, float one_minus_beta2, float beta1, float beta2,
                               float neg_step_size, float bc2_sqrt, float eps) {
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < count;
         i += (long long) gridDim.x * blockDim.x) {
        const float wi = w[i] * decay;
        const float gi = g[i];
        const float mi = __fmaf_rn(gi, one_minus_beta1, m[i] * beta1);
        const float vi = __fmaf_rn(one_minus_beta2 * gi, gi, v[i] * beta2);
        m[i] = mi;
        v[i] = vi;
        const float denom = sqrtf(vi) / bc2_sqrt + eps;
        w[i] = wi + neg_step_size * mi / denom;
    }
}

}  // extern "C"
