// What a loss handle owns: the backend's scratch (row losses for the deterministic reduction,
// the device check word) sized for max_batch at creation, so a call never allocates.
#pragma once

#include <memory>

#include "../kernels/cross_entropy.cuh"
#include "mixup/loss.h"

namespace mixup::detail {

struct LossCpuState;
struct LossCudaState;
struct LossCpuStateDelete {
  void operator()(LossCpuState* s) const;
};
struct LossCudaStateDelete {
  void operator()(LossCudaState* s) const;
};

void loss_cpu_create(struct ::mixup_loss_s& h);
void loss_cpu_cross_entropy(struct ::mixup_loss_s& h, core::CeParams& p);
void loss_cpu_combine(struct ::mixup_loss_s& h, const float* la, const float* lb, const float* lam,
                      std::int64_t n, core::Reduction red, float* out);
void loss_cuda_create(struct ::mixup_loss_s& h);
void loss_cuda_cross_entropy(struct ::mixup_loss_s& h, core::CeParams& p, cudaStream_t stream);
void loss_cuda_combine(struct ::mixup_loss_s& h, const float* la, const float* lb, const float* lam,
                       std::int64_t n, core::Reduction red, float* out, cudaStream_t stream);
void loss_cuda_poll(struct ::mixup_loss_s& h, cudaStream_t stream);

// Deterministic sum: the same partition and tree as the device's reduce_rows.
float deterministic_sum(const float* v, std::int64_t n);

}  // namespace mixup::detail

struct mixup_loss_s {
  mixup_loss_config_t config;
  std::unique_ptr<mixup::detail::LossCpuState, mixup::detail::LossCpuStateDelete> cpu;
  std::unique_ptr<mixup::detail::LossCudaState, mixup::detail::LossCudaStateDelete> cuda;
};
