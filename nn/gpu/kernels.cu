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
__global__ void adamw_kernel(float* p, const float* g, float* m, float* v, std::int64_t n, float lr, float b1,
                             float b2, float eps, float wd, float c1, float c2) {
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

constexpr int kBnThreads = 256;

// Sum over the block in a fixed tree; every thread gets the result.
template <class T>
__device__ T block_sum(T v, T* shared) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (int half = kBnThreads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) shared[threadIdx.x] += shared[threadIdx.x + half];
    __syncthreads();
  }
  const T total = shared[0];
  __syncthreads();
  return total;
}

// Element e of channel ch, e in [0, n·hw): sample e / hw, position e % hw.
__device__ std::int64_t bn_index(std::int64_t e, std::int64_t ch, std::int64_t c, std::int64_t hw) {
  return ((e / hw) * c + ch) * hw + e % hw;
}

__global__ void bn_fwd_train(const float* x, std::int64_t n, std::int64_t c, std::int64_t hw,
                             const float* gamma, const float* beta, float eps, float momentum, float* y,
                             float* save_mean, float* save_inv_std, float* running_mean, float* running_var) {
  __shared__ double shared[kBnThreads];
  const std::int64_t ch = blockIdx.x, m = n * hw;
  double sum = 0;
  for (std::int64_t e = threadIdx.x; e < m; e += kBnThreads) sum += x[bn_index(e, ch, c, hw)];
  const double mean = block_sum(sum, shared) / static_cast<double>(m);
  double sq = 0;
  for (std::int64_t e = threadIdx.x; e < m; e += kBnThreads) {
    const double d = x[bn_index(e, ch, c, hw)] - mean;
    sq += d * d;
  }
  sq = block_sum(sq, shared);
  const double var = sq / static_cast<double>(m);
  const float inv = static_cast<float>(1.0 / sqrt(var + eps));
  if (threadIdx.x == 0) {
    save_mean[ch] = static_cast<float>(mean);
    save_inv_std[ch] = inv;
    running_mean[ch] = static_cast<float>((1 - momentum) * running_mean[ch] + momentum * mean);
    running_var[ch] = static_cast<float>((1 - momentum) * running_var[ch] +
                                         momentum * (m > 1 ? sq / (m - 1) : var));
  }
  const float g = gamma[ch], b = beta[ch];
  for (std::int64_t e = threadIdx.x; e < m; e += kBnThreads) {
    const std::int64_t i = bn_index(e, ch, c, hw);
    y[i] = g * (static_cast<float>(x[i] - mean) * inv) + b;
  }
}

__global__ void bn_fwd_eval(const float* x, std::int64_t n, std::int64_t c, std::int64_t hw,
                            const float* gamma, const float* beta, const float* running_mean,
                            const float* running_var, float eps, float* y) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n * c * hw) return;
  const std::int64_t ch = (i / hw) % c;
  const float inv = static_cast<float>(1.0 / sqrt(static_cast<double>(running_var[ch]) + eps));
  y[i] = gamma[ch] * (static_cast<float>(static_cast<double>(x[i]) - running_mean[ch]) * inv) + beta[ch];
}

__global__ void bn_bwd(const float* x, const float* dy, std::int64_t n, std::int64_t c, std::int64_t hw,
                       const float* gamma, const float* save_mean, const float* save_inv_std, float* dx,
                       float* dgamma, float* dbeta) {
  __shared__ float shared[kBnThreads];
  const std::int64_t ch = blockIdx.x, m = n * hw;
  const float mean = save_mean[ch], inv = save_inv_std[ch];
  float dg = 0, db = 0;
  for (std::int64_t e = threadIdx.x; e < m; e += kBnThreads) {
    const std::int64_t i = bn_index(e, ch, c, hw);
    dg += dy[i] * ((x[i] - mean) * inv);
    db += dy[i];
  }
  dg = block_sum(dg, shared);
  db = block_sum(db, shared);
  if (threadIdx.x == 0) dgamma[ch] = dg, dbeta[ch] = db;
  const float mf = static_cast<float>(m), k = gamma[ch] * inv / mf;
  for (std::int64_t e = threadIdx.x; e < m; e += kBnThreads) {
    const std::int64_t i = bn_index(e, ch, c, hw);
    dx[i] = k * (mf * dy[i] - db - ((x[i] - mean) * inv) * dg);
  }
}

}  // namespace

cudaError_t batchnorm_forward_train(const float* x, std::int64_t n, std::int64_t c, std::int64_t hw,
                                    const float* gamma, const float* beta, float eps, float momentum,
                                    float* y, float* save_mean, float* save_inv_std, float* running_mean,
                                    float* running_var, cudaStream_t s) {
  bn_fwd_train<<<static_cast<unsigned>(c), kBnThreads, 0, s>>>(x, n, c, hw, gamma, beta, eps, momentum, y,
                                                               save_mean, save_inv_std, running_mean,
                                                               running_var);
  return cudaGetLastError();
}
cudaError_t batchnorm_forward_eval(const float* x, std::int64_t n, std::int64_t c, std::int64_t hw,
                                   const float* gamma, const float* beta, const float* running_mean,
                                   const float* running_var, float eps, float* y, cudaStream_t s) {
  bn_fwd_eval<<<blocks(n * c * hw), kThreads, 0, s>>>(x, n, c, hw, gamma, beta, running_mean, running_var,
                                                      eps, y);
  return cudaGetLastError();
}
cudaError_t batchnorm_backward(const float* x, const float* dy, std::int64_t n, std::int64_t c,
                               std::int64_t hw, const float* gamma, const float* save_mean,
                               const float* save_inv_std, float* dx, float* dgamma, float* dbeta,
                               cudaStream_t s) {
  bn_bwd<<<static_cast<unsigned>(c), kBnThreads, 0, s>>>(x, dy, n, c, hw, gamma, save_mean, save_inv_std, dx,
                                                         dgamma, dbeta);
  return cudaGetLastError();
}

cudaError_t relu_forward(float* x, std::int64_t n, cudaStream_t s) {
  relu_fwd<<<blocks(n), kThreads, 0, s>>>(x, n);
  return cudaGetLastError();
}
cudaError_t relu_backward(const float* y, float* dy, std::int64_t n, cudaStream_t s) {
  relu_bwd<<<blocks(n), kThreads, 0, s>>>(y, dy, n);
  return cudaGetLastError();
}
cudaError_t avgpool_forward(const float* in, std::int64_t planes, std::int64_t hw, float* out,
                            cudaStream_t s) {
  pool_fwd<<<blocks(planes), kThreads, 0, s>>>(in, planes, hw, out);
  return cudaGetLastError();
}
cudaError_t avgpool_backward(const float* d_out, std::int64_t planes, std::int64_t hw, float* d_in,
                             cudaStream_t s) {
  pool_bwd<<<blocks(planes * hw), kThreads, 0, s>>>(d_out, planes, hw, d_in);
  return cudaGetLastError();
}
cudaError_t adamw(float* p, const float* g, float* m, float* v, std::int64_t n, float lr, float beta1,
                  float beta2, float eps, float wd, float bias1, float bias2, cudaStream_t s) {
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
