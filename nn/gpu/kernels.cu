#include "kernels.cuh"

namespace mixup::nn::gpu {
namespace {

constexpr int kThreads = 256;
unsigned blocks(std::int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

__global__ void relu_fwd(float* x, std::int64_t n) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
__global__ void relu_bwd(const float* y, float* dy, std::int64_t n) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}
__global__ void pool_fwd(const float* in, std::int64_t planes, std::int64_t hw, float* out) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= planes) return;
  float acc = 0.0f;
  for (std::int64_t p = 0; p < hw; ++p) acc += in[i * hw + p];
  out[i] = acc / static_cast<float>(hw);
}
__global__ void pool_bwd(const float* d_out, std::int64_t planes, std::int64_t hw, float* d_in) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < planes * hw) d_in[i] = d_out[i / hw] / static_cast<float>(hw);
}
__global__ void adamw_kernel(float* p, const float* g, float* m, float* v, std::int64_t n, float lr, float b1, float b2,
                             float eps, float wd, float c1, float c2) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  m[i] = b1 * m[i] + (1.0f - b1) * g[i];
  v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
  const float update = (m[i] / c1) / (sqrtf(v[i] / c2) + eps);
  p[i] = p[i] - lr * wd * p[i] - lr * update;
}
__global__ void fill_kernel(float* x, std::int64_t n, float value) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) x[i] = value;
}
__global__ void iota_kernel(std::int32_t* x, std::int64_t n) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) x[i] = static_cast<std::int32_t>(i);
}

}  // namespace

cudaError_t relu_forward(float* x, std::int64_t n, cudaStream_t s) {
  relu_fwd<<<blocks(n), kThreads, 0, s>>>(x, n);
  return cudaGetLastError();
}
cudaError_t relu_backward(const float* y, float* dy, std::int64_t n, cudaStream_t s) {
  relu_bwd<<<blocks(n), kThreads, 0, s>>>(y, dy, n);
  return cudaGetLastError();
}
cudaError_t avgpool_forward(const float* in, std::int64_t planes, std::int64_t hw, float* out, cudaStream_t s) {
  pool_fwd<<<blocks(planes), kThreads, 0, s>>>(in, planes, hw, out);
  return cudaGetLastError();
}
cudaError_t avgpool_backward(const float* d_out, std::int64_t planes, std::int64_t hw, float* d_in, cudaStream_t s) {
  pool_bwd<<<blocks(planes * hw), kThreads, 0, s>>>(d_out, planes, hw, d_in);
  return cudaGetLastError();
}
cudaError_t adamw(float* p, const float* g, float* m, float* v, std::int64_t n, float lr, float beta1, float beta2, float eps,
                  float wd, float bias1, float bias2, cudaStream_t s) {
  adamw_kernel<<<blocks(n), kThreads, 0, s>>>(p, g, m, v, n, lr, beta1, beta2, eps, wd, bias1, bias2);
  return cudaGetLastError();
}
cudaError_t fill(float* x, std::int64_t n, float value, cudaStream_t s) {
  fill_kernel<<<blocks(n), kThreads, 0, s>>>(x, n, value);
  return cudaGetLastError();
}
cudaError_t iota(std::int32_t* x, std::int64_t n, cudaStream_t s) {
  iota_kernel<<<blocks(n), kThreads, 0, s>>>(x, n);
  return cudaGetLastError();
}

}  // namespace mixup::nn::gpu
