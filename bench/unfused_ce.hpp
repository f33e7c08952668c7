// The unfused baseline for the mixup loss: what λ·CE(z, ya) + (1 − λ)·CE(z, yb) costs in a
// framework — log-softmax written out, two NLL gathers, blend and mean; backward: a zeroed
// dL/d(log-softmax), scattered label weights, then the log-softmax backward. bench/ only.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace mixup::bench {

// CPU: the same ops on the bench's thread pool; returns the mean loss, writes dL/dz.
float unfused_ce_cpu(const float* z, const std::int32_t* ya, const std::int32_t* yb, const float* lam,
                     std::int64_t rows, std::int32_t classes, float* ls, float* g_ls, float* row_loss,
                     float* grad);

cudaError_t cuda_log_softmax(const float* z, float* ls, std::int64_t rows, std::int32_t classes,
                             cudaStream_t s);
cudaError_t cuda_nll_blend(const float* ls, const std::int32_t* ya, const std::int32_t* yb, const float* lam,
                           float* row_loss, std::int64_t rows, std::int32_t classes, cudaStream_t s);
cudaError_t cuda_scatter_weights(float* g_ls, const std::int32_t* ya, const std::int32_t* yb,
                                 const float* lam, float scale, std::int64_t rows, std::int32_t classes,
                                 cudaStream_t s);
cudaError_t cuda_log_softmax_backward(const float* ls, const float* g_ls, float* g_z, std::int64_t rows,
                                      std::int32_t classes, cudaStream_t s);
cudaError_t cuda_mean(const float* v, std::int64_t n, float* out, cudaStream_t s);

}  // namespace mixup::bench
