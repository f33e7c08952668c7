// What a mixup handle owns, and the validated form of one call that both backends execute.
#pragma once

#include <memory>
#include <string>

#include "../kernels/blend.cuh"
#include "mixup/mixup.h"
#include "test_hooks.hpp"

namespace mixup::detail {

struct CpuState;
struct CudaState;
// Each backend's state is complete only in its own file; these are defined there.
struct CpuStateDelete {
  void operator()(CpuState* s) const;
};
struct CudaStateDelete {
  void operator()(CudaState* s) const;
};

// One validated call: everything a backend needs, nothing left to check but device data.
struct Request {
  core::BlendParams blend;      // perm / lam / one_minus / check filled by the backend
  core::PairingLaunch pairing;  // scratch, step source and outputs filled by the backend
  bool advance_step;
};

}  // namespace mixup::detail

struct mixup_handle_s {
  mixup_config_t config;
  std::uint64_t step = 0;  // host-side step (graph mode keeps it on the device)
  bool norm_set = false;
  int norm_channels = 0;
  float mean[mixup::core::kMaxNormChannels] = {};
  float std[mixup::core::kMaxNormChannels] = {};
  // mixup_set_mixing, validated; plain mixup until it is called
  mixup::core::MixPolicy mix = mixup::core::kPlainMixup;
  mixup::detail::TestHooks hooks;
  std::unique_ptr<mixup::detail::CpuState, mixup::detail::CpuStateDelete> cpu;
  std::unique_ptr<mixup::detail::CudaState, mixup::detail::CudaStateDelete> cuda;
};

namespace mixup::detail {

// Human-readable text for a failed pairing check (same words on both backends).
std::string describe_check(const core::DeviceCheck& c, std::int32_t batch, std::int32_t num_classes);
// What mixup_poll_checks / mixup_loss_poll_checks report: the first failure since the last poll.
std::string describe_polled_check(const core::DeviceCheck& c, std::int32_t batch, std::int32_t num_classes);

// Backends (cpu_backend.cpp, cuda_backend.cpp).
void cpu_create(mixup_handle_s& h);
void cpu_apply(mixup_handle_s& h, Request& r);
void cuda_create(mixup_handle_s& h);
void cuda_apply(mixup_handle_s& h, Request& r, cudaStream_t stream);
void cuda_set_step(mixup_handle_s& h, std::uint64_t step);
std::uint64_t cuda_get_step(mixup_handle_s& h);
void cuda_poll_checks(mixup_handle_s& h, cudaStream_t stream);

}  // namespace mixup::detail
