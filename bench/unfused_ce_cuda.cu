// Baseline CUDA kernels for bench_cross_entropy: one op each, a warp per row where a row
// reduction is needed — the shape of a framework's log_softmax / nll_loss / backward.
#include "unfused_ce.hpp"

namespace mixup::bench {
namespace {

__device__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
unsigned warps_blocks(std::int64_t rows) { return static_cast<unsigned>((rows * 32 + 255) / 256); }

__global__ void log_softmax(const float* z, float* ls, std::int64_t rows, std::int32_t C) {
  const std::int64_t r = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (r >= rows) return;
  const float* zr = z + r * C;
  float m = -INFINITY;
  for (int j = lane; j < C; j += 32) m = fmaxf(m, zr[j]);
  m = warp_max(m);
  float s = 0;
  for (int j = lane; j < C; j += 32) s += expf(zr[j] - m);
  const float lse = m + logf(warp_sum(s));
  for (int j = lane; j < C; j += 32) ls[r * C + j] = zr[j] - lse;
}

__global__ void nll_blend(const float* ls, const std::int32_t* ya, const std::int32_t* yb, const float* lam,
                          float* out, std::int64_t rows, std::int32_t C) {
  const std::int64_t r = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r < rows) out[r] = -(lam[r] * ls[r * C + ya[r]] + (1.0f - lam[r]) * ls[r * C + yb[r]]);
}

__global__ void scatter_weights(float* g, const std::int32_t* ya, const std::int32_t* yb, const float* lam,
                                float scale, std::int64_t rows, std::int32_t C) {
  const std::int64_t r = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  g[r * C + ya[r]] -= scale * lam[r];
  g[r * C + yb[r]] -= scale * (1.0f - lam[r]);
}

__global__ void log_softmax_backward(const float* ls, const float* g, float* gz, std::int64_t rows,
                                     std::int32_t C) {
  const std::int64_t r = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (r >= rows) return;
  float s = 0;
  for (int j = lane; j < C; j += 32) s += g[r * C + j];
  s = warp_sum(s);
  for (int j = lane; j < C; j += 32) gz[r * C + j] = g[r * C + j] - expf(ls[r * C + j]) * s;
}

__global__ void mean(const float* v, std::int64_t n, float* out) {
  __shared__ float sh[1024];
  float acc = 0;
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) acc += v[i];
  sh[threadIdx.x] = acc;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (static_cast<int>(threadIdx.x) < s) sh[threadIdx.x] += sh[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) *out = sh[0] / n;
}

}  // namespace

cudaError_t cuda_log_softmax(const float* z, float* ls, std::int64_t rows, std::int32_t C, cudaStream_t s) {
  log_softmax<<<warps_blocks(rows), 256, 0, s>>>(z, ls, rows, C);
  return cudaGetLastError();
}
cudaError_t cuda_nll_blend(const float* ls, const std::int32_t* ya, const std::int32_t* yb, const float* lam,
                           float* out, std::int64_t rows, std::int32_t C, cudaStream_t s) {
  nll_blend<<<static_cast<unsigned>((rows + 255) / 256), 256, 0, s>>>(ls, ya, yb, lam, out, rows, C);
  return cudaGetLastError();
}
cudaError_t cuda_scatter_weights(float* g, const std::int32_t* ya, const std::int32_t* yb, const float* lam,
                                 float scale, std::int64_t rows, std::int32_t C, cudaStream_t s) {
  scatter_weights<<<static_cast<unsigned>((rows + 255) / 256), 256, 0, s>>>(g, ya, yb, lam, scale, rows, C);
  return cudaGetLastError();
}
cudaError_t cuda_log_softmax_backward(const float* ls, const float* g, float* gz, std::int64_t rows,
                                      std::int32_t C, cudaStream_t s) {
  log_softmax_backward<<<warps_blocks(rows), 256, 0, s>>>(ls, g, gz, rows, C);
  return cudaGetLastError();
}
cudaError_t cuda_mean(const float* v, std::int64_t n, float* out, cudaStream_t s) {
  mean<<<1, 1024, 0, s>>>(v, n, out);
  return cudaGetLastError();
}

}  // namespace mixup::bench
