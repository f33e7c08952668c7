// Element-wise kernels of the GPU trainer (kernels.cu).
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace mixup::nn::gpu {

cudaError_t relu_forward(float* x, std::int64_t n, cudaStream_t s);
cudaError_t relu_backward(const float* y, float* dy, std::int64_t n, cudaStream_t s);
cudaError_t avgpool_forward(const float* in, std::int64_t planes, std::int64_t hw, float* out, cudaStream_t s);
cudaError_t avgpool_backward(const float* d_out, std::int64_t planes, std::int64_t hw, float* d_in, cudaStream_t s);
cudaError_t adamw(float* p, const float* g, float* m, float* v, std::int64_t n, float lr, float beta1, float beta2, float eps,
                  float wd, float bias1, float bias2, cudaStream_t s);
cudaError_t fill(float* x, std::int64_t n, float value, cudaStream_t s);
cudaError_t iota(std::int32_t* x, std::int64_t n, cudaStream_t s);

}  // namespace mixup::nn::gpu
