// Element-wise kernels of the GPU trainer (kernels.cu).
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace mixup::nn::gpu {

cudaError_t relu_forward(float* x, std::int64_t n, cudaStream_t s);
cudaError_t relu_backward(const float* y, float* dy, std::int64_t n, cudaStream_t s);
cudaError_t avgpool_forward(const float* in, std::int64_t planes, std::int64_t hw, float* out,
                            cudaStream_t s);
cudaError_t avgpool_backward(const float* d_out, std::int64_t planes, std::int64_t hw, float* d_in,
                             cudaStream_t s);
cudaError_t adamw(float* p, const float* g, float* m, float* v, std::int64_t n, float lr, float beta1,
                  float beta2, float eps, float wd, float bias1, float bias2, cudaStream_t s);
// BatchNorm over (N, H, W) per channel of x [n, c, hw], as BatchNorm2d on the CPU (PyTorch's
// conventions): one block per channel, statistics in double, fixed-order tree reductions (no
// atomics, so the same bits every run). Training: batch statistics, saved for backward, and
// the running ones updated; evaluation: the running ones.
cudaError_t batchnorm_forward_train(const float* x, std::int64_t n, std::int64_t c, std::int64_t hw,
                                    const float* gamma, const float* beta, float eps, float momentum,
                                    float* y, float* save_mean, float* save_inv_std, float* running_mean,
                                    float* running_var, cudaStream_t s);
cudaError_t batchnorm_forward_eval(const float* x, std::int64_t n, std::int64_t c, std::int64_t hw,
                                   const float* gamma, const float* beta, const float* running_mean,
                                   const float* running_var, float eps, float* y, cudaStream_t s);
// From dL/dy after a training forward: dL/dx, and dL/dγ, dL/dβ (overwritten).
cudaError_t batchnorm_backward(const float* x, const float* dy, std::int64_t n, std::int64_t c,
                               std::int64_t hw, const float* gamma, const float* save_mean,
                               const float* save_inv_std, float* dx, float* dgamma, float* dbeta,
                               cudaStream_t s);
cudaError_t fill(float* x, std::int64_t n, float value, cudaStream_t s);
cudaError_t iota(std::int32_t* x, std::int64_t n, cudaStream_t s);

}  // namespace mixup::nn::gpu
