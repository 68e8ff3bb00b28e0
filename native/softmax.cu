// Row softmax in fp32: the classifier's 1000 logits per image become probabilities.

// -infinity without <math.h> (NVRTC has no INFINITY macro unless a header defines it).
#define JR_NEG_INF __int_as_float(0xff800000)

// Reduces v over the whole block (blockDim.x a multiple of 32, at most 1024) with max or sum; every
// thread gets the result. scratch holds 32 floats of shared memory; the function syncs before reuse.
__device__ __forceinline__ float jr_block_reduce(float v, bool is_max, float* scratch) {
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int warps = blockDim.x >> 5;
    for (int offset = 16; offset > 0; offset >>= 1) {
        const float o = __shfl_xor_sync(0xffffffffu, v, offset);
        v = is_max ? fmaxf(v, o) : v + o;
    }
    __syncthreads();  // scratch may still be read by a previous call
    if (lane == 0) {
        scratch[warp] = v;
    }
    __syncthreads();
    v = lane < warps ? scratch[lane] : (is_max ? JR_NEG_INF : 0.0f);
    for (int offset = 16; offset > 0; offset >>= 1) {
        const float o = __shfl_xor_sync(0xffffffffu, v, offset);
        v = is_max ? fmaxf(v, o) : v + o;
    }
    return v;
}

extern "C" {

// softmax_rows_f32
// Launch: grid = (rows), block = (256) (any multiple of 32 up to 1024 works). One block per row.
// Computes out[r][j] = exp(in[r][j] - m) / sum_k exp(in[r][k] - m), m = max_k in[r][k], with expf (full
// precision) and fp32 sums; in and out may be the same buffer.
__global__ void softmax_rows_f32(const float* in, float* out, int cols) {
    __shared__ float scratch[32];
    const long long row = blockIdx.x;
    const float* x = in + row * cols;
    float* y = out + row * cols;

    float m = JR_NEG_INF;
    for (int j = threadIdx.x; j < cols; j += blockDim.x) {
        m = fmaxf(m, x[j]);
    }
    m = jr_block_reduce(m, true, scratch);

    float s = 0.0f;
    for (int j = threadIdx.x; j < cols; j += blockDim.x) {
        s += expf(x[j] - m);
    }
    s = jr_block_reduce(s, false, scratch);

    for (int j = threadIdx.x; j < cols; j += blockDim.x) {
        y[j] = expf(x[j] - m) / s;
    }
}

}  // extern "C"
