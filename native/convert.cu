// Layout and precision conversions between the CPU reference's NCHW fp32 and the GPU path's NHWC fp16.
//
// fp16 values are carried as their 16 bits (unsigned short) and converted with inline PTX (cvt.rn.f16.f32
// rounds to nearest even, cvt.f32.f16 is exact), so this file needs no header: NVRTC compiles it as is.
// The same kernels convert filters: KCRS -> KRSC is NCHW -> NHWC with N = K, C = C, H*W = R*S.

__device__ __forceinline__ unsigned short jr_f32_to_f16(float f) {
    unsigned short h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
}

__device__ __forceinline__ float jr_f16_to_f32(unsigned short h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

#define JR_TILE 32
#define JR_ROWS 8

extern "C" {

// nchw_f32_to_nhwc_f16
// Launch: grid = (ceil(H*W / 32), ceil(C_out / 32), N), block = (32, 8). A 32 x 32 tile transpose through
// shared memory: for image n, the C x HW matrix in[n] (row c, column hw) becomes the HW x C_out matrix out[n].
// Computes out[n][hw][c] = fp16_rn(in[n][c][hw]) for c < C and out[n][hw][c] = 0 for C <= c < C_out: channels
// padded with zeros (the network input's 3 channels stored as 8, 16-byte pixels); reads and writes are coalesced.
__global__ void nchw_f32_to_nhwc_f16(const float* __restrict__ in, unsigned short* __restrict__ out,
                                     int c, int hw, int c_out) {
    __shared__ float tile[JR_TILE][JR_TILE + 1];
    const long long in_image = (long long) blockIdx.z * c * hw;
    const long long out_image = (long long) blockIdx.z * c_out * hw;
    const int hw0 = blockIdx.x * JR_TILE;
    const int c0 = blockIdx.y * JR_TILE;
    for (int i = threadIdx.y; i < JR_TILE; i += JR_ROWS) {
        const int ci = c0 + i;
        const int hwi = hw0 + threadIdx.x;
        if (ci < c && hwi < hw) {
            tile[i][threadIdx.x] = in[in_image + (long long) ci * hw + hwi];
        }
    }
    __syncthreads();
    for (int i = threadIdx.y; i < JR_TILE; i += JR_ROWS) {
        const int hwi = hw0 + i;
        const int ci = c0 + threadIdx.x;
        if (ci < c_out && hwi < hw) {
            out[out_image + (long long) hwi * c_out + ci] = ci < c ? jr_f32_to_f16(tile[threadIdx.x][i]) : 0;
        }
    }
}

// nhwc_f16_to_nchw_f32
// Launch: grid = (ceil(C / 32), ceil(H*W / 32), N), block = (32, 8). The inverse tile transpose: for
// image n, the HW x C matrix in[n] becomes the C x HW matrix out[n].
// Computes out[n][c][hw] = fp32(in[n][hw][c]) (exact).
__global__ void nhwc_f16_to_nchw_f32(const unsigned short* __restrict__ in, float* __restrict__ out,
                                     int c, int hw) {
    __shared__ float tile[JR_TILE][JR_TILE + 1];
    const long long image = (long long) blockIdx.z * c * hw;
    const int c0 = blockIdx.x * JR_TILE;
    const int hw0 = blockIdx.y * JR_TILE;
    for (int i = threadIdx.y; i < JR_TILE; i += JR_ROWS) {
        const int hwi = hw0 + i;
        const int ci = c0 + threadIdx.x;
        if (ci < c && hwi < hw) {
            tile[i][threadIdx.x] = jr_f16_to_f32(in[image + (long long) hwi * c + ci]);
        }
    }
    __syncthreads();
    for (int i = threadIdx.y; i < JR_TILE; i += JR_ROWS) {
        const int ci = c0 + i;
        const int hwi = hw0 + threadIdx.x;
        if (ci < c && hwi < hw) {
            out[image + (long long) ci * hw + hwi] = tile[threadIdx.x][i];
        }
    }
}

// f32_to_f16
// Launch: grid = (min(ceil(count / 256), 65535)), block = (256); grid-stride loop over the elements.
// Computes out[i] = fp16_rn(in[i]) for 0 <= i < count (same layout).
__global__ void f32_to_f16(const float* __restrict__ in, unsigned short* __restrict__ out, long long count) {
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < count;
         i += (long long) gridDim.x * blockDim.x) {
        out[i] = jr_f32_to_f16(in[i]);
    }
}

// f16_to_f32
// Launch: grid = (min(ceil(count / 256), 65535)), block = (256); grid-stride loop over the elements.
// Computes out[i] = fp32(in[i]) for 0 <= i < count (exact).
__global__ void f16_to_f32(const unsigned short* __restrict__ in, float* __restrict__ out, long long count) {
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < count;
         i += (long long) gridDim.x * blockDim.x) {
        out[i] = jr_f16_to_f32(in[i]);
    }
}

}  // extern "C"
