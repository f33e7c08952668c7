// Baseline CUDA passes for bench_mixup: plain one-element-per-thread kernels, the way a
// framework runs gather / mul / add as separate ops.
#include "unfused.hpp"

namespace mixup::bench {
namespace {

constexpr int kThreads = 256;
unsigned blocks_for(std::int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

__global__ void gather_rows(const float* x, const std::int32_t* perm, float* xb, std::int64_t batch,
                            std::int64_t per) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= batch * per) return;
  xb[i] = x[static_cast<std::int64_t>(perm[i / per]) * per + i % per];
}

__global__ void scale_rows(const float* x, const float* w, bool one_minus, float* out, std::int64_t batch,
                           std::int64_t per) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= batch * per) return;
  const float l = w[i / per];
  out[i] = (one_minus ? 1.0f - l : l) * x[i];
}

__global__ void add(const float* a, const float* b, float* out, std::int64_t n) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) out[i] = a[i] + b[i];
}

__global__ void u8_to_f32(const std::uint8_t* x, float* out, std::int64_t n) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) out[i] = x[i] / 255.0f;
}

}  // namespace

cudaError_t cuda_gather_rows(const float* x, const std::int32_t* perm, float* xb, std::int64_t batch,
                             std::int64_t per, cudaStream_t s) {
  gather_rows<<<blocks_for(batch * per), kThreads, 0, s>>>(x, perm, xb, batch, per);
  return cudaGetLastError();
}
cudaError_t cuda_scale_rows(const float* x, const float* w, bool one_minus, float* out, std::int64_t batch,
                            std::int64_t per, cudaStream_t s) {
  scale_rows<<<blocks_for(batch * per), kThreads, 0, s>>>(x, w, one_minus, out, batch, per);
  return cudaGetLastError();
}
cudaError_t cuda_add(const float* a, const float* b, float* out, std::int64_t n, cudaStream_t s) {
  add<<<blocks_for(n), kThreads, 0, s>>>(a, b, out, n);
  return cudaGetLastError();
}
cudaError_t cuda_u8_to_f32(const std::uint8_t* x, float* out, std::int64_t n, cudaStream_t s) {
  u8_to_f32<<<blocks_for(n), kThreads, 0, s>>>(x, out, n);
  return cudaGetLastError();
}

}  // namespace mixup::bench
