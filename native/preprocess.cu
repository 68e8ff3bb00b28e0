// Image batch -> normalised network input.
//
// Input: a batch of N images, each H x W pixels of 8-bit RGB, interleaved (HWC), images back to back
// (already resized and cropped on the host). Every channel value p becomes
//     x = p / 255.0f;  x = (x - mean[c]) / std[c];
// in fp32 with IEEE division and no contraction (compile with --fmad=false), exactly as the CPU
// reference computes it, so the fp32 output is bit-identical and the fp16 output is that value rounded
// to nearest even.
//
// NVRTC rules for every file of native/: no #include at all (fp16 conversion is inline PTX, see below),
// kernels are extern "C" so cuModuleGetFunction finds them by their plain names.

// fp32 -> binary16 bits, round to nearest even (what cuda_fp16.h's __float2half_rn compiles to).
__device__ __forceinline__ unsigned short jr_f32_to_f16(float f) {
    unsigned short h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
}

__device__ __forceinline__ float jr_normalise(unsigned char p, float mean, float stdev) {
    float x = (float) p / 255.0f;
    x = (x - mean) / stdev;
    return x;
}

extern "C" {

// preprocess_u8_hwc_to_nchw_f32
// Launch: grid = (ceil(H*W / 256), N), block = (256). One thread per pixel (n, y, x), which reads its
// three bytes and writes the three planes.
// Computes out[n][c][y][x] = (in[n][y][x][c] / 255 - mean_c) / std_c   for c = 0, 1, 2 (R, G, B).
__global__ void preprocess_u8_hwc_to_nchw_f32(const unsigned char* __restrict__ in, float* __restrict__ out,
                                              int h, int w,
                                              float mean0, float mean1, float mean2,
                                              float std0, float std1, float std2) {
    const long long hw = (long long) h * w;
    const long long pixel = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (pixel >= hw) {
        return;
    }
    const long long n = blockIdx.y;
    const unsigned char* src = in + (n * hw + pixel) * 3;
    float* dst = out + n * 3 * hw + pixel;
    dst[0] = jr_normalise(src[0], mean0, std0);
    dst[hw] = jr_normalise(src[1], mean1, std1);
    dst[2 * hw] = jr_normalise(src[2], mean2, std2);
}

// preprocess_u8_hwc_to_nhwc_f16
// Launch: grid = (ceil(H*W / 256), N), block = (256). One thread per pixel (n, y, x).
// Computes out[n][y][x][c] = fp16_rn((in[n][y][x][c] / 255 - mean_c) / std_c)   for c = 0, 1, 2, and
// out[n][y][x][c] = 0 for 3 <= c < C_out: the layout stays interleaved with C_out channels per pixel (the
// network input's 3 channels stored as 8, 16-byte pixels); the value is computed in fp32 first.
__global__ void preprocess_u8_hwc_to_nhwc_f16(const unsigned char* __restrict__ in, unsigned short* __restrict__ out,
                                              int h, int w, int c_out,
                                              float mean0, float mean1, float mean2,
                                              float std0, float std1, float std2) {
    const long long hw = (long long) h * w;
    const long long pixel = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (pixel >= hw) {
        return;
    }
    const long long n = blockIdx.y;
    const unsigned char* src = in + (n * hw + pixel) * 3;
    unsigned short* dst = out + (n * hw + pixel) * c_out;
    dst[0] = jr_f32_to_f16(jr_normalise(src[0], mean0, std0));
    dst[1] = jr_f32_to_f16(jr_normalise(src[1], mean1, std1));
    dst[2] = jr_f32_to_f16(jr_normalise(src[2], mean2, std2));
    for (int c = 3; c < c_out; c++) {
        dst[c] = 0;
    }
}

}  // extern "C"
