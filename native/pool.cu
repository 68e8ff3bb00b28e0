// Global average pooling: the head of ResNet-50 averages each channel of the last 7 x 7 feature map.
// cuDNN can do this with a pooling descriptor as large as the map, but its output keeps the input's layout
// and type (NHWC fp16), while the classifier wants [N, C] fp32; one small kernel does both at once.
//
// Sums are accumulated in fp32 and divided by H*W (not multiplied by its reciprocal); the summation order
// differs from a sequential CPU loop, so results agree to rounding, not bit for bit.

__device__ __forceinline__ float jr_f16_to_f32(unsigned short h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

extern "C" {

// global_avg_pool_nhwc_f16
// Launch: grid = (ceil(C / 256), N), block = (256). One thread per (n, c); neighbouring threads read
// neighbouring channels of the same pixel, so every load is coalesced.
// Computes out[n][c] = (sum over hw of fp32(in[n][hw][c])) / hw, out being [N, C] fp32.
__global__ void global_avg_pool_nhwc_f16(const unsigned short* __restrict__ in, float* __restrict__ out,
                                         int c, int hw) {
    const int ch = blockIdx.x * blockDim.x + threadIdx.x;
    if (ch >= c) {
        return;
    }
    const long long n = blockIdx.y;
    const unsigned short* src = in + n * hw * c + ch;
    float sum = 0.0f;
    for (int i = 0; i < hw; i++) {
        sum += jr_f16_to_f32(src[(long long) i * c]);
    }
    out[n * c + ch] = sum / (float) hw;
}

// global_avg_pool_nchw_f32
// Launch: grid = (ceil(N*C / 8)), block = (256): one warp per (n, c) plane, 8 warps per block. Each lane
// sums a strided part of the plane, then the warp adds the 32 partial sums with shuffles.
// Computes out[n][c] = (sum over hw of in[n][c][hw]) / hw, out being [N, C] fp32.
__global__ void global_avg_pool_nchw_f32(const float* __restrict__ in, float* __restrict__ out,
                                         int planes, int hw) {
    const int lane = threadIdx.x & 31;
    const long long plane = (long long) blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (plane >= planes) {
        return;  // the whole warp leaves together: plane is the same for its 32 lanes
    }
    const float* src = in + plane * hw;
    float sum = 0.0f;
    for (int i = lane; i < hw; i += 32) {
        sum += src[i];
    }
    for (int offset = 16; offset > 0; offset >>= 1) {
        sum += __shfl_down_sync(0xffffffffu, sum, offset);
    }
    if (lane == 0) {
        out[plane] = sum / (float) hw;
    }
}

}  // extern "C"
